"""Cluster benchmark: shards as Ray actors on a local loopback Ray cluster against the load-target CSMS.

Prints, for one run of ``--stations`` stations over ``--shards`` shard actors (boot + heartbeat + MeterValues
every 10 s, no automatic transactions unless ``--auto``):

* stations per shard (and the time until all were connected);
* CPU % (of one core) and RSS per shard process, sampled from ``/proc`` over ``--window`` s;
* the coordinator's overhead: its own CPU and RSS, and the median time of ``status()``, ``list_stations()`` and a
  50-message ``query_messages()`` through the coordinator actor against the same call on one shard directly;
* the time to recover a killed shard: ``kill -9`` of shard 0's worker until Ray restarted it and the coordinator
  reports it ``restored``, and until all its stations are connected again.

Run: ``python benchmarks/cluster.py --stations 2000 --shards 2 [--window 30]`` (needs ``ocppemu[ray]``).
A shared 2-core machine gives noisy figures; the figures are printed, nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

from ocppemu.cluster.coordinator import ClusterWorkbench, start_coordinator
from ocppemu.cluster.local import start_local, stop_local
from ocppemu.cluster.ray_shard import start_shard
from ocppemu.load.shard import station_ids
from ocppemu.workbench.interface import MessageQuery

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_rss(pid: int) -> tuple[float, int]:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0.0, 0
    return (int(fields[11]) + int(fields[12])) / TICK, rss


async def timed(n: int, make: Any) -> float:
    """Median milliseconds of ``n`` awaits of ``make()``."""
    took = []
    for _ in range(n):
        t0 = time.perf_counter()
        await make()
        took.append((time.perf_counter() - t0) * 1000)
    return statistics.median(took)


async def connected(wb: ClusterWorkbench, n: int, timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if (await wb.status()).connected_stations >= n:
            return time.monotonic() - t0
        await asyncio.sleep(0.5)
    raise SystemExit(f"not all {n} stations connected within {timeout:g} s")


async def bench(args: argparse.Namespace, ray_dir: str, store_dir: str) -> None:
    target = subprocess.Popen([sys.executable, "-m", "ocppemu.load.target", "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert target.stdout is not None
        url = orjson.loads(target.stdout.readline())["listening"]
        names = [f"ocppemu-shard-{i}" for i in range(args.shards)]
        per = [args.stations // args.shards + (1 if i < args.stations % args.shards else 0)
               for i in range(args.shards)]
        config = {"store": {"record": args.record}}
        shards = [start_shard(n, f"sqlite:///{store_dir}/{n}.db", capacity=max(1, c), config=config)
                  for n, c in zip(names, per, strict=True)]
        hello = await asyncio.gather(*(h.hello.remote() for h in shards))
        coord = start_coordinator(names)
        wb = ClusterWorkbench(coord)
        coord_pid = await coord.pid.remote()
        station: dict[str, Any] = {"csms_url": url, "auto_start": True,
                                   "meter_values_config": {"interval": 10, "aligned_data_interval": 0}}
        if args.auto:
            station["auto_transactions"] = {"enabled": True}
        first = 1
        for i, n in enumerate(per):
            await coord.add_stations.remote(i, station, station_ids("BENCH-", first, n), args.ramp / args.shards)
            first += n
        up = await connected(wb, args.stations, 600)
        print(f"shards {args.shards}, stations {args.stations}: {', '.join(map(str, per))} per shard; all "
              f"connected after {up:.1f} s")

        pids = [h["pid"] for h in hello] + [coord_pid]
        before = [cpu_rss(p) for p in pids]
        t0 = time.monotonic()
        await asyncio.sleep(args.window)
        dt = time.monotonic() - t0
        after = [cpu_rss(p) for p in pids]
        for i, name in enumerate(names):
            cpu = (after[i][0] - before[i][0]) / dt * 100
            print(f"{name}: {per[i]} stations, CPU {cpu:.1f} % of a core, RSS {after[i][1] / 2**20:.0f} MiB "
                  f"({after[i][1] / max(1, per[i]) / 1024:.0f} KiB per station)")
        ccpu = (after[-1][0] - before[-1][0]) / dt * 100
        print(f"coordinator: CPU {ccpu:.1f} % of a core (1 status ping per shard per second), "
              f"RSS {after[-1][1] / 2**20:.0f} MiB")

        async def direct(method: str, **kw: Any) -> Any:
            return await shards[0].call.remote(method, kw)
        q = MessageQuery(limit=50)
        for label, via, on_shard in (
                ("status", wb.status, lambda: direct("status")),
                ("list_stations", wb.list_stations, lambda: direct("list_stations")),
                ("query_messages(50)", lambda: wb.query_messages(q),
                 lambda: direct("query_messages", query=q.model_dump(mode="json")))):
            a = await timed(args.calls, via)
            b = await timed(args.calls, on_shard)
            print(f"{label}: {a:.1f} ms through the coordinator, {b:.1f} ms on one shard directly "
                  f"(overhead {a - b:+.1f} ms)")

        killed = time.monotonic()
        os.kill(hello[0]["pid"], signal.SIGKILL)
        while True:
            states = await wb.shards()
            if states[0]["state"] == "restored":
                break
            await asyncio.sleep(0.2)
        restored = time.monotonic() - killed
        back = await connected(wb, args.stations, 600) + restored
        print(f"kill -9 of {names[0]} ({per[0]} stations): restored by Ray after {restored:.1f} s, all its "
              f"stations connected again after {back:.1f} s; gap reported {states[0]['gaps']}")
        for h in [coord, *shards]:
            import ray

            ray.kill(h, no_restart=True)
    finally:
        target.terminate()
        target.wait(10)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--stations", type=int, default=1000)
    p.add_argument("--shards", type=int, default=2)
    p.add_argument("--ramp", type=float, default=500.0, help="stations per second over all shards")
    p.add_argument("--window", type=float, default=30.0, help="seconds of CPU/RSS sampling")
    p.add_argument("--calls", type=int, default=20, help="calls per overhead measurement")
    p.add_argument("--record", default="all")
    p.add_argument("--auto", action="store_true", help="automatic transactions on")
    args = p.parse_args()
    ray_dir = tempfile.mkdtemp(prefix="ocb", dir="/tmp")
    start_local(ray_dir, args.shards)
    try:
        asyncio.run(bench(args, ray_dir, ray_dir + "/stores"))
    finally:
        stop_local()
        shutil.rmtree(ray_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
