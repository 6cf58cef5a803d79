"""The I/O edge of file uploads (GetLog): HTTP PUT/POST of a station's file, run for a station runtime.

A 2.x station core hands an :class:`~ocppemu.station.v201.maintenance.UploadJob` to its ``uploader`` callback;
:func:`attach` installs one that performs the upload in a worker thread (``urllib``, no extra dependency) and
reports the outcome back to the core through the runtime, so the core itself stays sans-I/O.

Only ``http`` and ``https`` URLs are uploaded; other schemes (ftp, sftp ...) fail with a readable reason. The file
is sent with PUT, or with POST when the URL's last path segment has no file name (ends with ``/``), in which case the
file name is appended. Time-out: :data:`TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from ocppemu.station.core import StationCore
    from ocppemu.station.v201.maintenance import UploadJob

T = TypeVar("T")

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15.0


def http_upload(url: str, filename: str, content: bytes, timeout: float = TIMEOUT_SECONDS) -> tuple[bool, str]:
    """Upload ``content`` to ``url``; returns ``(ok, detail)``. Blocking: run it in a thread. Never raises."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return False, f"upload scheme {parts.scheme or '(none)'!r} is not supported (http, https)"
    method = "PUT"
    if url.endswith("/"):
        method, url = "POST", url + urllib.parse.quote(filename)
    request = urllib.request.Request(url, data=content, method=method,
                                     headers={"Content-Type": "text/plain", "X-Filename": filename})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return False, f"{method} {url}: HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, f"{method} {url}: {exc}"
    return (200 <= status < 300), f"{method} {url}: HTTP {status}"


class UploadHost(Protocol):
    """What an upload needs of the station runtime it runs for: the core, and a way to act on it."""

    @property
    def core(self) -> StationCore: ...

    def act(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...


def attach(runtime: UploadHost) -> None:
    """Give ``runtime``'s core (if it uploads files) an uploader that does the I/O on the runtime's loop.

    Safe to call for any core: cores without an ``uploader`` attribute are left alone.
    """
    core: Any = runtime.core
    if not hasattr(core, "uploader"):
        return
    tasks: set[asyncio.Task[None]] = set()

    async def run(job: UploadJob) -> None:
        ok, detail = await asyncio.to_thread(http_upload, job.url, job.filename, job.content)
        log.info("station %s: upload of %s: %s", core.station_id, job.filename, detail)
        runtime.act(core.upload_finished, job, ok, detail)

    def uploader(job: UploadJob) -> None:
        task = asyncio.get_running_loop().create_task(run(job))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    core.uploader = uploader
