"""The edge that runs automatic transaction generators: one timer per process, not one per station.

:class:`Scheduler` keeps many wake-ups (key -> time) in a heap behind a single ``loop.call_at`` handle.
:class:`AutoDriver` owns one :class:`~ocppemu.station.auto_transactions.AutoTransactions` per station whose
``auto_transactions.enabled`` is set, wakes it when it asks, and applies its actions to the station core through
the runtime's ``act`` (the station-action interface: ``start_session``, ``stop_session``, ``unplug``). The
generator's cycle begins when the station is first accepted by its CSMS.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ocppemu.config.station import AutoTransactionConfig, StationConfig
from ocppemu.runtime.station_runtime import StationRuntime
from ocppemu.station.auto_transactions import AutoAction, AutoTransactions
from ocppemu.station.core import StationCore

log = logging.getLogger(__name__)
_NOT_READY_RETRY = 2.0  # seconds between looks at a station that is not accepted (or not running) yet


class Scheduler:
    """Wake-ups for many keys on one event-loop timer. ``clock`` is wall time (seconds since the epoch)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, str]] = []
        self._due: dict[str, tuple[float, int]] = {}
        self._callbacks: dict[str, Callable[[], None]] = {}
        self._count = itertools.count()
        self._handle: asyncio.TimerHandle | None = None
        self._armed_at: float | None = None

    def __len__(self) -> int:
        return len(self._due)

    def schedule(self, key: str, when: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` at ``when`` (replacing what ``key`` had scheduled)."""
        token = next(self._count)
        self._due[key] = (when, token)
        self._callbacks[key] = callback
        heapq.heappush(self._heap, (when, token, key))
        if self._armed_at is None or when < self._armed_at:
            self._arm()

    def cancel(self, key: str) -> None:
        self._due.pop(key, None)
        self._callbacks.pop(key, None)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle, self._armed_at = None, None
        self._heap.clear()
        self._due.clear()
        self._callbacks.clear()

    def _arm(self) -> None:
        while self._heap and self._due.get(self._heap[0][2], (None, None))[1] != self._heap[0][1]:
            heapq.heappop(self._heap)  # replaced or cancelled
        if self._handle is not None:
            self._handle.cancel()
            self._handle, self._armed_at = None, None
        if not self._heap:
            return
        when = self._heap[0][0]
        loop = asyncio.get_running_loop()
        self._armed_at = when
        self._handle = loop.call_at(loop.time() + max(0.0, when - self.clock()), self._fire)

    def _fire(self) -> None:
        self._handle, self._armed_at = None, None
        now = self.clock()
        while self._heap and self._heap[0][0] <= now:
            _when, token, key = heapq.heappop(self._heap)
            if self._due.get(key, (None, None))[1] != token:
                continue
            del self._due[key]
            callback = self._callbacks.pop(key)
            try:
                callback()
            except Exception:
                log.exception("scheduled wake-up %s failed", key)
        self._arm()


def seed_for(config: StationConfig) -> int:
    """The generator's seed: its own, or the station's simulation seed mixed with a stable hash of its id."""
    own = config.auto_transactions.seed
    return own if own is not None else config.simulation.seed ^ zlib.crc32(config.station_id.encode())


def slots_of(config: StationConfig) -> list[int]:
    """Connector ids (1.6) or EVSE ids (2.x): what the station actions take."""
    if config.protocol_version.value == "1.6":
        return sorted(c.id for c in config.connectors)
    return sorted({c.evse for c in config.connectors})


@dataclass(slots=True)
class _Entry:
    gen: AutoTransactions
    core: StationCore
    runtime: StationRuntime


class AutoDriver:
    """Runs the generators of the stations attached to it on one :class:`Scheduler`."""

    def __init__(self, scheduler: Scheduler | None = None) -> None:
        self.scheduler = scheduler or Scheduler()
        self._entries: dict[str, _Entry] = {}

    def attach(self, config: StationConfig, core: StationCore, runtime: StationRuntime) -> None:
        """(Re)start the generator of a station from its configuration; detaches it when not enabled."""
        sid = config.station_id
        self.detach(sid)
        cfg = config.auto_transactions
        if not cfg.enabled:
            return
        gen = AutoTransactions(cfg, slots_of(config), random.Random(seed_for(config)))
        self._entries[sid] = _Entry(gen, core, runtime)
        self.scheduler.schedule(sid, self.scheduler.clock(), lambda: self._wake(sid))

    def detach(self, station_id: str) -> None:
        self._entries.pop(station_id, None)
        self.scheduler.cancel(station_id)

    def close(self) -> None:
        self._entries.clear()
        self.scheduler.close()

    def status(self, station_id: str) -> dict[str, Any] | None:
        """Phase per connector and counters, or None when the station has no generator running."""
        entry = self._entries.get(station_id)
        if entry is None:
            return None
        gen, stats = entry.gen, entry.gen.stats
        return {"enabled": True, "begun": gen.begun,
                "connectors": {str(k): s.phase for k, s in sorted(gen.slots.items())},
                "arrivals": stats.arrivals, "starts": stats.starts, "declined": stats.declined,
                "stops": stats.stops, "ended_elsewhere": stats.gone, "refused": stats.refused}

    def totals(self) -> dict[str, int]:
        out = {"stations": len(self._entries), "starts": 0, "stops": 0, "refused": 0}
        for entry in self._entries.values():
            out["starts"] += entry.gen.stats.starts
            out["stops"] += entry.gen.stats.stops
            out["refused"] += entry.gen.stats.refused
        return out

    def _wake(self, sid: str) -> None:
        entry = self._entries.get(sid)
        if entry is None:
            return
        now = self.scheduler.clock()
        gen, core, runtime = entry.gen, entry.core, entry.runtime
        if not runtime.running or (not gen.begun and not core.online):
            self.scheduler.schedule(sid, now + _NOT_READY_RETRY, lambda: self._wake(sid))
            return
        gen.begin(now)
        for action in gen.step(now, core.active_transactions(), core.registers()):
            self._apply(entry, action)
        deadline = gen.next_deadline()
        if deadline is not None:
            self.scheduler.schedule(sid, max(deadline, now + 0.001), lambda: self._wake(sid))

    def _apply(self, entry: _Entry, action: AutoAction) -> None:
        core: Any = entry.core
        rt, slot = entry.runtime, action.slot
        if action.kind == "start":
            result = rt.act(core.start_session, slot, action.id_tag)
            if not result.ok:
                entry.gen.refused(slot, self.scheduler.clock())
        elif action.kind == "stop":
            rt.act(core.stop_session, slot, reason=action.reason or "Local")
        else:
            rt.act(core.unplug, slot)


def enabled_copy(cfg: AutoTransactionConfig, enabled: bool | None, settings: dict[str, Any] | None
                 ) -> AutoTransactionConfig:
    """A generator configuration with ``settings`` merged in and ``enabled`` applied (validated)."""
    doc = cfg.model_dump()
    doc.update(settings or {})
    if enabled is not None:
        doc["enabled"] = enabled
    return AutoTransactionConfig.model_validate(doc)
