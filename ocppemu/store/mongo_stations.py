"""MongoDB: stations, their runtime state and offline queues."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from ocppemu.config.station import StationConfig, StationRuntimeState
from ocppemu.store import codec
from ocppemu.store.errors import DuplicateStationError, StoreError
from ocppemu.store.mongo_core import MongoCore
from ocppemu.store.mongo_queries import Doc, errors
from ocppemu.store.stations_doc import station_from_doc, station_to_doc
from ocppemu.store.types import (
    QueueItem,
)

log = logging.getLogger(__name__)
_DUPLICATE_KEY = 11000


class MongoStations(MongoCore):
    # -- stations ----------------------------------------------------------------------------------------
    def _station_doc(self, config: StationConfig, created: datetime, updated: datetime) -> Doc:
        doc = station_to_doc(config, created, updated)
        codec.check_size(f"station {config.station_id!r}", codec.doc_size(doc), self.max_document_bytes)
        doc["created_at"] = codec.trunc_ms(created)
        doc["updated_at"] = codec.trunc_ms(updated)
        return doc

    async def create_station(self, config: StationConfig) -> StationConfig:
        now = datetime.now(UTC)
        doc = self._station_doc(config, now, now)
        with errors(self._display):
            try:
                await self._c("stations").insert_one(dict(doc))
            except DuplicateKeyError as exc:
                raise DuplicateStationError(config.station_id) from exc
        return station_from_doc(doc)

    async def upsert_station(self, config: StationConfig) -> StationConfig:
        now = datetime.now(UTC)
        with errors(self._display):
            old = await self._c("stations").find_one({"station_id": config.station_id}, {"created_at": 1})
            created = codec.utc(old.get("created_at")) if old else None
            doc = self._station_doc(config, created or now, now)
            await self._c("stations").update_one({"station_id": config.station_id}, {"$set": doc}, upsert=True)
        return station_from_doc(doc)

    async def get_station(self, station_id: str) -> StationConfig | None:
        with errors(self._display):
            doc = await self._c("stations").find_one({"station_id": station_id})
        return None if doc is None else station_from_doc(doc)

    async def list_stations(
        self, tags: Sequence[str] | None = None, enabled: bool | None = None
    ) -> list[StationConfig]:
        query: Doc = {}
        if tags:
            query["tags"] = {"$all": list(tags)}
        if enabled is not None:
            query["enabled"] = enabled
        with errors(self._display):
            docs = await self._c("stations").find(query).sort("station_id", ASCENDING).to_list()
        out: list[StationConfig] = []
        for doc in docs:
            try:
                out.append(station_from_doc(doc))
            except StoreError as exc:
                log.warning("skipping stored station: %s", exc)
        return out

    async def delete_station(self, station_id: str) -> bool:
        with errors(self._display):
            res = await self._c("stations").delete_one({"station_id": station_id})
            await self._c("offline_queue").delete_many({"station_id": station_id})
        return res.deleted_count > 0

    async def update_runtime_state(self, state: StationRuntimeState) -> bool:
        data = state.model_dump(mode="json")
        with errors(self._display):
            res = await self._c("stations").update_one(
                {"station_id": state.station_id},
                {"$set": {"runtime": data, "connection_status": state.connection_status}},
            )
        return res.matched_count > 0

    async def get_runtime_state(self, station_id: str) -> StationRuntimeState | None:
        with errors(self._display):
            doc = await self._c("stations").find_one({"station_id": station_id}, {"runtime": 1})
        if doc is None or doc.get("runtime") is None:
            return None
        return StationRuntimeState.model_validate(doc["runtime"])

    # -- offline queues ----------------------------------------------------------------------------------
    async def queue_push(self, station_id: str, key: str, doc: Mapping[str, Any]) -> None:
        ready = self._checked(f"queued message {key!r} of station {station_id!r}", doc)
        with errors(self._display):
            counter = await self._c("_counters").find_one_and_update(
                {"_id": "offline_queue"}, {"$inc": {"value": 1}}, upsert=True, return_document=ReturnDocument.AFTER)
            seq = int(counter["value"]) if counter else 0
            await self._c("offline_queue").update_one(
                {"station_id": station_id, "key": key},
                {"$set": {"doc": ready}, "$setOnInsert": {"seq": seq, "created_at": datetime.now(UTC)}},
                upsert=True)

    async def queue_list(self, station_id: str) -> list[QueueItem]:
        with errors(self._display):
            docs = await self._c("offline_queue").find({"station_id": station_id}).sort("seq", ASCENDING).to_list()
        return [QueueItem(d["key"], dict(d["doc"])) for d in docs]

    async def queue_remove(self, station_id: str, key: str) -> bool:
        with errors(self._display):
            res = await self._c("offline_queue").delete_one({"station_id": station_id, "key": key})
        return res.deleted_count > 0

