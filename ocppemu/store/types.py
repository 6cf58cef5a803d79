"""The values the store hands in and out, shared by every record kind and backend."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from ocppemu.ocpp.records import AuthorizationRecord, Direction, FrameRecord, SessionRecord

T = TypeVar("T")

#: Version of the stored layout; ``init`` migrates older stores up to it and records it.
SCHEMA_VERSION = 3
#: Default largest message (raw text + payload JSON) or document accepted, in bytes.
DEFAULT_MAX_DOCUMENT_BYTES = 1_048_576
#: Largest page a query hands out.
MAX_PAGE_SIZE = 10_000
ENERGY_MEASURAND = "Energy.Active.Import.Register"


@dataclass(slots=True, frozen=True)
class MessageFilter:
    """Which messages a query selects; every field set narrows it (logical AND).

    ``since`` is inclusive and ``until`` exclusive. ``text`` holds whitespace-separated terms that must all
    appear (case-insensitively) in the frame's raw text, action, error description or validation error. Where
    MongoDB has a text index, terms are also matched through it, so there a term must be a whole word.
    """

    station_id: str | None = None
    action: str | None = None
    direction: Direction | None = None
    message_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    correlation_id: str | None = None
    message_id: str | None = None
    text: str | None = None

    def terms(self) -> list[str]:
        return self.text.split() if self.text else []


@dataclass(slots=True)
class StoredMessage:
    """A frame as stored: its store-assigned ``id`` (24 hex digits) and the record."""

    id: str
    record: FrameRecord

    def to_doc(self) -> dict[str, Any]:
        doc = self.record.to_doc()
        doc["id"] = self.id
        return doc


@dataclass(slots=True)
class Page(Generic[T]):
    """One page of a query. Pass ``next_cursor`` back to get the next page; ``None`` means no more rows."""

    items: list[T]
    next_cursor: str | None


@dataclass(slots=True)
class Exchange:
    """A CALL and what answered it (CallResult, CallError or CallResultError), either may be missing."""

    request: StoredMessage | None
    response: StoredMessage | None


@dataclass(slots=True)
class WriteResult:
    """Outcome of a batch write: rows written, rows already present (same id), and rows refused with why."""

    inserted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


@dataclass(slots=True)
class StoredSession:
    id: str
    record: SessionRecord


@dataclass(slots=True)
class StoredAuthorization:
    id: str
    record: AuthorizationRecord


@dataclass(slots=True)
class QueueItem:
    """One entry of a station's offline queue."""

    key: str
    doc: dict[str, Any]


@dataclass(slots=True)
class ActionStats:
    """Traffic of one action: frames of any type, CallErrors, and response time (ms) over frames with an RTT.

    ``p95_rtt_ms`` is the nearest-rank 95th percentile (exact on SQLite; on MongoDB servers with
    ``$percentile`` the server's approximation).
    """

    action: str
    count: int
    errors: int
    mean_rtt_ms: float | None
    p95_rtt_ms: float | None


@dataclass(slots=True)
class TransactionEnergy:
    """Energy of one transaction in Wh: ``energy_consumed`` if recorded, else ``meter_stop - meter_start``,
    else the last ``Energy.Active.Import.Register`` sample minus ``meter_start`` (kWh samples converted)."""

    station_id: str
    transaction_id: str
    status: str
    start_timestamp: datetime
    energy_wh: float


@dataclass(slots=True)
class StationEnergy:
    station_id: str
    transactions: int
    energy_wh: float


@dataclass(slots=True)
class HealthReport:
    """``ok`` is False when the backend cannot be reached; ``capabilities`` says which optional features the
    server has (``text_index``, ``timeseries``, ``ttl``, ``percentile``) and ``notes`` why one is missing."""

    ok: bool
    backend: Literal["sqlite", "mongodb"]
    detail: str
    schema_version: int | None
    capabilities: dict[str, bool] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile ``q`` (0..1) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(round(q * len(ordered), 9)))
    return float(ordered[min(rank, len(ordered)) - 1])
