"""``ocppemu scenario from-log``: a recorded station session (store or JSON lines) as a replay scenario."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any


def add_scenario_command(sub: Any) -> None:
    p = sub.add_parser("scenario", help="work with scenario files")
    ssub = p.add_subparsers(dest="scenario_command", required=True)
    f = ssub.add_parser("from-log", help="turn a station's recorded frames into a scenario that replays them and "
                        "asserts the CSMS answers the same way")
    f.add_argument("log", nargs="?", help="JSON-lines file (ocppemu export or a CSMS's charger trace); "
                   "omit with --store")
    f.add_argument("--store", help="read the frames from this store (sqlite:///file.db, mongodb://...)")
    f.add_argument("--station", help="station id (required with --store; names the replay station otherwise)")
    f.add_argument("--since", help="with --store: frames from this ISO time on")
    f.add_argument("--until", help="with --store: frames before this ISO time")
    f.add_argument("--ocpp", help="OCPP version of the log (default: read from the frames)")
    f.add_argument("--name", default="replay", help="scenario name (default: replay)")
    f.add_argument("--perspective", choices=("station", "csms"), default="station",
                   help="in/out in the log are seen from the station (default) or from the CSMS")
    f.add_argument("-o", "--output", help="write the scenario here (default: standard output)")
    f.set_defaults(handler=run_scenario_command)


def run_scenario_command(args: argparse.Namespace) -> int:
    """Exit 0 with the scenario written; 2 for a bad log or bad options (one sentence on stderr)."""
    from ocppemu.compliance.replay import LogError, read_jsonl, scenario_from_frames, to_yaml

    try:
        if args.store:
            if not args.station:
                raise LogError("--store needs --station (whose frames to replay)")
            entries = asyncio.run(_from_store(args.store, args.station, args.since, args.until))
            source = f"{args.store} station {args.station}"
        elif args.log:
            try:
                text = Path(args.log).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise LogError(f"cannot read {args.log}: {exc}") from None
            entries = read_jsonl(text)
            source = args.log
        else:
            raise LogError("give a JSON-lines log file, or --store URL --station ID")
        version = args.ocpp or next((str(e["protocol_version"]) for e in entries if e.get("protocol_version")), None)
        if version is None:
            raise LogError("the log does not say its OCPP version: pass --ocpp 1.6|2.0.1|2.1")
        doc = scenario_from_frames(entries, name=args.name, version=version,
                                   station_id=args.station if not args.store else None,
                                   perspective=args.perspective)
    except LogError as exc:
        print(f"ocppemu scenario from-log: {exc}", file=sys.stderr)
        return 2
    text = to_yaml(doc, source)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


async def _from_store(url: str, station_id: str, since: str | None, until: str | None) -> list[dict[str, Any]]:
    from datetime import datetime

    from ocppemu.compliance.replay import LogError
    from ocppemu.store import open_store
    from ocppemu.store.base import MessageFilter

    def when(text: str | None) -> datetime | None:
        if text is None:
            return None
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise LogError(f"not an ISO date-time: {text!r}") from None

    flt = MessageFilter(station_id=station_id, since=when(since), until=when(until))
    try:
        repo = open_store(url)
    except Exception as exc:
        raise LogError(f"cannot open the store {url}: {exc}") from None
    out: list[dict[str, Any]] = []
    async with repo:
        async for m in repo.iter_messages(flt):
            doc = m.record.to_doc()
            out.append({"direction": doc["direction"], "raw": doc["raw"],
                        "protocol_version": doc["protocol_version"]})
    if not out:
        raise LogError(f"the store has no frames of station {station_id}")
    return out
