"""Shared helpers of the 2.1 station tests: the 2.0.1 driver and harness, built on a 2.1 station."""

from __future__ import annotations

import json
from typing import Any

from ocppemu.config.station import StationConfig
from ocppemu.runtime.station_runtime import StationRuntime
from ocppemu.station.core import Sinks
from ocppemu.station.v21.station import Station21
from tests.station.v201 import helpers as h201
from tests.station.v201.helpers import until

__all__ = ["ANSWERS", "Driver", "Harness", "station_config", "until"]

ANSWERS: dict[str, dict[str, Any]] = {
    **h201.ANSWERS,
    "OpenPeriodicEventStream": {"status": "Accepted"},
    "PullDynamicScheduleUpdate": {"status": "Accepted", "scheduleUpdate": {"limit": 4000.0}},
}


def station_config(url: str = "ws://127.0.0.1:9/ocpp", station_id: str = "CS001", **overrides: Any) -> StationConfig:
    return h201.station_config(url, station_id, **{"protocol_version": "2.1", **overrides})


class Driver(h201.Driver):
    """The sans-I/O driver of the 2.0.1 tests on a :class:`Station21`; SEND frames are kept in ``sends``."""

    core: Station21  # type: ignore[assignment]

    def __init__(self, config: StationConfig | None = None, now: float = 1_000_000.0) -> None:
        super().__init__(config or station_config(), now)
        self.core = Station21(config or station_config(), Sinks(event=self.events.append))
        self.answers = dict(ANSWERS)
        self.sends: list[tuple[str, dict[str, Any]]] = []

    def pump(self) -> None:
        out = self.core.take_outbox()
        keep = []
        for text in out:
            frame = json.loads(text)
            if frame[0] == 6:
                self.sends.append((frame[2], frame[3]))
            else:
                keep.append(text)
        self.core.rpc.outbox[:0] = keep
        super().pump()


class Harness(h201.Harness):
    """A 2.1 station over a real WebSocket."""

    def __init__(self, config: StationConfig) -> None:
        super().__init__(config)
        self.core = Station21(config, Sinks(frame=self.frames.append, event=self.events.append))  # type: ignore[assignment]
        self.runtime = StationRuntime(self.core)
