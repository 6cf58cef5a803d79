"""The embedded backend: one SQLite file in WAL mode, driven by a single worker thread.

Every statement runs on one dedicated thread (a one-worker executor), so the event loop never waits on disk and
the connection is never shared between threads. Documents are JSON text columns; the fields queries filter or
sort on are real columns with indexes mirroring those queries. Times are epoch milliseconds.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from ocppemu.config.station import StationConfig, StationRuntimeState
from ocppemu.ocpp.records import FrameRecord, MeterSample, SessionRecord, TransactionRecord
from ocppemu.store import codec
from ocppemu.store.base import (
    DEFAULT_MAX_DOCUMENT_BYTES,
    SCHEMA_VERSION,
    ActionStats,
    HealthReport,
    MessageFilter,
    QueueItem,
    Repository,
    StoredMessage,
    StoredSession,
    WriteResult,
)
from ocppemu.store.errors import DuplicateStationError, StoreError, StoreUnavailableError
from ocppemu.store.sqlite_schema import (
    MIGRATIONS,
    MSG_COLS,
    P95,
    icontains,
    message_where,
    msg_from_row,
    sample_from_row,
)
from ocppemu.store.stations_doc import station_from_doc, station_to_doc

log = logging.getLogger(__name__)
T = TypeVar("T")

def _now_ms() -> int:
    return codec.to_ms(datetime.now(UTC))


class SqliteRepository(Repository):
    """Repository on the SQLite file ``path`` (created with its folder if missing; ``:memory:`` works too)."""

    backend: Literal["sqlite", "mongodb"] = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
        retention_days: float | None = None,
    ) -> None:
        self.path = str(path)
        self.max_document_bytes = max_document_bytes
        self.retention_days = retention_days
        self._ex: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None

    # -- plumbing ----------------------------------------------------------------------------------------
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._ex is None:
            raise StoreError("the store is not open: call init() first")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._ex, functools.partial(fn, *args))
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"SQLite store {self.path} is not usable right now: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path} failed: {exc}") from exc

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("the store is not open: call init() first")
        return self._db

    def _open_sync(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
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

    async def health(self) -> HealthReport:
        try:
            await self._run(lambda: self._conn.execute("SELECT 1").fetchone())
            version = await self.schema_version()
        except StoreError as exc:
            return HealthReport(False, "sqlite", str(exc), None)
        caps = {"text_index": False, "timeseries": False, "ttl": False, "percentile": True}
        notes = {
            "text_index": "free text is matched with LIKE (substring, case-insensitive)",
            "ttl": "retention_days is applied when the store is opened",
            "timeseries": "meter_values is a table indexed by station, transaction, measurand and time",
        }
        return HealthReport(True, "sqlite", f"SQLite {sqlite3.sqlite_version} at {self.path}", version, caps, notes)

    async def schema_version(self) -> int | None:
        return await self._run(self._version_sync)

    # -- stations ----------------------------------------------------------------------------------------
    def _station_write_sync(self, doc: dict[str, Any], create: bool) -> None:
        db = self._conn
        text = codec.dumps(doc)
        codec.check_size(f"station {doc['station_id']!r}", len(text.encode()), self.max_document_bytes)
        row = (
            doc["station_id"], text, int(doc["enabled"]), int(doc["auto_start"]), doc["protocol_version"],
            codec.dumps(doc["tags"]), codec.to_ms(datetime.fromisoformat(doc["created_at"])),
            codec.to_ms(datetime.fromisoformat(doc["updated_at"])),
        )
        with db:
            if create:
                try:
                    db.execute(
                        "INSERT INTO stations(station_id, doc, enabled, auto_start, protocol_version, tags, "
                        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
                except sqlite3.IntegrityError as exc:
                    raise DuplicateStationError(doc["station_id"]) from exc
            else:
                db.execute(
                    "INSERT INTO stations(station_id, doc, enabled, auto_start, protocol_version, tags, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(station_id) DO UPDATE "
                    "SET doc = excluded.doc, enabled = excluded.enabled, auto_start = excluded.auto_start, "
                    "protocol_version = excluded.protocol_version, tags = excluded.tags, "
                    "updated_at = excluded.updated_at", row)

    def _station_created_sync(self, station_id: str) -> int | None:
        row = self._conn.execute("SELECT created_at FROM stations WHERE station_id = ?", (station_id,)).fetchone()
        return None if row is None else int(row[0])

    async def create_station(self, config: StationConfig) -> StationConfig:
        now = datetime.now(UTC)
        doc = station_to_doc(config, now, now)
        await self._run(self._station_write_sync, doc, True)
        return station_from_doc(doc)

    async def upsert_station(self, config: StationConfig) -> StationConfig:
        now = datetime.now(UTC)
        created = await self._run(self._station_created_sync, config.station_id)
        doc = station_to_doc(config, now if created is None else codec.from_ms(created), now)
        await self._run(self._station_write_sync, doc, False)
        return station_from_doc(doc)

    async def get_station(self, station_id: str) -> StationConfig | None:
        row = await self._run(
            lambda: self._conn.execute("SELECT doc FROM stations WHERE station_id = ?", (station_id,)).fetchone()
        )
        return None if row is None else station_from_doc(codec.loads(row[0]))

    async def list_stations(
        self, tags: Sequence[str] | None = None, enabled: bool | None = None
    ) -> list[StationConfig]:
        sql = "SELECT doc FROM stations"
        where: list[str] = []
        params: list[Any] = []
        if enabled is not None:
            where.append("enabled = ?")
            params.append(int(enabled))
        for tag in tags or ():
            where.append("EXISTS (SELECT 1 FROM json_each(stations.tags) WHERE value = ?)")
            params.append(tag)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = await self._run(lambda: self._conn.execute(sql + " ORDER BY station_id", params).fetchall())
        out: list[StationConfig] = []
        for row in rows:
            try:
                out.append(station_from_doc(codec.loads(row[0])))
            except StoreError as exc:
                log.warning("skipping stored station: %s", exc)
        return out

    def _delete_station_sync(self, station_id: str) -> bool:
        with self._conn as db:
            cur = db.execute("DELETE FROM stations WHERE station_id = ?", (station_id,))
            db.execute("DELETE FROM offline_queue WHERE station_id = ?", (station_id,))
            return cur.rowcount > 0

    async def delete_station(self, station_id: str) -> bool:
        return await self._run(self._delete_station_sync, station_id)

    def _runtime_sync(self, station_id: str, text: str, status: str) -> bool:
        with self._conn as db:
            cur = db.execute(
                "UPDATE stations SET runtime = ?, connection_status = ? WHERE station_id = ?",
                (text, status, station_id),
            )
            return cur.rowcount > 0

    async def update_runtime_state(self, state: StationRuntimeState) -> bool:
        text = codec.dumps(state.model_dump(mode="json"))
        return await self._run(self._runtime_sync, state.station_id, text, state.connection_status)

    async def get_runtime_state(self, station_id: str) -> StationRuntimeState | None:
        row = await self._run(
            lambda: self._conn.execute("SELECT runtime FROM stations WHERE station_id = ?", (station_id,)).fetchone()
        )
        if row is None or row[0] is None:
            return None
        return StationRuntimeState.model_validate(codec.loads(row[0]))

    # -- messages ----------------------------------------------------------------------------------------
    def _add_messages_sync(self, records: Sequence[FrameRecord], ids: Sequence[str]) -> WriteResult:
        result = WriteResult()
        rows: list[tuple[Any, ...]] = []
        created = _now_ms()
        for i, (rid, r) in enumerate(zip(ids, records, strict=True)):
            payload = codec.dumps(r.payload)
            size = len(r.raw.encode()) + len(payload.encode())
            if size > self.max_document_bytes:
                result.rejected.append((i, f"message {r.message_id!r} of station {r.station_id!r} is {size} "
                                           f"bytes, more than the limit of {self.max_document_bytes}"))
                continue
            rows.append((
                rid, codec.to_ms(r.timestamp), r.station_id, r.direction, r.message_type, r.message_id, r.action,
                r.protocol_version, payload, r.raw, r.correlation_id, r.error_code, r.error_description,
                r.validation_error, r.rtt_ms, r.seq, created,
            ))
        with self._conn as db:
            before = db.total_changes
            db.executemany(
                f"INSERT OR IGNORE INTO messages({MSG_COLS}, created_at) VALUES ({', '.join('?' * 17)})", rows
            )
            result.inserted = db.total_changes - before
        result.duplicates = len(rows) - result.inserted
        return result

    async def add_messages(
        self, records: Sequence[FrameRecord], ids: Sequence[str] | None = None
    ) -> WriteResult:
        if ids is None:
            ids = [codec.new_record_id() for _ in records]
        elif len(ids) != len(records):
            raise ValueError("ids and records must have the same length")
        return await self._run(self._add_messages_sync, list(records), list(ids))

    async def _fetch_messages(
        self, flt: MessageFilter, limit: int, after: tuple[int, str] | None, ascending: bool
    ) -> list[StoredMessage]:
        where, params = message_where(flt)
        if after is not None:
            where.append("(ts, id) > (?, ?)" if ascending else "(ts, id) < (?, ?)")
            params.extend(after)
        order = "ASC" if ascending else "DESC"
        sql = f"SELECT {MSG_COLS} FROM messages"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY ts {order}, id {order} LIMIT ?"
        params.append(limit)
        rows = await self._run(lambda: self._conn.execute(sql, params).fetchall())
        return [msg_from_row(r) for r in rows]

    async def count_messages(self, flt: MessageFilter | None = None) -> int:
        where, params = message_where(flt or MessageFilter())
        sql = "SELECT count(*) FROM messages" + (" WHERE " + " AND ".join(where) if where else "")
        row = await self._run(lambda: self._conn.execute(sql, params).fetchone())
        return int(row[0])

    def _purge_sync(self, before_ms: int, column: str) -> int:
        with self._conn as db:
            return db.execute(f"DELETE FROM messages WHERE {column} < ?", (before_ms,)).rowcount

    async def purge_messages(self, before: datetime) -> int:
        return await self._run(self._purge_sync, codec.to_ms(before), "ts")

    # -- transactions and meter values -------------------------------------------------------------------
    def _upsert_tx_sync(self, tx: TransactionRecord) -> None:
        db = self._conn
        with db:
            row = db.execute(
                "SELECT doc FROM transactions WHERE station_id = ? AND transaction_id = ?",
                (tx.station_id, tx.transaction_id),
            ).fetchone()
            doc = codec.dates_to_ms(tx.to_doc(), codec.TX_DATES)
            if row is not None:
                doc["created_at"] = codec.loads(row[0])["created_at"]
            text = codec.dumps(doc)
            codec.check_size(f"transaction {tx.transaction_id!r}", len(text.encode()), self.max_document_bytes)
            db.execute(
                "INSERT INTO transactions(station_id, transaction_id, status, id_tag, start_ts, doc) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(station_id, transaction_id) DO UPDATE SET "
                "status = excluded.status, id_tag = excluded.id_tag, start_ts = excluded.start_ts, doc = excluded.doc",
                (tx.station_id, tx.transaction_id, tx.status, tx.id_tag, doc["start_timestamp"], text),
            )

    async def upsert_transaction(self, tx: TransactionRecord) -> None:
        await self._run(self._upsert_tx_sync, tx)

    @staticmethod
    def _tx(text: str) -> TransactionRecord:
        return TransactionRecord(**codec.dates_from_ms(codec.loads(text), codec.TX_DATES))

    async def get_transaction(self, station_id: str, transaction_id: str) -> TransactionRecord | None:
        row = await self._run(lambda: self._conn.execute(
            "SELECT doc FROM transactions WHERE station_id = ? AND transaction_id = ?", (station_id, transaction_id)
        ).fetchone())
        return None if row is None else self._tx(row[0])

    async def query_transactions(
        self,
        station_id: str | None = None,
        status: str | None = None,
        id_tag: str | None = None,
        limit: int = 1000,
    ) -> list[TransactionRecord]:
        where: list[str] = []
        params: list[Any] = []
        for col, value in (("station_id", station_id), ("status", status), ("id_tag", id_tag)):
            if value is not None:
                where.append(f"{col} = ?")
                params.append(value)
        sql = "SELECT doc FROM transactions" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY start_ts DESC, station_id, transaction_id LIMIT ?"
        params.append(limit)
        rows = await self._run(lambda: self._conn.execute(sql, params).fetchall())
        return [self._tx(r[0]) for r in rows]

    def _add_samples_sync(self, samples: Sequence[MeterSample]) -> int:
        rows = [
            (codec.to_ms(s.timestamp), s.station_id, s.connector_id, s.transaction_id, s.measurand, s.value, s.unit,
             s.context, s.phase, s.location, s.format)
            for s in samples
        ]
        with self._conn as db:
            db.executemany(
                "INSERT INTO meter_values(ts, station_id, connector_id, transaction_id, measurand, value, unit, "
                "context, phase, location, format) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    async def add_meter_samples(self, samples: Sequence[MeterSample]) -> int:
        return await self._run(self._add_samples_sync, list(samples))

    async def meter_series(
        self,
        station_id: str,
        transaction_id: str | None = None,
        measurand: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[MeterSample]:
        where = ["station_id = ?"]
        params: list[Any] = [station_id]
        if transaction_id is not None:
            where.append("transaction_id = ?")
            params.append(transaction_id)
        if measurand is not None:
            where.append("measurand = ?")
            params.append(measurand)
        if since is not None:
            where.append("ts >= ?")
            params.append(codec.to_ms(since))
        if until is not None:
            where.append("ts < ?")
            params.append(codec.to_ms(until))
        sql = "SELECT * FROM meter_values WHERE " + " AND ".join(where) + " ORDER BY ts, id"
        rows = await self._run(lambda: self._conn.execute(sql, params).fetchall())
        return [sample_from_row(r) for r in rows]

    # -- sessions ----------------------------------------------------------------------------------------
    def _session_sync(self, session_id: str, session: SessionRecord, insert: bool) -> bool:
        doc = codec.dates_to_ms(session.to_doc(), codec.SESSION_DATES)
        args = (session.station_id, session.status, doc["connected_at"], codec.dumps(doc), session_id)
        with self._conn as db:
            if insert:
                db.execute("INSERT INTO sessions(station_id, status, connected_at, doc, id) VALUES (?, ?, ?, ?, ?)",
                           args)
                return True
            cur = db.execute("UPDATE sessions SET station_id = ?, status = ?, connected_at = ?, doc = ? "
                             "WHERE id = ?", args)
            return cur.rowcount > 0

    async def add_session(self, session: SessionRecord) -> str:
        session_id = codec.new_record_id()
        await self._run(self._session_sync, session_id, session, True)
        return session_id

    async def update_session(self, session_id: str, session: SessionRecord) -> bool:
        return await self._run(self._session_sync, session_id, session, False)

    async def list_sessions(
        self, station_id: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[StoredSession]:
        where: list[str] = []
        params: list[Any] = []
        for col, value in (("station_id", station_id), ("status", status)):
            if value is not None:
                where.append(f"{col} = ?")
                params.append(value)
        sql = "SELECT id, doc FROM sessions" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY connected_at DESC, id DESC LIMIT ?"
        params.append(limit)
        rows = await self._run(lambda: self._conn.execute(sql, params).fetchall())
        return [
            StoredSession(r[0], SessionRecord(**codec.dates_from_ms(codec.loads(r[1]), codec.SESSION_DATES)))
            for r in rows
        ]

    # -- templates ---------------------------------------------------------------------------------------
    def _checked(self, what: str, doc: Mapping[str, Any]) -> str:
        text = codec.dumps(codec.json_ready(doc))
        codec.check_size(what, len(text.encode()), self.max_document_bytes)
        return text

    async def save_template(self, name: str, doc: Mapping[str, Any], kind: str = "station") -> None:
        text = self._checked(f"template {name!r}", doc)
        now = _now_ms()

        def write() -> None:
            with self._conn as db:
                db.execute(
                    "INSERT INTO templates(name, kind, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, doc = excluded.doc, "
                    "updated_at = excluded.updated_at", (name, kind, text, now, now))

        await self._run(write)

    async def get_template(self, name: str) -> dict[str, Any] | None:
        row = await self._run(
            lambda: self._conn.execute("SELECT doc FROM templates WHERE name = ?", (name,)).fetchone()
        )
        return None if row is None else dict(codec.loads(row[0]))

    async def list_templates(self, kind: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        sql = "SELECT name, kind, doc FROM templates" + (" WHERE kind = ?" if kind is not None else "")
        params = [kind] if kind is not None else []
        rows = await self._run(lambda: self._conn.execute(sql + " ORDER BY name", params).fetchall())
        return [(r[0], r[1], dict(codec.loads(r[2]))) for r in rows]

    async def delete_template(self, name: str) -> bool:
        return await self._run(self._delete_sync, "templates", "name", name)

    def _delete_sync(self, table: str, col: str, value: str) -> bool:
        with self._conn as db:
            return db.execute(f"DELETE FROM {table} WHERE {col} = ?", (value,)).rowcount > 0

    # -- scenario runs -----------------------------------------------------------------------------------
    async def create_scenario_run(self, doc: Mapping[str, Any]) -> str:
        run_id = codec.new_record_id()
        created = datetime.now(UTC)
        full = codec.json_ready({**doc, "id": run_id, "created_at": codec.trunc_ms(created)})
        text = self._checked(f"scenario run {run_id}", full)
        scenario = full.get("scenario")

        def write() -> None:
            with self._conn as db:
                db.execute("INSERT INTO scenario_runs(id, scenario, created_at, doc) VALUES (?, ?, ?, ?)",
                           (run_id, scenario if isinstance(scenario, str) else None, codec.to_ms(created), text))

        await self._run(write)
        return run_id

    async def get_scenario_run(self, run_id: str) -> dict[str, Any] | None:
        row = await self._run(
            lambda: self._conn.execute("SELECT doc FROM scenario_runs WHERE id = ?", (run_id,)).fetchone()
        )
        return None if row is None else dict(codec.loads(row[0]))

    async def update_scenario_run(self, run_id: str, changes: Mapping[str, Any]) -> bool:
        ready = codec.json_ready(changes)
        ready.pop("id", None)
        ready.pop("created_at", None)

        def write() -> bool:
            with self._conn as db:
                row = db.execute("SELECT doc FROM scenario_runs WHERE id = ?", (run_id,)).fetchone()
                if row is None:
                    return False
                doc = {**codec.loads(row[0]), **ready}
                text = self._checked(f"scenario run {run_id}", doc)
                scenario = doc.get("scenario")
                db.execute("UPDATE scenario_runs SET doc = ?, scenario = ? WHERE id = ?",
                           (text, scenario if isinstance(scenario, str) else None, run_id))
                return True

        return await self._run(write)

    async def list_scenario_runs(self, scenario: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        sql = "SELECT doc FROM scenario_runs" + (" WHERE scenario = ?" if scenario is not None else "")
        params: list[Any] = [scenario] if scenario is not None else []
        params.append(limit)
        rows = await self._run(
            lambda: self._conn.execute(sql + " ORDER BY created_at DESC, id DESC LIMIT ?", params).fetchall()
        )
        return [dict(codec.loads(r[0])) for r in rows]

    async def delete_scenario_run(self, run_id: str) -> bool:
        return await self._run(self._delete_sync, "scenario_runs", "id", run_id)

    # -- offline queues ----------------------------------------------------------------------------------
    async def queue_push(self, station_id: str, key: str, doc: Mapping[str, Any]) -> None:
        text = self._checked(f"queued message {key!r} of station {station_id!r}", doc)
        now = _now_ms()

        def write() -> None:
            with self._conn as db:
                db.execute(
                    "INSERT INTO offline_queue(station_id, key, doc, created_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(station_id, key) DO UPDATE SET doc = excluded.doc", (station_id, key, text, now))

        await self._run(write)

    async def queue_list(self, station_id: str) -> list[QueueItem]:
        rows = await self._run(lambda: self._conn.execute(
            "SELECT key, doc FROM offline_queue WHERE station_id = ? ORDER BY seq", (station_id,)
        ).fetchall())
        return [QueueItem(r[0], dict(codec.loads(r[1]))) for r in rows]

    async def queue_remove(self, station_id: str, key: str) -> bool:
        def write() -> bool:
            with self._conn as db:
                cur = db.execute("DELETE FROM offline_queue WHERE station_id = ? AND key = ?", (station_id, key))
                return cur.rowcount > 0

        return await self._run(write)

    # -- aggregates --------------------------------------------------------------------------------------
    async def action_stats(
        self, station_id: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[ActionStats]:
        where, params = message_where(MessageFilter(station_id=station_id, since=since, until=until))
        where.append("action IS NOT NULL")
        sql = (
            "SELECT action, count(*), sum(message_type IN ('CallError', 'CallResultError')), avg(rtt_ms), "
            "ocppemu_p95(rtt_ms) FROM messages WHERE " + " AND ".join(where)
            + " GROUP BY action ORDER BY count(*) DESC, action"
        )
        rows = await self._run(lambda: self._conn.execute(sql, params).fetchall())
        return [ActionStats(r[0], int(r[1]), int(r[2]), r[3], r[4]) for r in rows]
