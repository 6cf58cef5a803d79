"""Shared fixtures: the independent CSMS peer (third-party `ocpp` package) and TLS material."""

from tests.peers.fixtures import peer_csms, tls_material  # noqa: F401
