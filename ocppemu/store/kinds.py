"""The store's interface, one abstract class per record kind.

:class:`~ocppemu.store.base.Repository` combines them into the one store object the workbench talks to; each
backend implements each kind in its own module (``sqlite_*.py``, ``mongo_*.py``). A kind's methods only touch
its own tables or collections (stations also own their offline queue and runtime state).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from ocppemu.config.station import StationConfig, StationRuntimeState
from ocppemu.ocpp.records import AuthorizationRecord, FrameRecord, MeterSample, SessionRecord, TransactionRecord
from ocppemu.store.codec import decode_cursor, encode_cursor, to_ms
from ocppemu.store.types import (
    MAX_PAGE_SIZE,
    ActionStats,
    Exchange,
    MessageFilter,
    Page,
    QueueItem,
    StoredAuthorization,
    StoredMessage,
    StoredSession,
    WriteResult,
)


class StationStore(abc.ABC):
    """Station configurations, their runtime state and their offline queues."""

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


class MessageStore(abc.ABC):
    """Frames: writes, keyset-paged queries, exchanges and per-action statistics."""

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

    # -- aggregates --------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def action_stats(
        self, station_id: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[ActionStats]:
        """Per action (frames without one are left out): counts and response times, most frequent first."""


class TransactionStore(abc.ABC):
    """Transactions and the energy they delivered."""

    # -- transactions and meter values -------------------------------------------------------------------
    @abc.abstractmethod
    async def upsert_transaction(self, tx: TransactionRecord) -> None:
        """Insert or replace the transaction (unique per station, transaction id and start time, so a CSMS that
        reuses an id gets one record per transaction); the first ``created_at`` is kept."""

    @abc.abstractmethod
    async def get_transaction(self, station_id: str, transaction_id: str) -> TransactionRecord | None:
        """The transaction with this id (the newest, if the CSMS reused the id)."""

    @abc.abstractmethod
    async def query_transactions(
        self,
        station_id: str | None = None,
        status: str | None = None,
        id_tag: str | None = None,
        limit: int = 1000,
    ) -> list[TransactionRecord]:
        """Transactions matching all given fields, newest start first."""


class MeterStore(abc.ABC):
    """Meter values (a time series)."""

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


class SessionStore(abc.ABC):
    """Connections of stations (sessions) and the authorization checks made on them."""

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

    # -- authorizations ---
    @abc.abstractmethod
    async def add_authorizations(self, records: Sequence[AuthorizationRecord]) -> int:
        """Store authorization checks; returns how many."""

    @abc.abstractmethod
    async def list_authorizations(
        self, station_id: str | None = None, id_token: str | None = None, limit: int = 1000
    ) -> list[StoredAuthorization]:
        """Authorization checks (of one station / identifier when given), oldest first."""


class RunStore(abc.ABC):
    """Templates and scenario runs (JSON documents)."""

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


