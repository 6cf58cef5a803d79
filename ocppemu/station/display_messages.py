"""Display messages of a 2.x station (functional block O): what is stored, what is shown, and when.

A message may carry a window (``startDateTime``, ``endDateTime``, on the CSMS's clock): it is *shown* from its
start, and *removed* at its end, as the specification asks ("after this date/time this message SHALL be
removed"). Times given to this class are station times (see :mod:`ocppemu.station.clock`); it reads no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ocppemu.station.clock import parse_iso

JSON = dict[str, Any]
MAX_MESSAGES = 20


def _window(msg: JSON) -> tuple[float | None, float | None]:
    start = parse_iso(msg["startDateTime"]) if isinstance(msg.get("startDateTime"), str) else None
    end = parse_iso(msg["endDateTime"]) if isinstance(msg.get("endDateTime"), str) else None
    return start, end


@dataclass(slots=True)
class DisplayMessages:
    """The stored messages by id (wire form, as the CSMS sent them)."""

    messages: dict[int, JSON] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.messages)

    def is_full(self, message_id: int) -> bool:
        return len(self.messages) >= MAX_MESSAGES and message_id not in self.messages

    def put(self, msg: JSON) -> None:
        self.messages[int(msg["id"])] = dict(msg)

    def remove(self, message_id: int) -> JSON | None:
        return self.messages.pop(message_id, None)

    def find(self, ids: set[int], priority: str | None, state: str | None) -> list[JSON]:
        """The messages GetDisplayMessages asks for (every criterion given must match)."""
        return [m for m in self.messages.values()
                if (not ids or m["id"] in ids) and priority in (None, m["priority"])
                and (state is None or m.get("state") == state)]

    def shown(self, at: float) -> list[JSON]:
        """The messages on the display at station time ``at`` (inside their window)."""
        out = []
        for msg in self.messages.values():
            start, end = _window(msg)
            if (start is None or start <= at) and (end is None or at < end):
                out.append(msg)
        return out

    def remove_ended(self, at: float) -> list[int]:
        """Remove the messages whose ``endDateTime`` passed at station time ``at``; returns their ids."""
        gone = [mid for mid, msg in self.messages.items() if (end := _window(msg)[1]) is not None and end <= at]
        for mid in gone:
            del self.messages[mid]
        return gone

    def next_change(self, at: float) -> float | None:
        """The station time after ``at`` when a message appears or is removed, if any."""
        times = [t for msg in self.messages.values() for t in _window(msg) if t is not None and t > at]
        return min(times) if times else None
