"""``ocppemu fuzz``: send schema-driven malformed and boundary frames to a CSMS and judge its answers."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ocppemu.ocpp.versions import Version


def add_fuzz_command(sub: Any) -> None:
    p = sub.add_parser("fuzz", help="fuzz a CSMS with frames generated from the OCPP schemas and judge its answers")
    p.add_argument("--csms", required=True, help="CSMS WebSocket URL (the station id is appended)")
    p.add_argument("--ocpp", default="1.6", help="1.6, 2.0.1 or 2.1")
    p.add_argument("--frames", type=int, default=100, help="number of frames to send (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed: the same seed sends the same frames")
    p.add_argument("--station-id", default="OCPPEMU-FUZZ")
    p.add_argument("--answer-timeout", type=float, default=5.0, help="seconds to wait for each answer")
    p.add_argument("--json", dest="json_file", default=None, help="write the findings as JSON to this file")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.set_defaults(handler=run_fuzz_command)


def run_fuzz_command(args: argparse.Namespace) -> int:
    """Exit 0: no error finding; 1: the CSMS departed from the rules; 2: bad usage or CSMS unreachable."""
    from ocppemu.compliance.fuzz_run import fuzz_csms
    from ocppemu.transport.base import TransportError

    try:
        version = Version(args.ocpp)
    except ValueError:
        print(f"ocppemu fuzz: unknown OCPP version {args.ocpp!r}; use 1.6, 2.0.1 or 2.1", file=sys.stderr)
        return 2
    if args.frames < 1 or args.answer_timeout <= 0:
        print("ocppemu fuzz: --frames must be at least 1 and --answer-timeout positive", file=sys.stderr)
        return 2

    def show(case: Any, found: list[Any]) -> None:
        if not args.quiet:
            for f in found:
                print(f"#{case.index:<4} {f}")

    try:
        report = asyncio.run(fuzz_csms(args.csms, version, frames=args.frames, seed=args.seed,
                                       station_id=args.station_id, answer_timeout=args.answer_timeout,
                                       on_case=show))
    except TransportError as exc:
        print(f"ocppemu fuzz: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    summary = report.summary()
    print(f"fuzz: {summary['frames']} frames (OCPP {report.version}, seed {report.seed}), "
          f"findings {summary['findings'] or 'none'}, reconnects {report.reconnects}")
    if args.json_file:
        Path(args.json_file).write_text(json.dumps(report.to_doc(), indent=2), encoding="utf-8")
    return 1 if report.errors else 0
