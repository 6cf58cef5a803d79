"""Shared helpers of the 1.6 station tests: build a station against a CSMS URL and wait for conditions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from ocppemu.config.station import StationConfig
from ocppemu.ocpp.records import FrameRecord
from ocppemu.runtime.station_runtime import StationRuntime
from ocppemu.station.core import Sinks
from ocppemu.station.v16.station import Station16


def station_config(url: str, station_id: str = "CP001", **overrides: Any) -> StationConfig:
    data: dict[str, Any] = {
        "station_id": station_id,
        "csms_url": url,
        "meter_values_config": {"interval": 1, "aligned_data_interval": 0},
        "simulation": {"reconnect_initial_delay": 0.2, "reconnect_max_delay": 1.0, "call_timeout": 5.0,
                       "energy_delivery_rate": 11000},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return StationConfig.model_validate(data)


class Harness:
    """A 1.6 station running against a CSMS, with every frame it recorded."""

    def __init__(self, config: StationConfig) -> None:
        self.frames: list[FrameRecord] = []
        self.core = Station16(config, Sinks(frame=self.frames.append))
        self.runtime = StationRuntime(self.core)

    async def __aenter__(self) -> Harness:
        await self.runtime.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runtime.stop()

    def act(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.runtime.act(getattr(self.core, name), *args, **kwargs)

    def sent(self, action: str) -> list[FrameRecord]:
        return [f for f in self.frames if f.direction == "sent" and f.message_type == "Call" and f.action == action]


async def until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
