"""The OCPP 2.1 charging station: the 2.0.1 station plus what 2.1 adds (subprotocol ``ocpp2.1``).

Everything 2.0.1 does is inherited from :class:`~ocppemu.station.v201.station.Station201`; this class adds the
2.1-only state and actions and adapts the shared messages where the 2.1 schemas differ:

* TransactionEvent carries ``transactionInfo.tariffId`` once per tariff and ``costDetails`` (the running cost
  under the transaction's tariff, see :mod:`.tariffs`) in periodic, tariff-change and Ended events;
* NotifyMonitoringReport names each monitor's ``eventNotificationType`` (required in 2.1);
* NotifyEVChargingNeeds may request bidirectional (ISO 15118-20) modes with ``v2xChargingParameters``.

The CSMS-initiated 2.1 actions live in :mod:`.tariffs` (tariffs, web payment), :mod:`.der` (DER controls,
aFRR), :mod:`.energy` (allowed energy transfer, dynamic profiles, priority charging), :mod:`.streams` (periodic
event streams) and :mod:`.battery_swap`; each module's ``HANDLERS`` are registered here. Driving contract: see
:class:`~ocppemu.station.core.StationCore`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ocppemu.config.station import StationConfig
from ocppemu.ocpp.errors import Violation
from ocppemu.ocpp.rpc import PendingCall
from ocppemu.ocpp.versions import Version
from ocppemu.station.core import ActionResult, Sinks, iso
from ocppemu.station.smart_charging import ProfileStore
from ocppemu.station.v21 import battery_swap, der, energy, streams, tariffs
from ocppemu.station.v21.registry import HANDLERS
from ocppemu.station.v201.evse import Evse201, Transaction201
from ocppemu.station.v201.station import Station201

_MODULES = (tariffs, der, energy, streams, battery_swap)  # imported for their handlers
_BIDIRECTIONAL = frozenset({"AC_BPT", "AC_BPT_DER", "DC_BPT", "DC_ACDP_BPT"})
_COSTED_TRIGGERS = frozenset({"MeterValuePeriodic", "TariffChanged", "RunningCost", "Trigger"})


class Station21(Station201):
    """An OCPP 2.1 charging station (JSON over WebSocket, subprotocol ``ocpp2.1``).

    ``v2x_evses``: the EVSEs that can discharge (bidirectional charging, DER controls); every EVSE by default.
    """

    handlers = HANDLERS

    def __init__(self, config: StationConfig, sinks: Sinks | None = None, *,
                 registers_wh: dict[int, float] | None = None) -> None:
        super().__init__(config, sinks, registers_wh=registers_wh)
        self.profiles = ProfileStore(Version.V21, list(self.evses))
        self.tariffs = tariffs.TariffTable()
        self.tx_tariffs: dict[str, dict[str, Any]] = {}
        self.tariff_sent: set[str] = set()
        self.der = der.DerControls()
        self.v2x_evses: set[int] = set(self.evses)
        self.afrr_signal: tuple[float, int] | None = None
        self.allowed_transfer: dict[int, list[str]] = {}
        self.priority_charging: dict[int, bool] = {}
        self.streams: dict[int, streams.EventStream] = {}
        self.next_stream_id = 1
        self.web_payments: dict[int, float] = {}
        self.batteries = {e: battery_swap.Battery(f"{self.station_id}-B{e}-0", 20.0, 97.0) for e in self.evses}
        self.swap_count = 0
        self.pending_swaps: dict[int, tuple[dict[str, Any], int]] = {}

    # -- sending -------------------------------------------------------------------------------------------

    def csms_iso(self, t: float) -> str:
        """``t`` (local seconds) as an OCPP timestamp on the CSMS's clock."""
        return iso(self.csms_now(t))

    def send_unconfirmed(self, action: str, payload: dict[str, Any], now: float) -> bool:
        """Send a 2.1 SEND message (``[6, id, action, payload]``, never answered) if online and valid."""
        if not self.online:
            return False
        sent = self.rpc.send(action, payload, now)
        if isinstance(sent, Violation):
            self.last_error = f"invalid {action} not sent: {sent}"
            return False
        return True

    def send_call(self, action: str, payload: dict[str, Any], now: float, *, validate: bool = True,
                  tag: Any = None) -> PendingCall | Violation:
        if action == "NotifyMonitoringReport":
            payload = self._monitoring_report_21(payload)
        return super().send_call(action, payload, now, validate=validate, tag=tag)

    def _monitoring_report_21(self, payload: dict[str, Any]) -> dict[str, Any]:
        monitors = []
        for group in payload.get("monitor") or []:
            items = []
            for item in group.get("variableMonitoring") or []:
                m = self.monitoring.monitor(item.get("id", -1))
                items.append({**item, "eventNotificationType": m.kind if m is not None else "CustomMonitor"})
            monitors.append({**group, "variableMonitoring": items})
        return {**payload, "monitor": monitors} if "monitor" in payload else payload

    def enqueue_tx(self, action: str, payload: dict[str, Any], now: float, *, local_tx: str | None = None) -> None:
        if action == "TransactionEvent":
            self._price_event(payload, now)
        super().enqueue_tx(action, payload, now, local_tx=local_tx)

    def _price_event(self, payload: dict[str, Any], now: float) -> None:
        """Add the 2.1 tariff id and cost details to a TransactionEvent about to be queued."""
        info = payload["transactionInfo"]
        tid = info["transactionId"]
        evse = self.evses.get(payload.get("evse", {}).get("id", 0))
        if evse is None or evse.tx is None or evse.tx.transaction_id != tid:
            return
        if payload["eventType"] == "Started" and tid not in self.tx_tariffs:
            default = self.tariffs.for_evse(evse.id, self.clock.station(now))
            if default is not None:
                self.tx_tariffs[tid] = default
        tariff = self.tx_tariffs.get(tid)
        if tariff is None:
            return
        if tid not in self.tariff_sent:
            info["tariffId"] = tariff["tariffId"]
            self.tariff_sent.add(tid)
        if payload["eventType"] == "Ended" or payload["triggerReason"] in _COSTED_TRIGGERS:
            payload["costDetails"] = self.running_cost(evse, evse.tx, tariff, now)

    def running_cost(self, evse: Evse201, tx: Transaction201, tariff: dict[str, Any], now: float) -> dict[str, Any]:
        """The ``costDetails`` of ``tx`` now; also kept as ``tx.total_cost`` and shown as a ``cost`` event."""
        charging = tx.charging_seconds(now)
        usage = tariffs.Usage(max(0.0, evse.meter.register_wh - tx.meter_start_wh), charging,
                              max(0, int(now - tx.started_at) - charging))
        details = tariffs.cost_details(tariff, usage, self.csms_iso(tx.started_at))
        tx.total_cost = tariffs.running_total(details)
        self.emit("cost", now, transaction_id=tx.transaction_id, total_cost=tx.total_cost,
                  currency=tariff["currency"], tariff_id=tariff["tariffId"], local=True)
        return details

    def transaction_event_answered(self, pending: PendingCall, payload: dict[str, Any], now: float) -> None:
        super().transaction_event_answered(pending, payload, now)
        if "totalCost" in payload:
            tid = pending.payload["transactionInfo"]["transactionId"]
            for evse in self.evses.values():
                if evse.tx is not None and evse.tx.transaction_id == tid:
                    evse.tx.total_cost = float(payload["totalCost"])
            self.emit("cost", now, transaction_id=tid, total_cost=payload["totalCost"], local=False)

    # -- hooks -----------------------------------------------------------------------------------------------

    def after_transaction_end(self, evse: Evse201, tx: Transaction201, now: float) -> None:
        super().after_transaction_end(evse, tx, now)
        self.tx_tariffs.pop(tx.transaction_id, None)
        self.tariff_sent.discard(tx.transaction_id)
        self.priority_charging.pop(evse.id, None)

    def streamed_monitor_ids(self) -> set[int]:
        return streams.streamed_monitor_ids(self)

    # -- user actions ------------------------------------------------------------------------------------------

    def notify_ev_charging_needs(self, evse_id: int, now: float, *, energy_wh: float = 30000.0,
                                 max_current_a: float = 32.0, departure_s: int = 4 * 3600,
                                 transfer_mode: str = "AC_three_phase",
                                 max_discharge_w: float = 11000.0) -> ActionResult:
        """An ISO 15118 EV tells its needs. A bidirectional mode (``AC_BPT``, ``DC_BPT``, ...) is only asked on a
        V2X-capable EVSE and adds ``v2xChargingParameters``; the mode obeys NotifyAllowedEnergyTransfer."""
        if evse_id not in self.evses:
            return ActionResult.fail(f"no EVSE {evse_id}")
        mode = energy.choose_transfer(self, evse_id, transfer_mode)
        if mode in _BIDIRECTIONAL and evse_id not in self.v2x_evses:
            return ActionResult.fail(f"EVSE {evse_id} cannot discharge ({mode})")
        needs: dict[str, Any] = {"requestedEnergyTransfer": mode,
                                 "departureTime": self.csms_iso(now + departure_s)}
        if mode.startswith("DC"):
            needs["dcChargingParameters"] = {"evMaxCurrent": max_current_a, "evMaxVoltage": 400,
                                             "energyAmount": energy_wh}
        else:
            needs["acChargingParameters"] = {"energyAmount": energy_wh, "evMinCurrent": 6,
                                             "evMaxCurrent": max_current_a, "evMaxVoltage": 400}
        available = ["AC_three_phase", "DC"] + (sorted(_BIDIRECTIONAL) if evse_id in self.v2x_evses else [])
        needs["availableEnergyTransfer"] = [m for m in available if m in self.allowed_transfer.get(
            evse_id, available)] or [mode]
        if mode in _BIDIRECTIONAL:
            needs["controlMode"] = "DynamicControl"
            needs["mobilityNeedsMode"] = "EVCC_SECC"
            needs["v2xChargingParameters"] = {"maxChargePower": float(self.evses[evse_id].config.max_power),
                                              "maxDischargePower": float(max_discharge_w),
                                              "evTargetEnergyRequest": energy_wh}
        sent = self.send_online("NotifyEVChargingNeeds", {"evseId": evse_id, "chargingNeeds": needs}, now)
        return ActionResult(True, data={"mode": mode}) if sent else ActionResult.fail("the station is not online")

    def open_event_stream(self, evse_id: int, now: float, *, period: int = 1, interval: int = 0,
                          values: int = 1) -> ActionResult:
        """Stream the power of ``evse_id``: a Periodic monitor (every ``period`` s) plus OpenPeriodicEventStream."""
        if evse_id not in self.evses:
            return ActionResult.fail(f"no EVSE {evse_id}")
        result = self.monitoring.set_variable_monitoring(
            [{"component": {"name": "EVSE", "evse": {"id": evse_id}}, "variable": {"name": "Power"},
              "type": "Periodic", "value": max(1, period), "severity": 9}],
            datetime.fromtimestamp(self.csms_now(now), UTC))[0]
        if result.get("status") != "Accepted" or "id" not in result:
            return ActionResult.fail(f"monitor refused: {result.get('status')}")
        return streams.open_stream(self, result["id"], interval, values, now)

    def close_event_stream(self, stream_id: int, now: float) -> ActionResult:
        return streams.close_stream(self, stream_id, now)

    def battery_swap(self, evse_id: int, now: float, id_token: str | None = None,
                     request_id: int = 0) -> ActionResult:
        """A driver swaps the battery at ``evse_id``: BatterySwap BatteryOut now, BatteryIn shortly after."""
        token = {"idToken": id_token or self.config.simulation.default_id_tag, "type": "ISO14443"}
        return battery_swap.start_swap(self, evse_id, token, request_id, now)

    def request_priority_charging(self, evse_id: int, now: float, activate: bool = True) -> ActionResult:
        """The driver asks for priority charging (NotifyPriorityCharging for the running transaction)."""
        evse = self.evses.get(evse_id)
        if evse is None or evse.active_tx is None:
            return ActionResult.fail(f"no transaction on EVSE {evse_id}")
        sent = self.send_online("NotifyPriorityCharging", {"transactionId": evse.active_tx.transaction_id,
                                                           "activated": activate}, now)
        if sent:
            self.priority_charging[evse_id] = activate
        return ActionResult(True) if sent else ActionResult.fail("the station is not online")

    def pull_dynamic_schedule(self, profile_id: int, now: float) -> ActionResult:
        """Ask the CSMS for the current update of Dynamic profile ``profile_id`` (PullDynamicScheduleUpdate)."""
        if energy._dynamic(self, profile_id) is None:
            return ActionResult.fail(f"no dynamic charging profile {profile_id}")
        return ActionResult(True) if energy.pull_update(self, profile_id, now) else ActionResult.fail(
            "the station is not online")

    def snapshot(self) -> dict[str, Any]:
        snap = super().snapshot()
        snap["tariffs"] = {str(k): v["tariffId"] for k, v in self.tariffs.defaults.items()}
        snap["der_controls"] = len(self.der.controls)
        snap["event_streams"] = [s.constant_data() for s in self.streams.values() if s.open]
        for evse in snap["evses"]:
            tx = self.evses[evse["id"]].active_tx
            evse["total_cost"] = None if tx is None else tx.total_cost
        return snap


HANDLERS.result("TransactionEvent", override=True)(Station21.transaction_event_answered)
HANDLERS.check_complete()
