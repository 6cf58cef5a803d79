"""The demo CSMS's OCPP 1.6 SOAP side: a ``CentralSystemService`` over HTTP answering like the WebSocket side.

Any path accepts SOAP 1.2 requests; answers come from :meth:`ocppemu.demo_csms.DemoCsms.response_for`, envelopes
are read and written with the shared :class:`~ocppemu.ocpp.soap.codec.SoapCodec` (``role="csms"``). An envelope
the WSDL schema rejects is answered with a SOAP Fault. Each station's ``wsa:From`` is remembered so
:meth:`DemoSoapCsms.call` can send CSMS-initiated requests to its ChargePointService.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections.abc import Callable
from typing import Any

from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from ocppemu.ocpp.errors import Violation
from ocppemu.ocpp.framing import Call, CallError, CallResult
from ocppemu.ocpp.soap import envelope as env
from ocppemu.ocpp.soap.codec import SoapCodec
from ocppemu.ocpp.versions import Version

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
Responder = Callable[[Version, str, JsonObject], JsonObject]


class DemoSoapCallError(Exception):
    """The station answered a CSMS-initiated SOAP call with a Fault."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code, self.description = code, description


class _Handler(RequestHandler):
    def initialize(self, csms: DemoSoapCsms) -> None:
        self.csms = csms

    def check_xsrf_cookie(self) -> None:
        return

    def post(self, *_: str) -> None:
        status, text = self.csms.handle(self.request.body)
        self.set_status(status)
        self.set_header("Content-Type", env.CONTENT_TYPE)
        self.finish(text.encode("utf-8"))


class DemoSoapCsms:
    """A running SOAP CentralSystemService; ``url`` is what stations use as ``csms_url``."""

    def __init__(self, host: str, respond: Responder) -> None:
        self.host = host
        self.port = 0
        self._respond = respond
        self._server: HTTPServer | None = None
        self._codecs: dict[str, SoapCodec] = {}
        self.stations: dict[str, str] = {}
        """Station id -> the ChargePointService address it advertised."""
        self._seq = itertools.count(1)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}/Ocpp/CentralSystemService/"

    async def start(self, port: int) -> None:
        sockets = bind_sockets(port, self.host)
        self.port = int(sockets[0].getsockname()[1])
        self._server = HTTPServer(Application([(r"/.*", _Handler, {"csms": self})]), max_body_size=1 << 20)
        self._server.add_sockets(sockets)
        log.info("demo CSMS answering OCPP 1.6 SOAP on %s", self.url)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.close_all_connections(), 2.0)

    def _codec(self, station_id: str) -> SoapCodec:
        codec = self._codecs.get(station_id)
        if codec is None:
            codec = self._codecs[station_id] = SoapCodec(station_id, role="csms")
        return codec

    def handle(self, body: bytes) -> tuple[int, str]:
        """One station request: (HTTP status, answer envelope)."""
        text = body.decode("utf-8", "replace")
        probe = SoapCodec("-", role="csms")
        station_id = probe.peer_identity(text) or "-"
        codec = self._codec(station_id)
        log.info("%s -> %s", station_id, text)
        frame = codec.parse(text)
        if isinstance(frame, Violation):
            log.warning("station %s sent a bad envelope (%s)", station_id, frame)
            answer = codec.serialise(CallError(frame.message_id or "-1", frame.code.value, frame.description, {}),
                                     frame.action)
            return 400, answer
        if not isinstance(frame, Call):
            return 400, codec.serialise(CallError("-1", "ProtocolError", "a request was expected", {}))
        with contextlib.suppress(env.EnvelopeError):
            sender = env.parse(text).from_address
            if sender and sender != env.ANONYMOUS:
                self.stations[station_id] = sender
                codec.to = sender
        answer = codec.serialise(CallResult(frame.message_id, self._respond(Version.V16, frame.action,
                                                                            frame.payload)), frame.action)
        log.info("%s <- %s", station_id, answer)
        return 200, answer

    async def call(self, station_id: str, action: str, payload: JsonObject, timeout: float = 30.0) -> JsonObject:
        """POST a CSMS-initiated request to the station's ChargePointService; the answer's payload.

        Raises ``KeyError`` for a station that never advertised an address, :class:`DemoSoapCallError` on a
        Fault, ``ConnectionError`` when the station cannot be reached."""
        address = self.stations[station_id]
        codec = self._codec(station_id)
        message_id = str(uuid.uuid4())
        text = codec.serialise(Call(message_id, action, payload))
        client = AsyncHTTPClient(force_instance=True)
        try:
            response = await client.fetch(address, method="POST", body=text.encode("utf-8"), raise_error=False,
                                          headers={"Content-Type": f'{env.CONTENT_TYPE}; action="/{action}"'},
                                          request_timeout=timeout)
        except Exception as exc:
            raise ConnectionError(f"station {station_id} at {address} cannot be reached: {exc}") from exc
        finally:
            client.close()
        frame = codec.parse(response.body or b"")
        if isinstance(frame, CallResult):
            return frame.payload
        if isinstance(frame, CallError):
            raise DemoSoapCallError(frame.error_code, frame.error_description)
        raise ConnectionError(f"station {station_id} answered HTTP {response.code} without a usable envelope")
