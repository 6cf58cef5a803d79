"""A sans-I/O CSMS for station cores in virtual time: every CALL the station sends is answered at once.

The CSMS's clock runs ``offset`` seconds ahead of (or behind, when negative) the station's runtime time; its
``currentTime`` answers set the station clock. Time only moves when a test calls :meth:`VirtualCsms.advance`, which
fires the station's timers in order, so days pass in milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ocppemu.config.station import StationConfig
from ocppemu.ocpp.versions import Version
from ocppemu.station.clock import iso
from ocppemu.station.core import Sinks, StationCore, StationEvent
from ocppemu.station.factory import build_core

#: 2030-01-02T11:30:00Z
T0 = 1893583800.0


def config(version: str, station_id: str = "CS-VT", **overrides: Any) -> StationConfig:
    data: dict[str, Any] = {
        "station_id": station_id, "protocol_version": version, "csms_url": "ws://127.0.0.1:9/ocpp",
        "meter_values_config": {"interval": 0, "aligned_data_interval": 0},
        "simulation": {"call_timeout": 30.0, "energy_delivery_rate": 11000, "heartbeat_interval": 0},
    }
    data.update(overrides)
    return StationConfig.model_validate(data)


class VirtualCsms:
    """Drives one station core; ``answers`` maps an action to its answer (a dict or a function of the payload)."""

    def __init__(self, cfg: StationConfig, *, offset: float = 0.0, now: float = T0) -> None:
        self.events: list[StationEvent] = []
        self.core: StationCore = build_core(cfg, Sinks(event=self.events.append))
        self.version = cfg.protocol_version
        self.now = now
        self.offset = offset
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answers_to_csms_calls: dict[str, list[Any]] = {}
        self.answering = True
        self._tx = 0
        self.answers: dict[str, Any] = {
            "BootNotification": lambda p: {"currentTime": self.csms_iso(), "interval": 0, "status": "Accepted"},
            "Heartbeat": lambda p: {"currentTime": self.csms_iso()},
            "StartTransaction": self._start_tx,
            "StopTransaction": {},
            "Authorize": ({"idTagInfo": {"status": "Accepted"}} if self.version is Version.V16
                          else {"idTokenInfo": {"status": "Accepted"}}),
        }

    # -- the CSMS's clock --------------------------------------------------------------------------------------

    def csms_time(self, after: float = 0.0) -> float:
        return self.now + self.offset + after

    def csms_iso(self, after: float = 0.0) -> str:
        return iso(self.csms_time(after))

    # -- driving -----------------------------------------------------------------------------------------------

    def _start_tx(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._tx += 1
        return {"transactionId": self._tx, "idTagInfo": {"status": "Accepted"}}

    def boot(self) -> None:
        self.core.connected(self.now)
        self.advance(0.0)
        assert self.core.online, self.core.registration

    def pump(self) -> None:
        for _ in range(10_000):
            out = self.core.take_outbox()
            if not out:
                return
            for text in out:
                frame = json.loads(text)
                if frame[0] == 2:
                    self.calls.append((frame[2], frame[3]))
                    answer = self.answers.get(frame[2], {})
                    if callable(answer):
                        answer = answer(frame[3])
                    if self.answering and self.core.is_connected:
                        self.core.receive(json.dumps([3, frame[1], answer]), self.now)
                elif frame[0] in (3, 4):
                    self.answers_to_csms_calls.setdefault(frame[1], []).append(frame)

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

    def csms_call(self, action: str, payload: dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
        """Send a CALL; returns its one answer (a CallError as ``{"error": code, ...}``)."""
        mid = message_id or f"csms-{len(self.answers_to_csms_calls) + 1}"
        self.core.receive(json.dumps([2, mid, action, payload]), self.now)
        self.pump()
        got = self.answers_to_csms_calls.get(mid, [])
        assert len(got) == 1, f"{action} got {len(got)} answers: {got}"
        frame = got[0]
        return frame[2] if frame[0] == 3 else {"error": frame[2], "description": frame[3]}

    def act(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = fn(*args, self.now, **kwargs)
        self.pump()
        return result

    def go_offline(self) -> None:
        self.core.disconnected(self.now, "test")
        self.pump()

    def sent(self, action: str) -> list[dict[str, Any]]:
        return [p for a, p in self.calls if a == action]
