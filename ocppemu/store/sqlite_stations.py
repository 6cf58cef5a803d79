"""SQLite: stations, their runtime state and offline queues."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ocppemu.config.station import StationConfig, StationRuntimeState
from ocppemu.store import codec
from ocppemu.store.errors import DuplicateStationError, StoreError
from ocppemu.store.sqlite_core import SqliteCore, now_ms
from ocppemu.store.stations_doc import station_from_doc, station_to_doc
from ocppemu.store.types import (
    QueueItem,
)

log = logging.getLogger(__name__)


class SqliteStations(SqliteCore):
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

    # -- offline queues ----------------------------------------------------------------------------------
    async def queue_push(self, station_id: str, key: str, doc: Mapping[str, Any]) -> None:
        text = self._checked(f"queued message {key!r} of station {station_id!r}", doc)
        now = now_ms()

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

