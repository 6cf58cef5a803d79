"""Deadlines of one station, each carrying the callback it fires, without any clock or task.

A station keeps a handful of deadlines (heartbeat, boot retry, meter sampling per connector, ...). The runtime
asks :meth:`Timers.next_deadline` and arranges one wake-up on the event loop for the whole station, so no
asyncio task or handle exists per timer. A timer is set with the function to call (``fire(now)``); its key only
names it, so it can be re-armed, cancelled or inspected: nothing is routed by name.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

Fire = Callable[[float], None]


@dataclass(slots=True)
class Timers:
    """Deadlines keyed by a hashable name. Times are the runtime's seconds since the epoch."""

    _due: dict[Hashable, tuple[float, Fire]] = field(default_factory=dict)

    def set(self, key: Hashable, at: float, fire: Fire) -> None:
        """(Re)arm ``key``: ``fire(now)`` is called by :meth:`pop_due` once ``now`` reaches ``at``."""
        self._due[key] = (at, fire)

    def cancel(self, key: Hashable) -> None:
        self._due.pop(key, None)

    def cancel_prefix(self, prefix: str) -> None:
        """Cancel every timer whose key is a tuple starting with ``prefix``."""
        for key in [k for k in self._due if isinstance(k, tuple) and k and k[0] == prefix]:
            del self._due[key]

    def clear(self) -> None:
        self._due.clear()

    def is_set(self, key: Hashable) -> bool:
        return key in self._due

    def due_at(self, key: Hashable) -> float | None:
        entry = self._due.get(key)
        return None if entry is None else entry[0]

    def next_deadline(self) -> float | None:
        return min(at for at, _ in self._due.values()) if self._due else None

    def pop_due(self, now: float) -> list[tuple[Hashable, Fire]]:
        """Remove and return ``(key, fire)`` of the timers due at or before ``now``, earliest first."""
        due = sorted((at, i, key) for i, (key, (at, _)) in enumerate(self._due.items()) if at <= now)
        return [(key, self._due.pop(key)[1]) for _, _, key in due]
