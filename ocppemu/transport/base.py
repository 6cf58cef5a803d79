"""The transport interface the station engine talks through, and the errors every transport raises.

The engine only ever sees text messages going out and coming in (one OCPP-J frame each, or one SOAP envelope when
the station's RPC endpoint has the SOAP codec). A transport owns the connection (WebSocket, or SOAP over HTTP:
:mod:`ocppemu.transport.soap`) and nothing else: no framing, no correlation, no retries.
The engine decides when to reconnect, using :mod:`ocppemu.runtime.backoff`.
"""

from __future__ import annotations

import abc


class TransportError(Exception):
    """The connection could not be opened or used.

    ``retryable`` tells the reconnect loop whether trying again may help: a refused TCP connection or a
    timeout is retryable; a rejected password, a failed certificate check or a refused subprotocol is not
    (retrying only repeats the same wrong request), although an engine may still choose to retry slowly.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable

    def __str__(self) -> str:
        return self.message


class TransportClosed(TransportError):
    """The open connection ended; raised by :meth:`Transport.recv` and :meth:`Transport.send`.

    ``code`` is the WebSocket close code (1000 normal, 1001 going away, 1006 dropped without a close frame,
    1009 message too big ...) or ``None`` when the transport has none; ``reason`` is the peer's close reason.
    """

    def __init__(self, code: int | None, reason: str = "", *, by_peer: bool = True) -> None:
        who = "peer" if by_peer else "us"
        detail = f" ({reason})" if reason else ""
        super().__init__(f"connection closed by {who} with code {code}{detail}", retryable=True)
        self.code = code
        self.reason = reason
        self.by_peer = by_peer


class Transport(abc.ABC):
    """One connection between a station and its CSMS carrying OCPP text frames.

    Contract:

    * :meth:`connect` opens the connection or raises :class:`TransportError`; it is called once per instance
      (the engine builds a new transport, or calls ``connect`` again only after :meth:`close`).
    * :meth:`send` and :meth:`recv` may run concurrently (one reader task, any number of writers);
      both raise :class:`TransportClosed` once the connection is gone, never a library-specific exception.
    * :meth:`close` is idempotent and never raises.
    * Cancelling :meth:`recv` is safe: no message is lost by cancelling a pending receive.
    """

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open the connection; raises :class:`TransportError` with a sentence the user can act on."""

    @abc.abstractmethod
    async def send(self, text: str) -> None:
        """Send one frame; raises :class:`TransportClosed` if the connection is gone."""

    @abc.abstractmethod
    async def recv(self) -> str:
        """Wait for the next frame; raises :class:`TransportClosed` when the connection ends."""

    @abc.abstractmethod
    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (no-op when not open)."""

    @property
    @abc.abstractmethod
    def subprotocol(self) -> str | None:
        """The negotiated protocol name (``ocpp1.6`` ...) once connected, else ``None``."""

    @property
    @abc.abstractmethod
    def is_open(self) -> bool:
        """True between a successful :meth:`connect` and the end of the connection."""
