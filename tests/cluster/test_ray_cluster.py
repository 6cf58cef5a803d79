"""Two shards as Ray actors on a local two-worker Ray cluster bound to loopback, behind the coordinator actor,
against the independent test CSMS: listed and queried through the coordinator, messages merged in time order, a
``kill -9`` of one worker: its shard comes back and its stations reconnect, the other shard's stay connected.
Every socket of the Ray processes is on the loopback address; everything started is stopped."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # read when Ray is imported: loopback only
ray = pytest.importorskip("ray", reason="the Ray tests need the ocppemu[ray] extra (pip install -e '.[ray]')")

from ocppemu.cluster.coordinator import ClusterWorkbench, start_coordinator  # noqa: E402
from ocppemu.cluster.local import ray_processes, start_local, stop_local  # noqa: E402
from ocppemu.cluster.ray_shard import start_shard  # noqa: E402
from ocppemu.load.shard import station_ids  # noqa: E402
from ocppemu.workbench.interface import ActionRequest, MessageQuery, NotFound  # noqa: E402
from tests.peers.fixtures import PeerFactory  # noqa: E402

CONFIG = {"application": {"batch_insert_interval": 0.05, "state_sync_interval": 0.1}}
LOOPBACK = ("127.0.0.1:", "[::ffff:127.0.0.1]:", "[::1]:", "::1:")


@pytest.fixture
def ray_dir() -> Iterator[str]:
    """A short temporary dir for Ray (its unix socket paths are limited), a local 2-CPU cluster, then cleanup."""
    path = tempfile.mkdtemp(prefix="ocr", dir="/tmp")
    start_local(path, 2)
    try:
        yield path
    finally:
        stop_local()
        left: dict[int, str] = {}
        for _ in range(200):
            left = ray_processes(path)
            if not left:
                break
            time.sleep(0.1)
        shutil.rmtree(path, ignore_errors=True)
        assert not left, f"Ray processes left after shutdown: {left}"


def _sockets(pids: set[int]) -> list[tuple[str, str, int]]:
    """(local, peer, pid) of every TCP socket (listening and connected) of ``pids``, from ss."""
    found = []
    for args in (["ss", "-tlnpH"], ["ss", "-tnpH"]):
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            cols = line.split()
            for pid in map(int, re.findall(r"pid=(\d+)", line)):
                if pid in pids:
                    found.append((cols[3], cols[4], pid))
    return found


async def _connected(wb: ClusterWorkbench, n: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await wb.status()).connected_stations >= n:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not all {n} stations connected: {(await wb.status()).store.get('shards')}")


async def test_two_ray_shards_behind_the_coordinator(ray_dir: str, tmp_path: Path, peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    names = ["ocppemu-shard-0", "ocppemu-shard-1"]
    handles: list[Any] = [start_shard(n, f"sqlite:///{tmp_path / n}.db", capacity=10, config=CONFIG)
                          for n in names]
    coord: Any = None
    try:
        hello = await asyncio.wait_for(asyncio.gather(*(h.hello.remote() for h in handles)), 120)
        assert [h["restored"] for h in hello] == [0, 0] and hello[0]["pid"] != hello[1]["pid"]
        coord = start_coordinator(names, max_stations=20)
        wb = ClusterWorkbench(coord)
        station = {"csms_url": peer.url, "auto_start": True}
        for i in range(2):
            assert await coord.add_stations.remote(i, station, station_ids(f"R{i}-", 1, 3), 50.0) == {
                "queued": 3, "existing": 0}
        await _connected(wb, 6)

        listed = await wb.list_stations()
        assert [v.station_id for v in listed.stations] == [f"R{s}-00000{i}" for s in (0, 1) for i in (1, 2, 3)]
        assert listed.max_stations == 20
        assert (await wb.get_station("R1-000002")).runtime.registration_status == "Accepted"
        with pytest.raises(NotFound):
            await wb.get_station("nope")
        assert (await wb.station_action("R1-000002", ActionRequest(action="start_transaction"))).ok
        await peer.wait_for("R1-000002", "StartTransaction")

        # messages of both shards merged newest first, paged without repeats
        seen: list[str] = []
        cursor = None
        while True:
            page = await wb.query_messages(MessageQuery(limit=5, cursor=cursor))
            stamps = [m.timestamp for m in page.items]
            assert stamps == sorted(stamps, reverse=True)
            seen += [m.id for m in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) >= 6 * 2
        assert {m.station_id for m in (await wb.query_messages(MessageQuery(limit=500))).items} == {
            v.station_id for v in listed.stations}
        assert [s["state"] for s in await wb.shards()] == ["running", "running"]

        # every TCP socket of the cluster's processes (and of this driver) is on loopback
        pids = set(ray_processes(ray_dir)) | {os.getpid()}
        sockets = _sockets(pids)
        assert any(pid != os.getpid() for _, _, pid in sockets)
        assert all(local.startswith(LOOPBACK) for local, _, _ in sockets), sockets
        assert all(p.startswith((*LOOPBACK, "0.0.0.0:*", "*:*", "[::]:*")) for _, p, _ in sockets), sockets

        # kill -9 the first shard's worker: Ray restarts it, it restores its stations, they reconnect
        os.kill(hello[0]["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 180
        states: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            states = await wb.shards()
            # the other shard's stations stay connected throughout
            other = await handles[1].call.remote("status", {})
            assert other["result"]["connected_stations"] == 3
            if states[0]["state"] == "restored":
                break
            await asyncio.sleep(0.5)
        assert states[0]["state"] == "restored" and states[0]["restarts"] == 1, states
        assert states[1] == {"name": names[1], "state": "running", "restarts": 0, "gaps": []}
        assert len(states[0]["gaps"]) == 1 and states[0]["gaps"][0]["seconds"] > 0
        again = await handles[0].hello.remote()
        assert again["pid"] != hello[0]["pid"] and again["restored"] == 3
        await peer.wait_for("R0-000001", "BootNotification", count=2, timeout=60)
        await _connected(wb, 6)
        assert (await handles[1].hello.remote())["pid"] == hello[1]["pid"]
        status = await wb.status()
        events = [e["state"] for e in status.store["shard_events"] if e["shard"] == names[0]]
        assert events == ["lost", "restarting", "restored"]
        assert len((await wb.list_stations()).stations) == 6
    finally:
        for h in ([coord] if coord is not None else []) + handles:
            ray.kill(h, no_restart=True)


async def test_load_command_on_a_local_cluster(tmp_path: Path, peer_csms: PeerFactory) -> None:
    """``ocppemu load --cluster local --processes 2``: a throw-away loopback cluster, the JSON report's shards."""
    peer = await peer_csms()
    out = tmp_path / "report.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ocppemu", "load", "--csms", peer.url, "--stations", "4", "--processes", "2",
        "--duration", "3", "--no-auto", "--cluster", "local", "--quiet", "--json", str(out),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    report = orjson.loads(out.read_bytes())
    assert report["stations_booted"] == 4 and report["settings"]["cluster"] == "local"
    assert report["shards"] == [{"name": f"ocppemu-shard-{i}", "stations": 2, "state": "running", "restarts": 0,
                                 "gaps": []} for i in range(2)]
    assert report["gaps"] == []
    assert {c.station_id for c in peer.connections} == {f"LOAD-00000{i}" for i in range(1, 5)}
    assert not ray_processes("/tmp/ocppemu-ray-")  # the throw-away cluster is gone with the command
