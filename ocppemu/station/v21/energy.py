"""OCPP 2.1 energy management of a station: allowed energy transfer modes, dynamic charging profiles and priority
charging.

* NotifyAllowedEnergyTransfer: the modes the CSMS allows for a transaction are kept per EVSE and used by the
  next NotifyEVChargingNeeds there (a requested mode outside the list is replaced by the first allowed one), in
  this transaction and the next.
* Dynamic charging profiles (``chargingProfileKind`` ``Dynamic``): UpdateDynamicSchedule writes the update into
  the first period of the profile's schedule and re-applies the limits; a profile with ``dynUpdateInterval`` makes
  the station pull updates (PullDynamicScheduleUpdate) at that interval while the profile is installed.
* UsePriorityCharging: needs a running transaction (else ``Rejected``) and a ``PriorityCharging`` profile for its
  EVSE (else ``NoProfile``); when accepted the station confirms with NotifyPriorityCharging.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from ocppemu.ocpp.framing import Call
from ocppemu.ocpp.rpc import PendingCall
from ocppemu.station.tags import DynamicPullTag
from ocppemu.station.v21.registry import HANDLERS
from ocppemu.station.v201 import smart

if TYPE_CHECKING:
    from ocppemu.station.v21.station import Station21
    from ocppemu.station.v201.evse import Evse201

JSON = dict[str, Any]
_UPDATE_KEYS = ("limit", "limit_L2", "limit_L3", "dischargeLimit", "dischargeLimit_L2", "dischargeLimit_L3",
                "setpoint", "setpoint_L2", "setpoint_L3", "setpointReactive", "setpointReactive_L2",
                "setpointReactive_L3")


def _info(code: str, text: str) -> JSON:
    return {"reasonCode": code[:20], "additionalInfo": text[:1024]}


def evse_of_transaction(self: Station21, transaction_id: str) -> Evse201 | None:
    return next((e for e in self.evses.values() if e.active_tx is not None
                 and e.active_tx.transaction_id == transaction_id), None)


# -- allowed energy transfer -------------------------------------------------------------------------------


def choose_transfer(self: Station21, evse_id: int, requested: str) -> str:
    """The mode to request on ``evse_id``: ``requested`` if allowed (or nothing was said), else the first allowed."""
    allowed = self.allowed_transfer.get(evse_id)
    if not allowed or requested in allowed:
        return requested
    return allowed[0]


@HANDLERS.call("NotifyAllowedEnergyTransfer")
def on_call_NotifyAllowedEnergyTransfer(self: Station21, call: Call, now: float) -> None:
    evse = evse_of_transaction(self, call.payload["transactionId"])
    if evse is None:
        self.answer(call, {"status": "Rejected", "statusInfo": _info("TxNotFound", "no such transaction")}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    self.allowed_transfer[evse.id] = list(call.payload["allowedEnergyTransfer"])
    self.emit("allowed_energy_transfer", now, evse_id=evse.id, modes=self.allowed_transfer[evse.id])


# -- dynamic profiles --------------------------------------------------------------------------------------


def _dynamic(self: Station21, profile_id: int) -> tuple[int, JSON] | None:
    for ip in self.profiles.find(profile_ids=[profile_id]):
        if ip.profile.kind == "Dynamic":
            return ip.connector_id, dict(ip.profile.wire)
    return None


def apply_update(self: Station21, profile_id: int, update: JSON, now: float) -> tuple[str, str | None]:
    """Write ``update`` (a ChargingScheduleUpdateType) into Dynamic profile ``profile_id``; (status, reason)."""
    found = _dynamic(self, profile_id)
    if found is None:
        return "Rejected", f"no dynamic charging profile {profile_id}"
    evse_id, wire = found
    schedules = [dict(s) for s in wire.get("chargingSchedule") or []]
    if not schedules or not schedules[0].get("chargingSchedulePeriod"):
        return "Rejected", "the profile has no schedule period"
    periods = [dict(p) for p in schedules[0]["chargingSchedulePeriod"]]
    periods[0].update({k: update[k] for k in _UPDATE_KEYS if k in update})
    schedules[0]["chargingSchedulePeriod"] = periods
    wire["chargingSchedule"] = schedules
    status, reason = smart.install(self, evse_id, wire, now)
    if status == "Accepted":
        self.emit("dynamic_schedule", now, profile_id=profile_id, update=update)
    return status, reason


@HANDLERS.call("UpdateDynamicSchedule")
def on_call_UpdateDynamicSchedule(self: Station21, call: Call, now: float) -> None:
    status, reason = apply_update(self, call.payload["chargingProfileId"], call.payload["scheduleUpdate"], now)
    answer: JSON = {"status": status}
    if reason:
        answer["statusInfo"] = _info("InvalidProfile", reason)
    self.answer(call, answer, now)


@HANDLERS.call("SetChargingProfile", override=True)
def on_call_SetChargingProfile(self: Station21, call: Call, now: float) -> None:
    """As in 2.0.1, then start pulling updates for a Dynamic profile with ``dynUpdateInterval``."""
    smart.on_call_SetChargingProfile(self, call, now)
    schedule_pulls(self, now)


def schedule_pulls(self: Station21, now: float) -> None:
    for ip in self.profiles.profiles:
        interval = ip.profile.wire.get("dynUpdateInterval")
        key = ("dyn_pull", ip.profile.id)
        if ip.profile.kind == "Dynamic" and isinstance(interval, int) and interval > 0 and not self.timers.is_set(key):
            self.timers.set(key, now + interval, partial(_pull_timer, self, ip.profile.id))


def pull_update(self: Station21, profile_id: int, now: float) -> bool:
    """Send PullDynamicScheduleUpdate for ``profile_id``; returns whether it was sent."""
    return self.send_online("PullDynamicScheduleUpdate", {"chargingProfileId": profile_id}, now,
                            tag=DynamicPullTag(profile_id))


@HANDLERS.result("PullDynamicScheduleUpdate")
def result_PullDynamicScheduleUpdate(self: Station21, pending: PendingCall, payload: JSON, now: float) -> None:
    update = payload.get("scheduleUpdate")
    if payload.get("status") == "Accepted" and isinstance(update, dict):
        apply_update(self, int(pending.payload["chargingProfileId"]), update, now)


# -- priority charging -------------------------------------------------------------------------------------


@HANDLERS.call("UsePriorityCharging")
def on_call_UsePriorityCharging(self: Station21, call: Call, now: float) -> None:
    tid, activate = call.payload["transactionId"], call.payload["activate"]
    evse = evse_of_transaction(self, tid)
    if evse is None:
        self.answer(call, {"status": "Rejected", "statusInfo": _info("TxNotFound", "no such transaction")}, now)
        return
    if activate and not self.profiles.find(connector_id=evse.id, purpose="PriorityCharging"):
        self.answer(call, {"status": "NoProfile"}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    self.priority_charging[evse.id] = activate
    self.send_online("NotifyPriorityCharging", {"transactionId": tid, "activated": activate}, now)
    self.emit("priority_charging", now, evse_id=evse.id, transaction_id=tid, activated=activate)


def _pull_timer(self: Station21, profile_id: int, now: float) -> None:
    if _dynamic(self, profile_id) is not None:
        pull_update(self, profile_id, now)
        interval = next((ip.profile.wire.get("dynUpdateInterval") for ip in self.profiles.find(
            profile_ids=[profile_id])), None)
        if isinstance(interval, int) and interval > 0:
            self.timers.set(("dyn_pull", profile_id), now + interval, partial(_pull_timer, self, profile_id))
