"""Reconnect delays: exponential back-off with jitter, pure and reproducible.

No clock and no sleeping here: the engine asks for the next delay and sleeps itself. The random generator is
injected (the station runtime passes :func:`~ocppemu.config.randomness.station_rng` of its seed and station id) so
that a seeded station reconnects on the same schedule every run, and so that the stations of one run spread their
reconnects instead of hitting a restarted CSMS at the same instant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from ocppemu.config.station import SimulationConfig

Jitter = Literal["full", "decorrelated", "none"]


@dataclass(slots=True)
class Backoff:
    """Delay before reconnect attempt number ``attempt`` (0 for the first retry after a failure).

    * ``full``: uniform in ``[0, min(max_delay, initial * multiplier**attempt)]`` (spreads load the most).
    * ``decorrelated``: uniform in ``[initial, previous * 3]``, capped at ``max_delay``; it depends on the
      previous delay, which is forgotten by :meth:`reset` or by asking for attempt 0.
    * ``none``: the deterministic ``min(max_delay, initial * multiplier**attempt)``.

    Guarantees: every delay is in ``[0, max_delay]``; with ``none`` delays never decrease as ``attempt``
    grows.
    Raises ``ValueError`` at construction for a non-positive ``initial``, ``max_delay < initial`` or a
    ``multiplier`` below 1.
    """

    initial: float = 1.0
    max_delay: float = 60.0
    multiplier: float = 2.0
    jitter: Jitter = "full"
    rng: random.Random = field(default_factory=random.Random)
    _previous: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.initial <= 0:
            raise ValueError(f"back-off initial delay must be > 0, got {self.initial}")
        if self.max_delay < self.initial:
            raise ValueError(f"back-off max delay {self.max_delay} is below the initial delay {self.initial}")
        if self.multiplier < 1:
            raise ValueError(f"back-off multiplier must be >= 1, got {self.multiplier}")
        if self.jitter not in ("full", "decorrelated", "none"):
            raise ValueError(f"unknown jitter {self.jitter!r}; use full, decorrelated or none")
        self._previous = self.initial

    @classmethod
    def from_config(cls, sim: SimulationConfig, rng: random.Random, jitter: Jitter = "full") -> Backoff:
        """Back-off using the station's ``reconnect_initial_delay`` / ``reconnect_max_delay``."""
        max_delay = max(sim.reconnect_max_delay, sim.reconnect_initial_delay)
        return cls(initial=sim.reconnect_initial_delay, max_delay=max_delay, jitter=jitter, rng=rng)

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay for ``attempt``: ``min(max_delay, initial * multiplier**attempt)``."""
        if attempt < 0:
            raise ValueError(f"attempt must be >= 0, got {attempt}")
        try:
            return min(self.max_delay, self.initial * self.multiplier**attempt)
        except OverflowError:
            return self.max_delay

    def next_delay(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt``; see the class docstring for the distribution."""
        cap = self.ceiling(attempt)
        if self.jitter == "none":
            return cap
        if self.jitter == "full":
            return self.rng.uniform(0.0, cap)
        if attempt == 0:
            self._previous = self.initial
        upper = min(self.max_delay, self._previous * 3.0)
        delay = min(self.max_delay, self.rng.uniform(self.initial, max(self.initial, upper)))
        self._previous = delay
        return delay

    def reset(self) -> None:
        """Forget the history after a successful connection."""
        self._previous = self.initial
