"""The OCPP 2.0.1 transaction engine: connector status, authorization, TransactionEvent and meter values.

Rules (functional blocks C and E of the specification), steered by the device model:

* ``TxCtrlr.TxStartPoint``: the transaction starts at the first of the listed points reached (``EVConnected``
  and ``ParkingBayOccupancy``: cable plugged in; ``Authorized``: identifier accepted; ``PowerPathClosed``,
  ``EnergyTransfer`` and ``DataSigned``: both plugged in and authorized).
* ``TxCtrlr.TxStopPoint``: ``EVConnected`` ends the transaction when the cable is unplugged, ``Authorized`` when
  the authorization ends; a driver's stop (presenting the same identifier, or :meth:`stop_session`) and a
  RequestStopTransaction always end it (documented choice: a CSMS sees an Ended event at once).
* ``AuthCtrlr.Enabled`` false: plugging in authorizes (no identifier). ``AuthCtrlr.AuthorizeRemoteStart``: a
  RequestStartTransaction's identifier is checked with Authorize first.
* Every TransactionEvent goes through the core's offline queue (in order, once); ``seqNo`` counts from 0 per
  transaction, ``offline`` is true for events produced while the station was not online, ``idToken`` is sent once
  (in the event following the authorization), ``remoteStartId`` and ``reservationId`` once.
* ``SampledDataCtrlr.TxUpdatedInterval`` paces Updated events with meter values (``MeterValuePeriodic``);
  ``AlignedDataCtrlr.Interval`` adds clock-aligned ones (``MeterValueClock``) and MeterValues while idle when
  ``AlignedDataCtrlr.SendDuringIdle`` is true.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

from ocppemu.ocpp.records import MeterSample, TransactionRecord
from ocppemu.ocpp.rpc import CallFailed, PendingCall
from ocppemu.station.authorization import (
    AuthFlags,
    AuthInfo,
    AuthorizationCache,
    AuthorizationDataError,
    IdToken,
    LocalAuthList,
    decide,
    from_id_token_info,
    to_id_token,
)
from ocppemu.station.connector_status import check_transition
from ocppemu.station.core import ActionResult, StationCore, iso
from ocppemu.station.device_model import DeviceModel
from ocppemu.station.offline_queue import QueuedMessage
from ocppemu.station.randomness import time_ordered_uuid
from ocppemu.station.state_tables import RESERVATION, start_point_reached, stop_point_reached
from ocppemu.station.tags import AuthorizeTag
from ocppemu.station.v201.evse import Evse201, Transaction201


class TransactionEngine(StationCore):
    """Transactions, status and meter values of a 2.0.1 station; :class:`~ocppemu.station.v201.station.Station201`
    builds the state this works on."""

    dm: DeviceModel
    evses: dict[int, Evse201]
    auth_cache: AuthorizationCache
    local_list: LocalAuthList
    station_operative: bool

    # -- hooks filled in by the station ----------------------------------------------------------------------

    def after_power_change(self, evse: Evse201, now: float) -> None:
        """Called when an EVSE's power may have changed (monitoring, smart charging limits)."""

    def after_status_change(self, evse: Evse201, connector_id: int, status: str, now: float) -> None:
        """Called when a connector status changed (device model AvailabilityState)."""

    def after_transaction_end(self, evse: Evse201, tx: Transaction201, now: float) -> None:
        """Called once a transaction ended (TxProfiles, scheduled availability, reset on idle)."""

    # -- sending -------------------------------------------------------------------------------------------

    def send_online(self, action: str, payload: dict[str, Any], now: float, *, tag: Any = None,
                    while_pending: bool = False) -> bool:
        """Send a non-transaction CALL if the station may (online; or, with ``while_pending``, booted Pending).

        Returns whether it was sent; never leaves a call stuck while offline.
        """
        allowed = self.online or (while_pending and self.is_connected and self.registration == "Pending")
        if not allowed:
            return False
        return not isinstance(self.send_call(action, payload, now, tag=tag), Exception)

    # -- status --------------------------------------------------------------------------------------------

    def connector_status(self, evse: Evse201, connector_id: int) -> str:
        conn = evse.connectors[connector_id]
        if conn.faulted:
            return "Faulted"
        busy = evse.plugged or evse.active_tx is not None
        if busy and (evse.plugged_connector == connector_id or
                     (evse.plugged_connector is None and connector_id == min(evse.connectors))):
            return "Occupied"
        if not (self.station_operative and evse.operative and conn.operative) or busy:
            return "Unavailable"
        if evse.reservation is not None:
            return "Reserved"
        return "Available"

    def refresh_status(self, evse: Evse201, now: float, *, force_report: bool = False) -> None:
        for conn in evse.connectors.values():
            status = self.connector_status(evse, conn.id)
            if status != conn.status:
                check_transition(self.version, conn.id, conn.status, status)
                old, conn.status = conn.status, status
                self.emit("status", now, evse_id=evse.id, connector_id=conn.id, status=status, previous=old)
                self.after_status_change(evse, conn.id, status, now)
            if force_report:
                conn.reported = None
            self.report_status(evse, conn.id, now)

    def report_status(self, evse: Evse201, connector_id: int, now: float) -> None:
        conn = evse.connectors[connector_id]
        if conn.reported == conn.status or not self.online:
            return
        conn.reported = conn.status
        self.send_online("StatusNotification", {"timestamp": iso(self.csms_now(now)),
                                                "connectorStatus": conn.status, "evseId": evse.id,
                                                "connectorId": conn.id}, now)

    # -- device model helpers ------------------------------------------------------------------------------

    def tx_points(self, which: str) -> set[str]:
        return set(self.dm.get_list("TxCtrlr", which))

    def auth_enabled(self) -> bool:
        return self.dm.get_bool("AuthCtrlr", "Enabled", True)

    def auth_flags(self) -> AuthFlags:
        dm = self.dm
        return AuthFlags(
            local_pre_authorize=dm.get_bool("AuthCtrlr", "LocalPreAuthorize", False),
            local_authorize_offline=dm.get_bool("AuthCtrlr", "LocalAuthorizeOffline", True),
            allow_offline_tx_for_unknown_id=dm.get_bool("AuthCtrlr", "OfflineTxForUnknownIdEnabled", False),
            authorization_cache_enabled=dm.get_bool("AuthCacheCtrlr", "Enabled", True),
            local_auth_list_enabled=dm.get_bool("LocalAuthListCtrlr", "Enabled", True),
        )

    def transaction_message_attempts(self) -> int:
        return max(1, self.dm.get_int("OCPPCommCtrlr", "MessageAttempts", 3,
                                      variable_instance="TransactionEvent") or 1)

    def transaction_retry_interval(self) -> float:
        return float(self.dm.get_int("OCPPCommCtrlr", "MessageAttemptInterval", 10,
                                     variable_instance="TransactionEvent") or 1)

    # -- authorization -------------------------------------------------------------------------------------

    def present_id_token(self, evse_id: int, id_token: str, now: float, token_type: str = "ISO14443") -> ActionResult:
        """A driver presents ``id_token`` at ``evse_id``: authorize it (locally or with the CSMS), then start
        or resume; presenting the identifier of the running transaction stops it."""
        evse = self.evses.get(evse_id)
        if evse is None:
            return ActionResult.fail(f"no EVSE {evse_id}")
        token = IdToken(id_token, token_type)
        tx = evse.active_tx
        if tx is not None and tx.id_token is not None:
            if tx.id_token.id.casefold() == id_token.casefold():
                self.end_transaction(evse, "StopAuthorized", "Local", now)
                return ActionResult(True, data={"stopped": True})
            return ActionResult.fail(f"EVSE {evse_id} is in a transaction of another identifier")
        if evse.connectors and all(c.faulted for c in evse.connectors.values()):
            return ActionResult.fail(f"EVSE {evse_id} is faulted")
        if not (self.station_operative and evse.operative):
            return ActionResult.fail(f"EVSE {evse_id} is unavailable")
        if evse.reservation is not None and not evse.reservation.matches(token):
            return ActionResult.fail(f"EVSE {evse_id} is reserved for another identifier")
        if not self.auth_enabled():
            self.emit("authorize", now, evse_id=evse_id, id_token=token.id, token_type=token.type,
                      status="Accepted", source="AuthDisabled")
            self.authorized(evse, token, "Authorized", now)
            return ActionResult(True, data={"local": "AuthDisabled"})
        decision = decide(token, online=self.online, flags=self.auth_flags(), now=self.clock.datetime(now),
                          local_list=self.local_list, cache=self.auth_cache)
        if decision.outcome == "AskCsms":
            self.send_online("Authorize", {"idToken": to_id_token(token)}, now, tag=AuthorizeTag(evse_id, token))
            return ActionResult(True, data={"authorizing": True})
        self.emit("authorize", now, evse_id=evse_id, id_token=token.id, token_type=token.type, source=decision.source,
                  status=decision.info.status if decision.info else decision.outcome, reason=decision.reason)
        if decision.outcome == "Accepted":
            self.authorized(evse, token, "Authorized", now)
            return ActionResult(True, data={"local": decision.source})
        return ActionResult.fail(f"idToken {id_token} refused locally: {decision.reason}")

    def authorize_answered(self, pending: PendingCall, payload: dict[str, Any], now: float) -> None:
        tag = pending.tag
        if not isinstance(tag, AuthorizeTag):
            return
        evse_id, token = tag.where, tag.token
        info = self._remember(token, payload.get("idTokenInfo"), now)
        status = info.status if info is not None else "Invalid"
        self.emit("authorize", now, evse_id=evse_id, id_token=token.id, token_type=token.type, status=status,
                  source="CSMS")
        evse = self.evses.get(evse_id)
        if evse is not None and status == "Accepted":
            allowed = info is None or not info.evse_ids or evse_id in info.evse_ids
            if allowed:
                self.authorized(evse, token, "Authorized", now, group=info.parent if info else None)

    def _remember(self, token: IdToken, raw: object, now: float) -> AuthInfo | None:
        try:
            info = from_id_token_info(raw)
        except AuthorizationDataError:
            return None
        if self.dm.get_bool("AuthCacheCtrlr", "Enabled", True):
            self.auth_cache.put(token, info, self.clock.datetime(now))
        return info

    def on_call_failed(self, pending: PendingCall, event: CallFailed, now: float) -> None:
        tag = pending.tag
        if isinstance(tag, AuthorizeTag) and event.reason != "disconnected":
            self.emit("authorize", now, evse_id=tag.where, id_token=tag.token.id, token_type=tag.token.type,
                      status="Failed", source="CSMS", reason=event.reason)

    def authorized(self, evse: Evse201, token: IdToken | None, trigger: str, now: float, *,
                   group: IdToken | None = None) -> None:
        """``token`` may charge on ``evse`` (``None``: authorization is disabled)."""
        evse.auth_token = token
        evse.auth_group = group
        self.timers.cancel(("ev_timeout", evse.id))
        tx = evse.active_tx
        if tx is not None:
            if token is not None and tx.id_token is None:
                tx.id_token, tx.token_sent = token, False
                if tx.record is not None and self.sinks.transaction is not None:
                    tx.record.id_tag = token.id  # started on plug-in: the stored record names its driver now
                    self.sinks.transaction(tx.record)
            self._consume_reservation(evse, tx, token, group, now)
            if evse.pending_remote_start_id is not None and tx.remote_start_id is None:
                tx.remote_start_id = evse.pending_remote_start_id
            evse.pending_remote_start_id = None
            if evse.plugged and tx.charging_state != "Charging":
                self.begin_charging(evse, tx, now)
            self.transaction_event(evse, "Updated", trigger, now)
        else:
            # Started at TxStartPoint Authorized or not: without a cable within EVConnectionTimeOut the
            # authorization lapses (and a transaction it started ends with stoppedReason Timeout).
            self.maybe_start(evse, trigger, now)
            timeout = self.dm.get_int("TxCtrlr", "EVConnectionTimeOut", 120) or 0
            if timeout > 0 and not evse.plugged:
                self.timers.set(("ev_timeout", evse.id), now + timeout, partial(self.on_ev_timeout, evse))
        self.refresh_status(evse, now)

    def _consume_reservation(self, evse: Evse201, tx: Transaction201, token: IdToken | None,
                             group: IdToken | None, now: float) -> None:
        res = evse.reservation
        if res is None or token is None or not res.matches(token, group):
            return
        tx.reservation_id = res.id
        RESERVATION.fire("Reserved", "use", reservation=res.id)
        evse.reservation = None
        self.timers.cancel(("reservation", res.id))
        self.emit("reservation", now, reservation_id=res.id, status="Used", evse_id=evse.id)

    # -- transaction life ----------------------------------------------------------------------------------

    def maybe_start(self, evse: Evse201, trigger: str, now: float) -> bool:
        """Start a transaction on ``evse`` if a TxStartPoint is reached; returns whether one started."""
        if evse.active_tx is not None:
            return False
        authorized = evse.auth_token is not None or (not self.auth_enabled() and evse.plugged)
        conditions = {c for c, true in (("plugged", evse.plugged), ("authorized", authorized)) if true}
        if not start_point_reached(self.tx_points("TxStartPoint"), conditions):
            return False
        self.start_transaction(evse, trigger, now)
        return True

    def start_transaction(self, evse: Evse201, trigger: str, now: float) -> Transaction201:
        meter = evse.meter
        meter.advance(now)
        connector_id = evse.plugged_connector or min(evse.connectors)
        tx = Transaction201(time_ordered_uuid(self.rng, now), evse.id, connector_id, now, meter.register_wh,
                            id_token=evse.auth_token, remote_start_id=evse.pending_remote_start_id)
        evse.pending_remote_start_id = None
        tx.record = TransactionRecord(self.station_id, tx.transaction_id, evse.id,
                                      None if tx.id_token is None else tx.id_token.id,
                                      datetime.fromtimestamp(now, UTC), round(meter.register_wh, 1),
                                      self.version.value, evse_id=evse.id, created_at=datetime.fromtimestamp(now, UTC),
                                      updated_at=datetime.fromtimestamp(now, UTC))
        evse.tx = tx
        self._consume_reservation(evse, tx, evse.auth_token, evse.auth_group, now)
        authorized = evse.auth_token is not None or not self.auth_enabled()
        tx.charging_state = "Idle" if not evse.plugged else "EVConnected"
        if evse.plugged and authorized:
            self.begin_charging(evse, tx, now, quiet=True)
        measurands = self.dm.get_list("SampledDataCtrlr", "TxStartedMeasurands")
        self.transaction_event(evse, "Started", trigger, now,
                               meter_values=self.sample(evse, measurands, "Transaction.Begin", now, tx))
        self.schedule_sample(evse, now)
        self.emit("transaction", now, event="started", evse_id=evse.id, transaction_id=tx.transaction_id,
                  id_token=None if tx.id_token is None else tx.id_token.id)
        if self.sinks.transaction is not None and tx.record is not None:
            self.sinks.transaction(tx.record)
        self.refresh_status(evse, now)
        return tx

    def begin_charging(self, evse: Evse201, tx: Transaction201, now: float, *, quiet: bool = False) -> None:
        if tx.charging_state == "Charging":
            return
        if not tx.meter_started:
            evse.meter.start_session(now)
            tx.meter_started = True
        tx.charging_state = "Charging"
        tx.charging_since = now
        self.after_power_change(evse, now)

    def stop_charging(self, evse: Evse201, tx: Transaction201, state: str, now: float, *,
                      end_meter: bool = True) -> None:
        if tx.charging_since is not None:
            tx.time_spent_charging += now - tx.charging_since
            tx.charging_since = None
        if end_meter and tx.meter_started:
            evse.meter.end_session(now)
            tx.meter_started = False
        tx.charging_state = state
        self.after_power_change(evse, now)

    def end_transaction(self, evse: Evse201, trigger: str, reason: str, now: float) -> None:
        """Send Ended for the running transaction of ``evse`` (``reason`` is the stoppedReason)."""
        tx = evse.active_tx
        if tx is None:
            return
        evse.meter.advance(now)
        self.stop_charging(evse, tx, "EVConnected" if evse.plugged else "Idle", now)
        tx.stop_reason = reason
        measurands = self.dm.get_list("SampledDataCtrlr", "TxEndedMeasurands")
        values = self.sample(evse, measurands, "Transaction.End", now, tx)
        self.transaction_event(evse, "Ended", trigger, now, meter_values=values)
        evse.auth_token = None
        evse.auth_group = None
        self.timers.cancel(("sample", evse.id))
        rec = tx.record
        if rec is not None:
            rec.stop_timestamp = datetime.fromtimestamp(now, UTC)
            rec.meter_stop = round(evse.meter.register_wh, 1)
            rec.energy_consumed = round(evse.meter.register_wh - tx.meter_start_wh, 1)
            rec.reason = reason
            rec.status = "completed"
            rec.updated_at = rec.stop_timestamp
            if self.sinks.transaction is not None:
                self.sinks.transaction(rec)
        self.emit("transaction", now, event="stopped", evse_id=evse.id, transaction_id=tx.transaction_id,
                  reason=reason, energy_wh=round(evse.meter.register_wh - tx.meter_start_wh, 1))
        self.after_transaction_end(evse, tx, now)
        self.refresh_status(evse, now)

    def transaction_event(self, evse: Evse201, event_type: str, trigger: str, now: float, *,
                          meter_values: list[dict[str, Any]] | None = None) -> None:
        """Queue one TransactionEvent for the transaction of ``evse``."""
        tx = evse.tx
        if tx is None:
            return
        tx.fire(event_type)
        info: dict[str, Any] = {"transactionId": tx.transaction_id, "chargingState": tx.charging_state,
                                "timeSpentCharging": tx.charging_seconds(now)}
        if tx.remote_start_id is not None and not tx.remote_start_sent:
            info["remoteStartId"] = tx.remote_start_id
            tx.remote_start_sent = True
        if event_type == "Ended" and tx.stop_reason is not None:
            info["stoppedReason"] = tx.stop_reason
        payload: dict[str, Any] = {"eventType": event_type, "timestamp": iso(self.csms_now(now)),
                                   "triggerReason": trigger, "seqNo": tx.next_seq(), "transactionInfo": info,
                                   "evse": {"id": evse.id, "connectorId": tx.connector_id}}
        if not self.online:
            payload["offline"] = True
        if tx.id_token is not None and not tx.token_sent:
            payload["idToken"] = to_id_token(tx.id_token)
            tx.token_sent = True
        if tx.reservation_id is not None and not tx.reservation_sent:
            payload["reservationId"] = tx.reservation_id
            tx.reservation_sent = True
        if evse.config.current_type == "AC" and event_type == "Started":
            payload["numberOfPhasesUsed"] = evse.config.phases
        if meter_values:
            payload["meterValue"] = meter_values
        self.enqueue_tx("TransactionEvent", payload, now, local_tx=tx.transaction_id)
        self.emit("transaction_event", now, evse_id=evse.id, event_type=event_type, trigger=trigger,
                  seq_no=payload["seqNo"], transaction_id=tx.transaction_id)

    def transaction_event_answered(self, pending: PendingCall, payload: dict[str, Any], now: float) -> None:
        entry = pending.tag
        if not isinstance(entry, QueuedMessage) or "idTokenInfo" not in payload:
            return
        token_wire = entry.payload.get("idToken")
        token = IdToken(token_wire["idToken"], token_wire["type"]) if isinstance(token_wire, dict) else None
        info = self._remember(token, payload["idTokenInfo"], now) if token is not None else None
        if info is None or info.status == "Accepted":
            return
        for evse in self.evses.values():
            tx = evse.active_tx
            if tx is not None and tx.transaction_id == entry.local_tx:
                self.emit("authorize", now, evse_id=evse.id, id_token=token.id if token else None,
                          status=info.status)
                if self.dm.get_bool("TxCtrlr", "StopTxOnInvalidId", True):
                    self.end_transaction(evse, "Deauthorized", "DeAuthorized", now)
                else:
                    self.stop_charging(evse, tx, "SuspendedEVSE", now)
                    self.transaction_event(evse, "Updated", "ChargingStateChanged", now)

    # -- meter values --------------------------------------------------------------------------------------

    def sample(self, evse: Evse201, measurands: list[str], context: str, now: float,
               tx: Transaction201 | None) -> list[dict[str, Any]]:
        """One ``MeterValueType`` list (empty when nothing to report), published to the meter sink."""
        evse.meter.advance(now)
        values = evse.meter.sample(measurands)
        if not values:
            return []
        if self.sinks.meter is not None:
            ts = datetime.fromtimestamp(now, UTC)
            tid = None if tx is None else tx.transaction_id
            self.sinks.meter([MeterSample(ts, self.station_id, evse.id, tid, v.measurand, v.value, v.unit, context)
                              for v in values])
        return [{"timestamp": iso(self.csms_now(now)), "sampledValue": [v.to_v2(context) for v in values]}]

    def schedule_sample(self, evse: Evse201, now: float) -> None:
        interval = self.dm.get_int("SampledDataCtrlr", "TxUpdatedInterval", 0) or 0
        if interval > 0 and evse.active_tx is not None:
            self.timers.set(("sample", evse.id), now + interval, partial(self.on_sample_timer, evse))
        else:
            self.timers.cancel(("sample", evse.id))

    def schedule_aligned(self, now: float) -> None:
        interval = self.dm.get_int("AlignedDataCtrlr", "Interval", 0) or 0
        if interval > 0 and self.dm.get_bool("AlignedDataCtrlr", "Enabled", True):
            self.timers.set("aligned", self.clock.next_aligned(now, interval), self.on_aligned_timer)
        else:
            self.timers.cancel("aligned")

    def on_sample_timer(self, evse: Evse201, now: float) -> None:
        tx = evse.active_tx
        if tx is None:
            return
        measurands = self.dm.get_list("SampledDataCtrlr", "TxUpdatedMeasurands")
        values = self.sample(evse, measurands, "Sample.Periodic", now, tx)
        if values:
            self.transaction_event(evse, "Updated", "MeterValuePeriodic", now, meter_values=values)
        self.after_power_change(evse, now)
        self.schedule_sample(evse, now)

    def on_aligned_timer(self, now: float) -> None:
        measurands = self.dm.get_list("AlignedDataCtrlr", "Measurands")
        idle = self.dm.get_bool("AlignedDataCtrlr", "SendDuringIdle", False)
        for evse in self.evses.values():
            tx = evse.active_tx
            values = self.sample(evse, measurands, "Sample.Clock", now, tx)
            if not values:
                continue
            if tx is not None:
                self.transaction_event(evse, "Updated", "MeterValueClock", now, meter_values=values)
            elif idle:
                self.send_online("MeterValues", {"evseId": evse.id, "meterValue": values}, now)
        self.schedule_aligned(now)

    def send_meter_values(self, evse: Evse201, context: str, now: float) -> None:
        """A MeterValues message (outside transactions, e.g. triggered)."""
        measurands = self.dm.get_list("SampledDataCtrlr", "TxUpdatedMeasurands") or [
            "Energy.Active.Import.Register"]
        values = self.sample(evse, measurands, context, now, evse.active_tx)
        if values:
            self.send_online("MeterValues", {"evseId": evse.id, "meterValue": values}, now)

    def on_ev_timeout(self, evse: Evse201, now: float) -> None:
        """EVConnectionTimeOut passed after authorization without a cable: the authorization lapses."""
        if evse.plugged:
            return
        evse.auth_token = None
        tx = evse.active_tx
        if tx is not None:
            self.end_transaction(evse, "EVConnectTimeout", "Timeout", now)
        self.refresh_status(evse, now)

    def deauthorize_stop(self, evse: Evse201, now: float) -> None:
        """Authorization ended: end the transaction if TxStopPoint says so."""
        if evse.active_tx is not None and stop_point_reached(self.tx_points("TxStopPoint"), "authorized"):
            self.end_transaction(evse, "StopAuthorized", "Local", now)
