"""Structured concurrency of a station runtime: no task of a station survives its stop or its deletion.

The CSMS peer runs on its own event loop in a thread and the slow upload server is a plain threaded TCP server, so
every task left in the test's event loop after the station stopped would be the station's: the test compares
``asyncio.all_tasks()`` before the station started and after it stopped, exactly.
"""

from __future__ import annotations

import asyncio
import socketserver
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ocppemu.config.app import AppConfig
from ocppemu.runtime.station_runtime import StationRuntime
from ocppemu.station.core import Sinks
from ocppemu.station.v201.station import Station201
from ocppemu.workbench import Workbench
from tests.peers.ocpp_csms import PeerCsms
from tests.station.v201.helpers import station_config, until

T = TypeVar("T")


class ThreadedPeer:
    """The independent CSMS peer on an event loop of its own, in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="peer-loop", daemon=True)
        self.thread.start()
        self.peer = PeerCsms(versions=("2.0.1",))

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.peer.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class SlowUploadServer(socketserver.ThreadingTCPServer):
    """Accepts an upload, reads it, and never answers: the upload stays in progress until the client gives up."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SlowHandler)
        self.received = threading.Event()  # a request arrived
        self.client_closed = threading.Event()  # ... and the client closed its connection
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/logs/slow.log"


class _SlowHandler(socketserver.BaseRequestHandler):
    server: SlowUploadServer

    def handle(self) -> None:
        self.request.settimeout(0.2)
        while not self.server.release.is_set():
            try:
                chunk = self.request.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            self.server.received.set()
        self.server.client_closed.set()


@pytest.fixture
def threaded_peer() -> Iterator[ThreadedPeer]:
    tp = ThreadedPeer()
    yield tp
    tp.close()


@pytest.fixture
def slow_server() -> Iterator[SlowUploadServer]:
    server = SlowUploadServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def _station_tasks(before: set[asyncio.Task[Any]]) -> list[str]:
    return sorted(f"{t.get_name()}" if t.get_name().partition(":")[2] else f"{t.get_name()} {t.get_coro()!r}"
                  for t in asyncio.all_tasks() - before if not t.done())


async def _start_slow_upload(tp: ThreadedPeer, slow: SlowUploadServer, station_id: str) -> None:
    answer = await tp.run(tp.peer.call(station_id, "GetLog", {"logType": "DiagnosticsLog", "requestId": 7,
                                                              "log": {"remoteLocation": slow.url}}))
    assert answer["status"] == "Accepted"
    assert await asyncio.to_thread(slow.received.wait, 10), "the upload never reached the slow server"


async def test_stop_cancels_and_awaits_every_task_of_the_station_uploads_included(
        threaded_peer: ThreadedPeer, slow_server: SlowUploadServer) -> None:
    await threaded_peer.run(threaded_peer.peer.start())
    before = asyncio.all_tasks()
    runtime = StationRuntime(Station201(station_config(threaded_peer.peer.url), Sinks()))
    await runtime.start()
    assert await runtime.wait_connected(10)
    await _start_slow_upload(threaded_peer, slow_server, "CS001")
    live = _station_tasks(before)
    assert "upload:CS001" in live and "station:CS001" in live and "writer:CS001" in live

    await runtime.stop()

    assert _station_tasks(before) == []
    assert runtime.state == "stopped" and not runtime.running
    # Cancelling the upload closed its connection; the server saw the client go.
    assert await asyncio.to_thread(slow_server.client_closed.wait, 10)


async def test_a_dropped_connection_is_closed_by_a_task_the_station_owns(threaded_peer: ThreadedPeer) -> None:
    await threaded_peer.run(threaded_peer.peer.start())
    before = asyncio.all_tasks()
    core = Station201(station_config(threaded_peer.peer.url), Sinks())
    runtime = StationRuntime(core)
    await runtime.start()
    assert await runtime.wait_connected(10)
    runtime.disconnect_network(3600)  # closes the connection in a task of the station, then stays offline
    await until(lambda: runtime.state == "offline", what="the station offline")
    await runtime.stop()
    assert _station_tasks(before) == []


async def test_deleting_a_station_leaves_no_task_of_it(tmp_path: Path, threaded_peer: ThreadedPeer,
                                                        slow_server: SlowUploadServer) -> None:
    await threaded_peer.run(threaded_peer.peer.start())
    config = AppConfig.model_validate({"application": {"state_sync_interval": 3600}})
    async with Workbench(f"sqlite:///{tmp_path / 'w.db'}", config=config) as wb:
        before = asyncio.all_tasks()
        doc = station_config(threaded_peer.peer.url, station_id="DEL-1").model_dump(mode="json")
        await wb.create_station(doc)
        await wb.start_station("DEL-1")
        await threaded_peer.run(threaded_peer.peer.wait_for_station("DEL-1"))
        await threaded_peer.run(threaded_peer.peer.wait_for("DEL-1", "BootNotification"))
        await _start_slow_upload(threaded_peer, slow_server, "DEL-1")
        assert "upload:DEL-1" in _station_tasks(before)

        deleted = await wb.delete_station("DEL-1")

        assert deleted.deleted
        assert _station_tasks(before) == []
        assert await asyncio.to_thread(slow_server.client_closed.wait, 10)

