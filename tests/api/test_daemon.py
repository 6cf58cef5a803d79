"""End to end over real HTTP: a daemon subprocess, the independent test CSMS, ten stations with sessions, the live
WebSocket stream, exports, and a daemon restart that finds the same stations, history and energy registers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ocppemu.workbench.client import RemoteWorkbench
from ocppemu.workbench.interface import ActionRequest, MessageQuery, NotFound, WorkbenchEvent
from tests.api.daemon import Daemon
from tests.peers.fixtures import PeerFactory

N = 10


async def _wait(predicate, timeout: float = 20.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _collect(client: RemoteWorkbench, out: list[WorkbenchEvent], kinds: list[str]) -> None:
    async for event in client.events(kinds=kinds):
        out.append(event)


@pytest.mark.slow
async def test_ten_stations_sessions_stream_export_and_restart(tmp_path: Path, peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    store = f"sqlite:///{tmp_path / 'wb.db'}"
    daemon = await Daemon(store, tmp_path / "data").start()
    try:
        client = RemoteWorkbench(daemon.url)
        frames: list[WorkbenchEvent] = []
        streamer = asyncio.create_task(_collect(client, frames, ["frame"]))
        await asyncio.sleep(0.3)  # the stream is subscribed before the first station exists
        ids = [f"E2E{i:02d}" for i in range(N)]
        for sid in ids:
            view = await client.create_station({"station_id": sid, "csms_url": peer.url,
                                                "meter_values_config": {"interval": 1}})
            assert view.runtime.running is False
        for sid in ids:
            assert (await client.start_station(sid)).runtime.running

        async def all_accepted() -> bool:
            views = (await client.list_stations()).stations
            return all(v.runtime.registration_status == "Accepted" for v in views)

        await _wait(all_accepted, what="ten stations accepted by the CSMS")
        for sid in ids:
            result = await client.station_action(sid, ActionRequest(action="start_transaction", id_tag="E2ETAG"))
            assert result.ok, result.error
        for sid in ids:
            await peer.wait_for(sid, "StartTransaction", timeout=15)
        await asyncio.sleep(1.5)
        for sid in ids:
            result = await client.station_action(sid, ActionRequest(action="stop_transaction"))
            assert result.ok, result.error
        for sid in ids:
            await peer.wait_for(sid, "StopTransaction", timeout=15)

        async def all_completed() -> bool:
            txs = (await client.transactions(status="completed")).transactions
            return len(txs) == N

        await _wait(all_completed, what="ten completed transactions in the store")
        # The WebSocket stream carried every station's frames, live.
        await _wait(lambda: _true(len({e.station_id for e in frames if e.data.get("action") == "StopTransaction"})
                                  == N), what="StopTransaction frames of all stations on the stream")
        assert {e.station_id for e in frames if e.data.get("action") == "BootNotification"} == set(ids)
        assert all(e.kind == "frame" for e in frames)
        seqs = [e.seq for e in frames]
        assert seqs == sorted(seqs)

        # Export, streamed: JSON lines and CSV hold the same messages the query pages through.
        text = "".join([chunk async for chunk in client.export_messages(MessageQuery())])
        lines = [json.loads(x) for x in text.splitlines()]
        assert {x["station_id"] for x in lines} == set(ids)
        assert sum(1 for x in lines if x["action"] == "StopTransaction" and x["message_type"] == "Call") == N
        csv_text = "".join([c async for c in client.export_messages(MessageQuery(station_id=ids[0]), "csv")])
        assert csv_text.splitlines()[0].startswith("id,timestamp,station_id")
        assert all(row.split(",")[2] == ids[0] for row in csv_text.splitlines()[1:])
        total, cursor = 0, None
        while True:
            page = await client.query_messages(MessageQuery(limit=50, cursor=cursor))
            total += len(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert total == len(lines)
        exported = await client.export_stations()
        assert sorted(s["station_id"] for s in exported.stations) == ids
        registers = {sid: (await client.get_station(sid)).runtime.energy_register_wh["1"] for sid in ids}
        assert all(v > 0 for v in registers.values())
        for sid in ids:
            assert not (await client.stop_station(sid)).runtime.running
        streamer.cancel()
        assert await daemon.stop() == 0
        assert peer.errors == []

        # Restart: the same stations, history and (monotonic) energy registers.
        daemon = await Daemon(store, tmp_path / "data").start()
        client = RemoteWorkbench(daemon.url)
        views = (await client.list_stations()).stations
        assert [v.station_id for v in views] == ids
        assert all(not v.runtime.running for v in views)  # not auto_start: they wait to be started
        for v in views:
            assert v.runtime.energy_register_wh["1"] == pytest.approx(registers[v.station_id], abs=0.1)
            assert v.snapshot["connectors"][1]["energy_wh"] == pytest.approx(registers[v.station_id], abs=0.1)
        assert len((await client.transactions(status="completed")).transactions) == N
        again = "".join([chunk async for chunk in client.export_messages(MessageQuery())])
        assert len(again.splitlines()) == len(lines)
        with pytest.raises(NotFound):
            await client.get_station("NOPE")
        status = await client.status()
        assert status.stations == N and status.store["ok"] is True
    finally:
        await daemon.stop()


async def _true(value: bool) -> bool:
    return value
