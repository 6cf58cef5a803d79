"""Answers of the OCPP 1.6 charge point to every CSMS-initiated action, with the behaviour that follows.

Each handler, registered with ``@HANDLERS.call(action)``, receives a schema-valid CALL (the RPC layer already
refused invalid ones with the spec's CallError) and answers it once through ``self.answer``. Behaviour that
follows an answer (a reboot, a triggered message, a firmware status sequence) is started after the answer, so the
CSMS sees the answer first.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from ocppemu.ocpp.framing import Call
from ocppemu.station.authorization import list_update_from_v16
from ocppemu.station.state_tables import DIAGNOSTICS_16, FIRMWARE_16, LOG, RESERVATION
from ocppemu.station.v16.registry import HANDLERS

if TYPE_CHECKING:
    from ocppemu.station.v16.station import Station16

_TRIGGERABLE = ("BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification", "Heartbeat",
                "MeterValues", "StatusNotification")
_FIRMWARE_STEPS = ("Downloading", "Downloaded", "Installing", "Installed")
_SIGNED_FIRMWARE_STEPS = ("Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed")


# -- Core ---------------------------------------------------------------------------------------------------------


@HANDLERS.call("RemoteStartTransaction")
def on_call_RemoteStartTransaction(self: Station16, call: Call, now: float) -> None:
    p = call.payload
    id_tag = p["idTag"]
    cid = p.get("connectorId")
    if cid is not None:
        conn = self.connector(cid)
    else:
        conn = next((c for c in self.connectors.values() if c.id > 0 and c.tx is None and c.operative
                     and c.status in ("Available", "Preparing")), None)
    if conn is None or conn.tx is not None or not conn.operative or conn.status in ("Faulted", "Unavailable"):
        self.answer(call, {"status": "Rejected"}, now)
        return
    if conn.reservation is not None and conn.reservation.get("idTag", "").casefold() != id_tag.casefold():
        self.answer(call, {"status": "Rejected"}, now)
        return
    profile = p.get("chargingProfile")
    if profile is not None and profile.get("chargingProfilePurpose") != "TxProfile":
        self.answer(call, {"status": "Rejected"}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    if profile is not None:
        self.smart.install(conn.id, profile, now, for_remote_start=True)
    if self.config.simulation.auto_plug_in_on_remote_start and not conn.plugged:
        conn.plugged = True
    if self.cfg.get_bool("AuthorizeRemoteTxRequests", False):
        self.present_id_tag(conn.id, id_tag, now)
    else:
        self._authorized(conn, id_tag, now)


@HANDLERS.call("RemoteStopTransaction")
def on_call_RemoteStopTransaction(self: Station16, call: Call, now: float) -> None:
    tid = call.payload["transactionId"]
    conn = next((c for c in self.connectors.values() if c.tx is not None and not c.tx.stopping
                 and c.tx.transaction_id == tid), None)
    if conn is None:
        self.answer(call, {"status": "Rejected"}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    self._stop_transaction(conn, "Remote", now)


@HANDLERS.call("Reset")
def on_call_Reset(self: Station16, call: Call, now: float) -> None:
    kind = call.payload["type"]
    self.answer(call, {"status": "Accepted"}, now)
    for conn in self.connectors.values():
        if conn.tx is not None and not conn.tx.stopping:
            self._stop_transaction(conn, "HardReset" if kind == "Hard" else "SoftReset", now)
    self.emit("reset", now, type=kind)
    self.timers.set("reset", now + 0.5, partial(_reset_timer, self))
    self.reset_deadline = now + 10.0


@HANDLERS.call("UnlockConnector")
def on_call_UnlockConnector(self: Station16, call: Call, now: float) -> None:
    conn = self.connector(call.payload["connectorId"])
    if conn is None:
        self.answer(call, {"status": "NotSupported"}, now)
        return
    self.answer(call, {"status": "Unlocked"}, now)
    if conn.tx is not None and not conn.tx.stopping:
        self._stop_transaction(conn, "UnlockCommand", now)
    if conn.plugged:
        self.unplug(conn.id, now)

@HANDLERS.call("ChangeAvailability")
def on_call_ChangeAvailability(self: Station16, call: Call, now: float) -> None:
    cid, kind = call.payload["connectorId"], call.payload["type"]
    if cid != 0 and cid not in self.connectors:
        self.answer(call, {"status": "Rejected"}, now)
        return
    targets = [c for c in self.connectors.values() if cid == 0 or c.id == cid]
    inoperative = kind == "Inoperative"
    # A transaction, or a driver preparing one (Preparing -> Unavailable is not in the 1.6 table), defers the
    # change until the connector is idle; it is reported then.
    deferred = [c for c in targets if (c.tx is not None and not c.tx.stopping)
                or (inoperative and c.status == "Preparing")]
    for conn in deferred:
        conn.scheduled_inoperative = inoperative
    self.answer(call, {"status": "Scheduled" if deferred else "Accepted"}, now)
    for conn in targets:
        if conn in deferred:
            continue
        conn.operative, conn.scheduled_inoperative = not inoperative, None
        if conn.status != "Faulted":
            self._settle(conn, self._idle_status(conn), now)

@HANDLERS.call("GetConfiguration")
def on_call_GetConfiguration(self: Station16, call: Call, now: float) -> None:
    keys = call.payload.get("key")
    self.answer(call, dict(self.cfg.get_configuration(keys if keys else None)), now)

@HANDLERS.call("ChangeConfiguration")
def on_call_ChangeConfiguration(self: Station16, call: Call, now: float) -> None:
    key = call.payload["key"]
    outcome = self.cfg.try_change(key, call.payload["value"])
    if outcome.status == "Accepted":
        self.configuration_changed(key, now)
    if outcome.reason:
        self.emit("configuration", now, key=call.payload["key"], status=outcome.status, reason=outcome.reason)
    self.answer(call, {"status": outcome.status}, now)

@HANDLERS.call("ClearCache")
def on_call_ClearCache(self: Station16, call: Call, now: float) -> None:
    enabled = self.cfg.get_bool("AuthorizationCacheEnabled", True)
    self.auth_cache.clear()
    self.answer(call, {"status": "Accepted" if enabled else "Rejected"}, now)

@HANDLERS.call("DataTransfer")
def on_call_DataTransfer(self: Station16, call: Call, now: float) -> None:
    self.emit("data_transfer", now, vendor_id=call.payload["vendorId"], message_id=call.payload.get("messageId"))
    self.answer(call, {"status": "UnknownVendorId"}, now)

@HANDLERS.call("TriggerMessage")
def on_call_TriggerMessage(self: Station16, call: Call, now: float) -> None:
    _trigger(self, call, call.payload["requestedMessage"], call.payload.get("connectorId"), now, extended=False)

@HANDLERS.call("ExtendedTriggerMessage")
def on_call_ExtendedTriggerMessage(self: Station16, call: Call, now: float) -> None:
    _trigger(self, call, call.payload["requestedMessage"], call.payload.get("connectorId"), now, extended=True)

def _trigger(self: Station16, call: Call, what: str, cid: int | None, now: float, *, extended: bool) -> None:
    if cid is not None and cid not in self.connectors:
        self.answer(call, {"status": "Rejected"}, now)
        return
    supported = _TRIGGERABLE + (("LogStatusNotification", "SignChargePointCertificate") if extended else ())
    if extended:
        supported = tuple(s for s in supported if s not in ("DiagnosticsStatusNotification",))
    if what not in supported:
        self.answer(call, {"status": "NotImplemented"}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    if what == "BootNotification":
        self.send_call("BootNotification", self.boot_payload(), now)
    elif what == "Heartbeat":
        self.send_call("Heartbeat", {}, now)
    elif what == "StatusNotification":
        for conn in self.connectors.values():
            if cid is None or conn.id == cid:
                conn.reported = None
                self._notify_status(conn, now)
    elif what == "MeterValues":
        measurands = self.cfg.get_list("MeterValuesSampledData", [])
        for conn in self.connectors.values():
            if conn.id > 0 and (cid is None or cid == 0 or conn.id == cid):
                self._meter_values(conn, measurands, "Trigger", now)
    elif what == "FirmwareStatusNotification":
        self.send_call("FirmwareStatusNotification", {"status": self.firmware_status}, now)
    elif what == "DiagnosticsStatusNotification":
        self.send_call("DiagnosticsStatusNotification", {"status": self.diagnostics_status}, now)
    elif what == "LogStatusNotification":
        self.send_call("LogStatusNotification", {"status": self.log_status}, now)
    elif what == "SignChargePointCertificate":
        _send_sign_certificate(self, now)

# -- Reservation ---------------------------------------------------------------------------------------------

@HANDLERS.call("ReserveNow")
def on_call_ReserveNow(self: Station16, call: Call, now: float) -> None:
    p = call.payload
    cid = p["connectorId"]
    if "Reservation" not in self.config.supported_profiles:
        self.answer(call, {"status": "Rejected"}, now)
        return
    if cid == 0 and not self.cfg.get_bool("ReserveConnectorZeroSupported", False):
        self.answer(call, {"status": "Rejected"}, now)
        return
    conn = self.connector(cid) if cid > 0 else next(
        (c for c in self.connectors.values() if c.id > 0 and c.status == "Available"), None)
    if conn is None:
        self.answer(call, {"status": "Rejected"}, now)
        return
    existing = conn.reservation
    if conn.status == "Faulted":
        status = "Faulted"
    elif conn.status == "Unavailable":
        status = "Unavailable"
    elif (existing is not None and existing.get("reservationId") != p["reservationId"]) \
            or conn.status not in ("Available", "Reserved"):
        status = "Occupied"
    else:
        status = "Accepted"
    self.answer(call, {"status": status}, now)
    if status != "Accepted":
        return
    RESERVATION.fire("Reserved" if conn.reservation is not None else "None", "reserve",
                     reservation=p["reservationId"])
    conn.reservation = dict(p)
    expiry = self.clock.local_of(p["expiryDate"])
    self.timers.set(("reservation", conn.id), max(expiry, now + 0.001) if expiry is not None else now + 3600,
                    partial(self._reservation_expired, conn))
    self._set_status(conn, "Reserved", now)

@HANDLERS.call("CancelReservation")
def on_call_CancelReservation(self: Station16, call: Call, now: float) -> None:
    rid = call.payload["reservationId"]
    conn = next((c for c in self.connectors.values() if c.reservation is not None
                 and c.reservation.get("reservationId") == rid), None)
    self.answer(call, {"status": "Accepted" if conn else "Rejected"}, now)
    if conn is not None:
        RESERVATION.fire("Reserved", "cancel", reservation=rid)
        conn.reservation = None
        self.timers.cancel(("reservation", conn.id))
        self._settle(conn, self._idle_status(conn), now)

# -- Local authorization list ---------------------------------------------------------------------------------

@HANDLERS.call("GetLocalListVersion")
def on_call_GetLocalListVersion(self: Station16, call: Call, now: float) -> None:
    enabled = "LocalAuthListManagement" in self.config.supported_profiles
    self.answer(call, {"listVersion": self.local_list.reported_version() if enabled else -1}, now)

@HANDLERS.call("SendLocalList")
def on_call_SendLocalList(self: Station16, call: Call, now: float) -> None:
    if "LocalAuthListManagement" not in self.config.supported_profiles:
        self.answer(call, {"status": "NotSupported"}, now)
        return
    try:
        update = list_update_from_v16(call.payload)
    except ValueError:
        self.answer(call, {"status": "Failed"}, now)
        return
    self.answer(call, {"status": self.local_list.apply(update)}, now)

# -- Smart charging -------------------------------------------------------------------------------------------

@HANDLERS.call("SetChargingProfile")
def on_call_SetChargingProfile(self: Station16, call: Call, now: float) -> None:
    status = self.smart.install(call.payload["connectorId"], call.payload["csChargingProfiles"], now)
    self.answer(call, {"status": status}, now)

@HANDLERS.call("ClearChargingProfile")
def on_call_ClearChargingProfile(self: Station16, call: Call, now: float) -> None:
    self.answer(call, {"status": self.smart.clear(call.payload, now)}, now)

@HANDLERS.call("GetCompositeSchedule")
def on_call_GetCompositeSchedule(self: Station16, call: Call, now: float) -> None:
    self.answer(call, self.smart.composite(call.payload, now), now)

# -- Firmware management and diagnostics ---------------------------------------------------------------------

@HANDLERS.call("UpdateFirmware")
def on_call_UpdateFirmware(self: Station16, call: Call, now: float) -> None:
    self.answer(call, {}, now)
    start = self.clock.local_of(call.payload["retrieveDate"])
    at = max(now, start if start is not None else now)
    steps = [("FirmwareStatusNotification", {"status": s}) for s in _FIRMWARE_STEPS]
    _start_sequence(self, "firmware", steps, at, reboot_after=True)

@HANDLERS.call("SignedUpdateFirmware")
def on_call_SignedUpdateFirmware(self: Station16, call: Call, now: float) -> None:
    self.answer(call, {"status": "Accepted"}, now)
    rid = call.payload["requestId"]
    steps = [("SignedFirmwareStatusNotification", {"status": s, "requestId": rid})
             for s in _SIGNED_FIRMWARE_STEPS]
    _start_sequence(self, "firmware", steps, now, reboot_after=True)

@HANDLERS.call("GetDiagnostics")
def on_call_GetDiagnostics(self: Station16, call: Call, now: float) -> None:
    name = f"diagnostics-{self.station_id}-{self.clock.datetime(now):%Y%m%dT%H%M%S}.log"
    self.answer(call, {"fileName": name}, now)
    steps = [("DiagnosticsStatusNotification", {"status": s}) for s in ("Uploading", "Uploaded")]
    _start_sequence(self, "diagnostics", steps, now)

@HANDLERS.call("GetLog")
def on_call_GetLog(self: Station16, call: Call, now: float) -> None:
    rid = call.payload["requestId"]
    name = f"{call.payload['logType'].lower()}-{self.station_id}.log"
    self.answer(call, {"status": "Accepted", "filename": name}, now)
    steps = [("LogStatusNotification", {"status": s, "requestId": rid}) for s in ("Uploading", "Uploaded")]
    _start_sequence(self, "log", steps, now)

def _start_sequence(self: Station16, name: str, steps: list[tuple[str, dict[str, Any]]], at: float, *,
                    reboot_after: bool = False) -> None:
    if reboot_after:
        steps = [*steps, ("__reboot__", {})]
    self.sequences[name] = steps
    self.timers.set(("sequence", name), at, partial(_sequence_step, self, name))

def _reset_timer(self: Station16, now: float) -> None:
    if len(self.queue) and now < self.reset_deadline and self.online:
        self.timers.set("reset", now + 0.5, partial(_reset_timer, self))  # let the StopTransactions go first
    else:
        self.prepare_reboot("RemoteReset", now)


def _sequence_step(self: Station16, name: str, now: float) -> None:
    """The next status of a firmware / diagnostics / log sequence."""
    steps = self.sequences.get(name, [])
    if not steps:
        return
    action, payload = steps.pop(0)
    if action == "__reboot__":
        self.firmware_status = FIRMWARE_16.fire(self.firmware_status, "Idle")
        self.prepare_reboot("FirmwareUpdate", now)
        return
    status = payload.get("status")
    if status is not None:
        if name == "firmware":
            self.firmware_status = FIRMWARE_16.fire(self.firmware_status, status)
        elif name == "diagnostics":
            self.diagnostics_status = DIAGNOSTICS_16.fire(self.diagnostics_status, status)
        elif name == "log":
            self.log_status = LOG.fire(self.log_status, status)
    if self.online:
        self.send_call(action, payload, now)
    self.emit(name, now, status=payload.get("status"))
    if steps:
        self.timers.set(("sequence", name), now + 2.0, partial(_sequence_step, self, name))

# -- Security extensions (1.6 security white paper) ----------------------------------------------------------

def _send_sign_certificate(self: Station16, now: float) -> None:
    from ocppemu.station.certificates import make_csr

    csr = make_csr(self.station_id, self.cfg.get_str("CpoName", "ocppemu"))
    self.send_call("SignCertificate", {"csr": csr}, now)

@HANDLERS.call("CertificateSigned")
def on_call_CertificateSigned(self: Station16, call: Call, now: float) -> None:
    chain = call.payload["certificateChain"]
    ok = "BEGIN CERTIFICATE" in chain
    if ok:
        self.certificates["ChargePointCertificate"] = {"pem": chain}
    self.answer(call, {"status": "Accepted" if ok else "Rejected"}, now)
    self.emit("certificate", now, installed=ok)

@HANDLERS.call("InstallCertificate")
def on_call_InstallCertificate(self: Station16, call: Call, now: float) -> None:
    from ocppemu.station.certificates import certificate_hash_data

    pem = call.payload["certificate"]
    try:
        hashes = certificate_hash_data(pem)
    except ValueError:
        self.answer(call, {"status": "Rejected"}, now)
        return
    self.certificates[hashes["serialNumber"]] = {"pem": pem, "type": call.payload["certificateType"]}
    self.answer(call, {"status": "Accepted"}, now)

@HANDLERS.call("GetInstalledCertificateIds")
def on_call_GetInstalledCertificateIds(self: Station16, call: Call, now: float) -> None:
    from ocppemu.station.certificates import certificate_hash_data

    wanted = call.payload["certificateType"]
    found = [certificate_hash_data(c["pem"]) for c in self.certificates.values() if c.get("type") == wanted]
    if found:
        self.answer(call, {"status": "Accepted", "certificateHashData": found}, now)
    else:
        self.answer(call, {"status": "NotFound"}, now)

@HANDLERS.call("DeleteCertificate")
def on_call_DeleteCertificate(self: Station16, call: Call, now: float) -> None:
    serial = call.payload["certificateHashData"]["serialNumber"]
    found = self.certificates.pop(serial, None)
    self.answer(call, {"status": "Accepted" if found else "NotFound"}, now)


