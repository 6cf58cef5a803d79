"""Many OCPP 1.6 stations in one process: memory per station and CPU per frame.

Run: python benchmarks/scale.py --stations 1000 --seconds 30 [--store]
Starts the bundled demo CSMS in a separate process (so its cost is not counted), connects N stations (boot,
status, heartbeat every --heartbeat s, one charging session each with MeterValues every --meter s), and prints:
resident memory per station (KiB, RSS growth / N), frames exchanged, and CPU time of this process per frame (ms).
With ``--store`` the stations record into a real SQLite file through the workbench's recorder, and it also prints
the store calls per meter sample (by kind) during the measured window.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ocppemu.config.station import StationConfig
from ocppemu.runtime.station_runtime import StationRuntime
from ocppemu.station.core import Sinks
from ocppemu.station.v16.station import Station16
from ocppemu.store.sqlite import SqliteRepository
from ocppemu.workbench.recording import Recorder

WRITES = ("add_messages", "add_meter_samples", "upsert_transaction", "queue_push", "queue_remove")


def counting_repository(path: Path) -> tuple[SqliteRepository, Counter[str]]:
    """A real SQLite repository whose write methods count their calls."""
    repo = SqliteRepository(path)
    calls: Counter[str] = Counter()
    for name in WRITES:
        method = getattr(repo, name)

        async def counted(*args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
            calls[_name] += 1
            return await _method(*args, **kwargs)

        setattr(repo, name, counted)
    return repo, calls


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib() -> int:
    with open(f"/proc/{os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--stations", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--heartbeat", type=int, default=10)
    p.add_argument("--meter", type=int, default=5)
    p.add_argument("--port", type=int, default=0, help="demo CSMS port (default: a free one)")
    p.add_argument("--store", action="store_true", help="record into SQLite through the recorder; count writes")
    p.add_argument("--ramp", type=float, default=500.0, help="stations started per second")
    args = p.parse_args()
    args.port = args.port or free_port()
    logging.basicConfig(level=logging.ERROR)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    csms = subprocess.Popen([sys.executable, "-m", "ocppemu.cli", "demo-csms", "--port", str(args.port),
                             "--heartbeat-interval", str(args.heartbeat), "--log-level", "ERROR"])
    await asyncio.sleep(2.0)
    frames = 0
    samples = 0
    recorder: Recorder | None = None
    calls: Counter[str] = Counter()
    tmp = tempfile.TemporaryDirectory(prefix="ocppemu-scale-")
    if args.store:
        repo, calls = counting_repository(Path(tmp.name) / "scale.db")
        await repo.init()
        recorder = Recorder(repo)
        await recorder.start()

    def count(record: object) -> None:
        nonlocal frames
        frames += 1
        if recorder is not None:
            recorder.frame(record)  # type: ignore[arg-type]

    def count_samples(batch: list[Any]) -> None:
        nonlocal samples
        samples += 1
        if recorder is not None:
            recorder.meter(batch)

    try:
        base = rss_kib()
        runtimes = []
        for i in range(args.stations):
            cfg = StationConfig(station_id=f"S{i:05d}", csms_url=f"ws://127.0.0.1:{args.port}/ocpp",
                                meter_values_config={"interval": args.meter, "aligned_data_interval": 0},
                                simulation={"ping_interval": None, "reconnect_initial_delay": 1.0})
            core = Station16(cfg, Sinks(frame=count, meter=count_samples))
            if recorder is not None:
                core.queue.sink = recorder.queue_sink(cfg.station_id)
            runtimes.append(StationRuntime(core))
        for i, rt in enumerate(runtimes):
            await rt.start()
            if i % 50 == 49:
                await asyncio.sleep(50 / args.ramp)
        deadline = time.monotonic() + 120
        while sum(rt.core.online for rt in runtimes) < len(runtimes) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        online = sum(rt.core.online for rt in runtimes)
        for rt in runtimes:
            rt.act(rt.core.start_session, 1, None)  # type: ignore[attr-defined]
        if recorder is not None:
            await recorder.flush()
        cpu0, frames0, t0 = time.process_time(), frames, time.monotonic()
        samples0, calls0 = samples, Counter(calls)
        await asyncio.sleep(args.seconds)
        cpu = time.process_time() - cpu0
        n = frames - frames0
        sampled = samples - samples0
        rss = rss_kib()
        print(f"stations online      {online}/{args.stations}")
        print(f"memory per station   {(rss - base) / args.stations:.1f} KiB (RSS {rss / 1024:.0f} MiB)")
        print(f"frames in {time.monotonic() - t0:.0f}s      {n} ({n / (time.monotonic() - t0):.0f}/s)")
        print(f"CPU per frame        {cpu / max(n, 1) * 1000:.3f} ms")
        print(f"meter samples        {sampled}")
        if recorder is not None:
            await recorder.flush()
            delta = calls - calls0
            per = ", ".join(f"{k} {delta[k] / max(sampled, 1):.2f}" for k in WRITES)
            print(f"store calls/sample   {sum(delta.values()) / max(sampled, 1):.2f} ({per})")
        for rt in runtimes:
            await rt.stop()
        if recorder is not None:
            await recorder.aclose()
            await recorder.repo.close()  # type: ignore[union-attr]
    finally:
        tmp.cleanup()
        csms.terminate()
        csms.wait()


if __name__ == "__main__":
    asyncio.run(main())
