"""Who may talk to the API: the ``Host`` a request names and the ``Origin`` a browser sends.

* ``Host`` must be a name the API is served under: an IP address literal, ``localhost``, the bound host, or one
  of ``server.allowed_hosts``. A web page that rebinds its own domain to 127.0.0.1 (DNS rebinding) sends its
  domain as ``Host`` and is refused.
* ``Origin``, when a browser sends one (every cross-origin request and WebSocket has it), must be the API's own
  origin or one of ``server.allowed_origins``: a page elsewhere cannot create or start stations (CSRF) nor read
  the event stream. Requests without ``Origin`` (curl, the Python client, the dashboards' kernel) are not
  browsers' cross-site requests and pass.
* A request with a body must say ``Content-Type: application/json``: a cross-site form or ``text/plain``
  POST (which browsers send without asking first) never reaches a handler.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def _host_only(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8080
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(slots=True)
class Guard:
    """The rules for one API server (see the module docstring)."""

    bound_host: str = "127.0.0.1"
    allowed_hosts: Iterable[str] = ()
    allowed_origins: Iterable[str] = ()
    _hosts: frozenset[str] = field(init=False)
    _origins: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self._hosts = frozenset({"localhost", _host_only(self.bound_host)} | {_host_only(h) for h in
                                                                               self.allowed_hosts})
        self._origins = frozenset(o.rstrip("/").lower() for o in self.allowed_origins)

    def host_problem(self, host_header: str | None) -> str | None:
        """Why this ``Host`` is refused, or None."""
        if not host_header:
            return None  # HTTP/1.0 without Host: not a browser
        host = _host_only(host_header)
        if _is_ip(host) or host in self._hosts or "*" in self._hosts:
            return None
        return (f"the Host header names {host!r}, which this API is not served under (a web page rebinding its "
                "domain to this machine looks like this); add the name to server.allowed_hosts if it is yours")

    def origin_problem(self, origin: str | None, host_header: str | None) -> str | None:
        """Why a request from ``origin`` is refused, or None."""
        if origin is None:
            return None
        norm = origin.strip().rstrip("/").lower()
        if norm in self._origins or "*" in self._origins:
            return None
        parts = urlsplit(norm)
        if norm != "null" and parts.netloc and host_header and parts.netloc == host_header.strip().lower():
            return None  # same origin
        return (f"requests from the web page at {origin!r} are not allowed (cross-origin); add the origin to "
                "server.allowed_origins if that page may drive this workbench")

    @staticmethod
    def content_type_problem(method: str, content_type: str | None, body: bytes) -> str | None:
        if method in ("GET", "HEAD", "OPTIONS", "DELETE") or not body:
            return None
        if content_type and content_type.split(";", 1)[0].strip().lower() == "application/json":
            return None
        return "a request body must be sent as Content-Type: application/json"
