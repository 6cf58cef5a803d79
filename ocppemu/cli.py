"""The ``ocppemu`` command line: run a station, the demo CSMS, a demo, or the workbench daemon."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence

from ocppemu.version import __version__


def _add_station_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run one station in the terminal, printing frames live")
    p.add_argument("--csms", required=True, help="CSMS URL, e.g. ws://127.0.0.1:9000/ocpp (station id is appended); "
                   "http(s)://HOST:PORT/PATH selects OCPP 1.6 over SOAP")
    p.add_argument("--id", dest="station_id", default="CP001", help="station id (last URL path segment)")
    p.add_argument("--ocpp", default="1.6", help="protocol version: 1.6, 2.0.1 or 2.1")
    p.add_argument("--connectors", type=int, default=1, help="number of connectors (EVSEs for 2.x)")
    p.add_argument("--basic-auth", metavar="USER:PASS", help="HTTP Basic auth (security profile 1/2)")
    p.add_argument("--ca", help="CA bundle (PEM) to verify a wss:// CSMS")
    p.add_argument("--client-cert", help="client certificate (PEM) for mutual TLS (security profile 3)")
    p.add_argument("--client-key", help="private key (PEM) of the client certificate")
    p.add_argument("--insecure", action="store_true", help="do NOT verify the CSMS certificate (lab servers only)")
    p.add_argument("--id-tag", default=None, help="idTag / idToken used for the session")
    p.add_argument("--charge", type=float, metavar="N", default=None,
                   help="run a full charging session of N seconds, then exit (0 only if it completed)")
    p.add_argument("--meter-interval", type=int, default=None, help="MeterValueSampleInterval, seconds")
    p.add_argument("--power", type=float, default=None, help="target charging power, W")
    p.add_argument("--store", default=None, help="store URL (sqlite:///file.db or mongodb://...)")
    p.add_argument("--frames", default=None, help="also append every frame as JSON lines to this file")
    p.add_argument("--quiet", action="store_true", help="do not print frames")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the CSMS to accept the boot")
    p.add_argument("--soap-listen", metavar="HOST:PORT", default=None,
                   help="SOAP: where the station's ChargePointService listens (default 127.0.0.1, a free port)")
    p.add_argument("--soap-advertise", metavar="URL", default=None,
                   help="SOAP: the ChargePointService URL sent to the CSMS (default http://<listen address>/)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocppemu", description="Emulate OCPP charging stations to test a CSMS.")
    parser.add_argument("--version", action="version", version=f"ocppemu {__version__}")
    parser.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", required=True)
    station = sub.add_parser("station", help="run emulated stations")
    station_sub = station.add_subparsers(dest="station_command", required=True)
    _add_station_run(station_sub)
    from ocppemu.cli_run import add_run_arguments

    add_run_arguments(sub.add_parser("run", help="run scenario files against a CSMS and give a verdict"))
    demo_csms = sub.add_parser("demo-csms", help="run the bundled demo CSMS", add_help=False)
    demo_csms.add_argument("rest", nargs=argparse.REMAINDER)
    demo = sub.add_parser("demo", help="demo: the bundled CSMS plus stations running sessions, in one process")
    demo.add_argument("--stations", type=int, default=2)
    demo.add_argument("--ocpp", default="1.6")
    demo.add_argument("--charge", type=float, default=20.0, help="seconds of charging per session")
    demo.add_argument("--store", default=None, help="store URL (default: the embedded SQLite file)")
    demo.add_argument("--quiet", action="store_true")
    demo.add_argument("--soap", action="store_true", help="OCPP 1.6 over SOAP instead of WebSocket")
    try:
        from ocppemu.api.server import add_serve_arguments
    except ImportError:  # the daemon is optional in minimal installs
        pass
    else:
        add_serve_arguments(sub.add_parser("serve", help="run the workbench daemon (REST + WebSocket API)"))
    from ocppemu.cli_fuzz import add_fuzz_command

    add_fuzz_command(sub)
    from ocppemu.cli_scenario import add_scenario_command

    add_scenario_command(sub)
    from ocppemu.ui import add_ui_arguments

    add_ui_arguments(sub.add_parser("ui", help="serve the dashboards (Voila on 127.0.0.1) attached to a daemon"))
    from ocppemu.cli_load import add_commands as add_load_commands

    add_load_commands(sub)
    from ocppemu.cli_cluster import add_commands as add_cluster_commands

    add_cluster_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo-csms"]:
        from ocppemu.demo_csms import main_demo_csms

        return main_demo_csms(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from ocppemu.config.masking import install_secret_filter

    install_secret_filter()
    if getattr(args, "handler", None) is not None:  # commands registered with set_defaults(handler=...)
        return int(args.handler(args))
    if args.command == "station":
        from ocppemu.cli_station import run_station

        return _run(run_station(args))
    if args.command == "demo":
        from ocppemu.cli_station import run_demo

        return _run(run_demo(args))
    if args.command == "run":
        from ocppemu.cli_run import run_scenarios

        return run_scenarios(args)
    if args.command == "serve":
        from ocppemu.api.server import run_serve

        return run_serve(args)
    if args.command in ("load", "load-target"):
        from ocppemu.cli_load import run_command

        return run_command(args)
    if args.command == "cluster":
        from ocppemu.cli_cluster import run_command as run_cluster_command

        return run_cluster_command(args)
    if args.command == "ui":
        from ocppemu.ui import run_ui

        return run_ui(args)
    return 2


def _run(coro: object) -> int:
    try:
        return int(asyncio.run(coro))  # type: ignore[arg-type]
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
