"""Answers of the 2.0.1 station to the CSMS's operational actions, with the behaviour that follows.

Transactions (RequestStart/StopTransaction, GetTransactionStatus), availability (ChangeAvailability, Reset,
UnlockConnector), TriggerMessage, authorization data (ClearCache, SendLocalList, GetLocalListVersion),
reservations (ReserveNow, CancelReservation, ReservationStatusUpdate on expiry), DataTransfer,
CostUpdated, CustomerInformation and SetNetworkProfile.

Each handler, registered with ``@HANDLERS.call(action)``, gets a schema-valid CALL (the RPC layer refused invalid
ones) and answers it once through ``self.answer`` before starting the behaviour that follows, so the CSMS sees the
answer first.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from ocppemu.ocpp.framing import Call
from ocppemu.station.authorization import (
    AuthorizationDataError,
    IdToken,
    from_id_token,
    list_update_from_v2,
)
from ocppemu.station.core import iso
from ocppemu.station.state_tables import RESERVATION
from ocppemu.station.tags import AuthorizeTag
from ocppemu.station.v201.evse import Evse201, Reservation201
from ocppemu.station.v201.registry import HANDLERS

if TYPE_CHECKING:
    from ocppemu.station.v201.station import Station201

_VENDOR_ID = "ocppemu"


def _info(code: str, text: str) -> dict[str, str]:
    return {"reasonCode": code[:20], "additionalInfo": text[:512]}


# -- transactions -------------------------------------------------------------------------------------------


@HANDLERS.call("RequestStartTransaction")
def on_call_RequestStartTransaction(self: Station201, call: Call, now: float) -> None:
    p = call.payload
    try:
        token = from_id_token(p["idToken"])
    except AuthorizationDataError as exc:
        self.answer(call, {"status": "Rejected", "statusInfo": _info("InvalidIdToken", str(exc))}, now)
        return
    evse_id = p.get("evseId")
    if self.registration != "Accepted":
        self.answer(call, {"status": "Rejected", "statusInfo": _info("Pending", "boot not accepted")}, now)
        return
    if evse_id is not None:
        evse = self.evses.get(evse_id)
    else:
        evse = next((e for e in self.evses.values() if e.active_tx is None and e.operative and not e.plugged
                     and all(c.status == "Available" for c in e.connectors.values())), None)
    if evse is None or not (self.station_operative and evse.operative) or \
            any(c.faulted for c in evse.connectors.values()):
        self.answer(call, {"status": "Rejected", "statusInfo": _info("UnknownEvse" if evse is None else
                                                                        "Unavailable", "EVSE not usable")}, now)
        return
    tx = evse.active_tx
    if tx is not None and tx.id_token is not None:
        self.answer(call, {"status": "Rejected", "transactionId": tx.transaction_id,
                              "statusInfo": _info("TxInProgress", "a transaction is running")}, now)
        return
    if evse.reservation is not None and not evse.reservation.matches(token):
        self.answer(call, {"status": "Rejected", "statusInfo": _info("Reserved", "EVSE reserved")}, now)
        return
    profile = p.get("chargingProfile")
    if profile is not None and profile.get("chargingProfilePurpose") != "TxProfile":
        self.answer(call, {"status": "Rejected",
                              "statusInfo": _info("InvalidProfile", "only a TxProfile may come with it")}, now)
        return
    answer: dict[str, Any] = {"status": "Accepted"}
    if tx is not None:
        answer["transactionId"] = tx.transaction_id
    self.answer(call, answer, now)
    evse.pending_remote_start_id = p["remoteStartId"]
    if tx is not None:
        tx.remote_start_id = p["remoteStartId"]
    if self.config.simulation.auto_plug_in_on_remote_start and not evse.plugged and tx is None:
        evse.plugged_connector = min(evse.connectors)  # the driver waiting at the charger plugs in
    if self.dm.get_bool("AuthCtrlr", "AuthorizeRemoteStart", False) and self.auth_enabled():
        self.send_online("Authorize", {"idToken": p["idToken"]}, now, tag=AuthorizeTag(evse.id, token))
    else:
        self.authorized(evse, token, "RemoteStart", now)
    if profile is not None and evse.active_tx is not None:
        from ocppemu.station.v201 import smart

        smart.install(self, evse.id, profile, now, remote_start=True)


@HANDLERS.call("RequestStopTransaction")
def on_call_RequestStopTransaction(self: Station201, call: Call, now: float) -> None:
    tid = call.payload["transactionId"]
    evse = next((e for e in self.evses.values() if e.active_tx is not None
                 and e.active_tx.transaction_id == tid), None)
    if evse is None:
        self.answer(call, {"status": "Rejected"}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    self.end_transaction(evse, "RemoteStop", "Remote", now)


@HANDLERS.call("GetTransactionStatus")
def on_call_GetTransactionStatus(self: Station201, call: Call, now: float) -> None:
    tid = call.payload.get("transactionId")
    queued = [e for e in self.queue if e.action == "TransactionEvent" and (tid is None or e.local_tx == tid)]
    answer: dict[str, Any] = {"messagesInQueue": bool(queued)}
    if tid is not None:
        answer["ongoingIndicator"] = any(e.active_tx is not None and e.active_tx.transaction_id == tid
                                         for e in self.evses.values())
    self.answer(call, answer, now)


# -- availability -------------------------------------------------------------------------------------------


def _targets(self: Station201, evse_id: int | None) -> list[Evse201]:
    return list(self.evses.values()) if evse_id in (None, 0) else [e for e in self.evses.values() if e.id == evse_id]


@HANDLERS.call("ChangeAvailability")
def on_call_ChangeAvailability(self: Station201, call: Call, now: float) -> None:
    p = call.payload
    operative = p["operationalStatus"] == "Operative"
    where = p.get("evse")
    evse_id = None if where is None else where["id"]
    connector_id = None if where is None else where.get("connectorId")
    targets = _targets(self, evse_id)
    if not targets or (connector_id is not None and connector_id not in targets[0].connectors):
        self.answer(call, {"status": "Rejected", "statusInfo": _info("UnknownEvse", "no such EVSE")}, now)
        return
    busy = [e for e in targets if e.active_tx is not None]
    if busy and not operative:
        for e in busy:
            e.scheduled_inoperative = True
        if evse_id in (None, 0):
            self.pending_station_inoperative = True
        self.answer(call, {"status": "Scheduled"}, now)
        for e in targets:
            if e.active_tx is None:
                _set_operative(self, e, False, connector_id, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    if evse_id in (None, 0):
        self.station_operative = operative
        self.set_variable("ChargingStation", "AvailabilityState", "Available" if operative else "Unavailable", now)
    for e in targets:
        _set_operative(self, e, operative, connector_id if evse_id not in (None, 0) else None, now)


def _set_operative(self: Station201, evse: Evse201, operative: bool, connector_id: int | None, now: float) -> None:
    if connector_id is not None:
        evse.connectors[connector_id].operative = operative
    else:
        evse.operative = operative
        for c in evse.connectors.values():
            c.operative = True
    evse.scheduled_inoperative = None
    self.refresh_status(evse, now)


def on_transaction_ended(self: Station201, evse: Evse201, now: float) -> None:
    """Apply what waited for the end of a transaction: a scheduled Inoperative, a Reset OnIdle."""
    if evse.scheduled_inoperative:
        _set_operative(self, evse, False, None, now)
        if getattr(self, "pending_station_inoperative", False) and all(
                e.active_tx is None for e in self.evses.values()):
            self.station_operative = False
            self.pending_station_inoperative = False
            self.set_variable("ChargingStation", "AvailabilityState", "Unavailable", now)
    if self.pending_reset is not None:
        _, reset_evse = self.pending_reset
        idle = all(e.active_tx is None for e in _targets(self, reset_evse))
        if idle:
            self.pending_reset = None
            _do_reset(self, reset_evse, now)


@HANDLERS.call("Reset")
def on_call_Reset(self: Station201, call: Call, now: float) -> None:
    kind = call.payload["type"]
    evse_id = call.payload.get("evseId")
    if evse_id is not None and evse_id not in self.evses:
        self.answer(call, {"status": "Rejected", "statusInfo": _info("UnknownEvse", "no such EVSE")}, now)
        return
    targets = _targets(self, evse_id)
    busy = [e for e in targets if e.active_tx is not None]
    if kind == "OnIdle" and busy:
        self.pending_reset = (kind, evse_id)
        self.answer(call, {"status": "Scheduled"}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    for e in busy:
        self.end_transaction(e, "ResetCommand", "ImmediateReset", now)
    _do_reset(self, evse_id, now)


def _do_reset(self: Station201, evse_id: int | None, now: float) -> None:
    self.emit("reset", now, evse_id=evse_id)
    if evse_id not in (None, 0):
        evse = self.evses[evse_id]
        evse.plugged_connector = None
        evse.auth_token = None
        self.refresh_status(evse, now)
        return
    self.security_event("ResetOrReboot", now, "Reset requested by the CSMS")
    self.timers.set("reset", now + 0.5, partial(_reset_timer, self))
    self.reset_deadline = now + 10.0


@HANDLERS.call("UnlockConnector")
def on_call_UnlockConnector(self: Station201, call: Call, now: float) -> None:
    evse = self.evses.get(call.payload["evseId"])
    if evse is None or call.payload["connectorId"] not in evse.connectors:
        self.answer(call, {"status": "UnknownConnector"}, now)
        return
    tx = evse.active_tx
    if tx is not None and tx.id_token is not None:
        self.answer(call, {"status": "OngoingAuthorizedTransaction"}, now)
        return
    self.answer(call, {"status": "Unlocked"}, now)
    if evse.plugged:
        self.unplug(evse.id, now)


# -- TriggerMessage -----------------------------------------------------------------------------------------


@HANDLERS.call("TriggerMessage")
def on_call_TriggerMessage(self: Station201, call: Call, now: float) -> None:
    what = call.payload["requestedMessage"]
    where = call.payload.get("evse")
    evse_id = None if where is None else where["id"]
    if evse_id is not None and evse_id != 0 and evse_id not in self.evses:
        self.answer(call, {"status": "Rejected", "statusInfo": _info("UnknownEvse", "no such EVSE")}, now)
        return
    targets = _targets(self, evse_id)
    if what == "BootNotification" and self.registration == "Accepted":
        self.answer(call, {"status": "Rejected", "statusInfo": _info("Accepted", "already accepted")}, now)
        return
    if what == "TransactionEvent" and not any(e.active_tx is not None for e in targets):
        self.answer(call, {"status": "Rejected", "statusInfo": _info("NoTransaction", "none running")}, now)
        return
    supported = {"BootNotification", "LogStatusNotification", "FirmwareStatusNotification", "Heartbeat",
                 "MeterValues", "SignChargingStationCertificate", "StatusNotification", "TransactionEvent",
                 "PublishFirmwareStatusNotification", "SignV2GCertificate", "SignCombinedCertificate"}
    if what not in supported:
        self.answer(call, {"status": "NotImplemented"}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    from ocppemu.station.v201 import maintenance

    if what == "BootNotification":
        self.trigger_boot(now)
    elif what == "Heartbeat":
        self.send_online("Heartbeat", {}, now)
    elif what == "StatusNotification":
        connector_id = None if where is None else where.get("connectorId")
        for e in targets:
            for c in e.connectors.values():
                if connector_id is None or c.id == connector_id:
                    c.reported = None
                    self.report_status(e, c.id, now)
    elif what == "MeterValues":
        for e in targets:
            self.send_meter_values(e, "Trigger", now)
    elif what == "TransactionEvent":
        for e in targets:
            if e.active_tx is not None:
                values = self.sample(e, self.dm.get_list("SampledDataCtrlr", "TxUpdatedMeasurands"), "Trigger",
                                     now, e.active_tx)
                self.transaction_event(e, "Updated", "Trigger", now, meter_values=values)
    elif what == "FirmwareStatusNotification":
        maintenance.send_firmware_status(self, now)
    elif what == "LogStatusNotification":
        maintenance.send_log_status(self, now)
    elif what == "PublishFirmwareStatusNotification":
        maintenance.send_publish_status(self, now)
    else:
        kind = {"SignV2GCertificate": "V2GCertificate", "SignCombinedCertificate": "V2GCertificate"}.get(
            what, "ChargingStationCertificate")
        maintenance.send_sign_certificate(self, kind, now)


# -- authorization data -------------------------------------------------------------------------------------


@HANDLERS.call("ClearCache")
def on_call_ClearCache(self: Station201, call: Call, now: float) -> None:
    enabled = self.dm.get_bool("AuthCacheCtrlr", "Enabled", True)
    if enabled:
        self.auth_cache.clear()
    self.answer(call, {"status": "Accepted" if enabled else "Rejected"}, now)


@HANDLERS.call("GetLocalListVersion")
def on_call_GetLocalListVersion(self: Station201, call: Call, now: float) -> None:
    self.answer(call, {"versionNumber": self.local_list.reported_version()}, now)


@HANDLERS.call("SendLocalList")
def on_call_SendLocalList(self: Station201, call: Call, now: float) -> None:
    try:
        update = list_update_from_v2(call.payload)
    except (AuthorizationDataError, ValueError) as exc:
        self.answer(call, {"status": "Failed", "statusInfo": _info("InvalidValue", str(exc))}, now)
        return
    status = self.local_list.apply(update)
    answer: dict[str, Any] = {"status": "Failed" if status == "NotSupported" else status}
    if status == "NotSupported":
        answer["statusInfo"] = _info("Disabled", "LocalAuthListCtrlr.Enabled is false")
    self.answer(call, answer, now)
    self.set_variable("LocalAuthListCtrlr", "Entries", str(len(self.local_list)), now)


# -- reservations -------------------------------------------------------------------------------------------


@HANDLERS.call("ReserveNow")
def on_call_ReserveNow(self: Station201, call: Call, now: float) -> None:
    p = call.payload
    if not self.dm.get_bool("ReservationCtrlr", "Enabled", True):
        self.answer(call, {"status": "Rejected", "statusInfo": _info("Disabled", "reservations off")}, now)
        return
    try:
        token = from_id_token(p["idToken"])
        group = from_id_token(p["groupIdToken"]) if p.get("groupIdToken") is not None else None
    except AuthorizationDataError as exc:
        self.answer(call, {"status": "Rejected", "statusInfo": _info("InvalidIdToken", str(exc))}, now)
        return
    rid, evse_id = p["id"], p.get("evseId")
    existing = next((e for e in self.evses.values() if e.reservation is not None and e.reservation.id == rid),
                    None)
    if evse_id is not None:
        evse = self.evses.get(evse_id)
    else:
        evse = existing or next((e for e in self.evses.values() if e.reservation is None and e.active_tx is None
                                 and not e.plugged and e.operative and self.station_operative), None)
    if evse is None:
        self.answer(call, {"status": "Rejected" if evse_id is not None else "Occupied"}, now)
        return
    statuses = {c.status for c in evse.connectors.values()}
    if "Faulted" in statuses and len(statuses) == 1:
        status = "Faulted"
    elif not (self.station_operative and evse.operative):
        status = "Unavailable"
    elif evse.active_tx is not None or evse.plugged or (
            evse.reservation is not None and evse.reservation.id != rid):
        status = "Occupied"
    else:
        status = "Accepted"
    self.answer(call, {"status": status}, now)
    if status != "Accepted":
        return
    RESERVATION.fire("Reserved" if existing is not None else "None", "reserve", reservation=rid)
    if existing is not None and existing is not evse:
        existing.reservation = None
        self.refresh_status(existing, now)
    expiry = self.clock.local_of(p["expiryDateTime"])
    at = expiry if expiry is not None else now + 3600
    evse.reservation = Reservation201(rid, token, at, evse.id, group, p.get("connectorType"))
    self.timers.set(("reservation", rid), max(at, now + 0.001), partial(_expire_reservation, self, rid))
    self.emit("reservation", now, reservation_id=rid, status="Reserved", evse_id=evse.id)
    self.refresh_status(evse, now)


@HANDLERS.call("CancelReservation")
def on_call_CancelReservation(self: Station201, call: Call, now: float) -> None:
    rid = call.payload["reservationId"]
    evse = next((e for e in self.evses.values() if e.reservation is not None and e.reservation.id == rid), None)
    self.answer(call, {"status": "Accepted" if evse is not None else "Rejected"}, now)
    if evse is not None:
        RESERVATION.fire("Reserved", "cancel", reservation=rid)
        evse.reservation = None
        self.timers.cancel(("reservation", rid))
        self.emit("reservation", now, reservation_id=rid, status="Cancelled", evse_id=evse.id)
        self.refresh_status(evse, now)


def _expire_reservation(self: Station201, rid: int, now: float) -> None:
    evse = next((e for e in self.evses.values() if e.reservation is not None and e.reservation.id == rid), None)
    if evse is None:
        return
    RESERVATION.fire("Reserved", "expire", reservation=rid)
    evse.reservation = None
    self.send_online("ReservationStatusUpdate", {"reservationId": rid, "reservationUpdateStatus": "Expired"}, now)
    self.emit("reservation", now, reservation_id=rid, status="Expired", evse_id=evse.id)
    self.refresh_status(evse, now)


# -- messages, costs, customers, network ----------------------------------------------------------------------


@HANDLERS.call("DataTransfer")
def on_call_DataTransfer(self: Station201, call: Call, now: float) -> None:
    p = call.payload
    self.emit("data_transfer", now, vendor_id=p["vendorId"], message_id=p.get("messageId"))
    if p["vendorId"] != _VENDOR_ID:
        self.answer(call, {"status": "UnknownVendorId"}, now)
    elif p.get("messageId") not in (None, "echo"):
        self.answer(call, {"status": "UnknownMessageId"}, now)
    else:
        answer: dict[str, Any] = {"status": "Accepted"}
        if "data" in p:
            answer["data"] = p["data"]
        self.answer(call, answer, now)


@HANDLERS.call("CostUpdated")
def on_call_CostUpdated(self: Station201, call: Call, now: float) -> None:
    tid, cost = call.payload["transactionId"], call.payload["totalCost"]
    self.answer(call, {}, now)
    for e in self.evses.values():
        if e.tx is not None and e.tx.transaction_id == tid:
            e.tx.total_cost = float(cost)
    self.emit("cost", now, transaction_id=tid, total_cost=cost)


@HANDLERS.call("CustomerInformation")
def on_call_CustomerInformation(self: Station201, call: Call, now: float) -> None:
    p = call.payload
    token = p.get("idToken")
    ident = p.get("customerIdentifier") or (token or {}).get("idToken") or (
        (p.get("customerCertificate") or {}).get("serialNumber"))
    if not ident:
        self.answer(call, {"status": "Invalid", "statusInfo": _info("NoIdentifier",
                                                                       "no customer identifier given")}, now)
        return
    if not p["report"] and not p["clear"]:
        self.answer(call, {"status": "Rejected", "statusInfo": _info("NothingToDo", "report and clear false")},
                       now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    lines = _customer_lines(self, ident)
    if p["clear"]:
        _clear_customer(self, ident, token)
    if p["report"]:
        data = "\n".join(lines) if lines else f"no data held for {ident}"
        parts = [data[i:i + 512] for i in range(0, len(data), 512)] or [""]
        for seq, part in enumerate(parts):
            self.send_online("NotifyCustomerInformation", {
                "data": part, "tbc": seq < len(parts) - 1, "seqNo": seq, "generatedAt": iso(self.csms_now(now)),
                "requestId": p["requestId"]}, now)


def _customer_lines(self: Station201, ident: str) -> list[str]:
    lines = []
    for tok in self.auth_cache.tokens():
        if tok.id.casefold() == ident.casefold():
            lines.append(f"authorization cache: {tok.id} ({tok.type})")
    for tok, info in self.local_list:
        if tok.id.casefold() == ident.casefold():
            lines.append(f"local list: {tok.id} ({tok.type}) status {info.status}")
    for e in self.evses.values():
        if e.tx is not None and e.tx.id_token is not None and e.tx.id_token.id.casefold() == ident.casefold():
            lines.append(f"transaction {e.tx.transaction_id} on EVSE {e.id}")
    return lines


def _clear_customer(self: Station201, ident: str, token: dict[str, Any] | None) -> None:
    for tok in list(self.auth_cache.tokens()):
        if tok.id.casefold() == ident.casefold():
            self.auth_cache.remove(tok)
    if token is not None:
        self.auth_cache.remove(IdToken(token["idToken"], token["type"]))


@HANDLERS.call("SetNetworkProfile")
def on_call_SetNetworkProfile(self: Station201, call: Call, now: float) -> None:
    slot, data = call.payload["configurationSlot"], call.payload["connectionData"]
    current = self.dm.get_int("SecurityCtrlr", "SecurityProfile", 0) or 0
    if data["securityProfile"] < current:
        self.answer(call, {"status": "Rejected", "statusInfo": _info(
            "SecurityProfile", f"profile {data['securityProfile']} is below the current {current}")}, now)
        return
    if not 0 <= slot <= 8 or not str(data["ocppCsmsUrl"]).startswith(("ws://", "wss://")):
        self.answer(call, {"status": "Rejected", "statusInfo": _info("InvalidValue", "bad slot or URL")}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    self.network_profiles[slot] = dict(data)
    self.emit("network_profile", now, slot=slot, url=data["ocppCsmsUrl"])
    self.security_event("ReconfigurationOfSecurityParameters", now, f"network profile slot {slot} set")


# -- timers -------------------------------------------------------------------------------------------------


def _reset_timer(self: Station201, now: float) -> None:
    if len(self.queue) and now < self.reset_deadline and self.online:
        self.timers.set("reset", now + 0.5, partial(_reset_timer, self))  # let the Ended events go first
    else:
        self.prepare_reboot("RemoteReset", now)
