"""When crafted messages go out (pure): now, after a delay, at a wall-clock time, repeated a number of times at
an interval. :func:`plan` turns what the user typed into the send times (epoch seconds) or a sentence saying
what is wrong; the crafter runs the plan on the kernel's loop while its page is open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

When = Literal["now", "delay", "at"]
MAX_REPEAT = 1000


@dataclass(frozen=True, slots=True)
class Plan:
    times: tuple[float, ...]

    def describe(self, now: float) -> str:
        first = self.times[0]
        start = "now" if first - now < 0.5 else (
            f"in {first - now:.0f} s" if first - now < 120 else
            f"at {datetime.fromtimestamp(first).strftime('%H:%M:%S')}")
        if len(self.times) == 1:
            return f"once, {start}"
        every = self.times[1] - self.times[0]
        return f"{len(self.times)} times every {every:g} s, starting {start}"


def parse_at(text: str, now: float) -> float | str:
    """``HH:MM[:SS]`` (today, or tomorrow when already past) or an ISO 8601 date-time, as epoch seconds; or the
    reason it is not a time."""
    text = text.strip()
    if not text:
        return "at: type a time, e.g. 14:30 or 14:30:15 (or a full ISO date-time)"
    base = datetime.fromtimestamp(now)
    for fmt in ("%H:%M:%S", "%H:%M"):
        try:
            t = datetime.strptime(text, fmt).time()
        except ValueError:
            continue
        at = datetime.combine(base.date(), t)
        if at.timestamp() <= now:
            at += timedelta(days=1)
        return at.timestamp()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return f"at: {text!r} is not a time (use 14:30, 14:30:15 or 2026-05-01T14:30:00)"
    ts = parsed.timestamp()
    return ts if ts > now else f"at: {text} is in the past"


def plan(now: float, when: When, *, delay: float = 0.0, at: str = "", repeat: int = 1,
         every: float = 0.0) -> Plan | str:
    """The send times of a schedule, or a sentence saying which field is wrong."""
    if not 1 <= repeat <= MAX_REPEAT:
        return f"repeat: 1 to {MAX_REPEAT} times"
    if repeat > 1 and not every > 0:
        return "every: a repeated send needs an interval above 0 seconds"
    if when == "now":
        first = now
    elif when == "delay":
        if not delay >= 0:
            return "after: a delay of 0 seconds or more"
        first = now + delay
    else:
        parsed = parse_at(at, now)
        if isinstance(parsed, str):
            return parsed
        first = parsed
    return Plan(tuple(first + i * every for i in range(repeat)))
