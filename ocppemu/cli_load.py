"""``ocppemu load`` (a load test of a CSMS) and ``ocppemu load-target`` (a minimal CSMS to load)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import orjson

from ocppemu.load.live import LiveView
from ocppemu.load.run import LoadInputError, LoadSettings, run_load, thresholds
from ocppemu.load.target import add_target_arguments, main_target


def add_load_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csms", required=True, help="CSMS URL, e.g. ws://127.0.0.1:9000/ocpp (station id appended)")
    p.add_argument("--stations", type=int, required=True, help="number of stations")
    p.add_argument("--template", default=None, help="station template, e.g. load-ac-22kw-dual-1.6")
    p.add_argument("--ocpp", default="1.6", help="protocol version without a template: 1.6, 2.0.1 or 2.1")
    p.add_argument("--connectors", type=int, default=2, help="connectors (EVSEs for 2.x) without a template")
    p.add_argument("--meter-interval", type=int, default=None, help="MeterValues interval, s (default 10)")
    p.add_argument("--ramp", default=None, metavar="R/s", help="stations started per second, e.g. 200/s")
    p.add_argument("--duration", type=float, default=60.0, help="seconds to run (default 60)")
    p.add_argument("--processes", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--record", default="all", help="recording level: all, calls, errors, sample:F, none")
    p.add_argument("--no-auto", action="store_true", help="no automatic transactions (boot + heartbeat only)")
    p.add_argument("--store-dir", default=None, help="keep the shards' SQLite stores here (default: temporary)")
    p.add_argument("--report", default=None, metavar="FILE.html", help="write the HTML report here")
    p.add_argument("--json", default=None, metavar="FILE", help="write the JSON report here")
    p.add_argument("--max-p95", type=float, default=None, metavar="MS", help="fail if any action's p95 is above")
    p.add_argument("--max-errors", type=int, default=None, metavar="N",
                   help="fail if CallErrors received + disconnects + frames dropped exceed N")
    p.add_argument("--quiet", action="store_true", help="no live view")
    p.add_argument("--cluster", default=None, metavar="ray://HEAD:10001|local",
                   help="run the shards on a Ray cluster (ocppemu[ray]); 'local': a throw-away one on loopback")
    p.add_argument("--per-shard", type=int, default=None, metavar="N",
                   help="with --cluster and no --processes: shards of at most N stations (e.g. 10000)")


def _ramp(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.strip().removesuffix("/s"))
    except ValueError:
        raise LoadInputError(f"--ramp {text!r} is not a rate; use e.g. --ramp 200/s") from None


def run_load_command(args: argparse.Namespace) -> int:
    """Exit 0: passed; 1: a threshold was broken (or the HTML could not be written); 2: bad input."""
    try:
        settings = LoadSettings(
            csms=args.csms, stations=args.stations, template=args.template, ocpp=args.ocpp,
            connectors=args.connectors, meter_interval=args.meter_interval, ramp=_ramp(args.ramp),
            duration=args.duration, processes=args.processes, record=args.record, store_dir=args.store_dir,
            auto_transactions=not args.no_auto)
        live = LiveView(enabled=not args.quiet)
        if getattr(args, "cluster", None):
            from ocppemu.cli_cluster import run_on_cluster

            report = run_on_cluster(settings, args.cluster, live, per_shard=args.per_shard)
        else:
            report = asyncio.run(run_load(settings, live=live))
    except LoadInputError as exc:
        print(f"ocppemu load: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    broken = thresholds(report, args.max_p95, args.max_errors)
    code = 1 if broken else 0
    if args.json:
        Path(args.json).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    if args.report:
        from ocppemu.load.report import write_html

        try:
            write_html(report, args.report)
        except ImportError as exc:
            print(f"ocppemu load: {exc}", file=sys.stderr)
            code = 1
    lat = report["latency_ms"]["all"]
    print(f"stations booted {report['stations_booted']}/{report['stations_requested']}, frames sent "
          f"{report['frames_sent']} received {report['frames_received']} recorded {report['frames_recorded']} "
          f"dropped {report['frames_dropped']}, disconnects {report['disconnects']}, CallErrors "
          f"{report['call_errors_received']}, latency p50/p95/p99 {lat['p50']}/{lat['p95']}/{lat['p99']} ms")
    for sentence in broken:
        print(f"threshold broken: {sentence}", file=sys.stderr)
    return code


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add_load_arguments(sub.add_parser("load", help="load-test a CSMS with many stations (sharded over processes)"))
    add_target_arguments(sub.add_parser("load-target", help="run a minimal CSMS to try the load mode against"))


def run_command(args: argparse.Namespace) -> int:
    return run_load_command(args) if args.command == "load" else main_target(args)
