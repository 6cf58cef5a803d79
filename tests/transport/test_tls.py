"""TLS contexts and wss:// against the oracle CSMS with certificates made in the test."""

from __future__ import annotations

import json
import logging
import os
import ssl
from pathlib import Path

import pytest

from ocppemu.config.station import CsmsAuth, StationConfig, TlsConfig
from ocppemu.ocpp.versions import Version
from ocppemu.transport.base import TransportError
from ocppemu.transport.tls import TlsConfigError, client_ssl_context, ssl_context_from_config
from ocppemu.transport.websocket import WebSocketTransport
from tests.peers.fixtures import PeerFactory
from tests.peers.tls_material import TlsMaterial

BOOT = [2, "b1", "BootNotification", {"chargePointVendor": "ocppemu", "chargePointModel": "Emulator"}]


async def boot_over(transport: WebSocketTransport) -> list[object]:
    await transport.connect()
    try:
        await transport.send(json.dumps(BOOT))
        answer: list[object] = json.loads(await transport.recv())
        return answer
    finally:
        await transport.close()


# ------------------------------------------------------------------------------------------ context building


def test_verification_is_on_by_default() -> None:
    ctx = client_ssl_context()
    assert ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_missing_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TlsConfigError, match=r"CA bundle file .*nope.pem' does not exist") as info:
        client_ssl_context(ca_cert=str(tmp_path / "nope.pem"))
    assert info.value.retryable is False


def test_ca_file_that_is_not_pem_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(TlsConfigError, match="holds no usable PEM certificate"):
        client_ssl_context(ca_cert=str(junk))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_ca_file_is_a_clear_error(tls_material: TlsMaterial) -> None:
    tls_material.ca_cert.chmod(0)
    with pytest.raises(TlsConfigError, match="is not readable"):
        client_ssl_context(ca_cert=str(tls_material.ca_cert))


def test_key_not_matching_the_certificate_is_a_clear_error(tls_material: TlsMaterial) -> None:
    with pytest.raises(TlsConfigError, match="key does not match"):
        client_ssl_context(client_cert=str(tls_material.client_cert), client_key=str(tls_material.server_key))


def test_key_without_certificate_is_refused(tls_material: TlsMaterial) -> None:
    with pytest.raises(TlsConfigError, match="without a client certificate"):
        client_ssl_context(client_key=str(tls_material.client_key))


def test_insecure_switch_logs_a_warning_every_time(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ocppemu.transport.tls"):
        ctx = ssl_context_from_config(TlsConfig(insecure_skip_verify=True), station_id="CP9")
        ssl_context_from_config(TlsConfig(insecure_skip_verify=True), station_id="CP9")
    assert ctx.verify_mode is ssl.CERT_NONE and not ctx.check_hostname
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "DISABLED for station CP9" in warnings[0].getMessage()


# ------------------------------------------------------------------------------------------ over the wire


async def test_server_verification_passes_with_the_right_ca(peer_csms: PeerFactory,
                                                            tls_material: TlsMaterial) -> None:
    peer = await peer_csms(ssl_context=tls_material.server_context())
    assert peer.url.startswith("wss://")
    config = StationConfig(station_id="CP100", csms_url=peer.url, tls=TlsConfig(ca_cert=str(tls_material.ca_cert)),
                           csms_auth=CsmsAuth(type="none"))
    answer = await boot_over(WebSocketTransport.from_config(config))
    assert answer[:2] == [3, "b1"]
    assert peer.errors == []


async def test_basic_auth_over_tls_security_profile_2(peer_csms: PeerFactory, tls_material: TlsMaterial) -> None:
    peer = await peer_csms(ssl_context=tls_material.server_context(), basic_auth=("CP101", "profile-two-pw"))
    config = StationConfig(station_id="CP101", csms_url=peer.url, tls=TlsConfig(ca_cert=str(tls_material.ca_cert)),
                           csms_auth=CsmsAuth(type="basic", username="CP101", password="profile-two-pw"))
    answer = await boot_over(WebSocketTransport.from_config(config))
    assert answer[:2] == [3, "b1"]
    assert peer.connections[-1].username == "CP101"


async def test_server_verification_fails_clearly_with_the_wrong_ca(peer_csms: PeerFactory,
                                                                   tls_material: TlsMaterial) -> None:
    peer = await peer_csms(ssl_context=tls_material.server_context())
    ctx = client_ssl_context(ca_cert=str(tls_material.other_ca_cert))
    transport = WebSocketTransport(f"{peer.url}/CP102", Version.V16, ssl_context=ctx)
    with pytest.raises(TransportError, match=r"certificate verification of .* failed") as info:
        await transport.connect()
    assert "tls.ca_cert" in str(info.value)
    assert info.value.retryable is False
    assert peer.connections == []


async def test_insecure_switch_connects_despite_the_wrong_ca(peer_csms: PeerFactory,
                                                             tls_material: TlsMaterial) -> None:
    peer = await peer_csms(ssl_context=tls_material.server_context())
    tls = TlsConfig(ca_cert=str(tls_material.other_ca_cert), insecure_skip_verify=True)
    config = StationConfig(station_id="CP103", csms_url=peer.url, tls=tls)
    answer = await boot_over(WebSocketTransport.from_config(config))
    assert answer[:2] == [3, "b1"]


async def test_mutual_tls_accepts_a_client_certificate(peer_csms: PeerFactory, tls_material: TlsMaterial) -> None:
    peer = await peer_csms(ssl_context=tls_material.server_context(require_client_cert=True))
    tls = TlsConfig(ca_cert=str(tls_material.ca_cert), client_cert=str(tls_material.client_cert),
                    client_key=str(tls_material.client_key))
    config = StationConfig(station_id="CP001", csms_url=peer.url, tls=tls, csms_auth=CsmsAuth(type="certificate"))
    answer = await boot_over(WebSocketTransport.from_config(config))
    assert answer[:2] == [3, "b1"]
    subject = dict(item for rdn in (peer.connections[-1].client_cert_subject or ()) for item in rdn)
    assert subject.get("commonName") == "CP001"


async def test_mutual_tls_refuses_a_station_without_certificate(peer_csms: PeerFactory,
                                                                tls_material: TlsMaterial) -> None:
    peer = await peer_csms(ssl_context=tls_material.server_context(require_client_cert=True))
    ctx = client_ssl_context(ca_cert=str(tls_material.ca_cert))
    transport = WebSocketTransport(f"{peer.url}/CP104", Version.V16, ssl_context=ctx, open_timeout=5)
    with pytest.raises(TransportError) as info:
        await transport.connect()
    assert "requires a client certificate" in str(info.value)
    assert peer.connections == []


def test_tls_context_for_plain_ws_is_refused() -> None:
    with pytest.raises(TransportError, match="plain ws://"):
        WebSocketTransport("ws://127.0.0.1:9/CP1", Version.V16, ssl_context=client_ssl_context())
