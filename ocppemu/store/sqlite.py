"""The embedded backend: one SQLite file in WAL mode, driven by a single worker thread.

Every statement runs on one dedicated thread (a one-worker executor), so the event loop never waits on disk and
the connection is never shared between threads. Documents are JSON text columns; the fields queries filter or
sort on are real columns with indexes mirroring those queries. Times are epoch milliseconds. Each record kind
lives in its own module; :class:`SqliteRepository` puts them together.
"""

from __future__ import annotations

from typing import Literal

from ocppemu.store.sqlite_docs import SqliteDocs
from ocppemu.store.sqlite_messages import SqliteMessages
from ocppemu.store.sqlite_records import SqliteRecords
from ocppemu.store.sqlite_stations import SqliteStations

__all__ = ["SqliteRepository"]


class SqliteRepository(SqliteStations, SqliteMessages, SqliteRecords, SqliteDocs):
    """Repository on the SQLite file ``path`` (created with its folder if missing; ``:memory:`` works too)."""

    backend: Literal["sqlite", "mongodb"] = "sqlite"
