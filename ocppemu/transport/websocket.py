"""OCPP-J over WebSocket: the :class:`~ocppemu.transport.base.Transport` built on ``websockets`` (asyncio).

What it guarantees on top of ``websockets``:

* the subprotocol of the configured OCPP version is offered and must be the one the server selects; a server
  that selects none (or another) is refused with :class:`TransportError`, since talking OCPP to a server that
  did not agree to it only produces confusing errors later;
* HTTP Basic authentication (security profiles 1 and 2) from a username and password;
* ping/pong keep-alive at a configurable interval (``None`` disables it);
* explicit limits: ``max_size`` bytes per incoming message (a larger one closes the connection with 1009) and
  ``max_queue`` messages buffered, so one connection holds at most about ``max_size * max_queue`` bytes;
* every failure surfaces as :class:`TransportError` / :class:`TransportClosed` with a sentence the user can
  act on; no ``websockets`` exception leaks to the engine.

The URL given is final (the station id is already its last path segment): see
:meth:`ocppemu.config.station.StationConfig.connection_url`.
"""

from __future__ import annotations

import base64
import logging
import ssl
from typing import TYPE_CHECKING

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
    InvalidURI,
    NegotiationError,
)
from websockets.protocol import State
from websockets.typing import Subprotocol

from ocppemu.ocpp.versions import Version
from ocppemu.transport.base import Transport, TransportClosed, TransportError
from ocppemu.transport.tls import ssl_context_from_config

if TYPE_CHECKING:
    from ocppemu.config.station import StationConfig

log = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 1 << 20
"""Largest accepted incoming message, bytes (1 MiB; a full 2.x NotifyReport page fits comfortably)."""
DEFAULT_MAX_QUEUE = 16
"""Incoming messages buffered before the connection stops reading (back-pressure)."""


def basic_auth_header(username: str, password: str) -> str:
    """The ``Authorization`` header value for HTTP Basic auth (RFC 7617, UTF-8 credentials)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__
        if nxt is None:
            break
        exc = nxt
    return exc


def describe_connect_error(url: str, exc: BaseException) -> TransportError:
    """Turn whatever ``websockets.connect`` raised into a :class:`TransportError` a user can act on."""
    if isinstance(exc, TransportError):
        return exc
    cause = _root_cause(exc)
    if isinstance(exc, InvalidURI) or (isinstance(exc, ValueError) and not isinstance(exc, ssl.SSLError)):
        return TransportError(f"invalid CSMS URL {url!r}: {exc}", retryable=False)
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        if status == 401:
            hint = "the CSMS rejected the credentials (HTTP 401): check the Basic auth username and password"
        elif status == 403:
            hint = "the CSMS refused this station (HTTP 403): is the station id known to it?"
        elif status == 404:
            hint = "the CSMS has no WebSocket endpoint at this path (HTTP 404): check the URL"
        else:
            hint = f"the CSMS refused the WebSocket handshake with HTTP {status}"
        return TransportError(f"{hint} [{url}]", retryable=status >= 500 or status in (408, 429))
    if isinstance(exc, NegotiationError):
        return TransportError(f"WebSocket negotiation with {url} failed: {exc}", retryable=False)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return TransportError(
            f"TLS certificate verification of {url} failed: {cause.verify_message or cause}; "
            "configure the CA that signed the CSMS certificate (tls.ca_cert)",
            retryable=False,
        )
    if isinstance(cause, ssl.SSLError):
        text = str(cause)
        if "CERTIFICATE_REQUIRED" in text.upper() or "certificate required" in text:
            return TransportError(
                f"the CSMS at {url} requires a client certificate (mutual TLS, security profile 3): {text}",
                retryable=False,
            )
        return TransportError(f"TLS handshake with {url} failed: {text}", retryable=False)
    if isinstance(exc, TimeoutError) or isinstance(cause, TimeoutError):
        return TransportError(f"timed out opening the connection to {url}")
    if isinstance(cause, ConnectionRefusedError):
        return TransportError(f"connection to {url} refused: is the CSMS running?")
    if isinstance(exc, InvalidMessage) and isinstance(cause, EOFError) and url.startswith("wss://"):
        return TransportError(
            f"the CSMS at {url} closed the connection during the handshake; a CSMS that requires a client "
            "certificate (mutual TLS, security profile 3) does this when the station presents none or one it "
            "does not trust: check tls.client_cert and tls.client_key"
        )
    if isinstance(exc, InvalidHandshake):
        return TransportError(f"WebSocket handshake with {url} failed: {exc}")
    if isinstance(cause, ConnectionResetError | EOFError) and url.startswith("wss://"):
        return TransportError(
            f"the server at {url} dropped the connection during the TLS handshake: it may not speak TLS on this "
            "port (a plain ws:// server); check the URL scheme and port")
    if isinstance(cause, OSError):
        return TransportError(f"cannot connect to {url}: {cause.strerror or cause or type(cause).__name__}")
    return TransportError(f"cannot connect to {url}: {type(exc).__name__}: {exc}")


class WebSocketTransport(Transport):
    """An OCPP-J client connection to a CSMS.

    ``url`` is final (``ws://`` or ``wss://``, station id included). ``ssl_context`` is required for
    ``wss://`` unless the system defaults should apply; it is rejected for ``ws://``. ``basic_auth`` is a
    ``(username, password)`` pair. ``ping_interval=None`` disables keep-alive pings.
    """

    def __init__(
        self,
        url: str,
        version: Version,
        *,
        basic_auth: tuple[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        open_timeout: float = 10.0,
        close_timeout: float = 5.0,
        max_size: int = DEFAULT_MAX_SIZE,
        max_queue: int = DEFAULT_MAX_QUEUE,
        compression: bool = False,
        user_agent: str | None = "ocppemu",
        station_id: str | None = None,
    ) -> None:
        if ssl_context is not None and url.startswith("ws://"):
            raise TransportError(f"a TLS context was given for the plain ws:// URL {url!r}", retryable=False)
        self.url = url
        self.version = version
        self.station_id = station_id
        self._basic_auth = basic_auth
        self._ssl = ssl_context
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout if ping_interval is not None else None
        self._open_timeout = open_timeout
        self._close_timeout = close_timeout
        self._max_size = max_size
        self._max_queue = max_queue
        self._compression = compression
        self._user_agent = user_agent
        self._ws: ClientConnection | None = None

    @classmethod
    def from_config(cls, station: StationConfig, **overrides: object) -> WebSocketTransport:
        """Build the transport a configured station uses: URL, version, auth, TLS and ping interval.

        Raises :class:`~ocppemu.transport.tls.TlsConfigError` when a TLS file is unusable. ``overrides`` are
        passed to the constructor (``open_timeout``, ``max_size`` ...).
        """
        url = station.connection_url()
        auth = station.csms_auth
        basic: tuple[str, str] | None = None
        if auth.type == "basic" and auth.username:
            password = auth.password.get_secret_value() if auth.password is not None else ""
            basic = (auth.username, password)
        ctx = None
        if url.startswith("wss://"):
            ctx = ssl_context_from_config(station.tls, station_id=station.station_id)
        if basic is not None and ctx is None:
            log.info("station %s sends Basic auth without TLS (security profile 1)", station.station_id)
        kwargs: dict[str, object] = {
            "basic_auth": basic,
            "ssl_context": ctx,
            "ping_interval": station.simulation.ping_interval,
            "station_id": station.station_id,
        }
        kwargs.update(overrides)
        return cls(url, station.protocol_version, **kwargs)  # type: ignore[arg-type]

    @property
    def subprotocol(self) -> str | None:
        return self._ws.subprotocol if self._ws is not None else None

    @property
    def is_open(self) -> bool:
        if self._ws is None:
            return False
        return self._ws.state is State.OPEN

    async def connect(self) -> None:
        """Open the WebSocket and check the negotiated subprotocol.

        Raises :class:`TransportError` (connection refused, timeout, HTTP refusal such as 401, TLS failure,
        subprotocol refused); the error's ``retryable`` says whether retrying may help.
        """
        if self.is_open:
            raise TransportError("transport is already connected", retryable=False)
        headers: dict[str, str] = {}
        if self._basic_auth is not None:
            headers["Authorization"] = basic_auth_header(*self._basic_auth)
        wanted = Subprotocol(self.version.subprotocol)
        try:
            ws = await connect(
                self.url,
                subprotocols=[wanted],
                additional_headers=headers or None,
                user_agent_header=self._user_agent,
                compression="deflate" if self._compression else None,
                proxy=None,
                open_timeout=self._open_timeout,
                ping_interval=self._ping_interval,
                ping_timeout=self._ping_timeout,
                close_timeout=self._close_timeout,
                max_size=self._max_size,
                max_queue=self._max_queue,
                ssl=self._ssl,
            )
        except Exception as exc:  # every failure becomes a readable TransportError
            err = describe_connect_error(self.url, exc)
            log.warning("station %s: %s", self.station_id or "-", err)
            raise err from exc
        if ws.subprotocol != wanted:
            await ws.close(1002, "OCPP subprotocol not agreed")
            chosen = "none" if ws.subprotocol is None else repr(ws.subprotocol)
            raise TransportError(
                f"the CSMS at {self.url} selected subprotocol {chosen} instead of {wanted!r}: it does not "
                f"accept OCPP {self.version.value} on this endpoint",
                retryable=False,
            )
        self._ws = ws
        log.info("station %s connected to %s (%s)", self.station_id or "-", self.url, wanted)

    def _closed(self, exc: ConnectionClosed) -> TransportClosed:
        frame = exc.rcvd or exc.sent
        code = frame.code if frame is not None else 1006
        reason = frame.reason if frame is not None else ""
        return TransportClosed(code, reason, by_peer=exc.rcvd is not None or exc.sent is None)

    async def send(self, text: str) -> None:
        if self._ws is None:
            raise TransportClosed(None, "not connected", by_peer=False)
        try:
            await self._ws.send(text)
        except ConnectionClosed as exc:
            raise self._closed(exc) from exc

    async def recv(self) -> str:
        """Next text frame. A binary frame (not OCPP-J) is decoded as UTF-8 with replacement characters and
        handed up, so the framing layer answers it as a malformed message instead of the transport dying."""
        if self._ws is None:
            raise TransportClosed(None, "not connected", by_peer=False)
        try:
            data = await self._ws.recv()
        except ConnectionClosed as exc:
            raise self._closed(exc) from exc
        if isinstance(data, bytes):
            log.warning("station %s received a binary frame of %d bytes; OCPP-J uses text frames",
                        self.station_id or "-", len(data))
            return data.decode("utf-8", errors="replace")
        return data

    async def close(self, code: int = 1000, reason: str = "") -> None:
        ws, self._ws = self._ws, None
        if ws is None:
            return
        try:
            await ws.close(code, reason)
        except Exception:  # closing must never raise; the connection is gone either way
            log.debug("error while closing the connection of station %s", self.station_id, exc_info=True)
