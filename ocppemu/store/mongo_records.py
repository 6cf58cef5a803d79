"""MongoDB: transactions, meter values, sessions and authorization checks."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING

from ocppemu.ocpp.records import AuthorizationRecord, MeterSample, SessionRecord, TransactionRecord
from ocppemu.store import codec
from ocppemu.store.mongo_core import MongoCore
from ocppemu.store.mongo_queries import Doc, errors, sample_from_doc
from ocppemu.store.types import (
    StoredAuthorization,
    StoredSession,
)

log = logging.getLogger(__name__)
_DUPLICATE_KEY = 11000


class MongoRecords(MongoCore):
    # -- transactions and meter values -------------------------------------------------------------------
    async def upsert_transaction(self, tx: TransactionRecord) -> None:
        doc = codec.dates_trunc(tx.to_doc(), codec.TX_DATES)
        codec.check_size(f"transaction {tx.transaction_id!r}", codec.doc_size(doc), self.max_document_bytes)
        created = doc.pop("created_at")
        with errors(self._display):
            await self._c("transactions").update_one(
                {"station_id": tx.station_id, "transaction_id": tx.transaction_id,
                 "start_timestamp": doc["start_timestamp"]},
                {"$set": doc, "$setOnInsert": {"created_at": created}},
                upsert=True,
            )

    @staticmethod
    def _tx(doc: Doc) -> TransactionRecord:
        doc.pop("_id", None)
        return TransactionRecord(**codec.dates_utc(doc, codec.TX_DATES))

    async def get_transaction(self, station_id: str, transaction_id: str) -> TransactionRecord | None:
        with errors(self._display):
            doc = await self._c("transactions").find_one({"station_id": station_id, "transaction_id": transaction_id},
                                                        sort=[("start_timestamp", DESCENDING)])
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


    # -- authorizations ----------------------------------------------------------------------------------
    async def add_authorizations(self, records: Sequence[AuthorizationRecord]) -> int:
        docs: list[Doc] = []
        for r in records:
            doc = r.to_doc()
            doc["timestamp"] = codec.trunc_ms(r.timestamp)
            doc["id_token"] = codec.keep_text(r.id_token)
            doc["reason"] = codec.keep_text(r.reason)
            docs.append(doc)
        if not docs:
            return 0
        with errors(self._display):
            res = await self._c("authorizations").insert_many(docs)
        return len(res.inserted_ids)

    async def list_authorizations(
        self, station_id: str | None = None, id_token: str | None = None, limit: int = 1000
    ) -> list[StoredAuthorization]:
        query = {k: v for k, v in (("station_id", station_id), ("id_token", codec.keep_text(id_token)))
                 if v is not None}
        with errors(self._display):
            docs = await self._c("authorizations").find(query).sort(
                [("timestamp", ASCENDING), ("_id", ASCENDING)]).limit(limit).to_list()
        fields = set(AuthorizationRecord.__dataclass_fields__)
        out: list[StoredAuthorization] = []
        for d in docs:
            rec = {k: codec.read_text(v) for k, v in d.items() if k in fields}
            rec["timestamp"] = codec.utc(d["timestamp"])
            out.append(StoredAuthorization(str(d["_id"]), AuthorizationRecord(**rec)))
        return out
