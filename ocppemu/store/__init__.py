"""Storage: one async :class:`Repository` with an embedded SQLite default and a MongoDB backend.

>>> repo = open_store()                      # sqlite file under the user's data directory
>>> repo = open_store("sqlite:///tmp/x.db")  # a given file (``sqlite:////abs/path`` or ``sqlite:///rel/path``)
>>> repo = open_store("mongodb://127.0.0.1:27017/ocpp_emu")

``open_store`` only builds the repository; ``await repo.init()`` (or ``async with repo``) connects and migrates.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import platformdirs

from ocppemu.store.base import (
    DEFAULT_MAX_DOCUMENT_BYTES,
    SCHEMA_VERSION,
    ActionStats,
    Exchange,
    HealthReport,
    MessageFilter,
    Page,
    QueueItem,
    Repository,
    StationEnergy,
    StoredMessage,
    StoredSession,
    TransactionEnergy,
    WriteResult,
)
from ocppemu.store.buffer import BufferStats, MessageBuffer
from ocppemu.store.errors import (
    DuplicateStationError,
    InvalidCursorError,
    PayloadTooLargeError,
    StoredDataError,
    StoreError,
    StoreUnavailableError,
)

__all__ = [
    "DEFAULT_MAX_DOCUMENT_BYTES",
    "SCHEMA_VERSION",
    "ActionStats",
    "BufferStats",
    "DuplicateStationError",
    "Exchange",
    "HealthReport",
    "InvalidCursorError",
    "MessageBuffer",
    "MessageFilter",
    "Page",
    "PayloadTooLargeError",
    "QueueItem",
    "Repository",
    "StationEnergy",
    "StoreError",
    "StoreUnavailableError",
    "StoredDataError",
    "StoredMessage",
    "StoredSession",
    "TransactionEnergy",
    "WriteResult",
    "default_store_url",
    "open_store",
]


def default_store_url() -> str:
    """``sqlite:///`` URL of ``ocppemu.db`` in the user's data directory (platformdirs)."""
    path = Path(platformdirs.user_data_dir("ocppemu", appauthor=False)) / "ocppemu.db"
    return "sqlite://" + ("" if path.as_posix().startswith("/") else "/") + path.as_posix()


def sqlite_path(url: str) -> str:
    """The file path of a SQLite URL.

    ``sqlite:///abs/file.db`` and ``sqlite:////abs/file.db`` both name ``/abs/file.db``; ``sqlite:rel/file.db``
    names a path relative to the working directory; ``~`` is expanded; ``sqlite:///:memory:`` is in memory.
    """
    if not url.lower().startswith("sqlite:"):
        raise ValueError(f"not a sqlite URL: {url!r}")
    rest = unquote(url[len("sqlite:"):])
    if rest.startswith("//"):
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"a sqlite URL names a local file, not host {parts.netloc!r}: {url!r}")
        rest = "/" + unquote(parts.path).lstrip("/")
    if rest.lstrip("/") == ":memory:":
        return ":memory:"
    if not rest.strip("/"):
        raise ValueError(f"sqlite URL without a file path: {url!r}")
    if rest.startswith("/~"):
        rest = rest[1:]
    return str(Path(rest).expanduser())


def open_store(
    url: str | None = None,
    *,
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
    retention_days: float | None = None,
) -> Repository:
    """Build the repository named by ``url`` (:func:`default_store_url` when None).

    ``sqlite:///path`` selects the embedded backend, ``mongodb://`` or ``mongodb+srv://`` MongoDB (database from
    the URL path, ``ocpp_emu`` by default). ``retention_days`` expires messages (a TTL index on MongoDB; a purge
    on open for SQLite). Raises ``ValueError`` for any other scheme.
    """
    url = url or default_store_url()
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from ocppemu.store.sqlite import SqliteRepository

        return SqliteRepository(sqlite_path(url), max_document_bytes=max_document_bytes,
                                retention_days=retention_days)
    if scheme in ("mongodb", "mongodb+srv"):
        from ocppemu.store.mongo import MongoRepository

        return MongoRepository(url, max_document_bytes=max_document_bytes, retention_days=retention_days)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///path/to/file.db or mongodb://host/db")
