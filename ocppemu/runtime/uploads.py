"""The I/O edge of file uploads (GetLog): HTTP PUT/POST of a station's file, run as a task of its station runtime.

A 2.x station core hands an :class:`~ocppemu.station.v201.maintenance.UploadJob` to its ``uploader`` callback;
:func:`attach` installs one that performs the upload on the event loop, as a task the station owns (see
:meth:`~ocppemu.runtime.station_runtime.StationRuntime.spawn`: stopping or deleting the station cancels it and
closes its connection), and reports the outcome back to the core through the runtime, so the core itself stays
sans-I/O.

Only ``http`` and ``https`` URLs are uploaded; other schemes (ftp, sftp ...) fail with a readable reason. The file
is sent with PUT, or with POST when the URL's last path segment has no file name (ends with ``/``), in which case the
file name is appended. Credentials in the URL (``http://user:pw@host/...``) are sent as HTTP Basic authentication.
The whole exchange is bounded by :data:`TIMEOUT_SECONDS`; only the response's status line is read.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
import urllib.parse
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from ocppemu.station.core import StationCore
    from ocppemu.station.v201.maintenance import UploadJob

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15.0
T = TypeVar("T")


class UploadHost(Protocol):
    """What an upload needs of the station runtime it runs for: the core, acting on it, and owning a task."""

    @property
    def core(self) -> StationCore: ...

    def act(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...

    def spawn(self, coro: Coroutine[Any, Any, None], what: str) -> bool: ...


async def http_upload(url: str, filename: str, content: bytes, timeout: float = TIMEOUT_SECONDS) -> tuple[bool, str]:
    """Upload ``content`` to ``url``; returns ``(ok, detail)``. Never raises, except ``CancelledError``: cancelling
    it closes the connection at once."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return False, f"upload scheme {parts.scheme or '(none)'!r} is not supported (http, https)"
    method = "PUT"
    if url.endswith("/"):
        method, url = "POST", url + urllib.parse.quote(filename)
        parts = urllib.parse.urlsplit(url)
    try:
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        return False, f"{method} {url}: {exc}"
    if not host:
        return False, f"{method} {url}: the URL names no host"
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "Content-Type": "text/plain", "X-Filename": filename,
               "Content-Length": str(len(content)), "Connection": "close"}
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    shown = url if parts.username is None else url.replace(parts.netloc, headers["Host"], 1)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            tls = ssl.create_default_context() if parts.scheme == "https" else None
            reader, writer = await asyncio.open_connection(host, port, ssl=tls)
            writer.write(head.encode("latin-1") + content)
            await writer.drain()
            status_line = (await reader.readline()).decode("latin-1").strip()
    except TimeoutError:
        return False, f"{method} {shown}: no answer within {timeout:g} s"
    except (OSError, ValueError, UnicodeError) as exc:
        return False, f"{method} {shown}: {exc}"
    finally:
        if writer is not None:
            writer.close()
    fields = status_line.split(" ", 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        return False, f"{method} {shown}: not an HTTP answer: {status_line[:80]!r}"
    status = int(fields[1])
    reason = fields[2] if len(fields) > 2 else ""
    return (200 <= status < 300), f"{method} {shown}: HTTP {status} {reason}".rstrip()


def attach(runtime: UploadHost) -> None:
    """Give ``runtime``'s core (if it uploads files) an uploader whose uploads are tasks of ``runtime``.

    Safe to call for any core: cores without an ``uploader`` attribute are left alone.
    """
    core: Any = runtime.core
    if not hasattr(core, "uploader"):
        return

    async def run(job: UploadJob) -> None:
        ok, detail = await http_upload(job.url, job.filename, job.content)
        log.info("station %s: upload of %s: %s", core.station_id, job.filename, detail)
        runtime.act(core.upload_finished, job, ok, detail)

    def uploader(job: UploadJob) -> None:
        if not runtime.spawn(run(job), "upload"):
            runtime.act(core.upload_finished, job, False, "the station is not running")

    core.uploader = uploader
