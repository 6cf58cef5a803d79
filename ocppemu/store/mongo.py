"""The MongoDB backend, on pymongo's ``AsyncMongoClient``.

Collections and indexes follow the project plan. Optional server features are detected at :meth:`init`, never
assumed, and reported by :meth:`health`: ``meter_values`` is a time-series collection where the server can make
one, messages get a TTL index when ``retention_days`` is set, a text index backs free-text search where the server
has text indexes (search falls back to case-insensitive regular expressions otherwise), and ``$percentile`` is used
for response-time percentiles when the server knows it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from bson import ObjectId
from bson.errors import InvalidDocument
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    BulkWriteError,
    DuplicateKeyError,
    OperationFailure,
)
from pymongo.uri_parser import parse_uri

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
    nearest_rank,
)
from ocppemu.store.errors import DuplicateStationError, StoreError
from ocppemu.store.mongo_queries import (
    MSG_FIELDS,
    TEXT_FIELDS,
    Doc,
    errors,
    message_query,
    msg_from_doc,
    reason,
    sample_from_doc,
)
from ocppemu.store.stations_doc import station_from_doc, station_to_doc

log = logging.getLogger(__name__)
_DUPLICATE_KEY = 11000


class MongoRepository(Repository):
    """Repository on the MongoDB database named in ``url`` (``ocpp_emu`` when the URL names none)."""

    backend: Literal["sqlite", "mongodb"] = "mongodb"

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
        await tx.create_index([("station_id", ASCENDING), ("transaction_id", ASCENDING)], unique=True,
                              name="station_transaction_unique")
        await tx.create_index([("station_id", ASCENDING), ("start_timestamp", DESCENDING)])
        await tx.create_index("status")
        await tx.create_index("id_tag")
        await c("sessions").create_index([("station_id", ASCENDING), ("status", ASCENDING)])
        await c("sessions").create_index("status")
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

    # -- messages ----------------------------------------------------------------------------------------
    async def add_messages(
        self, records: Sequence[FrameRecord], ids: Sequence[str] | None = None
    ) -> WriteResult:
        if ids is None:
            ids = [codec.new_record_id() for _ in records]
        elif len(ids) != len(records):
            raise ValueError("ids and records must have the same length")
        result = WriteResult()
        docs: list[Doc] = []
        positions: list[int] = []
        created = codec.trunc_ms(datetime.now(UTC))
        for i, (rid, r) in enumerate(zip(ids, records, strict=True)):
            size = codec.frame_size(r)
            if size > self.max_document_bytes:
                result.rejected.append((i, f"message {r.message_id!r} of station {r.station_id!r} is {size} "
                                           f"bytes, more than the limit of {self.max_document_bytes}"))
                continue
            doc: Doc = {"_id": ObjectId(rid), "timestamp": codec.trunc_ms(r.timestamp), "created_at": created}
            for name in MSG_FIELDS:
                doc[name] = getattr(r, name)
            docs.append(doc)
            positions.append(i)
        if not docs:
            return result
        with errors(self._display):
            try:
                res = await self._c("messages").insert_many(docs, ordered=False)
                result.inserted += len(res.inserted_ids)
            except BulkWriteError as exc:
                result.inserted += int(exc.details.get("nInserted", 0))
                for err in exc.details.get("writeErrors", []):
                    if err.get("code") == _DUPLICATE_KEY:
                        result.duplicates += 1
                    else:
                        result.rejected.append((positions[err["index"]], str(err.get("errmsg"))))
            except (InvalidDocument, OverflowError):
                await self._insert_one_by_one(docs, positions, result)
        result.rejected.sort()
        return result

    async def _insert_one_by_one(self, docs: list[Doc], positions: list[int], result: WriteResult) -> None:
        for doc, pos in zip(docs, positions, strict=True):
            try:
                await self._c("messages").insert_one(doc)
                result.inserted += 1
            except DuplicateKeyError:
                result.duplicates += 1
            except (InvalidDocument, OverflowError) as exc:
                result.rejected.append((pos, f"message {doc.get('message_id')!r} cannot be stored: {exc}"))

    async def _fetch_messages(
        self, flt: MessageFilter, limit: int, after: tuple[int, str] | None, ascending: bool
    ) -> list[StoredMessage]:
        query = message_query(flt, self.capabilities.get("text_index", False))
        if after is not None:
            ts, oid = codec.from_ms(after[0]), ObjectId(after[1])
            op = "$gt" if ascending else "$lt"
            keyset = {"$or": [{"timestamp": {op: ts}}, {"timestamp": ts, "_id": {op: oid}}]}
            query = {"$and": [query, keyset]} if query else keyset
        direction = ASCENDING if ascending else DESCENDING
        with errors(self._display):
            docs = await self._c("messages").find(query).sort(
                [("timestamp", direction), ("_id", direction)]).limit(limit).to_list()
        return [msg_from_doc(d) for d in docs]

    async def count_messages(self, flt: MessageFilter | None = None) -> int:
        query = message_query(flt or MessageFilter(), self.capabilities.get("text_index", False))
        with errors(self._display):
            return await self._c("messages").count_documents(query)

    async def purge_messages(self, before: datetime) -> int:
        with errors(self._display):
            res = await self._c("messages").delete_many({"timestamp": {"$lt": codec.trunc_ms(before)}})
        return res.deleted_count

    # -- transactions and meter values -------------------------------------------------------------------
    async def upsert_transaction(self, tx: TransactionRecord) -> None:
        doc = codec.dates_trunc(tx.to_doc(), codec.TX_DATES)
        codec.check_size(f"transaction {tx.transaction_id!r}", codec.doc_size(doc), self.max_document_bytes)
        created = doc.pop("created_at")
        with errors(self._display):
            await self._c("transactions").update_one(
                {"station_id": tx.station_id, "transaction_id": tx.transaction_id},
                {"$set": doc, "$setOnInsert": {"created_at": created}},
                upsert=True,
            )

    @staticmethod
    def _tx(doc: Doc) -> TransactionRecord:
        doc.pop("_id", None)
        return TransactionRecord(**codec.dates_utc(doc, codec.TX_DATES))

    async def get_transaction(self, station_id: str, transaction_id: str) -> TransactionRecord | None:
        with errors(self._display):
            doc = await self._c("transactions").find_one({"station_id": station_id, "transaction_id": transaction_id})
        return None if doc is None else self._tx(doc)

    async def query_transactions(
        self,
        station_id: str | None = None,
        status: str | None = None,
        id_tag: str | None = None,
        limit: int = 1000,
    ) -> list[TransactionRecord]:
        query = {k: v for k, v in (("station_id", station_id), ("status", status), ("id_tag", id_tag))
                 if v is not None}
        with errors(self._display):
            docs = await self._c("transactions").find(query).sort(
                [("start_timestamp", DESCENDING), ("station_id", ASCENDING), ("transaction_id", ASCENDING)]
            ).limit(limit).to_list()
        return [self._tx(d) for d in docs]

    async def add_meter_samples(self, samples: Sequence[MeterSample]) -> int:
        docs = [
            {
                "timestamp": codec.trunc_ms(s.timestamp),
                "metadata": {"station_id": s.station_id, "connector_id": s.connector_id,
                             "transaction_id": s.transaction_id, "measurand": s.measurand},
                "value": s.value, "unit": s.unit, "context": s.context, "phase": s.phase,
                "location": s.location, "format": s.format,
            }
            for s in samples
        ]
        if not docs:
            return 0
        with errors(self._display):
            res = await self._c("meter_values").insert_many(docs)
        return len(res.inserted_ids)

    async def meter_series(
        self,
        station_id: str,
        transaction_id: str | None = None,
        measurand: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[MeterSample]:
        query: Doc = {"metadata.station_id": station_id}
        if transaction_id is not None:
            query["metadata.transaction_id"] = transaction_id
        if measurand is not None:
            query["metadata.measurand"] = measurand
        span: Doc = {}
        if since is not None:
            span["$gte"] = codec.trunc_ms(since)
        if until is not None:
            span["$lt"] = codec.trunc_ms(until)
        if span:
            query["timestamp"] = span
        with errors(self._display):
            docs = await self._c("meter_values").find(query).sort(
                [("timestamp", ASCENDING), ("_id", ASCENDING)]).to_list()
        return [sample_from_doc(d) for d in docs]

    # -- sessions ----------------------------------------------------------------------------------------
    async def add_session(self, session: SessionRecord) -> str:
        oid = ObjectId()
        doc = codec.dates_trunc(session.to_doc(), codec.SESSION_DATES)
        with errors(self._display):
            await self._c("sessions").insert_one({"_id": oid, **doc, "created_at": datetime.now(UTC)})
        return str(oid)

    async def update_session(self, session_id: str, session: SessionRecord) -> bool:
        if not codec.is_record_id(session_id):
            return False
        doc = codec.dates_trunc(session.to_doc(), codec.SESSION_DATES)
        doc["updated_at"] = datetime.now(UTC)
        with errors(self._display):
            res = await self._c("sessions").update_one({"_id": ObjectId(session_id)}, {"$set": doc})
        return res.matched_count > 0

    async def list_sessions(
        self, station_id: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[StoredSession]:
        query = {k: v for k, v in (("station_id", station_id), ("status", status)) if v is not None}
        with errors(self._display):
            docs = await self._c("sessions").find(query).sort(
                [("connected_at", DESCENDING), ("_id", DESCENDING)]).limit(limit).to_list()
        fields = set(SessionRecord.__dataclass_fields__)
        return [
            StoredSession(str(d["_id"]), SessionRecord(**codec.dates_utc(
                {k: v for k, v in d.items() if k in fields}, codec.SESSION_DATES)))
            for d in docs
        ]

    # -- templates ---------------------------------------------------------------------------------------
    def _checked(self, what: str, doc: Mapping[str, Any]) -> Doc:
        ready = codec.json_ready(doc)
        codec.check_size(what, codec.doc_size(ready), self.max_document_bytes)
        return ready

    async def save_template(self, name: str, doc: Mapping[str, Any], kind: str = "station") -> None:
        ready = self._checked(f"template {name!r}", doc)
        now = datetime.now(UTC)
        with errors(self._display):
            await self._c("templates").update_one(
                {"name": name}, {"$set": {"kind": kind, "doc": ready, "updated_at": now},
                                 "$setOnInsert": {"created_at": now}}, upsert=True)

    async def get_template(self, name: str) -> dict[str, Any] | None:
        with errors(self._display):
            doc = await self._c("templates").find_one({"name": name})
        return None if doc is None else dict(doc["doc"])

    async def list_templates(self, kind: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        query = {"kind": kind} if kind is not None else {}
        with errors(self._display):
            docs = await self._c("templates").find(query).sort("name", ASCENDING).to_list()
        return [(d["name"], d["kind"], dict(d["doc"])) for d in docs]

    async def delete_template(self, name: str) -> bool:
        with errors(self._display):
            res = await self._c("templates").delete_one({"name": name})
        return res.deleted_count > 0

    # -- scenario runs -----------------------------------------------------------------------------------
    async def create_scenario_run(self, doc: Mapping[str, Any]) -> str:
        oid = ObjectId()
        created = codec.trunc_ms(datetime.now(UTC))
        full = self._checked(f"scenario run {oid}", {**doc, "id": str(oid), "created_at": created})
        scenario = full.get("scenario")
        with errors(self._display):
            await self._c("scenario_runs").insert_one({
                "_id": oid, "scenario": scenario if isinstance(scenario, str) else None,
                "created_at": created, "doc": full})
        return str(oid)

    async def get_scenario_run(self, run_id: str) -> dict[str, Any] | None:
        if not codec.is_record_id(run_id):
            return None
        with errors(self._display):
            doc = await self._c("scenario_runs").find_one({"_id": ObjectId(run_id)})
        return None if doc is None else dict(doc["doc"])

    async def update_scenario_run(self, run_id: str, changes: Mapping[str, Any]) -> bool:
        current = await self.get_scenario_run(run_id)
        if current is None:
            return False
        ready = codec.json_ready(changes)
        ready.pop("id", None)
        ready.pop("created_at", None)
        merged = self._checked(f"scenario run {run_id}", {**current, **ready})
        scenario = merged.get("scenario")
        with errors(self._display):
            res = await self._c("scenario_runs").update_one(
                {"_id": ObjectId(run_id)},
                {"$set": {"doc": merged, "scenario": scenario if isinstance(scenario, str) else None}})
        return res.matched_count > 0

    async def list_scenario_runs(self, scenario: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query = {"scenario": scenario} if scenario is not None else {}
        with errors(self._display):
            docs = await self._c("scenario_runs").find(query).sort(
                [("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit).to_list()
        return [dict(d["doc"]) for d in docs]

    async def delete_scenario_run(self, run_id: str) -> bool:
        if not codec.is_record_id(run_id):
            return False
        with errors(self._display):
            res = await self._c("scenario_runs").delete_one({"_id": ObjectId(run_id)})
        return res.deleted_count > 0

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

    # -- aggregates --------------------------------------------------------------------------------------
    async def action_stats(
        self, station_id: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[ActionStats]:
        match = message_query(MessageFilter(station_id=station_id, since=since, until=until), False)
        match = {"$and": [match, {"action": {"$ne": None}}]} if match else {"action": {"$ne": None}}
        use_pct = self.capabilities.get("percentile", False)
        group: Doc = {
            "_id": "$action",
            "count": {"$sum": 1},
            "errors": {"$sum": {"$cond": [{"$in": ["$message_type", ["CallError", "CallResultError"]]}, 1, 0]}},
            "mean": {"$avg": "$rtt_ms"},
            "p95": ({"$percentile": {"input": "$rtt_ms", "p": [0.95], "method": "approximate"}} if use_pct
                    else {"$push": "$rtt_ms"}),
        }
        pipeline = [{"$match": match}, {"$group": group}, {"$sort": {"count": -1, "_id": 1}}]
        with errors(self._display):
            rows = await (await self._c("messages").aggregate(pipeline)).to_list()
        out: list[ActionStats] = []
        for r in rows:
            if use_pct:
                p95 = r["p95"][0] if r["p95"] else None
            else:
                p95 = nearest_rank([v for v in r["p95"] if isinstance(v, int | float)], 0.95)
            out.append(ActionStats(r["_id"], int(r["count"]), int(r["errors"]), r["mean"],
                                   None if p95 is None else float(p95)))
        return out
