"""Shared helpers of the 2.0.1 station tests: configurations, a sans-I/O driver and a runtime harness."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from ocppemu.config.station import StationConfig
from ocppemu.ocpp.records import FrameRecord
from ocppemu.runtime.station_runtime import StationRuntime
from ocppemu.station.core import Sinks, StationEvent
from ocppemu.station.v201.station import Station201


def station_config(url: str = "ws://127.0.0.1:9/ocpp", station_id: str = "CS001", **overrides: Any) -> StationConfig:
    data: dict[str, Any] = {
        "station_id": station_id,
        "protocol_version": "2.0.1",
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


ANSWERS: dict[str, dict[str, Any]] = {
    "BootNotification": {"currentTime": "2030-01-01T00:00:00.000Z", "interval": 60, "status": "Accepted"},
    "Heartbeat": {"currentTime": "2030-01-01T00:00:00.000Z"},
    "Authorize": {"idTokenInfo": {"status": "Accepted"}},
    "TransactionEvent": {},
    "DataTransfer": {"status": "Accepted"},
    "NotifyEVChargingNeeds": {"status": "Accepted"},
    "NotifyEVChargingSchedule": {"status": "Accepted"},
    "SignCertificate": {"status": "Accepted"},
    "Get15118EVCertificate": {"status": "Accepted", "exiResponse": "AAAA"},
    "GetCertificateStatus": {"status": "Accepted"},
}


class Driver:
    """Drives a station core with plain calls: answers every CALL it sends like an agreeable CSMS."""

    def __init__(self, config: StationConfig | None = None, now: float = 1_000_000.0) -> None:
        self.events: list[StationEvent] = []
        self.core = Station201(config or station_config(), Sinks(event=self.events.append))
        self.now = now
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.results: list[dict[str, Any]] = []
        self.answers = dict(ANSWERS)
        self.answering = True

    def boot(self) -> None:
        self.core.connected(self.now)
        self.advance(0.0)
        assert self.core.online

    def pump(self) -> None:
        for _ in range(1000):
            out = self.core.take_outbox()
            if not out:
                return
            for text in out:
                frame = json.loads(text)
                if frame[0] == 2:
                    self.calls.append((frame[2], frame[3]))
                    if self.answering and self.core.is_connected:
                        self.core.receive(json.dumps([3, frame[1], self.answers.get(frame[2], {})]), self.now)
                elif frame[0] == 3:
                    self.results.append(frame[2])

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            self.pump()
            due = self.core.next_deadline()
            if due is None or due > end:
                break
            self.now = max(self.now, due)
            self.core.tick(self.now)
        self.now = end
        self.core.tick(self.now)
        self.pump()

    def csms_call(self, action: str, payload: dict[str, Any], message_id: str = "m1") -> dict[str, Any]:
        before = len(self.results)
        self.core.receive(json.dumps([2, message_id, action, payload]), self.now)
        out = self.core.take_outbox()
        answer: dict[str, Any] | None = None
        rest = []
        for text in out:
            frame = json.loads(text)
            if frame[1] == message_id and frame[0] in (3, 4):
                answer = frame[2] if frame[0] == 3 else {"error": frame[2], "description": frame[3]}
            else:
                rest.append(text)
        self.core.rpc.outbox[:0] = rest
        self.pump()
        assert answer is not None, f"no answer to {action} ({len(self.results) - before} results)"
        return answer

    def act(self, name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.core, name)(*args, self.now, **kwargs)
        self.pump()
        return result

    def sent(self, action: str) -> list[dict[str, Any]]:
        return [p for a, p in self.calls if a == action]


class Harness:
    """A 2.0.1 station running against a CSMS over a real WebSocket, with every frame it recorded."""

    def __init__(self, config: StationConfig) -> None:
        self.frames: list[FrameRecord] = []
        self.events: list[StationEvent] = []
        self.core = Station201(config, Sinks(frame=self.frames.append, event=self.events.append))
        self.runtime = StationRuntime(self.core)

    async def __aenter__(self) -> Harness:
        await self.runtime.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runtime.stop()

    def act(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.runtime.act(getattr(self.core, name), *args, **kwargs)


async def until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
