"""The MongoDB backend's core, on pymongo's ``AsyncMongoClient``.

Collections and indexes follow the project plan. Optional server features are detected at :meth:`init`, never
assumed, and reported by :meth:`health`: ``meter_values`` is a time-series collection where the server can make
one, messages get a TTL index when ``retention_days`` is set, a text index backs free-text search where the server
has text indexes (search falls back to case-insensitive regular expressions otherwise), and ``$percentile`` is used
for response-time percentiles when the server knows it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    OperationFailure,
)
from pymongo.uri_parser import parse_uri

from ocppemu.store import codec
from ocppemu.store.base import Repository
from ocppemu.store.errors import StoreError
from ocppemu.store.mongo_queries import (
    TEXT_FIELDS,
    Doc,
    errors,
    reason,
)
from ocppemu.store.types import (
    DEFAULT_MAX_DOCUMENT_BYTES,
    SCHEMA_VERSION,
    HealthReport,
)

log = logging.getLogger(__name__)


class MongoCore(Repository):
    """The client, schema (indexes, optional features) and health of the MongoDB store; the record kinds build on
    it."""

    def __init__(
        self,
        url: str,
        *,
        database: str | None = None,
        max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
        retention_days: float | None = None,
        timeseries_granularity: Literal["seconds", "minutes", "hours"] = "seconds",
    ) -> None:
        parsed = parse_uri(url)
        self.url = url
        self._display = url.split("@")[-1] if "@" in url else url  # never log credentials
        self.database_name = database or parsed.get("database") or "ocpp_emu"
        self.max_document_bytes = max_document_bytes
        self.retention_days = retention_days
        self.granularity = timeseries_granularity
        self.capabilities: dict[str, bool] = {}
        self.notes: dict[str, str] = {}
        options: dict[str, Any] = {"tz_aware": True, "tzinfo": UTC}
        if "serverselectiontimeoutms" not in {k.lower() for k in parsed["options"]}:
            options["serverSelectionTimeoutMS"] = 5000
        self._client: AsyncMongoClient[Doc] = AsyncMongoClient(url, **options)
        self._db: AsyncDatabase[Doc] = self._client[self.database_name]
        self._closed = False

    def _c(self, name: str) -> AsyncCollection[Doc]:
        return self._db[name]

    # -- lifecycle ---------------------------------------------------------------------------------------
    async def init(self) -> None:
        with errors(self._display):
            await self._client.admin.command("ping")
            current = await self.schema_version()
            if current is not None and current > SCHEMA_VERSION:
                raise StoreError(f"database {self.database_name} has schema version {current}, newer than this "
                                 f"ocppemu ({SCHEMA_VERSION}); upgrade")
            await self._ensure_schema()
            await self._c("_meta").update_one(
                {"_id": "schema"},
                {"$set": {"version": SCHEMA_VERSION, "migrated_at": datetime.now(UTC)}},
                upsert=True,
            )
        if current != SCHEMA_VERSION:
            log.info("MongoDB store %s/%s at schema version %d", self._display, self.database_name, SCHEMA_VERSION)

    async def _ensure_schema(self) -> None:
        c = self._c
        await c("stations").create_index("station_id", unique=True, name="station_id_unique")
        await c("stations").create_index("connection_status")
        await c("stations").create_index([("enabled", ASCENDING), ("auto_start", ASCENDING)])
        await c("stations").create_index("tags")
        await c("stations").create_index("protocol_version")
        msgs = c("messages")
        await msgs.create_index([("station_id", ASCENDING), ("timestamp", DESCENDING)])
        await msgs.create_index("message_id")
        await msgs.create_index("correlation_id")
        await msgs.create_index([("action", ASCENDING), ("timestamp", DESCENDING)])
        await msgs.create_index([("timestamp", DESCENDING), ("_id", DESCENDING)])
        tx = c("transactions")
        if "station_transaction_unique" in await tx.index_information():  # schema <= 2: one row per id
            await tx.drop_index("station_transaction_unique")
        await tx.create_index([("station_id", ASCENDING), ("transaction_id", ASCENDING),
                               ("start_timestamp", ASCENDING)], unique=True, name="station_transaction_start_unique")
        await tx.create_index([("station_id", ASCENDING), ("start_timestamp", DESCENDING)])
        await tx.create_index("status")
        await tx.create_index("id_tag")
        await c("sessions").create_index([("station_id", ASCENDING), ("status", ASCENDING)])
        await c("sessions").create_index("status")
        await c("authorizations").create_index([("station_id", ASCENDING), ("timestamp", ASCENDING)])
        await c("authorizations").create_index([("id_token", ASCENDING), ("timestamp", ASCENDING)])
        await c("templates").create_index("name", unique=True)
        await c("scenario_runs").create_index([("scenario", ASCENDING), ("created_at", DESCENDING)])
        await c("scenario_runs").create_index("created_at")
        await c("offline_queue").create_index([("station_id", ASCENDING), ("key", ASCENDING)], unique=True)
        await c("offline_queue").create_index([("station_id", ASCENDING), ("seq", ASCENDING)])
        await self._ensure_meter_values()
        await self._ensure_text_index()
        await self._ensure_ttl()
        await self._detect_percentile()

    async def _ensure_meter_values(self) -> None:
        infos = await (await self._db.list_collections(filter={"name": "meter_values"})).to_list()
        if not infos:
            try:
                await self._db.create_collection(
                    "meter_values",
                    timeseries={"timeField": "timestamp", "metaField": "metadata", "granularity": self.granularity},
                )
            except OperationFailure as exc:
                self.notes["timeseries"] = f"time-series collections unavailable ({exc.details or exc}); " \
                                           "meter_values is a plain collection"
                log.warning("MongoDB %s: %s", self._display, self.notes["timeseries"])
                await self._db.create_collection("meter_values")
            infos = await (await self._db.list_collections(filter={"name": "meter_values"})).to_list()
        is_ts = bool(infos and (infos[0].get("type") == "timeseries" or "timeseries" in infos[0].get("options", {})))
        self.capabilities["timeseries"] = is_ts
        if not is_ts and "timeseries" not in self.notes:
            self.notes["timeseries"] = "meter_values exists as a plain collection (made before time-series support)"
        mv = self._c("meter_values")
        await mv.create_index([("metadata.station_id", ASCENDING), ("metadata.transaction_id", ASCENDING),
                               ("metadata.measurand", ASCENDING), ("timestamp", ASCENDING)])
        await mv.create_index([("metadata.station_id", ASCENDING), ("timestamp", ASCENDING)])

    async def _ensure_text_index(self) -> None:
        try:
            await self._c("messages").create_index([(f, "text") for f in TEXT_FIELDS], name="messages_text")
            self.capabilities["text_index"] = True
        except OperationFailure as exc:
            self.capabilities["text_index"] = False
            self.notes["text_index"] = f"server refused a text index ({reason(exc)}); free text uses $regex"
            log.info("MongoDB %s: %s", self._display, self.notes["text_index"])

    async def _ensure_ttl(self) -> None:
        msgs = self._c("messages")
        existing = await msgs.index_information()
        if self.retention_days is None:
            self.capabilities["ttl"] = False
            self.notes["ttl"] = "no retention_days set; messages are kept"
            if "messages_ttl" in existing:
                await msgs.drop_index("messages_ttl")  # an index, not data: old retention must stop deleting
            return
        seconds = int(self.retention_days * 86_400)
        try:
            if "messages_ttl" in existing and existing["messages_ttl"].get("expireAfterSeconds") != seconds:
                await self._db.command({"collMod": "messages",
                                        "index": {"name": "messages_ttl", "expireAfterSeconds": seconds}})
            else:
                await msgs.create_index("created_at", expireAfterSeconds=seconds, name="messages_ttl")
            self.capabilities["ttl"] = True
        except OperationFailure as exc:
            self.capabilities["ttl"] = False
            self.notes["ttl"] = f"server refused the TTL index ({reason(exc)}); use purge_messages()"
            log.warning("MongoDB %s: %s", self._display, self.notes["ttl"])

    async def _detect_percentile(self) -> None:
        try:
            await (await self._c("_meta").aggregate([
                {"$group": {"_id": None, "p": {"$percentile": {"input": "$version", "p": [0.95],
                                                               "method": "approximate"}}}}
            ])).to_list()
            self.capabilities["percentile"] = True
        except OperationFailure as exc:
            self.capabilities["percentile"] = False
            self.notes["percentile"] = f"no $percentile ({reason(exc)}); p95 is computed client-side"

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._client.close()

    async def health(self) -> HealthReport:
        try:
            with errors(self._display):
                await self._client.admin.command("ping")
                info = await self._client.server_info()
                version = await self.schema_version()
        except StoreError as exc:
            return HealthReport(False, "mongodb", str(exc), None, dict(self.capabilities), dict(self.notes))
        detail = f"MongoDB-compatible server {info.get('version', '?')} at {self._display}/{self.database_name}"
        return HealthReport(True, "mongodb", detail, version, dict(self.capabilities), dict(self.notes))

    async def schema_version(self) -> int | None:
        with errors(self._display):
            doc = await self._c("_meta").find_one({"_id": "schema"})
        return None if doc is None else int(doc["version"])

    def _checked(self, what: str, doc: Mapping[str, Any]) -> Doc:
        ready = codec.json_ready(doc)
        codec.check_size(what, codec.doc_size(ready), self.max_document_bytes)
        return ready

