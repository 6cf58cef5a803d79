"""Load benchmark: the workload of issue 14 against the bundled load-target CSMS, figures per number of stations.

Workload (the ``load-ac-22kw-dual-1.6`` template): OCPP 1.6, 2 connectors x 22 kW, automatic transactions on both
connectors (Authorize -> StartTransaction -> charge 60-120 s -> StopTransaction -> pause 15-30 s), MeterValues
with 10 sampled values every 10 s, heartbeat 60 s, every frame recorded in each shard's SQLite store.

The CSMS (``ocppemu load-target``) runs in its own process; its CPU is not counted. ``/proc`` of the
coordinator and the worker processes is sampled every 2 s. Printed per N:

* time until all stations were booted (BootNotification accepted);
* RSS of the emulator's processes (coordinator + workers) and RSS per station;
* CPU % (of one core) and CPU ms per exchange (a CALL of a station and its answer, the unit of the SAP figures),
  over the measurement window (from the end of the ramp + ``--settle`` s to the end);
* frames/s (both directions) in the window;
* MeterValues received by the CSMS (answered) in the last 60 s / due in the last 60 s (for every transaction, the
  multiples of the sample interval after its start that fall in the window: what a station that is never late
  sends); the target's own count (sampled every 2 s, so slightly behind) is printed as a cross-check;
* disconnects, frames recorded / dropped, time in the cyclic garbage collector.

Run: ``python benchmarks/load.py --stations 1000,5000,10000 [--processes P] [--settle 60] [--window 120]``.
Heavy on a shared machine: it opens N sockets per side. Raise ``ulimit -n`` first for N > 10,000 per process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocppemu.load.run import LoadSettings, run_load

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def proc_cpu_rss(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and RSS bytes of a process; (0, 0) when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            rss = int(fh.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0.0, 0
    return (int(fields[11]) + int(fields[12])) / TICK, rss


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Target:
    """The load-target CSMS in its own process(es) sharing one port; the sum of their last stats is kept."""

    def __init__(self, processes: int = 1) -> None:
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        self.procs = [subprocess.Popen([sys.executable, "-m", "ocppemu.load.target", "--port", str(port),
                                        "--stats", "2", "--reuse-port"], stdout=subprocess.PIPE, env=env)
                      for _ in range(processes)]
        for proc in self.procs:
            assert proc.stdout is not None
            self.url = orjson.loads(proc.stdout.readline())["listening"]
        self._last: list[dict[str, Any]] = [{} for _ in self.procs]

    @property
    def last(self) -> dict[str, Any]:
        return {"meter_values_last_60s": sum(x.get("meter_values_last_60s", 0) for x in self._last),
                "connections": sum(x.get("connections", 0) for x in self._last)}

    async def follow(self) -> None:
        loop = asyncio.get_running_loop()

        async def one(i: int) -> None:
            out = self.procs[i].stdout
            assert out is not None
            while True:
                line = await loop.run_in_executor(None, out.readline)
                if not line:
                    return
                self._last[i] = orjson.loads(line)
        await asyncio.gather(*(one(i) for i in range(len(self.procs))))

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(10)


async def one_run(target: Target, n: int, processes: int | None, ramp: float, settle: float, window: float,
                  record: str) -> dict[str, Any]:
    ramp_s = n / ramp
    duration = ramp_s + settle + window
    samples: list[tuple[float, float, int, dict[str, Any], list[dict[str, Any]]]] = []
    last_probe = [0.0]
    booted_at: list[float] = []

    def observe(sample: dict[str, Any], summaries: list[dict[str, Any]], pids: list[int]) -> None:
        if sample["booted"] >= n and not booted_at:
            booted_at.append(sample["t"])
        if sample["t"] - last_probe[0] < 2.0:
            return
        last_probe[0] = sample["t"]
        cpu, rss = 0.0, 0
        for pid in [os.getpid(), *pids]:
            c, r = proc_cpu_rss(pid)
            cpu += c
            rss += r
        metrics = {"sent": sum(x.get("metrics", {}).get("frames_sent", 0) for x in summaries),
                   "received": sum(x.get("metrics", {}).get("frames_received", 0) for x in summaries),
                   "calls": sum(x.get("metrics", {}).get("calls_sent", 0) for x in summaries),
                   "mv_answered_60s": sum(x.get("metrics", {}).get("meter_values_last_60s", 0) for x in summaries),
                   "mv_due_60s": sample.get("mv_due_60s", 0.0), "mv_csms_60s": target.last.get(
                       "meter_values_last_60s", 0), "connected": sample["connected"]}
        samples.append((sample["t"], cpu, rss, metrics, summaries))

    settings = LoadSettings(csms=target.url, stations=n, template="load-ac-22kw-dual-1.6", ramp=ramp,
                            duration=duration, processes=processes, record=record)
    report = await run_load(settings, observer=observe)
    start_t = ramp_s + settle
    window_samples = [s for s in samples if s[0] >= start_t]
    if len(window_samples) < 2:
        window_samples = samples[-2:]
    (t0, c0, _, m0, _), (t1, c1, rss, m1, summaries) = window_samples[0], window_samples[-1]
    cpu_s, wall = c1 - c0, t1 - t0
    exchanges = m1["calls"] - m0["calls"]
    frames = (m1["sent"] + m1["received"]) - (m0["sent"] + m0["received"])
    gc_s = sum(x.get("gc", {}).get("seconds", 0.0) for x in summaries)
    return {
        "stations": n, "processes": settings.processes, "booted_s": booted_at[0] if booted_at else None,
        "rss_mib": round(rss / 2**20, 1), "rss_kib_per_station": round(rss / 1024 / n, 1),
        "cpu_percent": round(100 * cpu_s / wall, 1) if wall else None,
        "cpu_ms_per_exchange": round(1000 * cpu_s / exchanges, 3) if exchanges else None,
        "cpu_ms_per_frame": round(1000 * cpu_s / frames, 3) if frames else None,
        "frames_per_s": round(frames / wall, 1) if wall else None,
        "mv_received_due_60s": round(m1["mv_answered_60s"] / m1["mv_due_60s"], 3) if m1["mv_due_60s"] else None,
        "mv_received_60s": m1["mv_answered_60s"], "mv_csms_counted_60s": m1["mv_csms_60s"],
        "mv_due_60s": round(m1["mv_due_60s"], 1),
        "disconnects": report["disconnects"], "frames_sent": report["frames_sent"],
        "frames_received": report["frames_received"], "frames_recorded": report["frames_recorded"],
        "frames_dropped": report["frames_dropped"], "gc_seconds": round(gc_s, 2),
        "window_s": round(wall, 1), "connected_at_end": report["stations_connected_at_end"],
        "host_load_1min": round(os.getloadavg()[0], 2),
    }


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stations", default="1000,5000,10000")
    p.add_argument("--processes", default=None, help="worker processes per N, e.g. 1,1,1,2 (default: cores)")
    p.add_argument("--ramp", type=float, default=500.0, help="stations started per second")
    p.add_argument("--settle", type=float, default=60.0, help="seconds after the ramp before measuring")
    p.add_argument("--window", type=float, default=120.0, help="seconds measured")
    p.add_argument("--record", default="all")
    p.add_argument("--target-processes", type=int, default=1, help="load-target processes (one holds < 20k sockets)")
    args = p.parse_args()
    counts = [int(x) for x in args.stations.split(",")]
    procs = [int(x) for x in args.processes.split(",")] if args.processes else [None] * len(counts)
    target = Target(args.target_processes)
    follower = asyncio.create_task(target.follow())
    rows = []
    try:
        for n, pr in zip(counts, procs, strict=True):
            t = time.monotonic()
            row = await one_run(target, n, pr, args.ramp, args.settle, args.window, args.record)
            row["run_s"] = round(time.monotonic() - t, 1)
            rows.append(row)
            print(orjson.dumps(row).decode(), flush=True)
            await asyncio.sleep(5)
    finally:
        target.stop()
        follower.cancel()
    keys = ["stations", "processes", "booted_s", "rss_mib", "rss_kib_per_station", "cpu_percent",
            "cpu_ms_per_exchange", "cpu_ms_per_frame", "frames_per_s", "mv_received_due_60s", "disconnects",
            "frames_recorded", "frames_dropped", "gc_seconds", "host_load_1min"]
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row.get(k)) for k in keys) + " |")


if __name__ == "__main__":
    asyncio.run(main())
