"""SQLite: transactions, meter values, sessions and authorization checks."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ocppemu.ocpp.records import AuthorizationRecord, MeterSample, SessionRecord, TransactionRecord
from ocppemu.store import codec
from ocppemu.store.sqlite_core import SqliteCore
from ocppemu.store.sqlite_schema import (
    sample_from_row,
)
from ocppemu.store.types import (
    StoredAuthorization,
    StoredSession,
)

log = logging.getLogger(__name__)


class SqliteRecords(SqliteCore):
    # -- transactions and meter values -------------------------------------------------------------------
    def _upsert_tx_sync(self, tx: TransactionRecord) -> None:
        db = self._conn
        with db:
            row = db.execute(
                "SELECT doc FROM transactions WHERE station_id = ? AND transaction_id = ? AND start_ts = ?",
                (tx.station_id, tx.transaction_id, codec.to_ms(tx.start_timestamp)),
            ).fetchone()
            doc = codec.dates_to_ms(tx.to_doc(), codec.TX_DATES)
            if row is not None:
                doc["created_at"] = codec.loads(row[0])["created_at"]
            text = codec.dumps(doc)
            codec.check_size(f"transaction {tx.transaction_id!r}", len(text.encode()), self.max_document_bytes)
            db.execute(
                "INSERT INTO transactions(station_id, transaction_id, status, id_tag, start_ts, doc) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(station_id, transaction_id, start_ts) DO UPDATE "
                "SET status = excluded.status, id_tag = excluded.id_tag, doc = excluded.doc",
                (tx.station_id, tx.transaction_id, tx.status, tx.id_tag, doc["start_timestamp"], text),
            )

    async def upsert_transaction(self, tx: TransactionRecord) -> None:
        await self._run(self._upsert_tx_sync, tx)

    @staticmethod
    def _tx(text: str) -> TransactionRecord:
        return TransactionRecord(**codec.dates_from_ms(codec.loads(text), codec.TX_DATES))

    async def get_transaction(self, station_id: str, transaction_id: str) -> TransactionRecord | None:
        row = await self._run(lambda: self._conn.execute(
            "SELECT doc FROM transactions WHERE station_id = ? AND transaction_id = ? ORDER BY start_ts DESC LIMIT 1",
            (station_id, transaction_id)
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


    # -- authorizations ----------------------------------------------------------------------------------
    def _add_auth_sync(self, records: Sequence[AuthorizationRecord]) -> int:
        rows = []
        for r in records:
            doc = r.to_doc()
            doc["timestamp"] = codec.to_ms(r.timestamp)
            rows.append((codec.new_record_id(), doc["timestamp"], r.station_id, codec.keep_text(r.id_token),
                         r.result, r.source, codec.dumps(doc)))
        with self._conn as db:
            db.executemany("INSERT INTO authorizations(id, ts, station_id, id_token, result, source, doc) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    async def add_authorizations(self, records: Sequence[AuthorizationRecord]) -> int:
        return await self._run(self._add_auth_sync, list(records))

    async def list_authorizations(
        self, station_id: str | None = None, id_token: str | None = None, limit: int = 1000
    ) -> list[StoredAuthorization]:
        where: list[str] = []
        params: list[Any] = []
        for col, value in (("station_id", station_id), ("id_token", codec.keep_text(id_token))):
            if value is not None:
                where.append(f"{col} = ?")
                params.append(value)
        sql = "SELECT id, doc FROM authorizations" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY ts, id LIMIT ?"
        params.append(limit)
        rows = await self._run(lambda: self._conn.execute(sql, params).fetchall())
        out: list[StoredAuthorization] = []
        for r in rows:
            doc = codec.loads(r[1])
            doc["timestamp"] = codec.from_ms(doc["timestamp"])
            out.append(StoredAuthorization(r[0], AuthorizationRecord(**doc)))
        return out
