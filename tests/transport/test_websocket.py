"""WebSocketTransport against real servers on 127.0.0.1: negotiation, auth, messages, closing, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from ocppemu.config.station import CsmsAuth, StationConfig
from ocppemu.ocpp.versions import Version
from ocppemu.transport.base import TransportClosed, TransportError
from ocppemu.transport.websocket import WebSocketTransport, basic_auth_header
from tests.peers.fixtures import PeerFactory

Handler = Callable[[ServerConnection], Awaitable[None]]


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    """Plain websockets servers with whatever subprotocol policy a test needs."""
    servers: list[Server] = []

    async def make(handler: Handler = _echo, **kwargs: object) -> Server:
        server = await serve(handler, "127.0.0.1", 0, **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()
        await server.wait_closed()


def url_of(server: Server, path: str = "/ocpp/CP001") -> str:
    port = next(iter(server.sockets)).getsockname()[1]
    return f"ws://127.0.0.1:{port}{path}"


@pytest.mark.parametrize("version", list(Version))
async def test_negotiates_the_subprotocol_of_the_version(raw_server: Callable[..., Awaitable[Server]],
                                                         version: Version) -> None:
    server = await raw_server(subprotocols=[Subprotocol(v.subprotocol) for v in Version])
    transport = WebSocketTransport(url_of(server), version)
    await transport.connect()
    try:
        assert transport.subprotocol == version.subprotocol
        assert transport.is_open
        await transport.send('[2,"1","Heartbeat",{}]')
        assert await transport.recv() == '[2,"1","Heartbeat",{}]'
    finally:
        await transport.close()
    assert not transport.is_open


async def test_refuses_a_server_that_selects_no_subprotocol(raw_server: Callable[..., Awaitable[Server]]) -> None:
    server = await raw_server()  # a server without subprotocols accepts the handshake without choosing one
    transport = WebSocketTransport(url_of(server), Version.V16)
    with pytest.raises(TransportError, match=r"selected subprotocol none instead of 'ocpp1\.6'") as info:
        await transport.connect()
    assert info.value.retryable is False
    assert not transport.is_open


async def test_refuses_a_server_that_only_speaks_another_version(
        raw_server: Callable[..., Awaitable[Server]]) -> None:
    server = await raw_server(subprotocols=["ocpp2.0.1"])
    transport = WebSocketTransport(url_of(server), Version.V16)
    with pytest.raises(TransportError, match="HTTP 400") as info:
        await transport.connect()
    assert not info.value.retryable


async def test_basic_auth_header_reaches_the_server(raw_server: Callable[..., Awaitable[Server]]) -> None:
    seen: list[str | None] = []

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        seen.append(ws.request.headers.get("Authorization"))
        seen.append(ws.request.path)
        await ws.wait_closed()

    server = await raw_server(handler, subprotocols=["ocpp1.6"])
    transport = WebSocketTransport(url_of(server, "/ocpp/CP%20X"), Version.V16, basic_auth=("CP X", "pä$$word"))
    await transport.connect()
    await transport.close()
    await asyncio.sleep(0)
    assert seen == [basic_auth_header("CP X", "pä$$word"), "/ocpp/CP%20X"]
    assert seen[0] == "Basic Q1AgWDpww6QkJHdvcmQ="


async def test_from_config_builds_url_auth_and_connects_to_the_oracle(peer_csms: PeerFactory) -> None:
    peer = await peer_csms(basic_auth=("CP042", "a-long-secret"))
    config = StationConfig(station_id="CP042", csms_url=peer.url,
                           csms_auth=CsmsAuth(type="basic", username="CP042", password="a-long-secret"))
    transport = WebSocketTransport.from_config(config)
    assert transport.url == f"{peer.url}/CP042"
    await transport.connect()
    try:
        await transport.send(json.dumps([2, "b1", "BootNotification",
                                         {"chargePointVendor": "ocppemu", "chargePointModel": "Emulator"}]))
        answer = json.loads(await transport.recv())
    finally:
        await transport.close()
    assert answer[:2] == [3, "b1"] and answer[2]["status"] == "Accepted"
    assert peer.connections[-1].username == "CP042"
    assert peer.errors == []


async def test_wrong_password_is_a_clear_non_retryable_error(peer_csms: PeerFactory) -> None:
    peer = await peer_csms(basic_auth=("CP043", "right"))
    transport = WebSocketTransport(f"{peer.url}/CP043", Version.V16, basic_auth=("CP043", "wrong"))
    with pytest.raises(TransportError, match="rejected the credentials \\(HTTP 401\\)") as info:
        await transport.connect()
    assert info.value.retryable is False


async def test_connection_refused_is_retryable(unused_tcp_port: int) -> None:
    transport = WebSocketTransport(f"ws://127.0.0.1:{unused_tcp_port}/CP1", Version.V16, open_timeout=5)
    with pytest.raises(TransportError, match="refused") as info:
        await transport.connect()
    assert info.value.retryable is True


async def test_peer_close_surfaces_as_transport_closed(raw_server: Callable[..., Awaitable[Server]]) -> None:
    async def closer(ws: ServerConnection) -> None:
        await ws.close(4001, "go away")

    server = await raw_server(closer, subprotocols=["ocpp1.6"])
    transport = WebSocketTransport(url_of(server), Version.V16)
    await transport.connect()
    with pytest.raises(TransportClosed) as info:
        await transport.recv()
    assert (info.value.code, info.value.reason) == (4001, "go away")
    with pytest.raises(TransportClosed):
        await transport.send("[]")
    await transport.close()
    await transport.close()  # idempotent


async def test_oversized_message_closes_with_1009(raw_server: Callable[..., Awaitable[Server]]) -> None:
    async def big(ws: ServerConnection) -> None:
        await ws.send("x" * 5000)
        await ws.wait_closed()

    server = await raw_server(big, subprotocols=["ocpp1.6"])
    transport = WebSocketTransport(url_of(server), Version.V16, max_size=1000)
    await transport.connect()
    with pytest.raises(TransportClosed) as info:
        await transport.recv()
    assert info.value.code == 1009
    await transport.close()


async def test_binary_frame_is_handed_up_as_text(raw_server: Callable[..., Awaitable[Server]]) -> None:
    async def binary(ws: ServerConnection) -> None:
        await ws.send(b'[2,"1","Heartbeat",{}]\xff')
        await ws.wait_closed()

    server = await raw_server(binary, subprotocols=["ocpp1.6"])
    transport = WebSocketTransport(url_of(server), Version.V16)
    await transport.connect()
    assert await transport.recv() == '[2,"1","Heartbeat",{}]\ufffd'
    await transport.close()


async def test_recv_before_connect_is_transport_closed() -> None:
    transport = WebSocketTransport("ws://127.0.0.1:1/CP1", Version.V16)
    with pytest.raises(TransportClosed):
        await transport.recv()
    assert transport.subprotocol is None and not transport.is_open


async def test_invalid_url_is_refused_clearly() -> None:
    transport = WebSocketTransport("ws://[::1/CP1", Version.V16)
    with pytest.raises(TransportError) as info:
        await transport.connect()
    assert not info.value.retryable


async def test_keepalive_pings_are_answered(raw_server: Callable[..., Awaitable[Server]]) -> None:
    pings = asyncio.Event()

    async def watcher(ws: ServerConnection) -> None:
        # The client pings us; websockets answers pongs automatically. We observe the client's liveness by
        # pinging it back and awaiting the pong.
        pong = await ws.ping()
        await pong
        pings.set()
        await ws.wait_closed()

    server = await raw_server(watcher, subprotocols=["ocpp1.6"])
    transport = WebSocketTransport(url_of(server), Version.V16, ping_interval=0.05)
    await transport.connect()
    await asyncio.wait_for(pings.wait(), 5)
    await asyncio.sleep(0.2)  # several client pings go out; the connection must stay open
    assert transport.is_open
    await transport.close()
