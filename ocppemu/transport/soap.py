"""OCPP 1.6 over SOAP: the :class:`~ocppemu.transport.base.Transport` that carries SOAP envelopes over HTTP(S).

The station core writes and reads envelopes through its :class:`~ocppemu.ocpp.soap.codec.SoapCodec` (set by
:func:`install_soap`); this transport only moves them:

* a request the station writes is POSTed to the CSMS's ``CentralSystemService`` (``csms_url`` as given, with TLS
  verification, client certificates and Basic auth exactly as for WebSocket: :mod:`ocppemu.transport.tls`), and
  the envelope in the HTTP response (a result or a SOAP Fault, HTTP 200, 400 or 500) is handed to :meth:`recv`;
* the station's own ``ChargePointService`` listens on ``soap_listen`` (default 127.0.0.1 on a free port, kept
  across reconnects) and is advertised in ``wsa:From`` as ``soap_advertise`` (default ``http://<listen>/``); a
  request the CSMS POSTs there is handed to :meth:`recv` and the answer the station writes (matched by
  ``RelatesTo``) becomes the HTTP response. ``GET ?wsdl`` returns the official ChargePointService WSDL.

"Connected" means: the listener runs and the CSMS's host accepts TCP (and TLS) connections. An HTTP failure of a
POST (no connection, time-out, an HTTP status without a SOAP envelope, 401/403) ends the connection with
:class:`TransportClosed`, so the station goes offline exactly as when a WebSocket drops: its transaction messages
stay in the offline queue and the runtime reconnects with back-off.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
import ssl
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from ocppemu.ocpp.soap import envelope as env
from ocppemu.ocpp.soap.codec import SoapCodec
from ocppemu.ocpp.soap.wsdl import wsdl_path
from ocppemu.transport.base import Transport, TransportClosed, TransportError
from ocppemu.transport.tls import ssl_context_from_config
from ocppemu.transport.websocket import basic_auth_header, describe_connect_error

if TYPE_CHECKING:
    from ocppemu.config.station import StationConfig
    from ocppemu.station.core import StationCore

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 1 << 20
"""Largest request body the ChargePointService accepts, bytes."""


def is_soap_url(url: str) -> bool:
    """An ``http://`` or ``https://`` CSMS URL selects OCPP 1.6 over SOAP."""
    return url.startswith(("http://", "https://"))


def parse_listen(text: str | None) -> tuple[str, int]:
    """``HOST:PORT``, ``HOST``, ``:PORT`` or ``[v6]:PORT`` -> (host, port); port 0 means a free port.

    Raises ``ValueError`` with a sentence for anything else.
    """
    if not text:
        return "127.0.0.1", 0
    host, port = text, "0"
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"soap_listen {text!r}: unclosed '[' in an IPv6 address")
        host, rest = text[1:end], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"soap_listen {text!r}: expected ':PORT' after the address")
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"soap_listen {text!r}: the port must be a number from 0 to 65535")
    return host or "127.0.0.1", int(port)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass(slots=True)
class _Incoming:
    answer: asyncio.Future[str]


class _ServiceHandler(RequestHandler):
    """POST: one CSMS request to the ChargePointService; GET ?wsdl: the WSDL."""

    def initialize(self, transport: SoapTransport) -> None:
        self.transport = transport

    def check_xsrf_cookie(self) -> None:  # a SOAP endpoint has no cookies to protect
        return

    def get(self, *_: str) -> None:
        if "wsdl" not in {k.lower() for k in self.request.arguments}:
            self.set_status(405)
            self.finish("POST SOAP 1.2 envelopes here; GET ?wsdl for the service description\n")
            return
        with open(wsdl_path("ChargePointService"), "rb") as fh:
            self.set_header("Content-Type", "text/xml; charset=utf-8")
            self.finish(fh.read())

    async def post(self, *_: str) -> None:
        status, text = await self.transport.serve_request(self.request.body)
        self.set_status(status)
        self.set_header("Content-Type", env.CONTENT_TYPE)
        self.finish(text.encode("utf-8"))


class SoapSession:
    """The part of a SOAP station that outlives one connection: its codec and its ChargePointService address.

    One per station runtime (see :func:`install_soap`); :meth:`transport` is the runtime's transport factory.
    """

    def __init__(self, config: StationConfig, codec: SoapCodec) -> None:
        self.codec = codec
        self.host, self.port = parse_listen(config.soap_listen)

    def transport(self, config: StationConfig) -> Transport:
        return SoapTransport.from_config(config, self)

    def default_advertise(self) -> str:
        """``http://<listen address>/`` once the listener is bound (a wildcard host is advertised as 127.0.0.1)."""
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            log.warning("station %s listens on %s: advertising 127.0.0.1; set soap_advertise to the address the "
                        "CSMS can reach", self.codec.station_id, host)
            host = "127.0.0.1"
        return f"http://{_url_host(host)}:{self.port}/"


def install_soap(core: StationCore) -> SoapSession:
    """Make ``core`` write and read SOAP envelopes and return the session whose ``transport`` carries them."""
    codec = SoapCodec(core.config.station_id, role="station", to=core.config.csms_url)
    core.rpc.codec = codec
    return SoapSession(core.config, codec)


class SoapTransport(Transport):
    """One "connection" of a SOAP station: the ChargePointService listener plus POSTs to the CSMS."""

    def __init__(self, url: str, session: SoapSession, *, station_id: str, advertise: str | None = None,
                 basic_auth: tuple[str, str] | None = None, ssl_context: ssl.SSLContext | None = None,
                 open_timeout: float = 10.0, request_timeout: float = 30.0, answer_timeout: float = 30.0,
                 max_body: int = DEFAULT_MAX_BODY) -> None:
        if ssl_context is not None and url.startswith("http://"):
            raise TransportError(f"a TLS context was given for the plain http:// URL {url!r}", retryable=False)
        self.url = url
        self.session = session
        self.station_id = station_id
        self._advertise = advertise
        self.advertise = advertise or ""
        self._basic_auth = basic_auth
        self._ssl = ssl_context
        self._open_timeout = open_timeout
        self._request_timeout = request_timeout
        self._answer_timeout = answer_timeout
        self._max_body = max_body
        self._open = False
        self._server: HTTPServer | None = None
        self._client: AsyncHTTPClient | None = None
        self._inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._outgoing: asyncio.Queue[str] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._incoming: dict[str, _Incoming] = {}
        self._unreadable: collections.deque[_Incoming] = collections.deque()
        self._closed_reason = ""
        self._closed_by_us = False

    @classmethod
    def from_config(cls, station: StationConfig, session: SoapSession, **overrides: Any) -> SoapTransport:
        """The transport a configured station uses; raises :class:`~ocppemu.transport.tls.TlsConfigError`."""
        url = station.csms_url
        auth = station.csms_auth
        basic: tuple[str, str] | None = None
        if auth.type == "basic" and auth.username:
            password = auth.password.get_secret_value() if auth.password is not None else ""
            basic = (auth.username, password)
        ctx = ssl_context_from_config(station.tls, station_id=station.station_id) if url.startswith("https://") \
            else None
        timeout = station.simulation.call_timeout
        kwargs: dict[str, Any] = {
            "station_id": station.station_id, "advertise": station.soap_advertise, "basic_auth": basic,
            "ssl_context": ctx,
            "request_timeout": max(0.5, timeout * 0.9), "answer_timeout": timeout,
        }
        kwargs.update(overrides)
        return cls(url, session, **kwargs)

    # -- Transport ---------------------------------------------------------------------------------------------

    @property
    def subprotocol(self) -> str | None:
        return "ocpp1.6-soap" if self._open else None

    @property
    def is_open(self) -> bool:
        return self._open

    async def connect(self) -> None:
        """Start the ChargePointService and check that the CSMS's host accepts connections (TCP, TLS)."""
        if self._open:
            raise TransportError("transport is already connected", retryable=False)
        parts = urlsplit(self.url)
        if not parts.hostname:
            raise TransportError(f"invalid CSMS URL {self.url!r}: no host", retryable=False)
        await self._start_server()
        self.advertise = self._advertise or self.session.default_advertise()
        self.session.codec.from_address = self.advertise
        self.session.codec.to = self.url
        try:
            await self._probe(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        except BaseException:
            await self._stop_server()
            raise
        self._client = AsyncHTTPClient(force_instance=True)
        self._open = True
        self._sender = asyncio.get_running_loop().create_task(self._send_loop(), name=f"soap:{self.station_id}")
        log.info("station %s: SOAP to %s, ChargePointService at %s", self.station_id, self.url, self.advertise)

    async def send(self, text: str) -> None:
        if not self._open:
            raise TransportClosed(None, self._closed_reason or "not connected", by_peer=False)
        route = env.peek(text)
        if route is not None and route.relates_to is not None:
            waiting = self._incoming.pop(route.relates_to, None)
            if waiting is not None and not waiting.answer.done():
                waiting.answer.set_result(text)
                return
            log.info("station %s: dropping an answer to %s: no CSMS request waits for it (timed out?)",
                     self.station_id, route.relates_to)
            return
        if route is not None and route.is_fault:
            if self._unreadable:
                waiting = self._unreadable.popleft()
                if not waiting.answer.done():
                    waiting.answer.set_result(text)
                return
            log.info("station %s: not sending a SOAP Fault that answers no request", self.station_id)
            return
        self._outgoing.put_nowait(text)

    async def recv(self) -> str:
        text = await self._inbox.get()
        if text is None:
            self._inbox.put_nowait(None)  # every later recv sees the end too
            raise TransportClosed(None, self._closed_reason, by_peer=not self._closed_by_us)
        return text

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if not self._open and self._server is None:
            return
        if self._open:
            self._closed_by_us = True
        self._shutdown(reason or "closed")
        sender, self._sender = self._sender, None
        if sender is not None and sender is not asyncio.current_task():
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
        client, self._client = self._client, None
        if client is not None:
            client.close()
        await self._stop_server()

    # -- the CSMS side: POST requests ----------------------------------------------------------------------------

    def _shutdown(self, reason: str) -> None:
        if not self._open:
            return
        self._open = False
        self._closed_reason = reason
        for waiting in [*self._incoming.values(), *self._unreadable]:
            if not waiting.answer.done():
                waiting.answer.cancel()
        self._incoming.clear()
        self._unreadable.clear()
        self._inbox.put_nowait(None)

    def _offline(self, reason: str) -> None:
        log.warning("station %s: CSMS unreachable over SOAP: %s", self.station_id, reason)
        self._shutdown(reason)

    async def _probe(self, host: str, port: int) -> None:
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=self._ssl, server_hostname=host if self._ssl else None),
                self._open_timeout)
        except Exception as exc:
            raise describe_connect_error(self.url, exc) from exc
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()

    def _headers(self, text: str) -> dict[str, str]:
        content_type = env.CONTENT_TYPE
        route = env.peek(text)
        if route is not None and route.action:
            content_type += f'; action="{route.action}"'
        headers = {"Content-Type": content_type, "User-Agent": "ocppemu"}
        if self._basic_auth is not None:
            headers["Authorization"] = basic_auth_header(*self._basic_auth)
        return headers

    async def _send_loop(self) -> None:
        while self._open:
            text = await self._outgoing.get()
            request = HTTPRequest(self.url, method="POST", body=text.encode("utf-8"), headers=self._headers(text),
                                  connect_timeout=self._open_timeout, request_timeout=self._request_timeout,
                                  ssl_options=self._ssl, follow_redirects=False, decompress_response=True)
            client = self._client
            if client is None:
                return
            try:
                response = await client.fetch(request, raise_error=False)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # tornado raises connection errors and time-outs even with raise_error=False
                if self._open:
                    self._offline(self._describe_http_failure(599, exc, None))
                return
            if not self._open:
                return
            if response.code == 599 or (response.error is not None and response.code not in (400, 500)):
                self._offline(self._describe_http_failure(response.code, response.error, response.body))
                return
            body = (response.body or b"").decode("utf-8", "replace")
            if env.peek(body) is None and response.code != 200:
                self._offline(self._describe_http_failure(response.code, response.error, response.body))
                return
            self._inbox.put_nowait(body)

    def _describe_http_failure(self, code: int, error: BaseException | None, body: bytes | None) -> str:
        if code == 599:
            cause = error
            if isinstance(cause, TimeoutError) or "Timeout" in type(cause).__name__:
                return f"no answer from {self.url} within {self._request_timeout:.1f}s"
            if cause is not None:
                return describe_connect_error(self.url, cause).message
            return f"cannot reach {self.url}"
        if code == 401:
            return f"the CSMS rejected the credentials (HTTP 401): check the Basic auth username and password " \
                   f"[{self.url}]"
        if code == 403:
            return f"the CSMS refused this station (HTTP 403) [{self.url}]"
        if code == 404:
            return f"the CSMS has no SOAP endpoint at this path (HTTP 404): check the URL [{self.url}]"
        snippet = (body or b"")[:80].decode("utf-8", "replace").strip()
        extra = f": {snippet!r}" if snippet else ""
        return f"the CSMS answered HTTP {code} without a SOAP envelope{extra} [{self.url}]"

    # -- the station side: the ChargePointService ----------------------------------------------------------------

    async def _start_server(self) -> None:
        app = Application([(r"/.*", _ServiceHandler, {"transport": self})])
        try:
            sockets = bind_sockets(self.session.port, self.session.host, family=socket.AF_UNSPEC)
        except OSError as exc:
            raise TransportError(
                f"cannot listen for CSMS calls on {self.session.host}:{self.session.port}: "
                f"{exc.strerror or exc} (set soap_listen to a free HOST:PORT)", retryable=True) from exc
        if self.session.port == 0:
            self.session.port = sockets[0].getsockname()[1]
        server = HTTPServer(app, max_body_size=self._max_body, xheaders=False)
        server.add_sockets(sockets)
        self._server = server

    async def _stop_server(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.close_all_connections(), 2.0)

    async def serve_request(self, body: bytes) -> tuple[int, str]:
        """Hand one CSMS request to the station and wait for its answer: (HTTP status, envelope text)."""
        if not self._open:
            return 503, self._plain_fault("Receiver", "the charge point is not connected to its Central System")
        text = body.decode("utf-8", "replace")
        route = env.peek(text)
        waiting = _Incoming(asyncio.get_running_loop().create_future())
        if route is not None and route.message_id:
            self._incoming[route.message_id] = waiting
        else:
            self._unreadable.append(waiting)
        self._inbox.put_nowait(text)
        try:
            answer = await asyncio.wait_for(asyncio.shield(waiting.answer), self._answer_timeout)
        except (TimeoutError, asyncio.CancelledError):
            if route is not None and route.message_id:
                self._incoming.pop(route.message_id, None)
            with contextlib.suppress(ValueError):
                self._unreadable.remove(waiting)
            return 500, self._plain_fault("Receiver", "the charge point did not answer in time",
                                          route.message_id if route else None)
        answered = env.peek(answer)
        if answered is not None and answered.is_fault:
            with contextlib.suppress(env.EnvelopeError):
                fault = env.parse(answer).fault
                return (400 if fault is not None and fault.code == "Sender" else 500), answer
            return 500, answer
        return 200, answer

    def _plain_fault(self, code: str, reason: str, relates_to: str | None = None) -> str:
        ns = self.session.codec.served.namespace
        return env.build(env.fault_element(code, "InternalError", reason, ns), action=env.FAULT_ACTION,
                         message_id=f"urn:uuid:{uuid.uuid4()}", service_ns=ns, relates_to=relates_to,
                         to=env.ANONYMOUS)
