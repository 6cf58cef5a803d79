"""The device model and monitoring of a 2.0.1 station wired to the protocol and to the engine.

CSMS actions: GetVariables, SetVariables, GetBaseReport / GetReport (NotifyReport in parts), SetVariableMonitoring,
SetMonitoringBase, SetMonitoringLevel, ClearVariableMonitoring, GetMonitoringReport (NotifyMonitoringReport).

Engine glue: every Actual value change of the device model (SetVariables, AvailabilityState, Problem ...) and the
live values (``EVSE.Power``, polled every second while a monitor watches one) are fed to
:meth:`~ocppemu.station.monitoring.Monitoring.evaluate`; the events it returns go out as NotifyEvent, or wait for
the next registration when offline (if ``MonitoringCtrlr.OfflineQueuingSeverity`` allows).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from ocppemu.ocpp.framing import Call
from ocppemu.station.device_model import split_messages
from ocppemu.station.device_model_catalog import JSON, ComponentKey, VariableKey
from ocppemu.station.v201.evse import Evse201
from ocppemu.station.v201.registry import HANDLERS

if TYPE_CHECKING:
    from ocppemu.station.v201.station import Station201

POLL_SECONDS = 1.0
_DYNAMIC = (("evse", "power"), ("clockctrlr", "datetime"))


def utc(self: Station201, now: float) -> datetime:
    return self.clock.datetime(now)


# -- variables ----------------------------------------------------------------------------------------------


@HANDLERS.call("GetVariables")
def on_call_GetVariables(self: Station201, call: Call, now: float) -> None:
    self.refresh_clock_variable(now)
    self.answer(call, {"getVariableResult": self.dm.get_variables(call.payload["getVariableData"])}, now)


@HANDLERS.call("SetVariables")
def on_call_SetVariables(self: Station201, call: Call, now: float) -> None:
    results = self.dm.set_variables(call.payload["setVariableData"])
    self.answer(call, {"setVariableResult": results}, now)
    self.dm_changed(now)
    if any(r["attributeStatus"] in ("Accepted", "RebootRequired") for r in results):
        self.emit("variables", now, changed=[f"{r['component']['name']}.{r['variable']['name']}"
                                             for r in results if r["attributeStatus"] == "Accepted"])


# -- reports ------------------------------------------------------------------------------------------------


def _send_parts(self: Station201, action: str, parts: list[JSON], now: float) -> None:
    for part in parts:
        self.send_online(action, part, now, while_pending=True)


def _report_parts(self: Station201, items: list[JSON], request_id: int, now: float) -> list[JSON]:
    return split_messages(items, "reportData", generated_at=utc(self, now), request_id=request_id,
                          items_per_message=self.dm.items_per_message("DeviceDataCtrlr", "GetReport"),
                          bytes_per_message=self.dm.get_int("DeviceDataCtrlr", "BytesPerMessage", 65536,
                                                            variable_instance="GetReport"))


@HANDLERS.call("GetBaseReport")
def on_call_GetBaseReport(self: Station201, call: Call, now: float) -> None:
    self.refresh_clock_variable(now)
    items = self.dm.base_report(call.payload["reportBase"])
    if not items:
        self.answer(call, {"status": "EmptyResultSet"}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    _send_parts(self, "NotifyReport", _report_parts(self, items, call.payload["requestId"], now), now)


@HANDLERS.call("GetReport")
def on_call_GetReport(self: Station201, call: Call, now: float) -> None:
    self.refresh_clock_variable(now)
    p = call.payload
    items = self.dm.custom_report(p.get("componentVariable"), p.get("componentCriteria"))
    if not items:
        self.answer(call, {"status": "EmptyResultSet"}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    _send_parts(self, "NotifyReport", _report_parts(self, items, p["requestId"], now), now)


# -- monitoring ---------------------------------------------------------------------------------------------


@HANDLERS.call("SetVariableMonitoring")
def on_call_SetVariableMonitoring(self: Station201, call: Call, now: float) -> None:
    results = self.monitoring.set_variable_monitoring(call.payload["setMonitoringData"], utc(self, now))
    self.answer(call, {"setMonitoringResult": results}, now)
    self.dm_changed(now)
    schedule_monitors(self, now)


@HANDLERS.call("SetMonitoringBase")
def on_call_SetMonitoringBase(self: Station201, call: Call, now: float) -> None:
    self.answer(call, self.monitoring.set_monitoring_base(call.payload["monitoringBase"]), now)
    self.dm_changed(now)
    schedule_monitors(self, now)


@HANDLERS.call("SetMonitoringLevel")
def on_call_SetMonitoringLevel(self: Station201, call: Call, now: float) -> None:
    self.answer(call, self.monitoring.set_monitoring_level(call.payload["severity"]), now)
    self.dm_changed(now)


@HANDLERS.call("ClearVariableMonitoring")
def on_call_ClearVariableMonitoring(self: Station201, call: Call, now: float) -> None:
    results = self.monitoring.clear_variable_monitoring(call.payload["id"])
    self.answer(call, {"clearMonitoringResult": results}, now)
    schedule_monitors(self, now)


@HANDLERS.call("GetMonitoringReport")
def on_call_GetMonitoringReport(self: Station201, call: Call, now: float) -> None:
    p = call.payload
    items = self.monitoring.monitoring_report(p.get("componentVariable"), p.get("monitoringCriteria"))
    if not items:
        self.answer(call, {"status": "EmptyResultSet"}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    parts = self.monitoring.report_messages(items, p["requestId"], utc(self, now))
    _send_parts(self, "NotifyMonitoringReport", parts, now)


# -- events -------------------------------------------------------------------------------------------------


def _tx_of(self: Station201, component: ComponentKey) -> str | None:
    if component.evse is not None:
        evse = self.evses.get(component.evse)
        if evse is not None and evse.active_tx is not None:
            return evse.active_tx.transaction_id
    return None


def notify_events(self: Station201, events: list[JSON], now: float) -> None:
    """Send NotifyEvent for ``events`` now, or keep those that must survive being offline."""
    if not events:
        return
    self.emit("monitor_event", now, events=events)
    if not self.online:
        self.pending_events.extend(e for e in events if self.monitoring.should_queue_offline(e))
        return
    for payload in self.monitoring.event_messages(events, utc(self, now)):
        self.send_online("NotifyEvent", payload, now)


def flush_pending_events(self: Station201, now: float) -> None:
    events, self.pending_events = self.pending_events, []
    notify_events(self, events, now)


def variable_changed(self: Station201, component: ComponentKey, variable: VariableKey, value: str,
                     now: float) -> None:
    notify_events(self, self.monitoring.evaluate(component, variable, value, utc(self, now),
                                                 _tx_of(self, component)), now)


def evaluate_dynamic(self: Station201, now: float) -> None:
    """Feed the live values that monitors watch (EVSE power, clock) to the monitoring, once per variable."""
    self.refresh_clock_variable(now)
    watched: dict[tuple[Any, Any], tuple[ComponentKey, VariableKey]] = {}
    for m in self.monitoring.monitors:
        if (m.component.name.casefold(), m.variable.name.casefold()) in _DYNAMIC:
            watched.setdefault((m.component.index, m.variable.index), (m.component, m.variable))
    events: list[JSON] = []
    for component, variable in watched.values():
        value = self.dm.read(component, variable)
        if value is not None:
            events.extend(self.monitoring.evaluate(component, variable, value, utc(self, now),
                                                   _tx_of(self, component)))
    notify_events(self, events, now)


def mirror_availability(self: Station201, evse: Evse201, connector_id: int, status: str, now: float) -> None:
    """Keep the AvailabilityState variables of the connector and its EVSE equal to the live status."""
    try:
        self.set_variable("Connector", "AvailabilityState", status, now, evse=evse.id, connector=connector_id)
        statuses = [c.status for c in evse.connectors.values()]
        overall = next((s for s in ("Occupied", "Reserved", "Available", "Faulted") if s in statuses),
                       "Unavailable")
        self.set_variable("EVSE", "AvailabilityState", overall, now, evse=evse.id)
    except LookupError:
        pass  # a topology without those components: nothing to mirror


def schedule_monitors(self: Station201, now: float) -> None:
    """(Re)arm the poll of live monitored values and the next periodic monitor."""
    watching = any((m.component.name.casefold(), m.variable.name.casefold()) in _DYNAMIC
                   for m in self.monitoring.monitors)
    if watching:
        if not self.timers.is_set("monitor_poll"):
            self.timers.set("monitor_poll", now + POLL_SECONDS, partial(_poll_timer, self))
    else:
        self.timers.cancel("monitor_poll")
    due = self.monitoring.next_due(utc(self, now))
    if due is None:
        self.timers.cancel("monitor_periodic")
    else:
        self.timers.set("monitor_periodic", self.clock.local(due.timestamp()), partial(periodic_monitors, self))


def _poll_timer(self: Station201, now: float) -> None:
    evaluate_dynamic(self, now)
    schedule_monitors(self, now)


def periodic_monitors(self: Station201, now: float) -> None:
    """The periodic monitors that are due report (2.1 streams take their monitors' values instead)."""
    skip = self.streamed_monitor_ids()
    events = [e for e in self.monitoring.due_events(utc(self, now)) if e.get("variableMonitoringId") not in skip]
    if events:
        notify_events(self, events, now)
    schedule_monitors(self, now)
