"""OCPP 2.1 battery swapping: RequestBatterySwap from the CSMS and the BatterySwap messages of a swap.

Each EVSE holds one swappable battery (serial number, state of charge and health). A swap sends BatterySwap
``BatteryOut`` with the battery taken out, then, :data:`SWAP_SECONDS` later, ``BatteryIn`` with the charged battery
put in. RequestBatterySwap is accepted when the station is operative and online, and starts a swap on the first
operative EVSE after :data:`SWAP_SECONDS` (the driver's time to drive in); the same ``requestId`` is used in both
messages. A swap the user starts (:meth:`~ocppemu.station.v21.station.Station21.battery_swap`) has ``requestId`` 0
unless given.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from ocppemu.ocpp.framing import Call
from ocppemu.station.core import ActionResult
from ocppemu.station.v21.registry import HANDLERS

if TYPE_CHECKING:
    from ocppemu.station.v21.station import Station21

JSON = dict[str, Any]
SWAP_SECONDS = 2.0


@dataclass(slots=True)
class Battery:
    serial_number: str
    soc: float
    soh: float

    def wire(self, evse_id: int) -> JSON:
        return {"evseId": evse_id, "serialNumber": self.serial_number[:50], "soC": round(self.soc, 1),
                "soH": round(self.soh, 1)}


def start_swap(self: Station21, evse_id: int, id_token: JSON, request_id: int, now: float) -> ActionResult:
    """Take the battery out of ``evse_id`` now (BatteryOut); the charged one goes in after SWAP_SECONDS."""
    battery = self.batteries.get(evse_id)
    if battery is None:
        return ActionResult.fail(f"no EVSE {evse_id}")
    if not self.send_online("BatterySwap", {"eventType": "BatteryOut", "idToken": id_token, "requestId": request_id,
                                            "batteryData": [battery.wire(evse_id)]}, now):
        return ActionResult.fail("the station is not online")
    self.swap_count += 1
    self.batteries[evse_id] = Battery(f"{self.station_id}-B{evse_id}-{self.swap_count}", 95.0, 98.0)
    self.timers.set(("battery_in", evse_id), now + SWAP_SECONDS, partial(_battery_in, self, evse_id))
    self.pending_swaps[evse_id] = (id_token, request_id)
    self.emit("battery_swap", now, evse_id=evse_id, event="BatteryOut", request_id=request_id)
    return ActionResult(True)


@HANDLERS.call("RequestBatterySwap")
def on_call_RequestBatterySwap(self: Station21, call: Call, now: float) -> None:
    evse = next((e for e in self.evses.values() if e.operative and e.id not in self.pending_swaps), None)
    if not self.station_operative or evse is None:
        self.answer(call, {"status": "Rejected", "statusInfo": {"reasonCode": "Unavailable",
                                                                   "additionalInfo": "no EVSE free to swap"}}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    self.pending_swaps[evse.id] = (call.payload["idToken"], call.payload["requestId"])
    self.timers.set(("battery_out", evse.id), now + SWAP_SECONDS, partial(_battery_out, self, evse.id))


def _battery_out(self: Station21, evse_id: int, now: float) -> None:
    pending = self.pending_swaps.pop(evse_id, None)
    if pending is not None:
        start_swap(self, evse_id, pending[0], pending[1], now)


def _battery_in(self: Station21, evse_id: int, now: float) -> None:
    pending = self.pending_swaps.pop(evse_id, None)
    if pending is None:
        return
    token, request_id = pending
    battery = self.batteries[evse_id]
    self.send_online("BatterySwap", {"eventType": "BatteryIn", "idToken": token, "requestId": request_id,
                                     "batteryData": [battery.wire(evse_id)]}, now)
    self.emit("battery_swap", now, evse_id=evse_id, event="BatteryIn", request_id=request_id)
