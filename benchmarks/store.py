"""Store benchmark: sustained messages/second through the MessageBuffer, and filtered-page query latency.

    python benchmarks/store.py                     # both backends, 1,000,000 messages each (slow)
    python benchmarks/store.py --count 100000 --backend sqlite
    python benchmarks/store.py --backend mongodb --mongodb-uri mongodb://127.0.0.1:27017

Without ``--mongodb-uri`` a SecantusDB server (``secantusd-py``) is started on a free 127.0.0.1 port with a
temporary data folder and stopped at the end. Numbers are printed, nothing is asserted; not run in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ocppemu.ocpp.records import FrameRecord
from ocppemu.store import MessageBuffer, MessageFilter, Repository, open_store

ACTIONS = ("Heartbeat", "MeterValues", "StatusNotification", "Authorize", "StartTransaction", "StopTransaction")


def make_frame(i: int, stations: int, t0: datetime) -> FrameRecord:
    station = f"CP{i % stations:04d}"
    action = ACTIONS[i % len(ACTIONS)]
    call = i % 2 == 0
    mid = f"{i // 2}"
    payload: dict[str, Any] = {"connectorId": 1, "meterValue": [{"sampledValue": [{"value": str(i)}]}]} \
        if action == "MeterValues" else {"i": i}
    raw = f'[2,"{mid}","{action}",{{"i":{i}}}]' if call else f'[3,"{mid}",{{}}]'
    return FrameRecord(
        timestamp=t0 + timedelta(milliseconds=i), station_id=station, direction="sent" if call else "received",
        message_type="Call" if call else "CallResult", message_id=mid, action=action, protocol_version="1.6",
        payload=payload, raw=raw, correlation_id=mid, rtt_ms=None if call else float(i % 50), seq=i,
    )


async def write_through_buffer(repo: Repository, count: int, stations: int, buffer_size: int) -> None:
    buf = MessageBuffer(repo, max_size=buffer_size, interval=0.2, max_batch=5000)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    start = time.perf_counter()
    high = int(buffer_size * 0.9)
    last_report = start
    for i in range(count):
        while buf.stats().pending >= high:  # a producer that keeps up with the store: measure sustained rate
            await asyncio.sleep(0.001)
        buf.add(make_frame(i, stations, t0))
        if i % 1000 == 0:
            await asyncio.sleep(0)
            now = time.perf_counter()
            if now - last_report > 10:
                print(f"  ... {i:,} messages, {i / (now - start):,.0f}/s", flush=True)
                last_report = now
    await buf.aclose()
    elapsed = time.perf_counter() - start
    s = buf.stats()
    print(f"  write: {count:,} messages in {elapsed:.1f}s = {count / elapsed:,.0f} messages/s "
          f"(written {s.written:,}, dropped {s.dropped}, retries {s.failures})")


async def timed(label: str, fn: Callable[[], Awaitable[object]], repeat: int = 15) -> None:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    print(f"  {label:<58} median {statistics.median(samples):8.1f} ms   p95 {p95:8.1f} ms")


async def query_latency(repo: Repository, stations: int) -> None:
    flt = MessageFilter(station_id=f"CP{7 % stations:04d}", action="MeterValues")
    page1 = await repo.query_messages(flt, limit=100)
    page2_cursor = page1.next_cursor
    await timed("page of 100, station + action filter", lambda: repo.query_messages(flt, limit=100))
    if page2_cursor:
        await timed("next page by cursor, same filter",
                    lambda: repo.query_messages(flt, limit=100, cursor=page2_cursor))
    await timed("page of 100, no filter", lambda: repo.query_messages(limit=100))
    span = MessageFilter(action="Heartbeat", since=datetime(2025, 1, 1, 0, 1, tzinfo=UTC),
                         until=datetime(2025, 1, 1, 0, 2, tzinfo=UTC))
    await timed("page of 100, action + 1-minute time range", lambda: repo.query_messages(span, limit=100))
    await timed("page of 100, station + free text", lambda: repo.query_messages(
        MessageFilter(station_id=flt.station_id, text="connectorId"), limit=100), repeat=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_secantus(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    exe = shutil.which("secantusd-py") or str(Path(sys.executable).with_name("secantusd-py"))
    port = free_port()
    proc = subprocess.Popen([exe, "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(folder),
                             "--log-level", "WARNING"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"mongodb://127.0.0.1:{port}"
    from pymongo import MongoClient

    for _ in range(300):
        try:
            with MongoClient[dict[str, Any]](url, serverSelectionTimeoutMS=300) as c:
                c.admin.command("ping")
            return proc, url
        except Exception:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("secantusd-py did not start")


async def run_backend(name: str, url: str, args: argparse.Namespace) -> None:
    print(f"\n{name}: {url.split('?')[0]}")
    repo = open_store(url)
    await repo.init()
    try:
        await write_through_buffer(repo, args.count, args.stations, args.buffer_size)
        print(f"  stored: {await repo.count_messages():,} messages")
        await query_latency(repo, args.stations)
        await timed("action stats (count, mean, p95 by action)", repo.action_stats, repeat=3)
    finally:
        await repo.close()


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=lambda s: int(float(s)), default=1_000_000)
    p.add_argument("--backend", choices=("sqlite", "mongodb", "both"), default="both")
    p.add_argument("--stations", type=int, default=100)
    p.add_argument("--buffer-size", type=int, default=20_000)
    p.add_argument("--mongodb-uri", default=None, help="use this server instead of starting SecantusDB")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocppemu-bench-") as tmp:
        if args.backend in ("sqlite", "both"):
            await run_backend("sqlite", f"sqlite:///{tmp}/bench.db", args)
        if args.backend in ("mongodb", "both"):
            proc = None
            base = args.mongodb_uri
            if base is None:
                proc, base = start_secantus(Path(tmp) / "secantus")
            db = "ocppemu_bench_" + uuid.uuid4().hex[:8]
            try:
                await run_backend("mongodb", f"{base.rstrip('/')}/{db}", args)
            finally:
                from pymongo import MongoClient

                with MongoClient[dict[str, Any]](base, serverSelectionTimeoutMS=2000) as c:
                    c.drop_database(db)
                if proc is not None:
                    proc.terminate()
                    proc.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
