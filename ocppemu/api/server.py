"""``ocppemu serve``: the workbench daemon (engine + REST/WebSocket API), configured from ``config.yaml``,
``OCPPEMU_*`` variables and flags (in increasing priority)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import ssl
import sys
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from ocppemu.api.app import MAX_BODY_BYTES, ApiContext, make_app
from ocppemu.api.auth import is_loopback, load_or_create_token
from ocppemu.api.guard import Guard
from ocppemu.config.app import AppConfig, ConfigError, load_config, setup_logging
from ocppemu.workbench import Workbench

log = logging.getLogger(__name__)


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, help="config.yaml (see config.example.yaml)")
    parser.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1; others need the token)")
    parser.add_argument("--port", type=int, default=None, help="API port (default 8080; 0 picks a free one)")
    parser.add_argument("--store", default=None, help="store URL: sqlite:///file.db or mongodb://host/db")
    parser.add_argument("--data-dir", default=None, help="where the API token (and default store) live")
    parser.add_argument("--demo-csms", nargs="?", const=9000, type=int, default=None, metavar="PORT",
                        help="also run the bundled demo CSMS on 127.0.0.1:PORT (default 9000)")
    parser.add_argument("--log-format", choices=("json", "text"), default=None)


def config_from_args(args: argparse.Namespace) -> AppConfig:
    """Merge the flags over the file and environment; raises :class:`ConfigError`."""
    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides.setdefault("server", {})["host"] = args.host
    if args.port is not None:
        overrides.setdefault("server", {})["port"] = args.port
    if args.store is not None:
        overrides.setdefault("store", {})["url"] = args.store
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    if args.log_format is not None:
        overrides.setdefault("logging", {})["format"] = args.log_format
    level = getattr(args, "log_level", None)
    if level and level.upper() != "WARNING":
        overrides.setdefault("logging", {})["level"] = level.lower()
    return load_config(args.config, overrides=overrides)


def run_serve(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.logging)
    try:
        return asyncio.run(serve(config, demo_csms_port=args.demo_csms))
    except KeyboardInterrupt:
        return 130


async def serve(config: AppConfig, *, demo_csms_port: int | None = None,
                ready: asyncio.Event | None = None) -> int:
    """Run the daemon until SIGINT/SIGTERM. Prints ``listening on http://host:port`` once ready."""
    data_dir = config.resolved_data_dir()
    token = load_or_create_token(data_dir)
    s = config.server
    if s.require_token is False and not is_loopback(s.host):
        print(f"error: the API on {s.host} is reachable from other machines, so it needs its token: remove "
              "server.require_token: false or bind to 127.0.0.1", file=sys.stderr)
        return 2
    require = s.require_token if s.require_token is not None else not is_loopback(s.host)
    store_url = config.store.url
    if store_url is None and config.data_dir is not None:
        store_url = "sqlite:///" + str((data_dir / "ocppemu.db").resolve()).lstrip("/")
    csms = None
    if demo_csms_port is not None:
        from ocppemu.demo_csms import serve_demo_csms

        try:
            csms = await serve_demo_csms("127.0.0.1", demo_csms_port)
        except OSError as exc:
            print(f"error: the demo CSMS cannot listen on 127.0.0.1:{demo_csms_port}: "
                  f"{exc.strerror or exc} (is another CSMS running there? pick another port)", file=sys.stderr)
            return 1
        config.csms.default_url = f"ws://127.0.0.1:{csms.port}/ocpp"
        print(f"demo CSMS on ws://127.0.0.1:{csms.port}/ocpp", flush=True)
    try:
        workbench = Workbench(store_url, config=config)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if csms is not None:
            await csms.close()
        return 2
    try:
        await workbench.start()
    except Exception as exc:
        print(f"error: cannot start the workbench: {exc}", file=sys.stderr)
        if csms is not None:
            await csms.close()
        return 1
    ssl_ctx = None
    if s.tls.enabled:
        ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_ctx.load_cert_chain(s.tls.cert_file, s.tls.key_file)
    scheme = "https" if ssl_ctx else "http"
    guard = Guard(s.host, s.allowed_hosts, s.allowed_origins)
    app = make_app(ApiContext(workbench, token, require, guard))
    # Bodies up to 4x the API's limit are read so that they get a JSON 413 answer; larger ones are cut off.
    server = HTTPServer(app, ssl_options=ssl_ctx, max_body_size=4 * MAX_BODY_BYTES, xheaders=False)
    try:
        sockets = bind_sockets(s.port, s.host)
    except OSError as exc:
        print(f"error: cannot listen on {s.host}:{s.port}: {exc}", file=sys.stderr)
        await workbench.close()
        return 1
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    print(f"listening on {scheme}://{s.host}:{port} (token {'required' if require else 'optional'}; "
          f"token file {data_dir / 'api-token'})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        server.stop()
        unwritten = await workbench.shutdown()
        if csms is not None:
            await csms.close()
        log.info("daemon stopped")
    if unwritten:
        print(f"warning: {unwritten.sentence()}", file=sys.stderr, flush=True)
        return 1
    return 0
