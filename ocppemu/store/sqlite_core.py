"""The embedded backend's core: one SQLite file in WAL mode, driven by a single worker thread.

Every statement runs on one dedicated thread (a one-worker executor), so the event loop never waits on disk and
the connection is never shared between threads. Documents are JSON text columns; the fields queries filter or
sort on are real columns with indexes mirroring those queries. Times are epoch milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from ocppemu.store import codec
from ocppemu.store.base import (
    DEFAULT_MAX_DOCUMENT_BYTES,
    SCHEMA_VERSION,
    HealthReport,
    Repository,
)
from ocppemu.store.errors import StoreError, StoreUnavailableError
from ocppemu.store.sqlite_schema import (
    MIGRATIONS,
    P95,
    icontains,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


def private_file(path: Path) -> None:
    """Create ``path``'s folder (0700) and the file itself (0600) if missing; tighten an existing file to 0600.
    The store holds station secrets (CSMS passwords), so no other user may read it."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    elif path.stat().st_mode & 0o077:
        with contextlib.suppress(OSError):
            path.chmod(0o600)


def now_ms() -> int:
    return codec.to_ms(datetime.now(UTC))


class SqliteCore(Repository):
    """The connection, its thread, migrations and health of the SQLite store; the record kinds build on it."""

    backend: Literal["sqlite", "mongodb"] = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
        retention_days: float | None = None,
        busy_timeout: float = 5.0,
    ) -> None:
        self.path = str(path)
        self.max_document_bytes = max_document_bytes
        self.retention_days = retention_days
        self.busy_timeout = busy_timeout
        self._ex: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None
        #: Why the last write failed (disk full, locked, read-only ...); cleared by the next write that succeeds.
        self.write_error: str | None = None

    # -- plumbing ----------------------------------------------------------------------------------------
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._ex is None:
            raise StoreError("the store is not open: call init() first")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._ex, functools.partial(self._tracked, fn, *args))
        except sqlite3.OperationalError as exc:
            self.write_error = str(exc)
            raise StoreUnavailableError(f"SQLite store {self.path} is not usable right now: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path} failed: {exc}") from exc

    def _tracked(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the store's thread; a call that changed rows proves writes work again."""
        db = self._db
        before = db.total_changes if db is not None else 0
        out = fn(*args)
        if db is not None and db.total_changes != before:
            self.write_error = None
        return out

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("the store is not open: call init() first")
        return self._db

    def _open_sync(self) -> None:
        if self.path != ":memory:":
            private_file(Path(self.path))
        db = sqlite3.connect(self.path, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
        db.create_function("ocppemu_icontains", 2, icontains, deterministic=True)
        db.create_aggregate("ocppemu_p95", 1, P95)
        self._db = db

    def _migrate_sync(self) -> None:
        db = self._conn
        with db:
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        current = self._version_sync() or 0
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {current}, newer than this ocppemu ({SCHEMA_VERSION}); upgrade"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            db.executescript("BEGIN;" + MIGRATIONS[version] + "COMMIT;")
            with db:
                db.execute(
                    "INSERT INTO meta(key, value) VALUES('schema_version', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (str(version),),
                )
            log.info("SQLite store %s migrated to schema version %d", self.path, version)
        if self.retention_days is not None:
            self._purge_sync(codec.to_ms(datetime.now(UTC) - timedelta(days=self.retention_days)), "created_at")

    def _version_sync(self) -> int | None:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:
            return None
        return int(row[0]) if row else None

    # -- lifecycle ---------------------------------------------------------------------------------------
    async def init(self) -> None:
        if self._ex is None:
            self._ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocppemu-sqlite")
        if self._db is None:
            await self._run(self._open_sync)
        await self._run(self._migrate_sync)

    async def close(self) -> None:
        if self._ex is None:
            return
        ex, self._ex = self._ex, None
        db, self._db = self._db, None
        if db is not None:
            await asyncio.get_running_loop().run_in_executor(ex, db.close)
        ex.shutdown(wait=True)

    def _probe_write_sync(self) -> None:
        """Take the write lock and give it back at once (fails while another process holds it)."""
        db = self._conn
        db.execute(f"PRAGMA busy_timeout={int(min(self.busy_timeout, 0.25) * 1000)}")
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
        finally:
            db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")

    async def health(self) -> HealthReport:
        failing = self.write_error
        try:
            await self._run(lambda: self._conn.execute("SELECT 1").fetchone())
            version = await self.schema_version()
            await self._run(self._probe_write_sync)
        except StoreError as exc:
            return HealthReport(False, "sqlite", str(exc), None)
        if self.write_error is not None and "locked" in self.write_error:
            self.write_error = None  # the write lock could be taken just now
        if failing is not None and self.write_error is not None:
            return HealthReport(False, "sqlite", f"SQLite store {self.path} answers reads but writes fail: "
                                f"{self.write_error}", version)
        caps = {"text_index": False, "timeseries": False, "ttl": False, "percentile": True}
        notes = {
            "text_index": "free text is matched with LIKE (substring, case-insensitive)",
            "ttl": "retention_days is applied when the store is opened",
            "timeseries": "meter_values is a table indexed by station, transaction, measurand and time",
        }
        return HealthReport(True, "sqlite", f"SQLite {sqlite3.sqlite_version} at {self.path}", version, caps, notes)

    async def schema_version(self) -> int | None:
        return await self._run(self._version_sync)

    def _purge_sync(self, before_ms: int, column: str) -> int:
        with self._conn as db:
            return db.execute(f"DELETE FROM messages WHERE {column} < ?", (before_ms,)).rowcount

    def _checked(self, what: str, doc: Mapping[str, Any]) -> str:
        text = codec.dumps(codec.json_ready(doc))
        codec.check_size(what, len(text.encode()), self.max_document_bytes)
        return text

    def _delete_sync(self, table: str, col: str, value: str) -> bool:
        with self._conn as db:
            return db.execute(f"DELETE FROM {table} WHERE {col} = ?", (value,)).rowcount > 0

