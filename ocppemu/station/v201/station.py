"""The OCPP 2.0.1 charging station: topology, device model, registration and the user's actions.

Built on :class:`~ocppemu.station.v201.transactions.TransactionEngine` (transactions, status, meter values). The
CSMS-initiated actions live in :mod:`~ocppemu.station.v201.commands` (operations), :mod:`.device_glue` (device
model, reports, monitoring), :mod:`.smart` (charging profiles) and :mod:`.maintenance` (firmware, logs,
certificates); each module's ``HANDLERS`` are registered here. Driving contract: see
:class:`~ocppemu.station.core.StationCore`. User actions take the EVSE id where 1.6 takes a connector id.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from ocppemu.config.station import ConnectorConfig, StationConfig
from ocppemu.ocpp.versions import Version
from ocppemu.station.actions import FAULT_CODES_2X, check_fault_code
from ocppemu.station.authorization import AuthorizationCache, LocalAuthList
from ocppemu.station.core import ActionResult, Sinks, iso
from ocppemu.station.device_model import DeviceModel
from ocppemu.station.device_model_catalog import (
    CONNECTOR_TYPES,
    ComponentKey,
    ConnectorDescription,
    EvseDescription,
    StationDescription,
    VariableKey,
)
from ocppemu.station.display_messages import DisplayMessages
from ocppemu.station.meter import Meter
from ocppemu.station.monitoring import Monitoring
from ocppemu.station.smart_charging import ProfileStore
from ocppemu.station.state_tables import stop_point_reached
from ocppemu.station.v201 import commands, device_glue, display, maintenance, smart
from ocppemu.station.v201.evse import Connector201, Evse201, Transaction201
from ocppemu.station.v201.registry import HANDLERS
from ocppemu.station.v201.transactions import TransactionEngine

_BOOT_REASONS = frozenset({"ApplicationReset", "FirmwareUpdate", "LocalReset", "PowerUp", "RemoteReset",
                           "ScheduledReset", "Triggered", "Unknown", "Watchdog"})


def topology(config: StationConfig) -> dict[int, list[tuple[int, ConnectorConfig]]]:
    """EVSE id -> [(connector id within the EVSE, its configuration)].

    A connector without ``evse_id`` is the single connector (id 1) of EVSE ``id``, so ``--connectors 2`` gives two
    EVSEs with one connector each; with ``evse_id`` its ``id`` is already the id within that EVSE.
    """
    grouped: dict[int, list[tuple[int, ConnectorConfig]]] = {}
    for c in config.connectors:
        grouped.setdefault(c.evse, []).append((c.id if c.evse_id is not None else 1, c))
    return {e: sorted(items, key=lambda x: x[0]) for e, items in sorted(grouped.items())}


def describe(config: StationConfig) -> StationDescription:
    """The device-model description of ``config`` with the 2.x EVSE/connector numbering of :func:`topology`."""
    base = StationDescription.from_config(config)
    evses = tuple(
        EvseDescription(
            id=evse_id, max_power=max(c.max_power for _, c in items), phases=max(c.phases for _, c in items),
            connectors=tuple(ConnectorDescription(cid, CONNECTOR_TYPES.get(c.type, "Unknown"), c.phases)
                             for cid, c in items))
        for evse_id, items in topology(config).items()
    )
    return replace(base, evses=evses)


class Station201(TransactionEngine):
    """An OCPP 2.0.1 charging station (JSON over WebSocket, subprotocol ``ocpp2.0.1``)."""

    handlers = HANDLERS

    def __init__(self, config: StationConfig, sinks: Sinks | None = None, *,
                 registers_wh: dict[int, float] | None = None) -> None:
        super().__init__(config, sinks)
        self.description = describe(config)
        self.dm = DeviceModel.for_station(self.description)
        self.monitoring = Monitoring(self.dm)
        registers = registers_wh or {}
        self.evses = {}
        for evse_id, items in topology(config).items():
            first = items[0][1]
            meter_cfg = first.model_copy(update={"id": evse_id, "evse_id": None})
            meter = Meter(meter_cfg, config.simulation, register_wh=registers.get(evse_id, 0.0))
            conns = {cid: Connector201(cid, evse_id, CONNECTOR_TYPES.get(c.type, "Unknown")) for cid, c in items}
            self.evses[evse_id] = Evse201(evse_id, first, meter, conns)
        self.auth_cache = AuthorizationCache()
        self.local_list = LocalAuthList(max_items_per_message=self.dm.get_int("LocalAuthListCtrlr",
                                                                                "ItemsPerMessage", 250))
        self.local_list.enabled = self.dm.get_bool("LocalAuthListCtrlr", "Enabled", True)
        self.profiles = ProfileStore(Version.V201, list(self.evses))
        self.station_operative = True
        self.heartbeat_interval = self.dm.get_int("OCPPCommCtrlr", "HeartbeatInterval",
                                                  config.simulation.heartbeat_interval) or 0
        self.firmware_status = "Idle"
        self.firmware_request_id: int | None = None
        self.firmware_version = config.firmware_version or "0.1.0"
        self.log_status = "Idle"
        self.log_request_id: int | None = None
        self.sequences: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.certificates: dict[str, dict[str, str]] = {}
        self.csr_keys: list[str] = []
        self.displays = DisplayMessages()
        self.network_profiles: dict[int, dict[str, Any]] = {}
        self.pending_events: list[dict[str, Any]] = []
        self.pending_reset: tuple[str, int | None] | None = None
        self.after_boot: list[tuple[str, dict[str, Any]]] = []
        self.uploader: maintenance.Uploader | None = None
        self.publish: dict[str, Any] = {}
        self.pending_upload: maintenance.UploadJob | None = None
        self.reset_deadline = 0.0
        self.pending_station_inoperative = False
        # The device model records its Actual changes here (a plain list: no reference back to the station);
        # the station applies them with the time of the input that made them (:meth:`dm_changed`).
        self._dm_changes: list[tuple[ComponentKey, VariableKey, str]] = []
        changes = self._dm_changes
        self.dm.add_listener(lambda c, v, value: changes.append((c, v, value)))
        for evse in self.evses.values():
            self.dm.register_dynamic(ComponentKey("EVSE", evse=evse.id), VariableKey("Power"),
                                     partial(self._power_text, evse))

    @staticmethod
    def _power_text(evse: Evse201) -> str:
        return f"{evse.meter.power_w:.1f}"

    # -- registration --------------------------------------------------------------------------------------

    def boot_payload(self) -> dict[str, Any]:
        c = self.config
        station: dict[str, Any] = {"model": c.model, "vendorName": c.vendor,
                                   "firmwareVersion": self.firmware_version}
        if c.serial_number:
            station["serialNumber"] = c.serial_number
        modem = {k: v for k, v in (("iccid", c.iccid), ("imsi", c.imsi)) if v}
        if modem:
            station["modem"] = modem
        reason = self._boot_reason if self._boot_reason in _BOOT_REASONS else "Unknown"
        return {"reason": reason, "chargingStation": station}

    def on_registered(self, now: float) -> None:
        self.dm.set_value("OCPPCommCtrlr", "HeartbeatInterval", str(self.heartbeat_interval), notify=False)
        self.dm.pending_reboot.clear()
        for evse in self.evses.values():
            self.refresh_status(evse, now, force_report=True)
        self.schedule_aligned(now)
        for evse in self.evses.values():
            if evse.active_tx is not None:
                self.schedule_sample(evse, now)
        for action, payload in self.after_boot:
            self.send_online(action, payload, now)
        self.after_boot = []
        device_glue.flush_pending_events(self, now)
        device_glue.schedule_monitors(self, now)

    def trigger_boot(self, now: float) -> None:
        """Send a BootNotification with reason Triggered (TriggerMessage)."""
        reason, self._boot_reason = self._boot_reason, "Triggered"
        self.send_call("BootNotification", self.boot_payload(), now)
        self._boot_reason = reason

    # -- device model changes ------------------------------------------------------------------------------

    def set_variable(self, component: str, variable: str, value: str, now: float, **where: Any) -> None:
        """Set a device-model value from the station itself and apply what the change implies at ``now``."""
        self.dm.set_value(component, variable, value, **where)
        self.dm_changed(now)

    def dm_changed(self, now: float) -> None:
        """Apply the device-model changes recorded since the last call (heartbeat, sampling, monitors ...)."""
        while self._dm_changes:
            component, variable, value = self._dm_changes.pop(0)
            self._variable_changed(component, variable, value, now)

    def settle(self, now: float) -> None:
        self.dm_changed(now)

    def refresh_clock_variable(self, now: float) -> None:
        """Write the station clock into ``ClockCtrlr.DateTime`` before it is read (reports, monitors)."""
        self.dm.set_value("ClockCtrlr", "DateTime", self.clock.iso(now), notify=False)

    def _variable_changed(self, component: ComponentKey, variable: VariableKey, value: str, now: float) -> None:
        name, var = component.name.casefold(), variable.name.casefold()
        if (name, var) == ("ocppcommctrlr", "heartbeatinterval"):
            self.set_heartbeat_interval(self.dm.get_int("OCPPCommCtrlr", "HeartbeatInterval", 0) or 0, now)
        elif (name, var) == ("sampleddatactrlr", "txupdatedinterval"):
            for evse in self.evses.values():
                self.schedule_sample(evse, now)
        elif name == "aligneddatactrlr" and var in ("interval", "enabled"):
            self.schedule_aligned(now)
        elif (name, var) == ("localauthlistctrlr", "enabled"):
            self.local_list.enabled = value.casefold() == "true"
        elif (name, var) == ("authcachectrlr", "enabled") and value.casefold() == "false":
            self.auth_cache.clear()
        device_glue.variable_changed(self, component, variable, value, now)

    def after_status_change(self, evse: Evse201, connector_id: int, status: str, now: float) -> None:
        device_glue.mirror_availability(self, evse, connector_id, status, now)

    def after_power_change(self, evse: Evse201, now: float) -> None:
        smart.apply_limits(self, now)
        device_glue.evaluate_dynamic(self, now)

    def after_transaction_end(self, evse: Evse201, tx: Transaction201, now: float) -> None:
        self.profiles.end_transaction(tx.transaction_id)
        smart.apply_limits(self, now)
        commands.on_transaction_ended(self, evse, now)

    # -- user actions --------------------------------------------------------------------------------------

    def evse(self, evse_id: int) -> Evse201 | None:
        return self.evses.get(evse_id)

    def plug_in(self, evse_id: int, now: float, connector_id: int | None = None) -> ActionResult:
        """An EV is plugged into ``connector_id`` (default: the EVSE's first connector)."""
        evse = self.evses.get(evse_id)
        if evse is None:
            return ActionResult.fail(f"no EVSE {evse_id}")
        conn = evse.connector(connector_id)
        if conn is None:
            return ActionResult.fail(f"EVSE {evse_id} has no connector {connector_id}")
        if evse.plugged:
            return ActionResult.fail(f"EVSE {evse_id} already has a cable plugged in")
        if conn.status in ("Faulted", "Unavailable") and evse.active_tx is None:
            return ActionResult.fail(f"connector {evse_id}/{conn.id} is {conn.status}")
        evse.plugged_connector = conn.id
        self.timers.cancel(("ev_timeout", evse.id))
        tx = evse.active_tx
        if tx is not None:
            if evse.auth_token is not None or not self.auth_enabled():
                self.begin_charging(evse, tx, now)
            else:
                tx.charging_state = "EVConnected"
            self.refresh_status(evse, now)  # Occupied first, then the transaction event, as chargers report
            self.transaction_event(evse, "Updated", "CablePluggedIn", now)
        else:
            self.refresh_status(evse, now)
            self.maybe_start(evse, "CablePluggedIn", now)
        return ActionResult(True)

    def unplug(self, evse_id: int, now: float) -> ActionResult:
        evse = self.evses.get(evse_id)
        if evse is None or not evse.plugged:
            return ActionResult.fail(f"EVSE {evse_id} has no cable plugged in")
        evse.plugged_connector = None
        tx = evse.active_tx
        if tx is not None:
            stop = stop_point_reached(self.tx_points("TxStopPoint"), "plugged") or self.dm.get_bool(
                "TxCtrlr", "StopTxOnEVSideDisconnect", True)
            if stop:
                self.end_transaction(evse, "EVCommunicationLost", tx.stop_reason or "EVDisconnected", now)
            else:
                self.stop_charging(evse, tx, "Idle", now)
                self.transaction_event(evse, "Updated", "EVCommunicationLost", now)
        if evse.active_tx is None:
            evse.auth_token = None
        self.refresh_status(evse, now)
        return ActionResult(True)

    def start_session(self, evse_id: int, id_tag: str | None, now: float,
                      token_type: str = "ISO14443") -> ActionResult:
        """Plug in and present ``id_tag`` (the station default when None): the usual local start."""
        evse = self.evses.get(evse_id)
        if evse is None:
            return ActionResult.fail(f"no EVSE {evse_id}")
        tx = evse.active_tx
        if tx is not None and tx.id_token is not None:
            return ActionResult.fail(f"EVSE {evse_id} is already charging (transaction {tx.transaction_id}); stop it "
                                     "first, or present its token to stop it")
        if not evse.plugged:
            result = self.plug_in(evse_id, now)
            if not result.ok:
                return result
        if not self.auth_enabled():
            return ActionResult(True)
        return self.present_id_token(evse_id, id_tag or self.config.simulation.default_id_tag, now, token_type)

    def stop_session(self, evse_id: int, now: float, reason: str = "Local") -> ActionResult:
        """The driver ends the session: TransactionEvent Ended (StopAuthorized, stoppedReason ``reason``)."""
        evse = self.evses.get(evse_id)
        if evse is None or evse.active_tx is None:
            return ActionResult.fail(f"no transaction on EVSE {evse_id}")
        self.end_transaction(evse, "StopAuthorized", reason, now)
        return ActionResult(True)

    def suspend(self, evse_id: int, by: str, now: float) -> ActionResult:
        """The EV (``by`` = ``EV``) or the EVSE stops taking/offering energy during the transaction."""
        evse = self.evses.get(evse_id)
        tx = None if evse is None else evse.active_tx
        if evse is None or tx is None:
            return ActionResult.fail(f"no transaction on EVSE {evse_id}")
        evse.meter.advance(now)
        if by == "EV":
            evse.meter.set_ev_suspended(True, now)
        else:
            evse.meter.set_evse_suspended(True, now)
        self.stop_charging(evse, tx, "SuspendedEV" if by == "EV" else "SuspendedEVSE", now, end_meter=False)
        self.transaction_event(evse, "Updated", "ChargingStateChanged", now)
        return ActionResult(True)

    def resume(self, evse_id: int, now: float) -> ActionResult:
        evse = self.evses.get(evse_id)
        tx = None if evse is None else evse.active_tx
        if evse is None or tx is None or not evse.plugged:
            return ActionResult.fail(f"no suspended transaction on EVSE {evse_id}")
        evse.meter.set_ev_suspended(False, now)
        evse.meter.set_evse_suspended(False, now)
        self.begin_charging(evse, tx, now)
        self.transaction_event(evse, "Updated", "ChargingStateChanged", now)
        return ActionResult(True)

    def fault(self, evse_id: int, now: float, connector_id: int | None = None, *,
              error_code: str = "OtherError") -> ActionResult:
        """A connector fails: a running transaction ends (stoppedReason Other) and the connector is Faulted."""
        evse = self.evses.get(evse_id)
        conn = None if evse is None else evse.connector(connector_id)
        if evse is None or conn is None:
            return ActionResult.fail(f"no connector {evse_id}/{connector_id}")
        refused = check_fault_code(error_code, FAULT_CODES_2X)
        if refused is not None:
            return ActionResult.fail(refused)
        self.emit("fault", now, evse_id=evse_id, connector_id=conn.id, error_code=error_code)
        if evse.active_tx is not None:
            self.end_transaction(evse, "AbnormalCondition", "Other", now)
        conn.faulted = True
        self.set_variable("ChargingStation", "Problem", "true", now)
        self.refresh_status(evse, now)
        return ActionResult(True)

    def clear_fault(self, evse_id: int, now: float, connector_id: int | None = None) -> ActionResult:
        evse = self.evses.get(evse_id)
        conn = None if evse is None else evse.connector(connector_id)
        if evse is None or conn is None or not conn.faulted:
            return ActionResult.fail(f"connector {evse_id}/{connector_id} is not faulted")
        conn.faulted = False
        if not any(c.faulted for e in self.evses.values() for c in e.connectors.values()):
            self.set_variable("ChargingStation", "Problem", "false", now)
        self.refresh_status(evse, now)
        return ActionResult(True)

    # -- the StationActions interface ---------------------------------------------------------------------------

    def present_tag(self, where: int, id_tag: str | None, now: float, /) -> ActionResult:
        return self.present_id_token(where, id_tag or self.config.simulation.default_id_tag, now)

    def start(self, where: int, id_tag: str | None, now: float, /) -> ActionResult:
        return self.start_session(where, id_tag, now)

    def stop(self, where: int, now: float, reason: str = "Local", /) -> ActionResult:
        return self.stop_session(where, now, reason)

    def inject_fault(self, where: int, error_code: str, now: float, /) -> ActionResult:
        return self.fault(where, now, error_code=error_code)

    def recover(self, where: int, now: float, /) -> ActionResult:
        return self.clear_fault(where, now)

    def set_status(self, where: int, status: str, error_code: str, now: float, /) -> ActionResult:
        return ActionResult.fail("a 2.x connector status follows the EVSE's state (plug, fault, availability, "
                                 "reservation); use those actions instead")

    def fault_codes(self) -> tuple[str, ...]:
        return FAULT_CODES_2X

    def power_loss(self, now: float, /) -> ActionResult:
        stopped = [e.id for e in self.evses.values() if e.active_tx is not None]
        for evse_id in stopped:
            self.end_transaction(self.evses[evse_id], "AbnormalCondition", "PowerLoss", now)
        self.emit("power_loss", now, stopped_evses=stopped)
        self.prepare_reboot("PowerUp", now)
        return ActionResult(True, data={"stopped_evses": stopped})

    def notify_ev_charging_needs(self, evse_id: int, now: float, *, energy_wh: float = 30000.0,
                                 max_current_a: float = 32.0, departure_s: int = 4 * 3600,
                                 transfer_mode: str = "AC_three_phase") -> ActionResult:
        """An ISO 15118 EV tells its needs: NotifyEVChargingNeeds (the CSMS may answer with a profile)."""
        if evse_id not in self.evses:
            return ActionResult.fail(f"no EVSE {evse_id}")
        needs: dict[str, Any] = {"requestedEnergyTransfer": transfer_mode,
                                 "departureTime": iso(self.csms_now(now) + departure_s)}
        if transfer_mode == "DC":
            needs["dcChargingParameters"] = {"evMaxCurrent": int(max_current_a), "evMaxVoltage": 400,
                                             "energyAmount": int(energy_wh)}
        else:
            needs["acChargingParameters"] = {"energyAmount": int(energy_wh), "evMinCurrent": 6,
                                             "evMaxCurrent": int(max_current_a), "evMaxVoltage": 400}
        sent = self.send_online("NotifyEVChargingNeeds", {"evseId": evse_id, "chargingNeeds": needs}, now)
        return ActionResult(True) if sent else ActionResult.fail("the station is not online")

    def notify_ev_charging_schedule(self, evse_id: int, now: float, *, limit_w: float = 11000.0,
                                    duration_s: int = 3600) -> ActionResult:
        """The EV reports the schedule it will follow: NotifyEVChargingSchedule."""
        if evse_id not in self.evses:
            return ActionResult.fail(f"no EVSE {evse_id}")
        schedule = {"id": 1, "chargingRateUnit": "W", "duration": duration_s,
                    "startSchedule": iso(self.csms_now(now)),
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": float(limit_w)}]}
        payload = {"timeBase": iso(self.csms_now(now)), "evseId": evse_id, "chargingSchedule": schedule}
        sent = self.send_online("NotifyEVChargingSchedule", payload, now)
        return ActionResult(True) if sent else ActionResult.fail("the station is not online")

    def security_event(self, event_type: str, now: float, tech_info: str | None = None) -> ActionResult:
        """Report a security event (SecurityEventNotification); queued until online."""
        payload: dict[str, Any] = {"type": event_type[:50], "timestamp": iso(self.csms_now(now))}
        if tech_info:
            payload["techInfo"] = tech_info[:255]
        if not self.send_online("SecurityEventNotification", payload, now):
            self.after_boot.append(("SecurityEventNotification", payload))
        return ActionResult(True)

    def request_15118_certificate(self, now: float, action: str = "Install",
                                  exi_request: str = "AAAA") -> ActionResult:
        """Get15118EVCertificate on behalf of an EV (the EXI request is passed through, base64)."""
        payload = {"iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef", "action": action,
                   "exiRequest": exi_request}
        sent = self.send_online("Get15118EVCertificate", payload, now)
        return ActionResult(True) if sent else ActionResult.fail("the station is not online")

    def check_certificate_status(self, now: float) -> ActionResult:
        """GetCertificateStatus (OCSP) for the installed station certificate, or any installed one."""
        from ocppemu.station.certificates import certificate_hash_data

        pem = next((c["pem"] for c in self.certificates.values()), None)
        if pem is None:
            return ActionResult.fail("no certificate installed")
        data = {**certificate_hash_data(pem), "responderURL": "http://ocsp.example.invalid"}
        sent = self.send_online("GetCertificateStatus", {"ocspRequestData": data}, now)
        return ActionResult(True) if sent else ActionResult.fail("the station is not online")

    def displayed_messages(self, now: float) -> list[dict[str, Any]]:
        """The display messages shown at ``now`` (inside their window on the station clock)."""
        return display.shown(self, now)

    def upload_finished(self, job: maintenance.UploadJob, ok: bool, detail: str, now: float) -> None:
        """The runtime's uploader finished ``job`` (see :mod:`ocppemu.runtime.uploads`)."""
        maintenance.upload_finished(self, job, ok, detail, now)

    # -- driving -------------------------------------------------------------------------------------------

    def streamed_monitor_ids(self) -> set[int]:
        """Monitors whose values go out as a periodic event stream instead of NotifyEvent (2.1)."""
        return set()

    def client_certificate(self) -> tuple[str, str] | None:
        """The certificate chain and key the CSMS signed for this station (used for mutual TLS), if any."""
        return maintenance.client_certificate(self)

    def active_transactions(self) -> dict[int, str]:
        return {e.id: e.active_tx.transaction_id for e in self.evses.values() if e.active_tx is not None}

    def snapshot(self) -> dict[str, Any]:
        snap = super().snapshot()
        snap["evses"] = [
            {"id": e.id, "status": next(iter(e.connectors.values())).status if e.connectors else "Unavailable",
             "operative": e.operative, "plugged": e.plugged,
             "transaction_id": None if e.active_tx is None else e.active_tx.transaction_id,
             "id_tag": None if e.active_tx is None or e.active_tx.id_token is None else e.active_tx.id_token.id,
             "charging_state": None if e.active_tx is None else e.active_tx.charging_state,
             "started_at": None if e.active_tx is None else e.active_tx.started_at,
             "meter_start_wh": None if e.active_tx is None else e.active_tx.meter_start_wh,
             "power_w": round(e.meter.power_w, 1), "energy_wh": round(e.meter.register_wh, 1),
             "soc": round(e.meter.soc, 1) if e.active_tx is not None else None,
             "reservation_id": None if e.reservation is None else e.reservation.id,
             "connectors": [{"id": c.id, "status": c.status, "type": c.type} for c in e.connectors.values()]}
            for e in self.evses.values()
        ]
        snap["connectors"] = snap["evses"]
        snap["firmware_status"] = self.firmware_status
        snap["variables"] = [
            {"component": r["component"]["name"], "evse": r["component"].get("evse", {}).get("id"),
             "instance": r["component"].get("instance"), "variable": r["variable"]["name"],
             "value": a.get("value"), "mutability": a.get("mutability"), "type": a.get("type", "Actual")}
            for r in self.dm.base_report("ConfigurationInventory") for a in r["variableAttribute"]
        ]
        return snap

    def meter_readings(self, now: float) -> dict[int, tuple[float, float, float]]:
        out: dict[int, tuple[float, float, float]] = {}
        for e in self.evses.values():
            energy, soc = e.meter.reading_at(now)
            out[e.id] = (energy, e.meter.power_w, soc)
        return out

    def registers(self) -> dict[int, float]:
        """Energy registers per EVSE, to be saved and passed back after a restart."""
        return {e.id: e.meter.register_wh for e in self.evses.values()}


HANDLERS.result("Authorize")(TransactionEngine.authorize_answered)
HANDLERS.result("TransactionEvent")(TransactionEngine.transaction_event_answered)
HANDLERS.check_complete()
