"""Conversions between the store's records and the interface models (pure functions, no I/O)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ocppemu.ocpp.records import MeterSample, TransactionRecord
from ocppemu.store.base import MessageFilter, StoredMessage
from ocppemu.workbench.interface import InvalidRequest, MessageOut, MessageQuery, MeterSampleOut, TransactionOut


def iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(name: str, text: str | None) -> datetime | None:
    if text is None or text == "":
        return None
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{name}: {text!r} is not an ISO 8601 date-time") from None
    if ts.tzinfo is None:
        raise InvalidRequest(f"{name}: {text!r} needs a time zone (e.g. Z)")
    return ts


def message_filter(q: MessageQuery) -> MessageFilter:
    """The store filter of a query; raises :class:`InvalidRequest` for unreadable times."""
    return MessageFilter(station_id=q.station_id or None, action=q.action or None, direction=q.direction,
                         message_type=q.message_type or None, since=_parse_time("since", q.since),
                         until=_parse_time("until", q.until), correlation_id=q.correlation_id or None,
                         text=q.text or None)


def message_out(m: StoredMessage) -> MessageOut:
    doc = m.to_doc()
    doc["timestamp"] = iso(m.record.timestamp)
    return MessageOut.model_validate(doc)


def transaction_out(t: TransactionRecord) -> TransactionOut:
    doc: dict[str, Any] = t.to_doc()
    for k in ("start_timestamp", "stop_timestamp", "created_at", "updated_at"):
        doc[k] = iso(doc[k])
    return TransactionOut.model_validate(doc)


def sample_out(s: MeterSample) -> MeterSampleOut:
    doc: dict[str, Any] = s.to_doc()
    doc["timestamp"] = iso(s.timestamp)
    return MeterSampleOut.model_validate(doc)


def explain(exc: ValidationError, prefix: str = "") -> str:
    """A readable sentence naming each bad field of a rejected body."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(body)"
        msg = "unknown field" if err["type"] == "extra_forbidden" else str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{prefix}{loc}: {msg}")
    return "; ".join(parts)


def rss_bytes() -> int | None:
    """Resident memory of this process (bytes), None where it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        try:
            import resource

            return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
        except (ImportError, OSError):
            return None
