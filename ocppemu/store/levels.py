"""Recording levels: which frames of the message log are kept in the store.

A level is a short text, valid in the configuration (``store.record``), on the command line (``--record``) and
in the API:

``all`` (the default)
    every frame, in both directions.
``calls``
    requests only (CALL and SEND frames, either direction), with no results or errors.
``errors``
    CALLERROR and CALLRESULTERROR frames, frames that could not be parsed, and frames that broke their schema.
``sample:F``
    a fraction ``0 <= F <= 1`` of the exchanges of each station (a CALL *and* the frame that answers it are kept
    or skipped together), plus every error as in ``errors``. The choice is a per-station counter, not a random
    draw: of ``n`` calls of a station exactly ``floor(n * F)`` are kept, so counts are exact and reproducible.
``none``
    nothing (frames still reach live subscribers and the JSON-lines file).

The policy is a plain object: a record in, keep or skip out; no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ocppemu.ocpp.records import FrameRecord

LEVELS = ("all", "calls", "errors", "sample:F", "none")
_ERROR_KINDS = frozenset({"CallError", "CallResultError", "Invalid"})
_REQUEST_KINDS = frozenset({"Call", "Send"})
_MAX_OPEN_SAMPLES = 100_000  # answers awaited for kept calls; beyond this (calls never answered) the set restarts


class RecordingLevelError(ValueError):
    """A recording level that is not one of :data:`LEVELS`."""


def parse_level(text: str) -> tuple[str, float]:
    """``(name, fraction)`` of a level text; raises :class:`RecordingLevelError` with a readable sentence."""
    value = text.strip().lower()
    if value in ("all", "calls", "errors", "none"):
        return value, 1.0 if value != "none" else 0.0
    if value.startswith("sample:"):
        try:
            fraction = float(value.split(":", 1)[1])
        except ValueError:
            fraction = math.nan
        if not 0.0 <= fraction <= 1.0:
            raise RecordingLevelError(f"recording level {text!r}: the fraction after 'sample:' must be a number "
                                      "from 0 to 1, e.g. sample:0.1")
        return "sample", fraction
    raise RecordingLevelError(f"unknown recording level {text!r}; use one of all, calls, errors, sample:F "
                              "(0 <= F <= 1) or none")


def is_error(record: FrameRecord) -> bool:
    return record.message_type in _ERROR_KINDS or record.validation_error is not None


@dataclass(slots=True)
class RecordingPolicy:
    """Decides, frame by frame, what the store keeps. ``keep`` must see every frame (it counts calls)."""

    level: str = "all"
    name: str = field(init=False, default="all")
    fraction: float = field(init=False, default=1.0)
    _calls: dict[str, int] = field(init=False, default_factory=dict)
    _open: set[tuple[str, str]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.name, self.fraction = parse_level(self.level)
        self.level = self.name if self.name != "sample" else f"sample:{self.fraction:g}"

    @property
    def keeps_everything(self) -> bool:
        return self.name == "all" or (self.name == "sample" and self.fraction >= 1.0)

    def keep(self, record: FrameRecord) -> bool:
        name = self.name
        if name == "all":
            return True
        if name == "none":
            return False
        if name == "calls":
            return record.message_type in _REQUEST_KINDS
        if name == "errors":
            return is_error(record)
        return self._sample(record)

    def _sample(self, record: FrameRecord) -> bool:
        key = (record.station_id, record.correlation_id or "")
        if record.message_type in _REQUEST_KINDS:
            n = self._calls.get(record.station_id, 0)
            self._calls[record.station_id] = n + 1
            kept = math.floor((n + 1) * self.fraction + 1e-9) > math.floor(n * self.fraction + 1e-9)
            if kept and record.correlation_id is not None:
                if len(self._open) >= _MAX_OPEN_SAMPLES:
                    self._open.clear()
                self._open.add(key)
            return kept or is_error(record)
        if key in self._open:
            self._open.discard(key)
            return True
        return is_error(record)

    def forget(self, station_id: str) -> None:
        """Drop the counters of a deleted station."""
        self._calls.pop(station_id, None)
