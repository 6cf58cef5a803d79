"""``ocppemu load --cluster``: the load run of :mod:`ocppemu.load.run` with its shards as Ray actors.

The plan is checked as for one machine (:func:`ocppemu.load.run.plan`; ``processes`` is the number of shards).
``cluster`` is ``local`` (a throw-away cluster on this machine bound to loopback, see :mod:`ocppemu.cluster.local`)
or a Ray address (``ray://HEAD:10001``). Each shard is a named actor with its own SQLite store on its worker's disk;
the coordinator is a detached named actor, so ``ocppemu cluster status`` and ``ocppemu.connect("ray://...")``
find it while the run goes on. The report is the single-machine one plus ``shards`` (stations, state, restarts,
the gaps of a killed shard) and ``gaps``. Every actor the run started is ended with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from dataclasses import asdict
from typing import Any

from ocppemu.cluster import ClusterError
from ocppemu.cluster.coordinator import connect_cluster, start_coordinator
from ocppemu.cluster.local import start_local, stop_local
from ocppemu.cluster.ray_shard import start_shard
from ocppemu.load.live import LiveView
from ocppemu.load.metrics import merge_snapshots
from ocppemu.load.report import build_report
from ocppemu.load.run import LoadSettings, Observer, _sample, check_reachable, plan, station_doc
from ocppemu.load.shard import station_ids


def shard_names(n: int) -> list[str]:
    return [f"ocppemu-shard-{i}" for i in range(n)]


async def run_cluster_load(s: LoadSettings, cluster: str, *, live: LiveView | None = None,
                           observer: Observer | None = None, ray_dir: str | None = None) -> dict[str, Any]:
    """Run the plan ``s`` on ``cluster``; the report. Raises LoadInputError (bad input) or ClusterError."""
    plan(s)
    assert s.processes is not None
    local = cluster == "local"
    if local:
        await check_reachable(s.csms)
    tmp = tempfile.TemporaryDirectory(prefix="ocppemu-ray-", dir="/tmp") if local and ray_dir is None else None
    store_dir = s.store_dir or (tmp.name + "/stores" if tmp is not None else "/tmp/ocppemu-shards")
    if local:
        start_local(ray_dir or (tmp.name if tmp is not None else "/tmp/ocppemu-ray"), s.processes)
        ray = connect_cluster("local")
    else:
        if not cluster.startswith(("ray://", "auto")) and ":" not in cluster:
            raise ClusterError(f"--cluster {cluster!r} is neither 'local' nor a Ray address such as "
                               "ray://HEAD:10001")
        ray = connect_cluster(cluster)
    names = shard_names(s.processes)
    counts = [s.stations // s.processes + (1 if i < s.stations % s.processes else 0) for i in range(s.processes)]
    config = {"store": {"record": s.record}, "application": {"state_sync_interval": 10.0,
                                                              "batch_insert_interval": 0.5}}
    shards = [start_shard(n, f"sqlite:///{store_dir}/{n}.db", capacity=max(1, c), config=config)
              for n, c in zip(names, counts, strict=True)]
    coord = None
    view = live or LiveView(enabled=False)
    timeline: list[dict[str, Any]] = []
    try:
        await asyncio.gather(*(h.hello.remote() for h in shards))
        coord = start_coordinator(names, max_stations=s.stations)
        doc = station_doc(s)
        started = time.monotonic()
        first = 1
        for i, n in enumerate(counts):
            await coord.add_stations.remote(i, doc, station_ids(s.prefix, first, n),
                                            s.ramp / s.processes if s.ramp else None, s.template)
            first += n
        prev: dict[str, Any] | None = None
        prev_t = 0.0
        metrics: dict[str, Any] = {}
        with view:
            while True:
                await asyncio.sleep(1.0)
                t = time.monotonic() - started
                summaries = await coord.summaries.remote()
                metrics = merge_snapshots([x["metrics"] for x in summaries if "metrics" in x])
                sample = _sample(t, summaries, metrics, prev, t - prev_t)
                timeline.append(sample)
                view.update(sample, metrics)
                if observer is not None:
                    sample["mv_due_60s"] = float(metrics.get("meter_values_due_60s", 0.0))
                    observer(sample, summaries, [])
                prev, prev_t = metrics, t
                if t >= s.duration:
                    break
        connected_at_end = int(metrics.get("connected", 0))
        due = float(metrics.get("meter_values_due_60s", 0.0))
        duration = time.monotonic() - started
        stopped = await coord.stop_stations.remote()
        final = merge_snapshots([x["metrics"] for x in stopped if "metrics" in x])
        report = build_report(settings={**asdict(s), "cluster": cluster}, final=final, timeline=timeline,
                              shards=stopped, duration_s=duration, mv_due_60s=due)
        report["stations_connected_at_end"] = connected_at_end
        report["frames_recorded"] = sum(int(x.get("recording", {}).get("frames_recorded", 0)) for x in stopped)
        report["shards"] = [{"name": x["name"], "stations": int(x.get("stations", 0)), "state": x.get("state"),
                             "restarts": int(x.get("restarts", 0)), "gaps": x.get("gaps", [])} for x in stopped]
        report["gaps"] = [{"shard": x["name"], "stations": int(x.get("stations", 0)), **g}
                          for x in stopped for g in x.get("gaps", [])]
        return report
    finally:
        for handle in ([coord] if coord is not None else []) + shards:
            with contextlib.suppress(Exception):
                ray.kill(handle, no_restart=True)
        if local:
            stop_local()
        if tmp is not None:
            tmp.cleanup()
