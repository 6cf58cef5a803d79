"""A minimal CSMS to load: accepts every station, answers every CALL at once, counts what it receives.

``ocppemu load-target --port 9000`` (or ``python -m ocppemu.load.target``) serves OCPP 1.6, 2.0.1 and 2.1 over
WebSocket on 127.0.0.1 by default. Every CALL gets the smallest valid answer (boot Accepted with the heartbeat
interval asked for, ids accepted, transactions numbered); nothing is validated, stored or logged per frame, so
the target costs little next to the stations it serves. With ``--stats S`` it prints one JSON line every ``S``
seconds: connections, CALLs received per action, and MeterValues received in the last 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import sys
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

SUBPROTOCOLS = ("ocpp1.6", "ocpp2.0.1", "ocpp2.1")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class LoadTarget:
    """The server's state: counters only. ``heartbeat``: interval given in boot answers (seconds)."""

    def __init__(self, heartbeat: int = 60) -> None:
        self.heartbeat = heartbeat
        self.connections = 0
        self.connects = 0
        self.received: dict[str, int] = {}
        self.frames_in = 0
        self._tx = itertools.count(1)
        self._mv: deque[float] = deque()

    def answer(self, action: str, payload: dict[str, Any], version: str) -> dict[str, Any]:
        v16 = version == "ocpp1.6"
        if action == "BootNotification":
            return {"status": "Accepted", "currentTime": _now(), "interval": self.heartbeat}
        if action == "Heartbeat":
            return {"currentTime": _now()}
        if action == "Authorize":
            return {"idTagInfo": {"status": "Accepted"}} if v16 else {"idTokenInfo": {"status": "Accepted"}}
        if action == "StartTransaction":
            return {"transactionId": next(self._tx), "idTagInfo": {"status": "Accepted"}}
        if action == "StopTransaction":
            return {"idTagInfo": {"status": "Accepted"}} if payload.get("idTag") else {}
        if action == "TransactionEvent":
            return {"idTokenInfo": {"status": "Accepted"}} if payload.get("idToken") else {}
        if action == "DataTransfer":
            return {"status": "Accepted"}
        if action in ("SignCertificate", "Get15118EVCertificate"):
            return {"status": "Accepted"} if action == "SignCertificate" else {"status": "Failed", "exiResponse": ""}
        return {}

    async def handle(self, ws: ServerConnection) -> None:
        version = ws.subprotocol or "ocpp1.6"
        self.connections += 1
        self.connects += 1
        try:
            async for text in ws:
                self.frames_in += 1
                try:
                    msg = orjson.loads(text)
                except orjson.JSONDecodeError:
                    continue
                if not isinstance(msg, list) or len(msg) < 4 or msg[0] != 2:
                    continue  # results and errors to our (no) calls, SEND frames
                action = str(msg[2])
                self.received[action] = self.received.get(action, 0) + 1
                if action == "MeterValues" or (action == "TransactionEvent" and isinstance(msg[3], dict)
                                               and msg[3].get("eventType") == "Updated"):
                    self._mv.append(time.time())
                payload = msg[3] if isinstance(msg[3], dict) else {}
                await ws.send(orjson.dumps([3, msg[1], self.answer(action, payload, version)]).decode())
        except ConnectionClosed:
            pass
        finally:
            self.connections -= 1

    def stats(self) -> dict[str, Any]:
        now = time.time()
        while self._mv and self._mv[0] < now - 60.0:
            self._mv.popleft()
        return {"t": round(now, 3), "connections": self.connections, "connects": self.connects,
                "frames_in": self.frames_in, "received": dict(self.received), "meter_values_last_60s": len(self._mv)}


async def run_target(host: str, port: int, heartbeat: int, stats_every: float | None,
                     ready: asyncio.Future[int] | None = None, reuse_port: bool = False) -> None:
    target = LoadTarget(heartbeat)
    stop = asyncio.get_running_loop().create_future()
    def finish() -> None:
        if not stop.done():
            stop.set_result(None)
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(sig, finish)
    async with serve(target.handle, host, port, subprotocols=list(SUBPROTOCOLS),  # type: ignore[arg-type]
                     ping_interval=None, max_queue=64, compression=None, backlog=4096,
                     reuse_port=reuse_port or None) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        print(orjson.dumps({"listening": f"ws://{host}:{bound}/ocpp"}).decode(), flush=True)
        if ready is not None:
            ready.set_result(bound)
        while not stop.done():
            await asyncio.wait([stop], timeout=stats_every or 3600)
            if stats_every:
                print(orjson.dumps(target.stats()).decode(), flush=True)


def add_target_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9000, help="port (0: any free port, printed at start)")
    p.add_argument("--heartbeat", type=int, default=60, help="heartbeat interval given in boot answers, s")
    p.add_argument("--stats", type=float, default=None, metavar="S", help="print a JSON line of counts every S s")
    p.add_argument("--reuse-port", action="store_true",
                   help="share the port with other load-target processes (more connections than one process may "
                   "open: start several with the same --port)")


def main_target(args: argparse.Namespace) -> int:
    try:
        asyncio.run(run_target(args.host, args.port, args.heartbeat, args.stats, reuse_port=args.reuse_port))
    except OSError as exc:
        print(f"ocppemu load-target: cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
              "choose another --port", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m ocppemu.load.target")
    add_target_arguments(parser)
    raise SystemExit(main_target(parser.parse_args()))
