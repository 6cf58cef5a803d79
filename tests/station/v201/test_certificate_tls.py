"""A certificate the CSMS signed for the station (SignCertificate -> CertificateSigned) is used for mutual TLS."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from tests.station.v201.helpers import Harness, station_config, until


def _sign_with(tls_material, csr_pem: str) -> str:  # type: ignore[no-untyped-def]
    ca_key = serialization.load_pem_private_key(tls_material.ca.private_key_pem.bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(tls_material.ca.cert_pem.bytes())
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca_cert.subject)
            .public_key(csr.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _org(subject: tuple[object, ...] | None) -> str | None:
    for rdn in subject or ():
        for key, value in rdn:  # type: ignore[attr-defined]
            if key == "organizationName":
                return str(value)
    return None


async def test_signed_certificate_is_used_on_the_next_connection(peer_csms, tls_material) -> None:  # type: ignore[no-untyped-def]
    peer = await peer_csms(versions=("2.0.1",), ssl_context=tls_material.server_context(require_client_cert=True))
    config = station_config(peer.url, "CS001", tls={"ca_cert": str(tls_material.ca_cert),
                                                    "client_cert": str(tls_material.client_cert),
                                                    "client_key": str(tls_material.client_key)},
                            csms_auth={"type": "certificate"},
                            configuration_overrides={"SecurityCtrlr.OrganizationName": "ocppemu-signed"})
    async with Harness(config) as h:
        assert await h.runtime.wait_connected(10)
        assert _org(peer.connections[0].client_cert_subject) != "ocppemu-signed"
        assert await peer.call("CS001", "TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"}) == {
            "status": "Accepted"}
        csr = (await peer.wait_for("CS001", "SignCertificate"))[0].payload["csr"]
        answer = await peer.call("CS001", "CertificateSigned", {
            "certificateChain": _sign_with(tls_material, csr), "certificateType": "ChargingStationCertificate"})
        assert answer == {"status": "Accepted"}
        assert await peer.call("CS001", "Reset", {"type": "Immediate"}) == {"status": "Accepted"}
        await until(lambda: len(peer.connections) >= 2, timeout=15, what="a reconnection")
        await until(lambda: h.core.online, what="the new boot")
    subject = peer.connections[-1].client_cert_subject
    assert _org(subject) == "ocppemu-signed", subject
    assert peer.errors == []
