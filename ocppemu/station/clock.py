"""The one clock of a station engine: the runtime's time plus the offset the CSMS set.

The engine never reads a clock. Every input (:meth:`~ocppemu.station.core.StationCore.receive`, ``tick``, a user
action) carries ``now``: seconds since the epoch on the runtime's clock (the wall clock in production, virtual
time in tests and simulations). Timers are kept in that time base.

A real charger sets its clock from the CSMS (BootNotification and Heartbeat ``currentTime``); so does the
emulator: :class:`StationClock` holds that one offset, and everything the protocol dates (timestamps sent,
``expiryDate`` of an idTag, ``validFrom`` of a profile or tariff, a reservation's expiry, a display message's
window, charging schedules) is read and compared on the *station time*, ``now + offset``. Deadlines computed on the
station time go back to the runtime's time base with :meth:`StationClock.local` before they become timers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def iso(t: float) -> str:
    """OCPP timestamp text (UTC, milliseconds, ``Z``) of ``t`` seconds since the epoch."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(t * 1000) % 1000:03d}Z"


def parse_iso(text: str) -> float | None:
    """Seconds since the epoch of an OCPP timestamp (``None`` when it is not one)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(slots=True)
class StationClock:
    """Station time = runtime time + :attr:`offset` (seconds), the offset being set from the CSMS's clock."""

    offset: float = 0.0

    def station(self, now: float) -> float:
        """The station time (the CSMS's clock) at runtime time ``now``."""
        return now + self.offset

    def local(self, station_time: float) -> float:
        """The runtime time at which the station clock shows ``station_time`` (for timers)."""
        return station_time - self.offset

    def datetime(self, now: float) -> datetime:
        """The station time at ``now`` as an aware UTC datetime (for schedule and expiry computations)."""
        return datetime.fromtimestamp(now + self.offset, UTC)

    def iso(self, now: float) -> str:
        """The OCPP timestamp the station writes at runtime time ``now``."""
        return iso(now + self.offset)

    def local_of(self, text: str) -> float | None:
        """The runtime time of an OCPP timestamp from the CSMS (``None`` when it is not a timestamp)."""
        t = parse_iso(text)
        return None if t is None else t - self.offset

    def next_aligned(self, now: float, interval: float) -> float:
        """The runtime time of the next multiple of ``interval`` seconds on the station clock after ``now``
        (clock-aligned meter values align on the clock the CSMS set, not on the runtime's)."""
        station = now + self.offset
        return (int(station // interval) + 1) * interval - self.offset

    def set_from_csms(self, current_time: object, now: float) -> bool:
        """Adopt the CSMS's ``currentTime`` received at runtime time ``now``; returns whether it was a time."""
        t = parse_iso(current_time) if isinstance(current_time, str) else None
        if t is None:
            return False
        self.offset = t - now
        return True
