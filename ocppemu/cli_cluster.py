"""``ocppemu cluster status`` and the ``--cluster`` mode of ``ocppemu load`` (Ray, the ``ocppemu[ray]`` extra)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson

from ocppemu.load.live import LiveView
from ocppemu.load.run import LoadInputError, LoadSettings


def run_on_cluster(settings: LoadSettings, cluster: str, live: LiveView, *,
                   per_shard: int | None = None) -> dict[str, Any]:
    """The load run on ``cluster`` (``local`` or ``ray://HEAD:10001``); a cluster problem is a LoadInputError.
    ``per_shard``: without ``processes``, as many shards as needed for at most this many stations each."""
    from ocppemu.cluster import ClusterError, import_ray

    if per_shard is not None:
        if per_shard < 1:
            raise LoadInputError(f"--per-shard must be at least 1 (got {per_shard}); e.g. --per-shard 10000")
        if settings.processes is None:
            settings.processes = -(-settings.stations // per_shard)

    try:
        import_ray()  # a missing extra is said before anything starts
        from ocppemu.cluster.run import run_cluster_load

        return asyncio.run(run_cluster_load(settings, cluster, live=live))
    except ClusterError as exc:
        raise LoadInputError(str(exc)) from None


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("cluster", help="the ocppemu coordinator on a Ray cluster (ocppemu[ray])")
    csub = p.add_subparsers(dest="cluster_command", required=True)
    st = csub.add_parser("status", help="the coordinator's shards (state, restarts, stations) and totals")
    st.add_argument("--cluster", required=True, metavar="ray://HEAD:10001", help="the Ray cluster's address")
    st.add_argument("--json", action="store_true", help="print JSON")


async def _status(address: str) -> dict[str, Any]:
    from ocppemu.cluster.coordinator import attach

    wb = await attach(address)
    status = await wb.status()
    return {"shards": status.store.get("shards", []), "stations": status.stations,
            "connected_stations": status.connected_stations, "max_stations": status.max_stations,
            "shard_events": status.store.get("shard_events", [])}


def run_command(args: argparse.Namespace) -> int:
    """Exit 0: the coordinator answered; 2: no extra, no cluster, or no coordinator (one sentence)."""
    from ocppemu.cluster import ClusterError

    try:
        doc = asyncio.run(_status(args.cluster))
    except ClusterError as exc:
        print(f"ocppemu cluster: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return 0
    print(f"stations {doc['stations']} (connected {doc['connected_stations']}, at most {doc['max_stations']})")
    for s in doc["shards"]:
        gaps = ", ".join(f"{g['seconds']:g} s" for g in s.get("gaps", [])) or "none"
        print(f"{s['name']}: {s['state']}, restarts {s['restarts']}, gaps {gaps}")
    return 0
