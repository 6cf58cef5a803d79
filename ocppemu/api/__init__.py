"""The workbench daemon's API: Tornado app (:mod:`.app`), route table (:mod:`.routes`), OpenAPI (:mod:`.openapi`),
token (:mod:`.auth`) and the ``ocppemu serve`` entry point (:mod:`.server`)."""
