"""SQLite: frames (lossless text), queries and per-action statistics."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ocppemu.ocpp.records import FrameRecord
from ocppemu.store import codec
from ocppemu.store.sqlite_core import SqliteCore, now_ms
from ocppemu.store.sqlite_schema import (
    MSG_COLS,
    message_where,
    msg_from_row,
)
from ocppemu.store.types import (
    ActionStats,
    MessageFilter,
    StoredMessage,
    WriteResult,
)

log = logging.getLogger(__name__)


class SqliteMessages(SqliteCore):
    # -- messages ----------------------------------------------------------------------------------------
    def _add_messages_sync(self, records: Sequence[FrameRecord], ids: Sequence[str]) -> WriteResult:
        result = WriteResult()
        rows: list[tuple[Any, ...]] = []
        created = now_ms()
        for i, (rid, r) in enumerate(zip(ids, records, strict=True)):
            payload = codec.dumps(r.payload)
            size = codec.text_size(r.raw) + codec.text_size(payload)
            if size > self.max_document_bytes:
                result.rejected.append((i, f"message {r.message_id!r} of station {r.station_id!r} is {size} "
                                           f"bytes, more than the limit of {self.max_document_bytes}"))
                continue
            keep = codec.keep_text
            rows.append((
                rid, codec.to_ms(r.timestamp), keep(r.station_id), r.direction, r.message_type, keep(r.message_id),
                keep(r.action), r.protocol_version, keep(payload), keep(r.raw), keep(r.correlation_id),
                keep(r.error_code), keep(r.error_description), keep(r.validation_error), r.rtt_ms, r.seq, created,
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

    async def purge_messages(self, before: datetime) -> int:
        return await self._run(self._purge_sync, codec.to_ms(before), "ts")

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
