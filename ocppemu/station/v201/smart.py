"""Smart charging of a 2.0.1 station: the shared profile store wired to the EVSE meters and to the protocol.

SetChargingProfile, GetChargingProfiles (ReportChargingProfiles), ClearChargingProfile and GetCompositeSchedule;
the composite limit of each EVSE is applied to its meter now and again whenever a profile period changes it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from ocppemu.ocpp.framing import Call
from ocppemu.station import charging_limits
from ocppemu.station.charging_limits import LimitTarget
from ocppemu.station.v201.registry import HANDLERS

if TYPE_CHECKING:
    from ocppemu.station.v201.station import Station201


def _tx(self: Station201, evse_id: int) -> tuple[str | None, datetime | None]:
    evse = self.evses.get(evse_id)
    tx = None if evse is None else evse.active_tx
    if tx is None:
        return None, None
    return tx.transaction_id, self.clock.datetime(tx.started_at)


def install(self: Station201, evse_id: int, profile: dict[str, Any], now: float, *,
            remote_start: bool = False) -> tuple[str, str | None]:
    """Install a profile; returns (status, reason when rejected)."""
    if not self.dm.get_bool("SmartChargingCtrlr", "Enabled", True):
        return "Rejected", "SmartChargingCtrlr.Enabled is false"
    tid, _ = _tx(self, evse_id)
    result = self.profiles.install(evse_id, profile, now=self.clock.datetime(now),
                                   active_transaction_id=tid, remote_start=remote_start)
    self.set_variable("SmartChargingCtrlr", "Entries", str(len(self.profiles)), now,
                      variable_instance="ChargingProfiles")
    self.emit("charging_profile", now, evse_id=evse_id, id=profile.get("id"), status=result.status,
              reason=result.reason)
    apply_limits(self, now)
    return result.status, result.reason


@HANDLERS.call("SetChargingProfile")
def on_call_SetChargingProfile(self: Station201, call: Call, now: float) -> None:
    status, reason = install(self, call.payload["evseId"], call.payload["chargingProfile"], now)
    answer: dict[str, Any] = {"status": status}
    if reason:
        answer["statusInfo"] = {"reasonCode": "InvalidProfile", "additionalInfo": reason[:512]}
    self.answer(call, answer, now)


@HANDLERS.call("GetChargingProfiles")
def on_call_GetChargingProfiles(self: Station201, call: Call, now: float) -> None:
    p = call.payload
    crit = p["chargingProfile"]
    found = self.profiles.find(connector_id=p.get("evseId"), purpose=crit.get("chargingProfilePurpose"),
                               stack_level=crit.get("stackLevel"), profile_ids=crit.get("chargingProfileId"),
                               sources=crit.get("chargingLimitSource"))
    self.answer(call, {"status": "Accepted" if found else "NoProfiles"}, now)
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for ip in found:
        groups.setdefault((ip.connector_id, ip.source), []).append(dict(ip.profile.wire))
    keys = list(groups)
    for i, (evse_id, source) in enumerate(keys):
        self.send_online("ReportChargingProfiles", {
            "requestId": p["requestId"], "chargingLimitSource": source, "evseId": evse_id,
            "chargingProfile": groups[(evse_id, source)], "tbc": i < len(keys) - 1}, now)


@HANDLERS.call("ClearChargingProfile")
def on_call_ClearChargingProfile(self: Station201, call: Call, now: float) -> None:
    p = call.payload
    crit = p.get("chargingProfileCriteria") or {}
    if p.get("chargingProfileId") is None and not crit:
        cleared = self.profiles.clear()
    else:
        cleared = self.profiles.clear(profile_id=p.get("chargingProfileId"), connector_id=crit.get("evseId"),
                                      purpose=crit.get("chargingProfilePurpose"), stack_level=crit.get("stackLevel"))
    self.answer(call, {"status": "Accepted" if cleared else "Unknown"}, now)
    self.set_variable("SmartChargingCtrlr", "Entries", str(len(self.profiles)), now,
                      variable_instance="ChargingProfiles")
    apply_limits(self, now)


@HANDLERS.call("GetCompositeSchedule")
def on_call_GetCompositeSchedule(self: Station201, call: Call, now: float) -> None:
    p = call.payload
    evse_id = p["evseId"]
    if evse_id != 0 and evse_id not in self.evses:
        self.answer(call, {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}, now)
        return
    unit: Literal["W", "A"] = "A" if p.get("chargingRateUnit") == "A" else "W"
    evse = self.evses.get(evse_id)
    if evse is not None:
        max_w, phases = evse.config.max_power, evse.config.phases if evse.config.current_type == "AC" else 1
    else:
        max_w, phases = sum(e.config.max_power for e in self.evses.values()), 3
    tid, tstart = _tx(self, evse_id)
    # The shared composite starts on a whole second; round up so a profile installed this second counts.
    start = datetime.fromtimestamp(math.ceil(self.csms_now(now)), UTC)
    sched = self.profiles.composite_schedule(evse_id, start, p["duration"], unit, max_limit_w=max_w,
                                             active_transaction_id=tid, transaction_start=tstart, phases=phases)
    self.answer(call, {"status": "Accepted", "schedule": {
        "evseId": evse_id, "duration": sched["duration"], "scheduleStart": sched["startSchedule"],
        "chargingRateUnit": sched["chargingRateUnit"], "chargingSchedulePeriod": sched["chargingSchedulePeriod"]}},
        now)


def _targets(self: Station201) -> list[LimitTarget]:
    return [(e.id, e.meter, e.config, *_tx(self, e.id)) for e in self.evses.values()]


def apply_limits(self: Station201, now: float) -> None:
    """Set each EVSE meter's limit from the composite now; arm a timer for the next change."""
    charging_limits.apply_limits(self.profiles, _targets(self), now, self.clock, self.timers,
                                 partial(_limits_timer, self))


def _limits_timer(self: Station201, now: float) -> None:
    charging_limits.on_limits_timer(self.profiles, _targets(self), now, self.clock, self.timers,
                                    partial(_limits_timer, self))
