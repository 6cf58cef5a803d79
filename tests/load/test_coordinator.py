"""Stations on two worker processes behind one coordinator: listed, queried, acted on; a killed worker comes back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ocppemu.load.coordinator import Coordinator
from ocppemu.load.shard import station_ids
from ocppemu.load.worker import WorkerHandle
from ocppemu.workbench.interface import ActionRequest, MessageQuery, NotFound
from tests.peers.fixtures import PeerFactory

CONFIG = {"application": {"batch_insert_interval": 0.05, "state_sync_interval": 0.1}}


async def _booted(coord: Coordinator, n: int, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.1)):
        metrics = await coord.metrics()
        if metrics["connected"] >= n and metrics["stations_booted"] >= n:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not all {n} stations booted: {await coord.summaries()}")


async def test_two_workers_behind_one_coordinator(tmp_path: Path, peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    workers = [WorkerHandle(f"shard-{i}", f"sqlite:///{tmp_path / f's{i}.db'}", capacity=10, config=CONFIG)
               for i in range(2)]

    async def restart(link: WorkerHandle) -> None:
        await link.start()

    coord = Coordinator(list(workers), restart=restart)
    for w in workers:
        w.on_exit = coord.shard_lost
    try:
        await asyncio.gather(*(w.start() for w in workers))
        station = {"csms_url": peer.url, "auto_start": True}
        for i, w in enumerate(workers):
            ids = station_ids(f"W{i}-", 1, 3)
            assert await w.call("add_stations", station=station, ids=ids, ramp=50.0) == {"queued": 3, "existing": 0}
        await _booted(coord, 6)

        listed = await coord.list_stations()
        assert [v.station_id for v in listed.stations] == [f"W{s}-00000{i}" for s in (0, 1) for i in (1, 2, 3)]
        assert listed.max_stations == 20
        view = await coord.get_station("W1-000002")
        assert view.runtime.registration_status == "Accepted"
        with pytest.raises(NotFound):
            await coord.get_station("nope")

        # an action on a station of the second worker reaches its CSMS
        assert (await coord.station_action("W1-000002", ActionRequest(action="start_transaction"))).ok
        await peer.wait_for("W1-000002", "StartTransaction")

        # messages of both shards, newest first, paged without repeats or gaps
        before = (await coord.stats()).messages
        seen: list[str] = []
        cursor = None
        while True:
            page = await coord.query_messages(MessageQuery(limit=7, cursor=cursor))
            seen += [m.id for m in page.items]
            stamps = [m.timestamp for m in page.items]
            assert stamps == sorted(stamps, reverse=True)
            cursor = page.next_cursor
            if cursor is None:
                break
        after = (await coord.stats()).messages  # the stations keep talking while we page
        assert len(seen) == len(set(seen)) and 6 * 4 < before <= len(seen) <= after
        assert {m.station_id for m in (await coord.query_messages(MessageQuery(limit=1000))).items} == {
            v.station_id for v in listed.stations}

        status = await coord.status()
        assert (status.stations, status.connected_stations) == (6, 6)
        assert status.store["frames_dropped"] == 0 and [s["state"] for s in status.store["shards"]] == [
            "running", "running"]

        # kill the first worker: detected, started again on its store, its stations restored and reconnected
        pid = workers[0].pid
        workers[0].kill()
        for _ in range(600):
            if any(e["state"] == "restored" for e in coord.shard_events):
                break
            await asyncio.sleep(0.05)
        assert await coord.wait_restored(timeout=60)
        assert workers[0].pid != pid and workers[0].state == "restored" and workers[0].restored == 3
        await peer.wait_for("W0-000001", "BootNotification", count=2, timeout=30)
        await _booted(coord, 6)
        states = [e["state"] for e in coord.shard_events if e["shard"] == "shard-0"]
        assert states == ["lost", "restarting", "restored"]
        assert len((await coord.list_stations()).stations) == 6
        assert (await coord.status()).store["shards"][0]["restarts"] == 1
    finally:
        await coord.close()
    assert all(not w.alive for w in workers)
