"""The repository interface: everything the workbench stores, whatever the backend.

Code above ``ocppemu.store`` talks only to :class:`Repository`. Two implementations exist, chosen by URL in
:func:`ocppemu.store.open_store`: SQLite (embedded default) and MongoDB. A contract test suite runs unchanged
against both, so every documented behaviour here holds on both.

Common guarantees:

* Every method is a coroutine that never blocks the event loop.
* Timestamps come back tz-aware UTC, truncated to the millisecond.
* JSON documents (templates, scenario runs, queue items) come back as written after a JSON round trip
  (datetimes inside them become ISO strings).
* Unreachable backends raise :class:`~ocppemu.store.errors.StoreUnavailableError`; oversize documents raise
  :class:`~ocppemu.store.errors.PayloadTooLargeError` and write nothing.
"""

from __future__ import annotations

import abc
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from ocppemu.config.station import StationConfig, StationRuntimeState
from ocppemu.ocpp.records import Direction, FrameRecord, MeterSample, SessionRecord, TransactionRecord
from ocppemu.store.codec import decode_cursor, encode_cursor, to_ms

T = TypeVar("T")

#: Version of the stored layout; ``init`` migrates older stores up to it and records it.
SCHEMA_VERSION = 1
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


class Repository(abc.ABC):
    """Async storage of stations, messages, transactions, meter values, sessions, templates, scenario runs
    and offline queues. Call :meth:`init` before use (``async with`` does it) and :meth:`close` after."""

    backend: Literal["sqlite", "mongodb"]
    #: Largest message (raw text + payload JSON) or document accepted, in bytes.
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES

    async def __aenter__(self) -> Repository:
        await self.init()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- lifecycle ---------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def init(self) -> None:
        """Connect, create what is missing and migrate to :data:`SCHEMA_VERSION`. Idempotent; never drops data."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections and threads. Safe to call twice."""

    @abc.abstractmethod
    async def health(self) -> HealthReport:
        """Probe the backend; never raises."""

    @abc.abstractmethod
    async def schema_version(self) -> int | None:
        """The recorded schema version, ``None`` before :meth:`init` ever ran on this store."""

    # -- stations ----------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_station(self, config: StationConfig) -> StationConfig:
        """Insert a new station; raises :class:`DuplicateStationError` if its id exists. Returns it as stored
        (``created_at``/``updated_at`` set)."""

    @abc.abstractmethod
    async def upsert_station(self, config: StationConfig) -> StationConfig:
        """Insert or replace a station's configuration, keeping its ``created_at`` and runtime state."""

    @abc.abstractmethod
    async def get_station(self, station_id: str) -> StationConfig | None: ...

    @abc.abstractmethod
    async def list_stations(
        self, tags: Sequence[str] | None = None, enabled: bool | None = None
    ) -> list[StationConfig]:
        """Stations ordered by id; ``tags`` keeps those carrying all the given tags. Stored documents that no
        longer validate are logged and left out."""

    @abc.abstractmethod
    async def delete_station(self, station_id: str) -> bool:
        """Delete a station (configuration, runtime state, offline queue). True if it existed."""

    @abc.abstractmethod
    async def update_runtime_state(self, state: StationRuntimeState) -> bool:
        """Store a station's runtime state; False (nothing written) when the station does not exist."""

    @abc.abstractmethod
    async def get_runtime_state(self, station_id: str) -> StationRuntimeState | None: ...

    # -- messages ----------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def add_messages(
        self, records: Sequence[FrameRecord], ids: Sequence[str] | None = None
    ) -> WriteResult:
        """Store frames. ``ids`` (24-hex, from :func:`~ocppemu.store.codec.new_record_id`) make the write
        idempotent: a frame whose id is already stored counts as a duplicate, so a retried batch is stored
        once. Frames over the size limit are rejected one by one (with the reason); the others are written."""

    @abc.abstractmethod
    async def _fetch_messages(
        self, flt: MessageFilter, limit: int, after: tuple[int, str] | None, ascending: bool
    ) -> list[StoredMessage]:
        """Rows matching ``flt`` ordered by (timestamp, id), strictly after ``after`` in that order."""

    @abc.abstractmethod
    async def count_messages(self, flt: MessageFilter | None = None) -> int: ...

    @abc.abstractmethod
    async def purge_messages(self, before: datetime) -> int:
        """Delete messages older than ``before``; returns how many."""

    async def query_messages(
        self, flt: MessageFilter | None = None, limit: int = 100, cursor: str | None = None
    ) -> Page[StoredMessage]:
        """Messages matching ``flt``, newest first (ties by store id), ``limit`` (1..10000) per page.

        Raises :class:`InvalidCursorError` for a cursor this store did not hand out. Rows added while paging
        never appear twice or shift pages (keyset pagination).
        """
        limit = max(1, min(int(limit), MAX_PAGE_SIZE))
        after = decode_cursor(cursor) if cursor else None
        rows = await self._fetch_messages(flt or MessageFilter(), limit + 1, after, False)
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = encode_cursor(to_ms(rows[-1].record.timestamp), rows[-1].id) if more and rows else None
        return Page(rows, nxt)

    async def iter_messages(
        self, flt: MessageFilter | None = None, *, ascending: bool = True, batch_size: int = 1000
    ) -> AsyncIterator[StoredMessage]:
        """Every matching message, oldest first unless ``ascending`` is False, holding one batch in memory."""
        flt = flt or MessageFilter()
        after: tuple[int, str] | None = None
        while True:
            rows = await self._fetch_messages(flt, batch_size, after, ascending)
            for row in rows:
                yield row
            if len(rows) < batch_size:
                return
            after = (to_ms(rows[-1].record.timestamp), rows[-1].id)

    async def get_exchange(self, correlation_id: str, station_id: str | None = None) -> Exchange:
        """The newest CALL with this correlation id (of ``station_id`` if given) and its answer.

        Message ids are only unique per connection, so pass ``station_id`` when you know it.
        """
        rows = await self._fetch_messages(
            MessageFilter(station_id=station_id, correlation_id=correlation_id), 50, None, False
        )
        request = next((r for r in rows if r.record.message_type == "Call"), None)
        if request is not None:
            rows = [r for r in rows if r.record.station_id == request.record.station_id]
        answers = [r for r in rows if r.record.message_type != "Call"]
        if request is not None:
            answers = [r for r in answers if r.record.timestamp >= request.record.timestamp]
        response = answers[-1] if answers else None
        return Exchange(request, response)

    # -- transactions and meter values -------------------------------------------------------------------
    @abc.abstractmethod
    async def upsert_transaction(self, tx: TransactionRecord) -> None:
        """Insert or replace the transaction (unique per station and transaction id); the first
        ``created_at`` is kept."""

    @abc.abstractmethod
    async def get_transaction(self, station_id: str, transaction_id: str) -> TransactionRecord | None: ...

    @abc.abstractmethod
    async def query_transactions(
        self,
        station_id: str | None = None,
        status: str | None = None,
        id_tag: str | None = None,
        limit: int = 1000,
    ) -> list[TransactionRecord]:
        """Transactions matching all given fields, newest start first."""

    @abc.abstractmethod
    async def add_meter_samples(self, samples: Sequence[MeterSample]) -> int:
        """Store samples; returns how many."""

    @abc.abstractmethod
    async def meter_series(
        self,
        station_id: str,
        transaction_id: str | None = None,
        measurand: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[MeterSample]:
        """A station's samples (of one transaction / measurand when given), oldest first."""

    # -- sessions ----------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def add_session(self, session: SessionRecord) -> str:
        """Store a session; returns its id."""

    @abc.abstractmethod
    async def update_session(self, session_id: str, session: SessionRecord) -> bool:
        """Replace a stored session; False if the id is unknown."""

    @abc.abstractmethod
    async def list_sessions(
        self, station_id: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[StoredSession]:
        """Sessions, newest connection first."""

    # -- templates ---------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def save_template(self, name: str, doc: Mapping[str, Any], kind: str = "station") -> None:
        """Create or replace the template ``name`` (a JSON object)."""

    @abc.abstractmethod
    async def get_template(self, name: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    async def list_templates(self, kind: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        """``(name, kind, doc)`` ordered by name."""

    @abc.abstractmethod
    async def delete_template(self, name: str) -> bool: ...

    # -- scenario runs -----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_scenario_run(self, doc: Mapping[str, Any]) -> str:
        """Store a run (a JSON object); returns its id. ``doc['scenario']`` names the scenario if present."""

    @abc.abstractmethod
    async def get_scenario_run(self, run_id: str) -> dict[str, Any] | None:
        """The run document with ``id`` and ``created_at`` (ISO text) added."""

    @abc.abstractmethod
    async def update_scenario_run(self, run_id: str, changes: Mapping[str, Any]) -> bool:
        """Merge ``changes`` into the run's top-level fields; False if unknown."""

    @abc.abstractmethod
    async def list_scenario_runs(self, scenario: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Runs, newest first."""

    @abc.abstractmethod
    async def delete_scenario_run(self, run_id: str) -> bool: ...

    # -- offline queues ----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def queue_push(self, station_id: str, key: str, doc: Mapping[str, Any]) -> None:
        """Append to the station's queue. Pushing a key that is queued already replaces its document and keeps
        its place, so a retried push is stored once."""

    @abc.abstractmethod
    async def queue_list(self, station_id: str) -> list[QueueItem]:
        """The station's queue in push order."""

    @abc.abstractmethod
    async def queue_remove(self, station_id: str, key: str) -> bool:
        """Remove a delivered entry; False if it was not queued."""

    # -- aggregates --------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def action_stats(
        self, station_id: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[ActionStats]:
        """Per action (frames without one are left out): counts and response times, most frequent first."""

    async def energy_by_transaction(self, station_id: str | None = None) -> list[TransactionEnergy]:
        """Energy of each transaction (see :class:`TransactionEnergy`), newest first."""
        out: list[TransactionEnergy] = []
        for tx in await self.query_transactions(station_id=station_id, limit=1_000_000):
            if tx.energy_consumed is not None:
                energy = tx.energy_consumed
            elif tx.meter_stop is not None:
                energy = tx.meter_stop - tx.meter_start
            else:
                series = await self.meter_series(tx.station_id, tx.transaction_id, ENERGY_MEASURAND)
                last = series[-1] if series else None
                energy = 0.0
                if last is not None:
                    wh = last.value * 1000.0 if last.unit.lower() == "kwh" else last.value
                    energy = wh - tx.meter_start
            out.append(
                TransactionEnergy(tx.station_id, tx.transaction_id, tx.status, tx.start_timestamp, float(energy))
            )
        return out

    async def energy_by_station(self) -> list[StationEnergy]:
        """Sum of :meth:`energy_by_transaction` per station, ordered by station id."""
        acc: dict[str, StationEnergy] = {}
        for te in await self.energy_by_transaction():
            se = acc.setdefault(te.station_id, StationEnergy(te.station_id, 0, 0.0))
            se.transactions += 1
            se.energy_wh += te.energy_wh
        return [acc[k] for k in sorted(acc)]


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile ``q`` (0..1) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(round(q * len(ordered), 9)))
    return float(ordered[min(rank, len(ordered)) - 1])
