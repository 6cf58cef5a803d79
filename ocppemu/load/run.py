"""One load run on this machine: check the plan, start the shards, ramp the stations up, watch, report.

:func:`plan` checks the options before anything starts and turns every problem into a :class:`LoadInputError`
with one sentence and a suggestion. :func:`run_load` starts ``processes`` worker processes (each a shard with its
own store, see :mod:`ocppemu.load.worker`) behind a :class:`~ocppemu.load.coordinator.Coordinator`, spreads the
stations over them at the ramp, samples the merged metrics once per second for the live view and the timeline,
and after ``duration`` seconds stops everything and returns the report (see :mod:`ocppemu.load.report`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ocppemu.load.coordinator import Coordinator
from ocppemu.load.histogram import Histogram
from ocppemu.load.live import LiveView
from ocppemu.load.report import build_report, check_thresholds
from ocppemu.load.shard import station_ids
from ocppemu.load.worker import WorkerHandle
from ocppemu.ocpp.versions import Version
from ocppemu.workbench.templates import BUILTIN_TEMPLATES

#: Stations one process can start per second without its handshakes timing out (measured on a 2-core machine).
MAX_RAMP_PER_PROCESS = 1000.0
#: File descriptors a worker needs besides its stations' sockets (store, pipes, logs, the loop).
_FD_RESERVE = 64
RECORD_LEVELS = ("all", "calls", "errors", "none")


class LoadInputError(ValueError):
    """A load run that cannot start: the message is one sentence with a suggestion."""


@dataclass(slots=True)
class LoadSettings:
    csms: str
    stations: int
    template: str | None = None
    ocpp: str = "1.6"
    connectors: int = 2
    meter_interval: int | None = None
    ramp: float | None = None
    duration: float = 60.0
    processes: int | None = None
    record: str = "all"
    store_dir: str | None = None
    prefix: str = "LOAD-"
    auto_transactions: bool = True
    uvloop: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def _raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit (children inherit it); return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft


def plan(s: LoadSettings) -> LoadSettings:
    """Check the options; raises :class:`LoadInputError` with one sentence and a suggestion."""
    if s.stations <= 0:
        raise LoadInputError(f"--stations must be at least 1 (got {s.stations}); e.g. --stations 100")
    if s.duration <= 0:
        raise LoadInputError(f"--duration must be a positive number of seconds (got {s.duration:g})")
    url = urlsplit(s.csms)
    if url.scheme not in ("ws", "wss") or not url.hostname:
        raise LoadInputError(f"--csms {s.csms!r} is not a WebSocket URL; use e.g. ws://127.0.0.1:9000/ocpp")
    if s.template is not None:
        if s.template not in BUILTIN_TEMPLATES:
            names = ", ".join(n for n in BUILTIN_TEMPLATES if n.startswith("load-")) or ", ".join(BUILTIN_TEMPLATES)
            raise LoadInputError(f"no template {s.template!r}; use one of {names}")
    else:
        try:
            Version.parse(s.ocpp)
        except ValueError:
            raise LoadInputError(f"--ocpp {s.ocpp!r} is not a version this emulator runs; use 1.6, 2.0.1 or "
                                 "2.1") from None
        if not 1 <= s.connectors <= 100:
            raise LoadInputError(f"--connectors must be from 1 to 100 (got {s.connectors})")
    if s.meter_interval is not None and s.meter_interval < 0:
        raise LoadInputError("--meter-interval must be 0 (off) or a number of seconds")
    level = s.record.strip().lower()
    if level not in RECORD_LEVELS and not _is_sample(level):
        raise LoadInputError(f"--record {s.record!r} is not a recording level; use all, calls, errors, "
                             "sample:F (0 <= F <= 1) or none")
    s.record = level
    cores = os.cpu_count() or 1
    if s.processes is None:
        s.processes = max(1, min(cores, s.stations))
    if s.processes < 1:
        raise LoadInputError(f"--processes must be at least 1 (got {s.processes})")
    s.processes = min(s.processes, s.stations)
    per_process = -(-s.stations // s.processes)
    limit = _raise_nofile()
    if per_process + _FD_RESERVE > limit:
        need = -(-s.stations // max(1, limit - _FD_RESERVE))
        raise LoadInputError(
            f"{per_process} stations per process need more open files than this system allows a process "
            f"({limit}); use --processes {need} or more, or raise the limit (ulimit -n)")
    if s.ramp is not None:
        if s.ramp <= 0:
            raise LoadInputError(f"--ramp must be a positive number of stations per second (got {s.ramp:g})")
        if s.ramp > MAX_RAMP_PER_PROCESS * s.processes:
            raise LoadInputError(
                f"a ramp of {s.ramp:g} stations/s is more than {s.processes} process(es) can connect (about "
                f"{MAX_RAMP_PER_PROCESS:g}/s each); lower --ramp or use more --processes")
    return s


def _has_uvloop() -> bool:
    import importlib.util

    return importlib.util.find_spec("uvloop") is not None


def _is_sample(level: str) -> bool:
    if not level.startswith("sample:"):
        return False
    try:
        return 0.0 <= float(level.split(":", 1)[1]) <= 1.0
    except ValueError:
        return False


async def check_reachable(url: str, timeout: float = 5.0) -> None:
    """One TCP connection to the CSMS's host and port; raises :class:`LoadInputError` when it fails."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise LoadInputError(f"cannot reach the CSMS at {url} ({reason}); check --csms and that the CSMS "
                             "is running (try: ocppemu load-target)") from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def station_doc(s: LoadSettings) -> dict[str, Any]:
    """The station every shard creates (merged over the template, when one is given)."""
    doc: dict[str, Any] = {"csms_url": s.csms, "auto_start": True}
    if s.template is None:
        v = Version.parse(s.ocpp)
        doc["protocol_version"] = v.value
        doc["connectors"] = ([{"id": i} for i in range(1, s.connectors + 1)] if v is Version.V16
                             else [{"id": 1, "evse_id": i} for i in range(1, s.connectors + 1)])
        doc["simulation"] = {"heartbeat_interval": 60}
        doc["meter_values_config"] = {"interval": 10 if s.meter_interval is None else s.meter_interval,
                                      "aligned_data_interval": 0}
        if s.auto_transactions:
            doc["auto_transactions"] = {"enabled": True}
    elif s.meter_interval is not None:
        doc["meter_values_config"] = {"interval": s.meter_interval}
    return {**doc, **s.extra}


Observer = Callable[[dict[str, Any], list[dict[str, Any]], list[int]], None]


async def run_load(s: LoadSettings, *, live: LiveView | None = None, observer: Observer | None = None
                   ) -> dict[str, Any]:
    """Run the plan ``s`` (see :func:`plan`) and return the report; raises LoadInputError for bad input.

    ``observer(sample, summaries, worker_pids)`` is called after each one-second sample (benchmarks use it)."""
    plan(s)
    await check_reachable(s.csms)
    assert s.processes is not None
    tmp = None
    if s.store_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="ocppemu-load-")
        s.store_dir = tmp.name
    Path(s.store_dir).mkdir(parents=True, exist_ok=True)
    counts = [s.stations // s.processes + (1 if i < s.stations % s.processes else 0) for i in range(s.processes)]
    config = {"store": {"record": s.record}, "application": {"state_sync_interval": 10.0,
                                                              "batch_insert_interval": 0.5}}
    workers = [WorkerHandle(f"shard-{i}", f"sqlite:///{Path(s.store_dir) / f'shard-{i}.db'}",
                            capacity=max(1, counts[i]), config=config, uvloop=s.uvloop and _has_uvloop())
               for i in range(s.processes)]

    async def restart(link: WorkerHandle) -> None:
        await link.start()
    coord = Coordinator(list(workers), restart=restart)
    for w in workers:
        w.on_exit = coord.shard_lost
    doc = station_doc(s)
    view = live or LiveView(enabled=False)
    timeline: list[dict[str, Any]] = []
    try:
        await asyncio.gather(*(w.start() for w in workers))
        started = time.monotonic()  # the run's clock starts when the shards are up and the ramp begins
        first = 1
        for w, n in zip(workers, counts, strict=True):
            ramp = s.ramp / s.processes if s.ramp else None
            await w.call("add_stations", station=doc, ids=station_ids(s.prefix, first, n), ramp=ramp,
                         template=s.template)
            first += n
        prev: dict[str, Any] | None = None
        prev_t = 0.0
        with view:
            while True:
                await asyncio.sleep(1.0)
                t = time.monotonic() - started
                summaries = await coord.summaries()
                metrics = await _merged(summaries)
                sample = _sample(t, summaries, metrics, prev, t - prev_t)
                timeline.append(sample)
                view.update(sample, metrics)
                if observer is not None:
                    sample["mv_due_60s"] = float(metrics.get("meter_values_due_60s", 0.0))
                    observer(sample, summaries, [w.pid for w in workers if w.pid is not None])
                prev, prev_t = metrics, t
                if t >= s.duration:
                    break
        connected_at_end = int(metrics.get("connected", 0))
        due = float(metrics.get("meter_values_due_60s", 0.0))
        duration = time.monotonic() - started
        # stop the stations and write every frame, so the final counts are exact
        stopped = await asyncio.gather(*(w.call("stop_stations") for w in workers), return_exceptions=True)
        summaries = [{**x, "state": w.state, "restarts": w.restarts} if isinstance(x, dict) else
                     {"name": w.name, "state": w.state, "restarts": w.restarts}
                     for w, x in zip(workers, stopped, strict=True)]
        final = await _merged(summaries)
        await coord.close()
        report = build_report(settings=asdict(s), final=final, timeline=timeline, shards=summaries,
                              duration_s=duration, mv_due_60s=due)
        report["stations_connected_at_end"] = connected_at_end
        report["frames_recorded"] = await _recorded(workers)
        return report
    finally:
        await coord.close()
        if tmp is not None:
            tmp.cleanup()


async def _merged(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    from ocppemu.load.metrics import merge_snapshots

    return merge_snapshots([x["metrics"] for x in summaries if "metrics" in x])


def _sample(t: float, summaries: list[dict[str, Any]], metrics: dict[str, Any], prev: dict[str, Any] | None,
            dt: float) -> dict[str, Any]:
    def rate(key: str) -> float:
        if prev is None or dt <= 0:
            return 0.0
        return (int(metrics.get(key, 0)) - int(prev.get(key, 0))) / dt
    hist = Histogram.merged(Histogram.from_doc(d) for d in metrics.get("latency", {}).values())
    if prev is not None:  # latency of the last second only: this histogram minus the previous one
        before = Histogram.merged(Histogram.from_doc(d) for d in prev.get("latency", {}).values())
        recent = Histogram()
        for b, n in hist.buckets.items():
            left = n - before.buckets.get(b, 0)
            if left > 0:
                recent.buckets[b] = left
                recent.count += left
        recent.min, recent.max = hist.min, hist.max
        hist = recent if recent.count else hist
    rec = [x.get("recording", {}) for x in summaries]
    return {"t": round(t, 2), "connecting": sum(int(x.get("connecting", 0)) for x in summaries),
            "connected": int(metrics.get("connected", 0)), "booted": int(metrics.get("stations_booted", 0)),
            "sent_per_s": round(rate("frames_sent"), 1), "received_per_s": round(rate("frames_received"), 1),
            "p50": hist.percentile(0.5), "p95": hist.percentile(0.95), "p99": hist.percentile(0.99),
            "recorded": sum(int(r.get("frames_recorded", 0)) for r in rec),
            "dropped": sum(int(r.get("frames_dropped", 0)) for r in rec),
            "shards_lost": sum(1 for x in summaries if x.get("state") == "lost")}


async def _recorded(workers: list[WorkerHandle]) -> int:
    """Frames in the shards' stores once they are closed (every frame written)."""
    import sqlite3

    total = 0
    for w in workers:
        path = w.store.removeprefix("sqlite:///")
        with contextlib.suppress(sqlite3.Error):
            con = sqlite3.connect(path)
            try:
                total += int(con.execute("SELECT count(*) FROM messages").fetchone()[0])
            finally:
                con.close()
    return total


def thresholds(report: dict[str, Any], max_p95: float | None, max_errors: int | None) -> list[str]:
    broken = check_thresholds(report, max_p95=max_p95, max_errors=max_errors)
    report["thresholds"] = {"max_p95_ms": max_p95, "max_errors": max_errors}
    report["broken"] = broken
    report["passed"] = not broken
    return broken
