"""The automatic transaction generator: simulated drivers arriving, charging and leaving.

A pure component (sans-I/O): :meth:`AutoTransactions.step` takes ``now`` and what the station reports (which
connectors have a running transaction, their energy registers) and returns the :class:`AutoAction` values to
apply through the station-action interface (``start_session``, ``stop_session``, ``unplug``). It never reads a
clock, never sleeps and draws every random number from the ``random.Random`` it was given, in a fixed order, so
one seed gives one run. :meth:`AutoTransactions.next_deadline` says when to call ``step`` again.

Each connector ("slot": a 1.6 connector id or a 2.x EVSE id) follows an explicit transition table::

    waiting  --arrival, drawn < start_probability-->  charging   (emits start)
    waiting  --arrival, otherwise------------------>  paused
    charging --duration or energy reached---------->  paused     (emits stop [+ unplug], or unplug)
    charging --transaction gone (CSMS stop/refusal)->  paused     (emits unplug)
    charging --start refused by the station--------->  paused
    paused   --pause over--------------------------->  waiting    (next arrival drawn)

An illegal transition raises :class:`AutoTransitionError`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from ocppemu.config.station import AutoTransactionConfig

Phase = Literal["waiting", "charging", "paused"]
Event = Literal["arrive", "decline", "finish", "gone", "refused", "resume"]
ActionKind = Literal["start", "stop", "unplug"]

TRANSITIONS: dict[tuple[Phase, Event], Phase] = {
    ("waiting", "arrive"): "charging",
    ("waiting", "decline"): "paused",
    ("charging", "finish"): "paused",
    ("charging", "gone"): "paused",
    ("charging", "refused"): "paused",
    ("paused", "resume"): "waiting",
}
#: A transaction must show up in the station's running transactions within this many seconds of a start.
START_GRACE = 10.0
#: In energy mode, how often the registers are checked (seconds).
ENERGY_POLL = 5.0
_DAY_NO_ARRIVAL = 3600.0  # daily profile with no arrivals in the next day: look again an hour later


class AutoTransitionError(RuntimeError):
    """A slot was asked to make a transition its table does not allow."""

    def __init__(self, slot: int, phase: Phase, event: Event) -> None:
        super().__init__(f"connector {slot}: '{event}' is not allowed while {phase}")
        self.slot, self.phase, self.event = slot, phase, event


@dataclass(slots=True, frozen=True)
class AutoAction:
    """Something the generator wants the station to do now."""

    kind: ActionKind
    slot: int
    id_tag: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class _Slot:
    phase: Phase
    deadline: float  # when the next step is due for this slot
    started_at: float = 0.0
    register_at_start: float = 0.0
    energy_target: float | None = None
    seen_active: bool = False


@dataclass(slots=True)
class AutoStats:
    """Counters since the generator was made (for status views)."""

    arrivals: int = 0
    starts: int = 0
    declined: int = 0
    stops: int = 0
    gone: int = 0
    refused: int = 0


class AutoTransactions:
    """Generator for the connectors ``slots`` of one station, following ``config``, drawing from ``rng``.

    Nothing happens before :meth:`begin` (called when the station is accepted by its CSMS)."""

    __slots__ = ("_ids", "_reasons", "_tags", "_weights", "config", "rng", "slots", "stats")

    def __init__(self, config: AutoTransactionConfig, slots: Collection[int], rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.slots: dict[int, _Slot] = {}
        self.stats = AutoStats()
        self._reasons = list(config.stop_reasons)
        self._weights = [config.stop_reasons[r] for r in self._reasons]
        self._tags = list(config.id_tags) or [
            f"{config.id_tag_prefix}{i:08d}" for i in range(config.generated_id_tags)]
        self._ids = sorted(slots)

    def begin(self, now: float) -> None:
        """Start the cycle of every slot (first arrival after a random ``start_delay``). Idempotent."""
        if self.slots:
            return
        low, high = self.config.start_delay
        for slot in self._ids:
            self.slots[slot] = _Slot("paused", now + self.rng.uniform(low, high))

    @property
    def begun(self) -> bool:
        return bool(self.slots)

    def phase(self, slot: int) -> Phase | None:
        s = self.slots.get(slot)
        return s.phase if s is not None else None

    def next_deadline(self) -> float | None:
        """The earliest time :meth:`step` has something to do; None before :meth:`begin`."""
        return min((s.deadline for s in self.slots.values()), default=None)

    # -- decisions ------------------------------------------------------------------------------------------

    def step(self, now: float, active: Collection[int], registers: Mapping[int, float]) -> list[AutoAction]:
        """Advance every slot whose deadline is due. ``active``: slots with a running transaction;
        ``registers``: energy registers (Wh) by slot."""
        actions: list[AutoAction] = []
        for slot_id in sorted(self.slots):
            s = self.slots[slot_id]
            if s.phase == "charging":
                self._charging(slot_id, s, now, active, registers, actions)
            elif now >= s.deadline:
                if s.phase == "paused":
                    self._move(slot_id, s, "resume")
                    s.deadline = self._next_arrival(now)
                if s.phase == "waiting" and now >= s.deadline:
                    self._arrive(slot_id, s, now, registers, actions)
        return actions

    def refused(self, slot: int, now: float) -> None:
        """The station refused the start the generator asked for (not connected, connector faulted ...)."""
        s = self.slots.get(slot)
        if s is not None and s.phase == "charging":
            self.stats.refused += 1
            self._pause(slot, s, "refused", now)

    def _arrive(self, slot: int, s: _Slot, now: float, registers: Mapping[int, float],
                actions: list[AutoAction]) -> None:
        cfg = self.config
        self.stats.arrivals += 1
        if self.rng.random() >= cfg.start_probability:
            self.stats.declined += 1
            self._pause(slot, s, "decline", now)
            return
        self._move(slot, s, "arrive")
        self.stats.starts += 1
        tag = self._tags[self.rng.randrange(len(self._tags))]
        s.started_at, s.seen_active = now, False
        s.register_at_start = registers.get(slot, 0.0)
        if cfg.energy_wh is not None:
            s.energy_target = self.rng.uniform(*cfg.energy_wh)
            s.deadline = now + ENERGY_POLL
        else:
            s.energy_target = None
            s.deadline = now + self.rng.uniform(*cfg.duration)
        actions.append(AutoAction("start", slot, id_tag=tag))

    def _charging(self, slot: int, s: _Slot, now: float, active: Collection[int], registers: Mapping[int, float],
                  actions: list[AutoAction]) -> None:
        if slot in active:
            s.seen_active = True
        elif s.seen_active or now - s.started_at >= START_GRACE:
            # Ended elsewhere (remote stop, authorization refused, reset): let the driver leave.
            self.stats.gone += 1
            actions.append(AutoAction("unplug", slot))
            self._pause(slot, s, "gone", now)
            return
        if s.energy_target is not None:
            done = registers.get(slot, s.register_at_start) - s.register_at_start >= s.energy_target
            if not done:
                s.deadline = max(s.deadline, now + ENERGY_POLL) if now >= s.deadline else s.deadline
                if not s.seen_active:
                    s.deadline = min(s.deadline, s.started_at + START_GRACE)
                return
        elif now < s.deadline:
            if not s.seen_active:
                s.deadline = min(s.deadline, s.started_at + START_GRACE)
            return
        reason = self.rng.choices(self._reasons, self._weights)[0]
        self.stats.stops += 1
        if reason == "EVDisconnected":
            actions.append(AutoAction("unplug", slot, reason=reason))
        else:
            actions.append(AutoAction("stop", slot, reason=reason))
            actions.append(AutoAction("unplug", slot))
        self._pause(slot, s, "finish", now)

    def _pause(self, slot: int, s: _Slot, event: Event, now: float) -> None:
        self._move(slot, s, event)
        s.deadline = now + self.rng.uniform(*self.config.pause)

    def _move(self, slot: int, s: _Slot, event: Event) -> None:
        target = TRANSITIONS.get((s.phase, event))
        if target is None:
            raise AutoTransitionError(slot, s.phase, event)
        s.phase = target

    # -- arrival processes ----------------------------------------------------------------------------------

    def _next_arrival(self, now: float) -> float:
        cfg = self.config
        if cfg.arrival == "loop":
            return now
        if cfg.arrival == "poisson":
            return now + self.rng.expovariate(cfg.arrival_rate / 3600.0)
        return self._next_daily(now)

    def _next_daily(self, now: float) -> float:
        """Non-homogeneous Poisson arrivals by thinning: candidates at the peak rate, kept with rate(t) / peak."""
        profile = self.config.daily_profile
        peak = max(profile)
        if peak <= 0:
            return now + _DAY_NO_ARRIVAL
        offset = self.config.utc_offset_hours * 3600.0
        t = now
        while t - now < 86400.0:
            t += self.rng.expovariate(peak / 3600.0)
            hour = math.floor((t + offset) / 3600.0) % 24
            if self.rng.random() * peak < profile[hour]:
                return t
        return t
