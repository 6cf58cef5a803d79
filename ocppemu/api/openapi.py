"""The OpenAPI 3.1 document of the REST API, generated from :data:`~ocppemu.api.routes.ROUTES` and its models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from ocppemu.api.routes import EXPORT_TYPES, ROUTES
from ocppemu.version import __version__
from ocppemu.workbench.interface import ErrorBody

REF = "#/components/schemas/{model}"


def _strip_null(schema: dict[str, Any]) -> dict[str, Any]:
    """Query parameters cannot be null: drop the ``null`` branch of optional fields."""
    any_of = schema.get("anyOf")
    if isinstance(any_of, list):
        rest = [s for s in any_of if s.get("type") != "null"]
        if len(rest) == 1:
            out = {k: v for k, v in schema.items() if k != "anyOf"}
            out.update(rest[0])
            if out.get("default", 0) is None:
                del out["default"]
            return out
    return schema


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    props = model.model_json_schema()["properties"]
    params = []
    for name, field in model.model_fields.items():
        schema = _strip_null(dict(props[name]))
        schema.pop("title", None)
        params.append({"name": name, "in": "query", "required": field.is_required(), "schema": schema,
                       **({"description": field.description} if field.description else {})})
    return params


def build_openapi(server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document (a JSON-ready dict)."""
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
    for r in ROUTES:
        if r.body is not None:
            wanted.append((r.body, "validation"))
        if r.response is not None:
            wanted.append((r.response, "serialization"))
    wanted = list(dict.fromkeys(wanted))
    refs, defs = models_json_schema(wanted, ref_template=REF)
    error_ref = refs[(ErrorBody, "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    for r in ROUTES:
        op: dict[str, Any] = {"operationId": r.operation, "summary": r.summary, "tags": [r.path.split("/")[2]]}
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                  for n in re.findall(r"\{(\w+)\}", r.path)]
        if r.query is not None:
            params += _query_parameters(r.query)
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": refs[(r.body, "validation")]}}}
        if r.response is not None:
            ok = {"description": "OK", "content": {"application/json": {"schema": refs[(r.response, "serialization")]}}}
        else:
            ok = {"description": "The export, streamed",
                  "content": {ct: {"schema": {"type": "string"}} for ct in EXPORT_TYPES.values()}}
        responses: dict[str, Any] = {str(r.status): ok}
        for code, why in (("400", "Malformed request"), ("401", "Missing or wrong API token"),
                          ("404", "No such station or template"), ("409", "Conflicts with the current state"),
                          ("422", "Request body or parameters invalid")):
            responses[code] = {"description": why, "content": {"application/json": {"schema": error_ref}}}
        op["responses"] = responses
        paths.setdefault(r.path, {})[r.method.lower()] = op
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "ocppemu workbench API", "version": __version__,
                 "description": "REST API of the ocppemu workbench daemon. Live events: WebSocket /api/stream "
                                "(query: stations, kinds, cursor, token)."},
        "paths": paths,
        "components": {"schemas": defs.get("$defs", {}),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{}, {"bearer": []}],
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc
