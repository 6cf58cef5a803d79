"""Certificates made in the test: a CA, a server certificate for 127.0.0.1/localhost, a client certificate,
and a second, unrelated CA to prove that verification fails against the wrong one."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """PEM files on disk (what station configurations point at) plus the in-memory CAs."""

    ca: trustme.CA
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca_cert: Path
    _server: trustme.LeafCert

    def server_context(self, *, require_client_cert: bool = False) -> ssl.SSLContext:
        """Server context presenting the 127.0.0.1/localhost certificate; with ``require_client_cert`` it
        demands a client certificate signed by :attr:`ca` (mutual TLS, security profile 3)."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server.configure_cert(ctx)
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            self.ca.configure_trust(ctx)
        return ctx


def make_tls_material(directory: Path, client_name: str = "CP001") -> TlsMaterial:
    """Create the CA, server and client certificates under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="ocppemu test CA")
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert(f"{client_name.lower()}.stations.test", common_name=client_name)
    other = trustme.CA(organization_name="unrelated CA")
    paths = {name: directory / f"{name}.pem" for name in
             ("ca", "server_cert", "server_key", "client_cert", "client_key", "other_ca")}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    server.cert_chain_pems[0].write_to_path(str(paths["server_cert"]))
    server.private_key_pem.write_to_path(str(paths["server_key"]))
    client.cert_chain_pems[0].write_to_path(str(paths["client_cert"]))
    client.private_key_pem.write_to_path(str(paths["client_key"]))
    other.cert_pem.write_to_path(str(paths["other_ca"]))
    return TlsMaterial(ca, paths["ca"], paths["server_cert"], paths["server_key"], paths["client_cert"],
                       paths["client_key"], paths["other_ca"], server)
