"""Charging sessions over wss:// with generated certificates: verification, profile 2, mutual TLS."""

from __future__ import annotations

import pytest

from tests.station.v16.helpers import Harness, station_config, until


async def _session(peer, h: Harness) -> None:  # type: ignore[no-untyped-def]
    assert await h.runtime.wait_connected(10)
    assert h.act("start_session", 1, "TAG").ok
    await peer.wait_for("CP001", "StartTransaction")
    await until(lambda: h.core.connectors[1].tx is not None and h.core.connectors[1].tx.transaction_id is not None)
    assert h.act("stop_session", 1).ok
    await peer.wait_for("CP001", "StopTransaction")


async def test_session_over_tls_with_the_right_ca(peer_csms, tls_material) -> None:  # type: ignore[no-untyped-def]
    peer = await peer_csms(versions=("1.6",), ssl_context=tls_material.server_context())
    assert peer.url.startswith("wss://")
    async with Harness(station_config(peer.url, tls={"ca_cert": str(tls_material.ca_cert)})) as h:
        await _session(peer, h)
    assert peer.errors == []


async def test_basic_auth_over_tls_security_profile_2(peer_csms, tls_material) -> None:  # type: ignore[no-untyped-def]
    peer = await peer_csms(versions=("1.6",), ssl_context=tls_material.server_context(),
                           basic_auth=("CP001", "s3cret-password-16"))
    config = station_config(peer.url, tls={"ca_cert": str(tls_material.ca_cert)},
                            csms_auth={"type": "basic", "username": "CP001", "password": "s3cret-password-16"})
    async with Harness(config) as h:
        await _session(peer, h)
    assert peer.connections[0].username == "CP001"


async def test_wrong_ca_fails_clearly(peer_csms, tls_material) -> None:  # type: ignore[no-untyped-def]
    peer = await peer_csms(versions=("1.6",), ssl_context=tls_material.server_context())
    async with Harness(station_config(peer.url, tls={"ca_cert": str(tls_material.other_ca_cert)})) as h:
        await until(lambda: h.core.last_error is not None, what="a connection error")
        assert not h.core.is_connected
        assert "certificate" in (h.core.last_error or "").lower()
    assert peer.connections == []


@pytest.mark.parametrize("with_client_cert", [True, False])
async def test_mutual_tls(peer_csms, tls_material, with_client_cert: bool) -> None:  # type: ignore[no-untyped-def]
    peer = await peer_csms(versions=("1.6",), ssl_context=tls_material.server_context(require_client_cert=True))
    tls: dict[str, str] = {"ca_cert": str(tls_material.ca_cert)}
    if with_client_cert:
        tls |= {"client_cert": str(tls_material.client_cert), "client_key": str(tls_material.client_key)}
    async with Harness(station_config(peer.url, tls=tls)) as h:
        if with_client_cert:
            await _session(peer, h)
            assert peer.connections[0].client_cert_subject is not None
        else:
            await until(lambda: h.core.last_error is not None, what="a refused handshake")
            assert not h.core.online
    if not with_client_cert:
        assert peer.connections == []
