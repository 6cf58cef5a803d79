"""Named deadlines of one station, without any clock or task.

A station keeps a handful of deadlines (heartbeat, boot retry, meter sampling per connector, ...). The runtime
asks :meth:`Timers.next_deadline` and arranges one wake-up on the event loop for the whole station, so no
asyncio task or handle exists per timer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Timers:
    """Deadlines keyed by name (any hashable). Times are seconds since the epoch."""

    _due: dict[Any, float] = field(default_factory=dict)

    def set(self, name: Any, at: float) -> None:
        self._due[name] = at

    def cancel(self, name: Any) -> None:
        self._due.pop(name, None)

    def cancel_prefix(self, prefix: str) -> None:
        """Cancel every timer whose name is a tuple starting with ``prefix``."""
        for key in [k for k in self._due if isinstance(k, tuple) and k and k[0] == prefix]:
            del self._due[key]

    def clear(self) -> None:
        self._due.clear()

    def is_set(self, name: Any) -> bool:
        return name in self._due

    def due_at(self, name: Any) -> float | None:
        return self._due.get(name)

    def next_deadline(self) -> float | None:
        return min(self._due.values()) if self._due else None

    def pop_due(self, now: float) -> list[Any]:
        """Remove and return the names whose deadline is at or before ``now``, earliest first."""
        due = sorted((at, i, name) for i, (name, at) in enumerate(self._due.items()) if at <= now)
        for _, _, name in due:
            del self._due[name]
        return [name for _, _, name in due]
