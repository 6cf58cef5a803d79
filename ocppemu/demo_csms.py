"""A minimal bundled CSMS so a new user sees traffic without a server of their own.

It accepts any station on any path for the subprotocols ``ocpp1.6``, ``ocpp2.0.1`` and ``ocpp2.1`` and answers
every CALL with a schema-valid response: the common actions with meaningful values (BootNotification Accepted,
incrementing transaction ids, Authorize Accepted ...), any other known action with the required fields of its
response schema (:func:`~ocppemu.ocpp.payload_templates.template_for`), and an action the version does not define
with a CALLERROR ``NotImplemented``. Frames are read and written with the shared :mod:`ocppemu.ocpp.framing`.
It does not validate what the stations send: it is a demo, not a test oracle.

``serve_demo_csms`` returns a :class:`DemoCsms` handle with the bound port and :meth:`DemoCsms.call` to send
CSMS-initiated requests to a connected station; ``main_demo_csms`` is the ``ocppemu demo-csms`` entry point.
With ``soap_port`` it also answers OCPP 1.6 over SOAP (:mod:`ocppemu.demo_csms_soap`) at :attr:`DemoCsms.soap_url`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from ocppemu.demo_csms_soap import DemoSoapCsms
from ocppemu.ocpp import framing
from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.errors import Violation
from ocppemu.ocpp.framing import Call, CallError, CallResult, CallResultError, Frame
from ocppemu.ocpp.payload_templates import template_for
from ocppemu.ocpp.versions import Version

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]

SUBPROTOCOLS: tuple[Subprotocol, ...] = tuple(Subprotocol(v.subprotocol) for v in Version)


def now_iso() -> str:
    """Current UTC time as an OCPP ``dateTime`` (RFC 3339, millisecond precision, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DemoCallError(Exception):
    """The station answered a CSMS-initiated call with a CALLERROR."""

    def __init__(self, code: str, description: str, details: object) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.details = details


@dataclass(slots=True)
class _Session:
    station_id: str
    version: Version
    ws: ServerConnection
    pending: dict[str, asyncio.Future[JsonObject]] = field(default_factory=dict)
    call_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class DemoCsms:
    """A running demo CSMS. Use :func:`serve_demo_csms` to create one; ``async with`` or :meth:`close` ends it.

    ``port`` is the bound port (useful with port 0); ``url`` is the base URL stations append their id to.
    """

    def __init__(self, host: str, heartbeat_interval: int) -> None:
        self.host = host
        self.port = 0
        self.heartbeat_interval = heartbeat_interval
        self._server: Server | None = None
        self._sessions: dict[str, _Session] = {}
        self._transaction_ids = itertools.count(1)
        self._connected = asyncio.Condition()
        self.soap: DemoSoapCsms | None = None

    @property
    def soap_url(self) -> str | None:
        """The SOAP CentralSystemService URL (OCPP 1.6 over SOAP), or ``None`` when SOAP is not served."""
        return self.soap.url if self.soap is not None else None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"ws://{host}:{self.port}"

    @property
    def stations(self) -> dict[str, Version]:
        """Connected stations and the OCPP version each negotiated."""
        return {sid: s.version for sid, s in self._sessions.items()}

    async def wait_for_station(self, station_id: str, timeout: float = 10.0) -> None:
        """Wait until ``station_id`` is connected; raises ``TimeoutError``."""
        async with asyncio.timeout(timeout), self._connected:
            await self._connected.wait_for(lambda: station_id in self._sessions)

    async def call(self, station_id: str, action: str, payload: JsonObject, timeout: float = 30.0) -> JsonObject:
        """Send a CALL to a connected station and return the payload of its CALLRESULT.

        One call at a time per station, as OCPP requires. Raises ``KeyError`` when the station is not
        connected, :class:`DemoCallError` on a CALLERROR, ``TimeoutError`` without an answer in ``timeout``
        seconds, ``ConnectionError`` if the station disconnects meanwhile.
        """
        if station_id not in self._sessions and self.soap is not None and station_id in self.soap.stations:
            return await self.soap.call(station_id, action, payload, timeout)
        session = self._sessions[station_id]
        async with session.call_lock:
            unique_id = str(uuid.uuid4())
            future: asyncio.Future[JsonObject] = asyncio.get_running_loop().create_future()
            session.pending[unique_id] = future
            try:
                await self._send(session, Call(unique_id, action, payload))
                async with asyncio.timeout(timeout):
                    return await future
            finally:
                session.pending.pop(unique_id, None)

    async def start(self, port: int) -> None:
        self._server = await serve(
            self._handle,
            self.host,
            port,
            subprotocols=list(SUBPROTOCOLS),
            process_request=self._check_request,
            compression=None,
        )
        sock = next(iter(self._server.sockets))
        self.port = int(sock.getsockname()[1])
        log.info("demo CSMS listening on %s (subprotocols %s)", self.url, ", ".join(SUBPROTOCOLS))

    async def close(self) -> None:
        """Stop listening and close every station connection."""
        if self.soap is not None:
            await self.soap.close()
            self.soap = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> DemoCsms:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if not self._station_id(request.path):
            return connection.respond(400, "the URL path must end with the station id\n")
        return None

    @staticmethod
    def _station_id(path: str) -> str:
        return unquote(urlsplit(path).path.rstrip("/").rsplit("/", 1)[-1])

    async def _send(self, session: _Session, frame: Frame) -> None:
        text = framing.serialise(frame)
        log.info("%s <- %s", session.station_id, text)
        await session.ws.send(text)

    async def _handle(self, ws: ServerConnection) -> None:
        station_id = self._station_id(ws.request.path if ws.request else "")
        version = Version.parse(ws.subprotocol or "ocpp1.6")
        session = _Session(station_id, version, ws)
        previous = self._sessions.get(station_id)
        if previous is not None:
            log.warning("station %s reconnected; closing its previous connection", station_id)
            await previous.ws.close(1000, "replaced by a new connection")
        async with self._connected:
            self._sessions[station_id] = session
            self._connected.notify_all()
        log.info("station %s connected (OCPP %s)", station_id, version.value)
        try:
            async for message in ws:
                text = message if isinstance(message, str) else message.decode("utf-8", errors="replace")
                log.info("%s -> %s", station_id, text)
                await self._on_frame(session, text)
        except ConnectionClosed:
            pass
        finally:
            if self._sessions.get(station_id) is session:
                del self._sessions[station_id]
            for future in session.pending.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"station {station_id} disconnected"))
            log.info("station %s disconnected", station_id)

    async def _on_frame(self, session: _Session, text: str) -> None:
        frame = framing.parse(text, session.version)
        if isinstance(frame, Violation):
            log.warning("station %s sent a bad frame (%s): %.200s", session.station_id, frame, text)
            if frame.answerable and frame.message_id is not None:
                await self._send(session, CallError(frame.message_id, frame.code.value, frame.description, {}))
            return
        if isinstance(frame, Call):
            await self._send(session, self._answer(session.version, frame))
        elif isinstance(frame, CallResult):
            future = session.pending.get(frame.message_id)
            if future is not None and not future.done():
                future.set_result(frame.payload)
        elif isinstance(frame, CallError | CallResultError):
            future = session.pending.get(frame.message_id)
            if future is not None and not future.done():
                future.set_exception(DemoCallError(frame.error_code, frame.error_description, frame.error_details))

    def _answer(self, version: Version, call: Call) -> Frame:
        spec = catalogue(version).get(call.action)
        if spec is None or spec.send_only:
            return CallError(call.message_id, "NotImplemented",
                             f"{call.action} is not an OCPP {version.value} action", {})
        return CallResult(call.message_id, self.response_for(version, call.action, call.payload))

    def response_for(self, version: Version, action: str, payload: JsonObject) -> JsonObject:
        """The answer to a station's ``action``: meaningful for the common actions, minimal otherwise."""
        accepted = {"status": "Accepted"}
        if action == "BootNotification":
            return {"status": "Accepted", "currentTime": now_iso(), "interval": self.heartbeat_interval}
        if action == "Heartbeat":
            return {"currentTime": now_iso()}
        if version is Version.V16:
            if action == "Authorize":
                return {"idTagInfo": accepted}
            if action == "StartTransaction":
                return {"transactionId": next(self._transaction_ids), "idTagInfo": accepted}
            if action == "StopTransaction":
                return {"idTagInfo": accepted} if "idTag" in payload else {}
        else:
            if action == "Authorize":
                return {"idTokenInfo": accepted}
            if action == "TransactionEvent":
                return {"idTokenInfo": accepted} if "idToken" in payload else {}
        if action == "DataTransfer":
            return accepted
        if action in ("MeterValues", "StatusNotification"):
            return {}
        spec = catalogue(version).get(action)
        return template_for(spec.response_schema) if spec is not None and not spec.send_only else {}


async def serve_demo_csms(host: str = "127.0.0.1", port: int = 9000, *, heartbeat_interval: int = 60,
                          soap_port: int | None = None) -> DemoCsms:
    """Start the demo CSMS on ``host:port`` (``port=0`` picks a free one) and return its handle.

    ``heartbeat_interval`` is the interval given in every BootNotification answer. ``soap_port`` (0: a free
    one) also serves OCPP 1.6 over SOAP there. Raises ``OSError`` when a port cannot be bound.
    """
    csms = DemoCsms(host, heartbeat_interval)
    await csms.start(port)
    if soap_port is not None:
        csms.soap = DemoSoapCsms(host, csms.response_for)
        try:
            await csms.soap.start(soap_port)
        except OSError:
            await csms.close()
            raise
    return csms


async def run_demo_csms(host: str, port: int, heartbeat_interval: int = 60, soap_port: int | None = None) -> None:
    """Serve until cancelled (Ctrl-C)."""
    csms = await serve_demo_csms(host, port, heartbeat_interval=heartbeat_interval, soap_port=soap_port)
    print(f"demo CSMS: OCPP-J on {csms.url}/<station id>"
          + (f", OCPP 1.6 SOAP on {csms.soap_url}" if csms.soap_url else ""), flush=True)
    try:
        await asyncio.Future()
    finally:
        await csms.close()


def main_demo_csms(argv: list[str] | None = None) -> int:
    """``ocppemu demo-csms [--host H] [--port P] [--heartbeat-interval S] [--soap-port P | --no-soap]``."""
    parser = argparse.ArgumentParser(prog="ocppemu demo-csms", description="Run the bundled demo CSMS.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--heartbeat-interval", type=int, default=60, help="seconds, sent in Boot answers")
    parser.add_argument("--soap-port", type=int, default=None,
                        help="port of the OCPP 1.6 SOAP CentralSystemService (default: --port + 1; 0 = a free one)")
    parser.add_argument("--no-soap", action="store_true", help="do not answer OCPP 1.6 over SOAP")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    soap_port = None if args.no_soap else (args.soap_port if args.soap_port is not None
                                           else (args.port + 1 if args.port else 0))
    try:
        asyncio.run(run_demo_csms(args.host, args.port, args.heartbeat_interval, soap_port))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", args.host, args.port, exc)
        return 2
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main_demo_csms())
