"""The store object: everything the workbench stores, whatever the backend.

Code above ``ocppemu.store`` talks only to :class:`Repository`, which combines one interface per record kind
(:mod:`ocppemu.store.kinds`: stations, messages, transactions, meter values, sessions and authorizations,
templates and runs). Two implementations exist, chosen by URL in :func:`ocppemu.store.open_store`: SQLite
(embedded default) and MongoDB. A contract test suite runs unchanged against both, so every documented behaviour
here holds on both.

Common guarantees:

* Every method is a coroutine that never blocks the event loop.
* Timestamps come back tz-aware UTC, truncated to the millisecond.
* Frames come back exactly as written: every text field (the raw frame above all) is kept losslessly, lone
  surrogates included, and the payload reads back equal to the one written.
* JSON documents (templates, scenario runs, queue items) come back as written after a JSON round trip
  (datetimes inside them become ISO strings).
* Unreachable backends raise :class:`~ocppemu.store.errors.StoreUnavailableError`; oversize documents raise
  :class:`~ocppemu.store.errors.PayloadTooLargeError` and write nothing.
"""

from __future__ import annotations

import abc
from typing import Literal

from ocppemu.store.kinds import MessageStore, MeterStore, RunStore, SessionStore, StationStore, TransactionStore
from ocppemu.store.types import (
    DEFAULT_MAX_DOCUMENT_BYTES,
    ENERGY_MEASURAND,
    MAX_PAGE_SIZE,
    SCHEMA_VERSION,
    ActionStats,
    Exchange,
    HealthReport,
    MessageFilter,
    Page,
    QueueItem,
    StationEnergy,
    StoredAuthorization,
    StoredMessage,
    StoredSession,
    TransactionEnergy,
    WriteResult,
    nearest_rank,
)

__all__ = [
    "DEFAULT_MAX_DOCUMENT_BYTES", "ENERGY_MEASURAND", "MAX_PAGE_SIZE", "SCHEMA_VERSION", "ActionStats", "Exchange",
    "HealthReport", "MessageFilter", "Page", "QueueItem", "Repository", "StationEnergy", "StoredAuthorization",
    "StoredMessage", "StoredSession", "TransactionEnergy", "WriteResult", "nearest_rank",
]


class Repository(StationStore, MessageStore, TransactionStore, MeterStore, SessionStore, RunStore, abc.ABC):
    """Async storage of stations, messages, transactions, meter values, sessions, authorizations, templates,
    scenario runs and offline queues. Call :meth:`init` before use (``async with`` does it) and :meth:`close`
    after."""

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
        """Probe the backend, reads and writes; never raises. ``ok`` is False while the store cannot take a
        write (down, disk full, locked), even if it still answers reads."""

    @abc.abstractmethod
    async def schema_version(self) -> int | None:
        """The recorded schema version, ``None`` before :meth:`init` ever ran on this store."""

    # -- aggregates across kinds -------------------------------------------------------------------------
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
