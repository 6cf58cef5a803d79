"""The pure pieces of the MongoDB backend: filters to queries, documents to records, driver errors to ours."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, OperationFailure, PyMongoError

from ocppemu.ocpp.records import FrameRecord, MeterSample
from ocppemu.store import codec
from ocppemu.store.base import MessageFilter, StoredMessage
from ocppemu.store.errors import StoreError, StoreUnavailableError

Doc = dict[str, Any]
TEXT_FIELDS = ("raw", "action", "error_description", "validation_error")
MSG_FIELDS = (
    "station_id", "direction", "message_type", "message_id", "action", "protocol_version", "payload", "raw",
    "correlation_id", "error_code", "error_description", "validation_error", "rtt_ms", "seq",
)


def message_query(flt: MessageFilter, text_index: bool) -> Doc:
    """The MongoDB filter for ``flt`` (pure; exposed for tests). With ``text_index`` the terms also go through
    ``$text``; the regular expressions are kept so the match is the same substring rule as without it."""
    clauses: list[Doc] = []
    for name in ("station_id", "action", "direction", "message_type", "correlation_id", "message_id"):
        value = getattr(flt, name)
        if value is not None:
            clauses.append({name: value})
    span: Doc = {}
    if flt.since is not None:
        span["$gte"] = codec.trunc_ms(flt.since)
    if flt.until is not None:
        span["$lt"] = codec.trunc_ms(flt.until)
    if span:
        clauses.append({"timestamp": span})
    terms = flt.terms()
    if terms and text_index:
        clauses.append({"$text": {"$search": " ".join('"' + t.replace('"', " ") + '"' for t in terms)}})
    for term in terms:
        pattern = re.escape(term)
        clauses.append({"$or": [{f: {"$regex": pattern, "$options": "i"}} for f in TEXT_FIELDS]})
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


#: Text fields kept losslessly (:func:`~ocppemu.store.codec.keep_text`).
TEXT_KEPT = frozenset(("station_id", "message_id", "action", "raw", "correlation_id", "error_code",
                       "error_description", "validation_error"))


def msg_from_doc(doc: Doc) -> StoredMessage:
    fields = {name: codec.read_text(doc[name]) if name in TEXT_KEPT else doc[name] for name in MSG_FIELDS}
    if "payload_json" in doc:
        fields["payload"] = codec.loads(doc["payload_json"])
    rec = FrameRecord(timestamp=codec.utc(doc["timestamp"]) or datetime.now(UTC), **fields)
    return StoredMessage(str(doc["_id"]), rec)


def sample_from_doc(doc: Doc) -> MeterSample:
    meta: Doc = doc["metadata"]
    return MeterSample(
        timestamp=codec.utc(doc["timestamp"]) or datetime.now(UTC),
        station_id=meta["station_id"],
        connector_id=meta["connector_id"],
        transaction_id=meta.get("transaction_id"),
        measurand=meta["measurand"],
        value=doc["value"],
        unit=doc["unit"],
        context=doc.get("context", "Sample.Periodic"),
        phase=doc.get("phase"),
        location=doc.get("location", "Outlet"),
        format=doc.get("format", "Raw"),
    )


@contextlib.contextmanager
def errors(url: str) -> Iterator[None]:
    """Turn driver errors into store errors a user can read."""
    try:
        yield
    except ConnectionFailure as exc:
        raise StoreUnavailableError(f"MongoDB at {url} cannot be reached: {exc}") from exc
    except PyMongoError as exc:
        if isinstance(exc, DuplicateKeyError | BulkWriteError):
            raise
        raise StoreError(f"MongoDB at {url} failed: {exc}") from exc


def reason(exc: OperationFailure) -> str:
    details = exc.details or {}
    return str(details.get("errmsg") or exc)
