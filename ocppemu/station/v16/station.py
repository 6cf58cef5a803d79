"""The OCPP 1.6 charge point: connectors, status, transactions, meter values and the user's actions.

CSMS-initiated commands are answered by :class:`~ocppemu.station.v16.commands.Commands16`, mixed in here.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from ocppemu.config.station import ConnectorConfig, StationConfig
from ocppemu.ocpp.records import MeterSample, TransactionRecord
from ocppemu.ocpp.rpc import CallFailed, PendingCall
from ocppemu.station.actions import FAULT_CODES_16, check_fault_code
from ocppemu.station.authorization import AuthorizationCache, IdToken, LocalAuthList, decide, flags_from_values
from ocppemu.station.authorization import from_id_tag_info as auth_from_16
from ocppemu.station.configuration_keys import ConfigurationStore
from ocppemu.station.connector_status import IllegalTransition, check_transition, table_for
from ocppemu.station.core import ActionResult, Sinks, StationCore, iso
from ocppemu.station.meter import Meter, SampledValue
from ocppemu.station.offline_queue import QueuedMessage
from ocppemu.station.state_tables import RESERVATION, TRANSACTION_16
from ocppemu.station.tags import AuthorizeTag
from ocppemu.station.v16 import commands  # noqa: F401  (registers the handlers of the CSMS's calls)
from ocppemu.station.v16.charging_profiles import SmartCharging16
from ocppemu.station.v16.registry import HANDLERS

log = logging.getLogger(__name__)

_TX_STATUSES = frozenset({"Charging", "SuspendedEV", "SuspendedEVSE"})


@dataclass(slots=True)
class Transaction16:
    """A transaction from the station's side. ``transaction_id`` is known once the CSMS answered."""

    local_key: str
    connector_id: int
    id_tag: str
    started_at: float
    meter_start: int
    begin_values: list[SampledValue]
    transaction_id: int | None = None
    reservation_id: int | None = None
    #: Lifecycle state (table :data:`~ocppemu.station.state_tables.TRANSACTION_16`).
    state: str = "Starting"
    record: TransactionRecord | None = None

    @property
    def stopping(self) -> bool:
        """StopTransaction is queued (or answered): the transaction no longer runs."""
        return self.state in ("Stopping", "Ended")

    def fire(self, event: str) -> None:
        self.state = TRANSACTION_16.fire(self.state, event, transaction=self.local_key)


@dataclass(slots=True)
class Connector16:
    id: int
    config: ConnectorConfig | None
    meter: Meter | None
    status: str = "Available"
    error_code: str = "NoError"
    info: str | None = None
    plugged: bool = False
    operative: bool = True
    scheduled_inoperative: bool | None = None
    authorized_tag: str | None = None
    reservation: dict[str, Any] | None = None
    tx: Transaction16 | None = None
    reported: str | None = field(default=None)


class Station16(StationCore):
    """An OCPP 1.6 charge point (JSON). See :class:`~ocppemu.station.core.StationCore` for the driving contract."""

    handlers = HANDLERS

    def __init__(self, config: StationConfig, sinks: Sinks | None = None, *,
                 registers_wh: dict[int, float] | None = None) -> None:
        super().__init__(config, sinks)
        self.cfg = ConfigurationStore.for_station(config)
        self.auth_cache = AuthorizationCache()
        self.local_list = LocalAuthList()
        registers = registers_wh or {}
        self.connectors: dict[int, Connector16] = {0: Connector16(0, None, None)}
        for c in config.connectors:
            self.connectors[c.id] = Connector16(
                c.id, c, Meter(c, config.simulation, register_wh=registers.get(c.id, 0.0)))
        self.transactions: dict[str, Transaction16] = {}
        self._next_local = 1
        self.heartbeat_interval = self.cfg.get_int("HeartbeatInterval", config.simulation.heartbeat_interval)
        self.smart = SmartCharging16(self)
        self.firmware_status = "Idle"
        self.diagnostics_status = "Idle"
        self.log_status = "Idle"
        self.certificates: dict[str, dict[str, str]] = {}
        self.sequences: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.reset_deadline = 0.0

    # -- registration --------------------------------------------------------------------------------------------

    def boot_payload(self) -> dict[str, Any]:
        c = self.config
        payload: dict[str, Any] = {"chargePointVendor": c.vendor, "chargePointModel": c.model}
        for key, value in (("chargePointSerialNumber", c.serial_number), ("chargeBoxSerialNumber", c.serial_number),
                           ("firmwareVersion", c.firmware_version), ("iccid", c.iccid), ("imsi", c.imsi),
                           ("meterType", c.meter_type), ("meterSerialNumber", c.meter_serial_number)):
            if value:
                payload[key] = value
        return payload

    def on_registered(self, now: float) -> None:
        self.cfg.set_local("HeartbeatInterval", str(self.heartbeat_interval))
        for conn in self.connectors.values():
            conn.reported = None
            self._notify_status(conn, now)
        self._schedule_aligned(now)
        for conn in self.connectors.values():
            # A re-registration keeps a running sample timer: restarting it would stretch the interval.
            if conn.tx is not None and not conn.tx.stopping and not self.timers.is_set(("sample", conn.id)):
                self._schedule_sample(conn, now)

    def configuration_changed(self, key: str, now: float) -> None:
        """A configuration key took a new value at ``now`` (ChangeConfiguration accepted it)."""
        if key == "HeartbeatInterval":
            self.set_heartbeat_interval(self.cfg.get_int("HeartbeatInterval"), now)
        elif key == "MeterValueSampleInterval":
            for conn in self.connectors.values():
                if conn.tx is not None and not conn.tx.stopping:
                    self._schedule_sample(conn, now)
        elif key == "ClockAlignedDataInterval":
            self._schedule_aligned(now)

    # -- status --------------------------------------------------------------------------------------------------

    def _notify_status(self, conn: Connector16, now: float) -> None:
        if not self.online or conn.reported == conn.status + conn.error_code:
            return
        conn.reported = conn.status + conn.error_code
        payload: dict[str, Any] = {"connectorId": conn.id, "errorCode": conn.error_code, "status": conn.status,
                                   "timestamp": iso(self.csms_now(now))}
        if conn.info:
            payload["info"] = conn.info[:50]
        self.send_call("StatusNotification", payload, now)

    def _set_status(self, conn: Connector16, status: str, now: float) -> None:
        """Move ``conn`` to ``status`` through the 1.6 status table (an illegal move raises, nothing changes)."""
        if conn.status == status:
            return
        check_transition(self.version, conn.id, conn.status, status)
        old, conn.status = conn.status, status
        self.emit("status", now, connector_id=conn.id, status=status, previous=old, error_code=conn.error_code)
        if self.config.simulation.status_notification_on_change:
            self._notify_status(conn, now)

    def _settle(self, conn: Connector16, target: str, now: float) -> None:
        """Move ``conn`` to ``target``, through Available when the table has no direct move (Preparing or
        Charging -> Reserved: the connector frees, then the reservation holds it again)."""
        if conn.status != target and not table_for(self.version, conn.id).allows(conn.status, target) \
                and table_for(self.version, conn.id).allows("Available", target):
            self._set_status(conn, "Available", now)
        self._set_status(conn, target, now)

    def _idle_status(self, conn: Connector16) -> str:
        if conn.status == "Faulted" and conn.error_code != "NoError":
            return "Faulted"
        if not conn.operative:
            return "Unavailable"
        if conn.reservation is not None:
            return "Reserved"
        if conn.plugged or conn.authorized_tag:
            return "Finishing" if conn.plugged and conn.status in _TX_STATUSES | {"Finishing"} else "Preparing"
        return "Available"

    def connector(self, connector_id: int) -> Connector16 | None:
        return self.connectors.get(connector_id) if connector_id > 0 else None

    # -- user actions --------------------------------------------------------------------------------------------

    def plug_in(self, connector_id: int, now: float) -> ActionResult:
        conn = self.connector(connector_id)
        if conn is None:
            return ActionResult.fail(f"no connector {connector_id}")
        if conn.plugged:
            return ActionResult.fail(f"connector {connector_id} already has a cable plugged in")
        if conn.status in ("Faulted", "Unavailable"):
            return ActionResult.fail(f"connector {connector_id} is {conn.status}")
        conn.plugged = True
        if conn.authorized_tag is not None and conn.tx is None:
            self._start_transaction(conn, conn.authorized_tag, now)
        elif conn.tx is None:
            self._set_status(conn, "Preparing", now)
            self._arm_connection_timeout(conn, now)
        return ActionResult(True)

    def unplug(self, connector_id: int, now: float) -> ActionResult:
        conn = self.connector(connector_id)
        if conn is None or not conn.plugged:
            return ActionResult.fail(f"connector {connector_id} has no cable plugged in")
        conn.plugged = False
        if conn.tx is not None and not conn.tx.stopping:
            if self.cfg.get_bool("StopTransactionOnEVSideDisconnect", True):
                self._stop_transaction(conn, "EVDisconnected", now)
            else:
                self._set_status(conn, "SuspendedEV", now)
                return ActionResult(True)
        if conn.tx is None:
            conn.authorized_tag = None
            self._go_idle(conn, now)
        return ActionResult(True)

    def present_id_tag(self, connector_id: int, id_tag: str, now: float) -> ActionResult:
        """A driver swipes ``id_tag`` at ``connector_id``: authorize, then start (or stop their own session)."""
        conn = self.connector(connector_id)
        if conn is None:
            return ActionResult.fail(f"no connector {connector_id}")
        if conn.tx is not None and not conn.tx.stopping:
            if conn.tx.id_tag.casefold() == id_tag.casefold():
                self._stop_transaction(conn, "Local", now)
                return ActionResult(True, data={"stopped": True})
            return ActionResult.fail(f"connector {connector_id} is in a transaction of another idTag")
        if conn.status in ("Faulted", "Unavailable"):
            return ActionResult.fail(f"connector {connector_id} is {conn.status}")
        flags = flags_from_values(self.cfg.get_bool)
        decision = decide(IdToken(id_tag), online=self.online, flags=flags, now=self.clock.datetime(now),
                          local_list=self.local_list, cache=self.auth_cache)
        if decision.outcome == "AskCsms":
            self.send_call("Authorize", {"idTag": id_tag}, now, tag=AuthorizeTag(connector_id, IdToken(id_tag)))
            return ActionResult(True, data={"authorizing": True})
        self.emit("authorize", now, connector_id=connector_id, id_tag=id_tag, source=decision.source,
                  status=decision.info.status if decision.info else decision.outcome, reason=decision.reason)
        if decision.outcome == "Accepted":
            self._authorized(conn, id_tag, now)
            return ActionResult(True, data={"local": decision.source})
        return ActionResult.fail(f"idTag {id_tag} refused locally: {decision.reason}")

    def start_session(self, connector_id: int, id_tag: str | None, now: float) -> ActionResult:
        """Plug in and present ``id_tag`` (the station default when None): the usual local start. Refused when a
        transaction already runs on the connector (use :meth:`present_id_tag` to swipe, or :meth:`stop_session`)."""
        conn = self.connector(connector_id)
        if conn is None:
            return ActionResult.fail(f"no connector {connector_id}")
        if conn.tx is not None and not conn.tx.stopping:
            tid = conn.tx.transaction_id if conn.tx.transaction_id is not None else conn.tx.local_key
            return ActionResult.fail(f"connector {connector_id} is already charging (transaction {tid}); stop it "
                                     "first, or present its tag to stop it")
        if not conn.plugged:
            result = self.plug_in(connector_id, now)
            if not result.ok:
                return result
        return self.present_id_tag(connector_id, id_tag or self.config.simulation.default_id_tag, now)

    def stop_session(self, connector_id: int, now: float, reason: str = "Local") -> ActionResult:
        conn = self.connector(connector_id)
        if conn is None or conn.tx is None or conn.tx.stopping:
            return ActionResult.fail(f"no transaction on connector {connector_id}")
        self._stop_transaction(conn, reason, now)
        return ActionResult(True)

    def suspend(self, connector_id: int, by: str, now: float) -> ActionResult:
        conn = self.connector(connector_id)
        if conn is None or conn.tx is None or conn.meter is None:
            return ActionResult.fail(f"no transaction on connector {connector_id}")
        conn.meter.advance(now)
        if by == "EV":
            conn.meter.set_ev_suspended(True, now)
            self._set_status(conn, "SuspendedEV", now)
        else:
            conn.meter.set_evse_suspended(True, now)
            self._set_status(conn, "SuspendedEVSE", now)
        return ActionResult(True)

    def resume(self, connector_id: int, now: float) -> ActionResult:
        conn = self.connector(connector_id)
        if conn is None or conn.tx is None or conn.meter is None:
            return ActionResult.fail(f"no transaction on connector {connector_id}")
        conn.meter.advance(now)
        conn.meter.set_ev_suspended(False, now)
        conn.meter.set_evse_suspended(False, now)
        self._set_status(conn, "Charging", now)
        return ActionResult(True)

    def fault(self, connector_id: int, error_code: str, now: float, info: str | None = None) -> ActionResult:
        conn = self.connectors.get(connector_id)
        if conn is None:
            return ActionResult.fail(f"no connector {connector_id}")
        refused = check_fault_code(error_code, FAULT_CODES_16)
        if refused is not None:
            return ActionResult.fail(refused)
        if conn.tx is not None and not conn.tx.stopping:
            self._stop_transaction(conn, "Other", now)
        conn.error_code, conn.info = error_code, info
        self._set_status(conn, "Faulted", now)
        return ActionResult(True)

    def clear_fault(self, connector_id: int, now: float) -> ActionResult:
        conn = self.connectors.get(connector_id)
        if conn is None or conn.status != "Faulted":
            return ActionResult.fail(f"connector {connector_id} is not faulted")
        conn.error_code, conn.info = "NoError", None
        conn.reported = None
        self._settle(conn, self._idle_status(conn), now)
        self._notify_status(conn, now)
        return ActionResult(True)

    def set_connector_status(self, connector_id: int, status: str, now: float, *,
                             error_code: str = "NoError") -> ActionResult:
        """Force a status (for testing a CSMS), checked against the 1.6 state table."""
        conn = self.connectors.get(connector_id)
        if conn is None:
            return ActionResult.fail(f"no connector {connector_id}")
        conn.error_code = error_code
        try:
            self._set_status(conn, status, now)
        except IllegalTransition as exc:
            return ActionResult.fail(str(exc))
        return ActionResult(True)

    # -- the StationActions interface ---------------------------------------------------------------------------

    def present_tag(self, where: int, id_tag: str | None, now: float, /) -> ActionResult:
        return self.present_id_tag(where, id_tag or self.config.simulation.default_id_tag, now)

    def start(self, where: int, id_tag: str | None, now: float, /) -> ActionResult:
        return self.start_session(where, id_tag, now)

    def stop(self, where: int, now: float, reason: str = "Local", /) -> ActionResult:
        return self.stop_session(where, now, reason)

    def inject_fault(self, where: int, error_code: str, now: float, /) -> ActionResult:
        return self.fault(where, error_code, now)

    def recover(self, where: int, now: float, /) -> ActionResult:
        return self.clear_fault(where, now)

    def set_status(self, where: int, status: str, error_code: str, now: float, /) -> ActionResult:
        return self.set_connector_status(where, status, now, error_code=error_code)

    def fault_codes(self) -> tuple[str, ...]:
        return FAULT_CODES_16

    def power_loss(self, now: float, /) -> ActionResult:
        stopped = [c.id for c in self.connectors.values() if c.tx is not None and not c.tx.stopping]
        for cid in stopped:
            self._stop_transaction(self.connectors[cid], "PowerLoss", now)
        self.emit("power_loss", now, stopped_connectors=stopped)
        self.prepare_reboot("PowerUp", now)
        return ActionResult(True, data={"stopped_connectors": stopped})

    # -- authorization ------------------------------------------------------------------------------------------

    def authorize_answered(self, pending: PendingCall, payload: dict[str, Any], now: float) -> None:
        tag = pending.tag
        if not isinstance(tag, AuthorizeTag):
            return
        connector_id, id_tag = tag.where, tag.token.id
        info = payload.get("idTagInfo", {})
        with contextlib.suppress(ValueError):
            self.auth_cache.put(IdToken(id_tag), auth_from_16(info), self.clock.datetime(now))
        conn = self.connector(connector_id)
        status = info.get("status")
        self.emit("authorize", now, connector_id=connector_id, id_tag=id_tag, status=status, source="CSMS")
        if conn is None:
            return
        if status == "Accepted":
            self._authorized(conn, id_tag, now)
        elif conn.tx is None and conn.authorized_tag is None:
            self._settle(conn, self._idle_status(conn), now)

    def on_call_failed(self, pending: PendingCall, event: CallFailed, now: float) -> None:
        tag = pending.tag
        if isinstance(tag, AuthorizeTag) and event.reason != "disconnected":
            self.emit("authorize", now, connector_id=tag.where, id_tag=tag.token.id, status="Failed", source="CSMS",
                      reason=event.reason)

    def _authorized(self, conn: Connector16, id_tag: str, now: float) -> None:
        if conn.reservation is not None and conn.reservation.get("idTag", "").casefold() != id_tag.casefold():
            parent = conn.reservation.get("parentIdTag")
            if not parent:
                return
        conn.authorized_tag = id_tag
        if conn.plugged and conn.tx is None:
            self._start_transaction(conn, id_tag, now)
        elif conn.tx is None:
            self._set_status(conn, "Preparing", now)
            self._arm_connection_timeout(conn, now)

    def _arm_connection_timeout(self, conn: Connector16, now: float) -> None:
        timeout = self.cfg.get_int("ConnectionTimeOut", 60)
        if timeout > 0:
            self.timers.set(("conn_timeout", conn.id), now + timeout, partial(self._connection_timeout, conn))

    # -- transactions ------------------------------------------------------------------------------------------

    def _start_transaction(self, conn: Connector16, id_tag: str, now: float) -> None:
        assert conn.meter is not None
        self.timers.cancel(("conn_timeout", conn.id))
        local = f"L{self._next_local}"
        self._next_local += 1
        meter = conn.meter
        meter.advance(now)
        meter.start_session(now)
        meter_start = round(meter.register_wh)
        begin = meter.sample(self.cfg.get_list("StopTxnSampledData", []))
        tx = Transaction16(local, conn.id, id_tag, now, meter_start, begin)
        if conn.reservation is not None:
            tx.reservation_id = conn.reservation.get("reservationId")
            RESERVATION.fire("Reserved", "use", reservation=tx.reservation_id)
            conn.reservation = None
            self.timers.cancel(("reservation", conn.id))
        tx.record = TransactionRecord(self.station_id, local, conn.id, id_tag,
                                      datetime.fromtimestamp(now, UTC), float(meter_start), self.version.value,
                                      created_at=datetime.fromtimestamp(now, UTC),
                                      updated_at=datetime.fromtimestamp(now, UTC))
        conn.tx = tx
        conn.authorized_tag = None
        self.transactions[local] = tx
        payload: dict[str, Any] = {"connectorId": conn.id, "idTag": id_tag, "meterStart": meter_start,
                                   "timestamp": iso(self.csms_now(now))}
        if tx.reservation_id is not None:
            payload["reservationId"] = tx.reservation_id
        self.enqueue_tx("StartTransaction", payload, now, local_tx=local)
        if conn.status in ("Reserved", "Finishing"):
            # A real charger passes Preparing on the way (Reserved -> Charging is not in the 1.6 table).
            self._set_status(conn, "Preparing", now)
        self._set_status(conn, "Charging", now)
        self._schedule_sample(conn, now)
        self.smart.apply_limits(now)
        self.emit("transaction", now, event="started", connector_id=conn.id, local_key=local, id_tag=id_tag)
        self._publish_tx(tx)

    def start_transaction_answered(self, pending: PendingCall, payload: dict[str, Any], now: float) -> None:
        entry = pending.tag
        if not isinstance(entry, QueuedMessage) or entry.local_tx is None:
            return
        tx = self.transactions.get(entry.local_tx)
        if tx is None:
            return
        tx.transaction_id = int(payload.get("transactionId", 0))
        tx.fire("id_assigned")
        info = payload.get("idTagInfo", {})
        if tx.record is not None:
            tx.record.transaction_id = str(tx.transaction_id)
        self.emit("transaction", now, event="accepted", connector_id=tx.connector_id, local_key=tx.local_key,
                  transaction_id=tx.transaction_id, id_tag_status=info.get("status"))
        self._publish_tx(tx)
        conn = self.connectors[tx.connector_id]
        if info.get("status") != "Accepted" and conn.tx is tx and not tx.stopping:
            if self.cfg.get_bool("StopTransactionOnInvalidId", True):
                self._stop_transaction(conn, "DeAuthorized", now)
            else:
                self.suspend(conn.id, "EVSE", now)

    def _stop_transaction(self, conn: Connector16, reason: str, now: float) -> None:
        tx = conn.tx
        assert tx is not None and conn.meter is not None
        tx.fire("stop")
        self.timers.cancel(("sample", conn.id))
        meter = conn.meter
        meter.advance(now)
        end = meter.sample(self.cfg.get_list("StopTxnSampledData", []))
        meter_stop = max(round(meter.register_wh), tx.meter_start)
        meter.end_session(now)
        payload: dict[str, Any] = {"meterStop": meter_stop, "timestamp": iso(self.csms_now(now)),
                                   "transactionId": 0, "reason": reason, "idTag": tx.id_tag}
        if tx.begin_values or end:
            payload["transactionData"] = [
                {"timestamp": iso(self.csms_now(tx.started_at)),
                 "sampledValue": [v.to_v16("Transaction.Begin") for v in tx.begin_values] or
                 [{"value": str(tx.meter_start), "context": "Transaction.Begin"}]},
                {"timestamp": iso(self.csms_now(now)),
                 "sampledValue": [v.to_v16("Transaction.End") for v in end] or
                 [{"value": str(meter_stop), "context": "Transaction.End"}]},
            ]
        self.enqueue_tx("StopTransaction", payload, now, local_tx=tx.local_key)
        conn.tx = None
        self.smart.transaction_ended(tx.transaction_id if tx.transaction_id is not None else tx.local_key, now)
        if tx.record is not None:
            rec = tx.record
            rec.stop_timestamp = datetime.fromtimestamp(now, UTC)
            rec.meter_stop = float(meter_stop)
            rec.energy_consumed = float(meter_stop - tx.meter_start)
            rec.reason = reason
            rec.status = "completed"
            rec.updated_at = rec.stop_timestamp
        self.emit("transaction", now, event="stopped", connector_id=conn.id, local_key=tx.local_key,
                  transaction_id=tx.transaction_id, reason=reason, meter_stop=meter_stop)
        self._publish_tx(tx)
        if conn.scheduled_inoperative is not None:
            conn.operative = not conn.scheduled_inoperative
            conn.scheduled_inoperative = None
        target = "Finishing" if conn.plugged and conn.operative else self._idle_status(conn)
        self._settle(conn, target, now)

    def stop_transaction_answered(self, pending: PendingCall, payload: dict[str, Any], now: float) -> None:
        entry = pending.tag
        if isinstance(entry, QueuedMessage) and entry.local_tx is not None:
            tx = self.transactions.pop(entry.local_tx, None)
            if tx is not None:
                tx.fire("stop_confirmed")

    def prepare_queued(self, entry: QueuedMessage) -> dict[str, Any] | None:
        if entry.local_tx is None or entry.action == "StartTransaction":
            return entry.payload
        tx = self.transactions.get(entry.local_tx)
        if tx is None or tx.transaction_id is None:
            # The StartTransaction never got an id (refused and dropped): the spec has nothing better than 0...
            # unless it is still ahead of us in the queue, which cannot be: entries go strictly in order.
            return {**entry.payload, "transactionId": 0}
        return {**entry.payload, "transactionId": tx.transaction_id}

    def _publish_tx(self, tx: Transaction16) -> None:
        # Published once the CSMS's transaction id is known, so the store keeps one record per transaction.
        if self.sinks.transaction is not None and tx.record is not None and tx.transaction_id is not None:
            self.sinks.transaction(tx.record)

    # -- meter values ------------------------------------------------------------------------------------------

    def _schedule_sample(self, conn: Connector16, now: float) -> None:
        interval = self.cfg.get_int("MeterValueSampleInterval", 0)
        if interval > 0:
            self.timers.set(("sample", conn.id), now + interval, partial(self._sample_timer, conn))
        else:
            self.timers.cancel(("sample", conn.id))

    def _schedule_aligned(self, now: float) -> None:
        interval = self.cfg.get_int("ClockAlignedDataInterval", 0)
        if interval > 0:
            self.timers.set("aligned", self.clock.next_aligned(now, interval), self._aligned_timer)
        else:
            self.timers.cancel("aligned")

    def _meter_values(self, conn: Connector16, measurands: list[str], context: str, now: float) -> None:
        assert conn.meter is not None
        conn.meter.advance(now)
        values = conn.meter.sample(measurands)
        if not values:
            return
        tx = conn.tx if conn.tx is not None and not conn.tx.stopping else None
        payload: dict[str, Any] = {
            "connectorId": conn.id,
            "meterValue": [{"timestamp": iso(self.csms_now(now)), "sampledValue": [v.to_v16(context) for v in values]}],
        }
        self._publish_samples(conn, tx, values, context, now)
        if tx is not None:
            payload["transactionId"] = 0
            self.enqueue_tx("MeterValues", payload, now, local_tx=tx.local_key)
        elif self.online:
            self.send_call("MeterValues", payload, now)

    def _publish_samples(self, conn: Connector16, tx: Transaction16 | None, values: list[SampledValue],
                         context: str, now: float) -> None:
        if self.sinks.meter is None:
            return
        ts = datetime.fromtimestamp(now, UTC)
        tx_id = None if tx is None else (str(tx.transaction_id) if tx.transaction_id is not None else tx.local_key)
        self.sinks.meter([MeterSample(ts, self.station_id, conn.id, tx_id, v.measurand, v.value, v.unit, context)
                          for v in values])

    def _sample_timer(self, conn: Connector16, now: float) -> None:
        if conn.tx is not None and not conn.tx.stopping:
            self._meter_values(conn, self.cfg.get_list("MeterValuesSampledData", []), "Sample.Periodic", now)
            self._schedule_sample(conn, now)

    def _connection_timeout(self, conn: Connector16, now: float) -> None:
        if conn.tx is None:
            conn.authorized_tag = None
            if not conn.plugged:
                self._go_idle(conn, now)

    def _go_idle(self, conn: Connector16, now: float) -> None:
        """Settle an idle connector, then apply an availability change that waited for it (and report it)."""
        self._settle(conn, self._idle_status(conn), now)
        if conn.scheduled_inoperative is not None:
            conn.operative, conn.scheduled_inoperative = not conn.scheduled_inoperative, None
            if conn.status != "Faulted":
                self._settle(conn, self._idle_status(conn), now)

    def _reservation_expired(self, conn: Connector16, now: float) -> None:
        if conn.reservation is not None:
            RESERVATION.fire("Reserved", "expire", reservation=conn.reservation.get("reservationId"))
            conn.reservation = None
            self._settle(conn, self._idle_status(conn), now)

    def _aligned_timer(self, now: float) -> None:
        measurands = self.cfg.get_list("MeterValuesAlignedData", [])
        for conn in self.connectors.values():
            if conn.id > 0 and measurands:
                self._meter_values(conn, measurands, "Sample.Clock", now)
        self._schedule_aligned(now)

    def sign_certificate_answered(self, pending: PendingCall, payload: dict[str, Any], now: float) -> None:
        self.emit("certificate", now, sign_request=payload.get("status"))

    def active_transactions(self) -> dict[int, str]:
        return {c.id: str(c.tx.transaction_id if c.tx.transaction_id is not None else c.tx.local_key)
                for c in self.connectors.values() if c.tx is not None}

    def snapshot(self) -> dict[str, Any]:
        snap = super().snapshot()
        snap["connectors"] = [
            {"id": c.id, "status": c.status, "error_code": c.error_code, "plugged": c.plugged,
             "operative": c.operative,
             "transaction_id": None if c.tx is None else (c.tx.transaction_id or c.tx.local_key),
             "id_tag": None if c.tx is None else c.tx.id_tag,
             "started_at": None if c.tx is None else c.tx.started_at,
             "meter_start_wh": None if c.tx is None else c.tx.meter_start,
             "power_w": None if c.meter is None else round(c.meter.power_w, 1),
             "energy_wh": None if c.meter is None else round(c.meter.register_wh, 1),
             "soc": None if c.meter is None or c.tx is None else round(c.meter.soc, 1)}
            for c in self.connectors.values()
        ]
        snap["configuration"] = self.cfg.get_configuration(None)["configurationKey"]
        return snap

    def meter_readings(self, now: float) -> dict[int, tuple[float, float, float]]:
        out: dict[int, tuple[float, float, float]] = {}
        for c in self.connectors.values():
            if c.meter is not None:
                energy, soc = c.meter.reading_at(now)
                out[c.id] = (energy, c.meter.power_w, soc)
        return out

    def registers(self) -> dict[int, float]:
        """Energy registers per connector, to be saved and passed back after a restart."""
        return {c.id: c.meter.register_wh for c in self.connectors.values() if c.meter is not None}


HANDLERS.result("Authorize")(Station16.authorize_answered)
HANDLERS.result("StartTransaction")(Station16.start_transaction_answered)
HANDLERS.result("StopTransaction")(Station16.stop_transaction_answered)
HANDLERS.result("SignCertificate")(Station16.sign_certificate_answered)
HANDLERS.check_complete()
