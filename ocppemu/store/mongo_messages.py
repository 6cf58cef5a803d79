"""MongoDB: frames (lossless text), queries and per-action statistics."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from bson import ObjectId
from bson.errors import InvalidDocument
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from ocppemu.ocpp.records import FrameRecord
from ocppemu.store import codec
from ocppemu.store.mongo_core import MongoCore
from ocppemu.store.mongo_queries import MSG_FIELDS, TEXT_KEPT, Doc, errors, message_query, msg_from_doc
from ocppemu.store.types import (
    ActionStats,
    MessageFilter,
    StoredMessage,
    WriteResult,
    nearest_rank,
)

log = logging.getLogger(__name__)
_DUPLICATE_KEY = 11000


class MongoMessages(MongoCore):
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
                value = getattr(r, name)
                doc[name] = codec.keep_text(value) if name in TEXT_KEPT and isinstance(value, str) else value
            docs.append(doc)
            positions.append(i)
        if not docs:
            return result
        retry: list[int] = []
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
                        retry.append(err["index"])
            except (InvalidDocument, OverflowError, UnicodeEncodeError):
                retry = list(range(len(docs)))
            for index in retry:
                await self._insert_one(docs[index], positions[index], result)
        result.rejected.sort()
        return result

    async def _insert_one(self, doc: Doc, pos: int, result: WriteResult) -> None:
        """Write one frame; a payload BSON cannot hold as it is (integers beyond 64 bits, lone surrogates in
        keys, keys the server refuses ...) is kept as its JSON text instead, so the frame is still stored whole."""
        error: Exception | None = None
        for attempt in (doc, {**doc, "payload": None, "payload_json": codec.dumps(doc["payload"])}):
            try:
                await self._c("messages").insert_one(attempt)
                result.inserted += 1
                return
            except DuplicateKeyError:
                result.duplicates += 1
                return
            except (InvalidDocument, OverflowError, UnicodeEncodeError, OperationFailure) as exc:
                error = exc
        result.rejected.append((pos, f"message {codec.read_text(doc.get('message_id'))!r} cannot be stored: "
                                     f"{error}"))

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
