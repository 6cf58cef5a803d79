"""Transports between a station and its CSMS: interface, WebSocket, SOAP over HTTP(S) (:mod:`ocppemu.transport.soap`),
TLS (back-off: :mod:`ocppemu.runtime.backoff`)."""

from __future__ import annotations

from ocppemu.transport.base import Transport, TransportClosed, TransportError
from ocppemu.transport.tls import TlsConfigError, client_ssl_context, ssl_context_from_config
from ocppemu.transport.websocket import WebSocketTransport

__all__ = [
    "TlsConfigError",
    "Transport",
    "TransportClosed",
    "TransportError",
    "WebSocketTransport",
    "client_ssl_context",
    "ssl_context_from_config",
]
