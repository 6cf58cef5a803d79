"""Smart-charging limits applied to the simulated meters, shared by the 1.6 and 2.x stations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ocppemu.config.station import ConnectorConfig
from ocppemu.station.clock import StationClock
from ocppemu.station.meter import Meter
from ocppemu.station.smart_charging import ProfileStore
from ocppemu.station.timers import Fire, Timers

#: (connector or EVSE id, its meter, its configuration, active transaction id, transaction start on the station
#: clock)
LimitTarget = tuple[int, Meter, ConnectorConfig, "int | str | None", "datetime | None"]
TIMER = "charging_limits"


def apply_limits(store: ProfileStore, targets: Iterable[LimitTarget], now: float, clock: StationClock,
                 timers: Timers, fire: Fire) -> None:
    """Set each meter's limit from the composite of the installed profiles at ``now`` (read on the station clock)
    and arm the :data:`TIMER` timer (calling ``fire``) for the next instant a profile may change a limit."""
    at = clock.datetime(now)
    soonest: float | None = None
    for ident, meter, config, tid, tstart in targets:
        phases = config.phases if config.current_type == "AC" else 1
        limit = store.current_limit(ident, at, active_transaction_id=tid, transaction_start=tstart, phases=phases)
        meter.advance(now)
        meter.set_limit_w(limit, now)
        nxt = store.next_change(ident, at, active_transaction_id=tid, transaction_start=tstart)
        if nxt is not None:
            t = clock.local(nxt.timestamp())
            soonest = t if soonest is None else min(soonest, t)
    if soonest is not None:
        timers.set(TIMER, max(soonest, now + 0.001), fire)
    else:
        timers.cancel(TIMER)


def on_limits_timer(store: ProfileStore, targets: Iterable[LimitTarget], now: float, clock: StationClock,
                    timers: Timers, fire: Fire) -> None:
    """The :data:`TIMER` fired: drop expired profiles, then apply the limits again."""
    store.purge_expired(clock.datetime(now))
    apply_limits(store, targets, now, clock, timers, fire)
