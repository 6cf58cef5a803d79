"""Variable monitoring of the 2.0.1 device model (functional block N), sans-I/O.

:class:`Monitoring` holds the monitors of one station (hard-wired, preconfigured and custom ones set by the CSMS)
and answers SetVariableMonitoring, SetMonitoringBase, SetMonitoringLevel, ClearVariableMonitoring and
GetMonitoringReport with wire-format dicts. :meth:`Monitoring.evaluate` is fed every value change and returns the
``eventData`` items of NotifyEvent for monitors that trip (threshold crossed or cleared, delta exceeded);
periodic monitors are driven by the engine's scheduler through :meth:`Monitoring.next_due` and
:meth:`Monitoring.due_events`. The clock is always passed in.

Choices where the specification leaves room: SetMonitoringBase ``All`` keeps custom monitors and (re)activates
every preconfigured one; ``FactoryDefault`` clears custom monitors and restores the factory-default preconfigured
ones; ``HardWiredOnly`` keeps only hard-wired monitors. Hard-wired monitors can be neither replaced nor cleared.
Events of monitors whose severity is above ``MonitoringCtrlr.ActiveMonitoringLevel`` are not reported (their
state is still tracked, so a later clear is consistent).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from ocppemu.station.device_model import DeviceModel, format_timestamp, matches, split_messages
from ocppemu.station.device_model_catalog import JSON, ComponentKey, VariableKey

MonitorType = Literal["UpperThreshold", "LowerThreshold", "Delta", "Periodic", "PeriodicClockAligned"]
MonitorKind = Literal["HardWiredMonitor", "PreconfiguredMonitor", "CustomMonitor"]
MONITOR_TYPES: tuple[MonitorType, ...] = ("UpperThreshold", "LowerThreshold", "Delta", "Periodic",
                                          "PeriodicClockAligned")
CRITERIA: dict[str, tuple[str, ...]] = {
    "ThresholdMonitoring": ("UpperThreshold", "LowerThreshold"),
    "DeltaMonitoring": ("Delta",),
    "PeriodicMonitoring": ("Periodic", "PeriodicClockAligned"),
}
_MAX_PERIOD_S = 366 * 86400
_PERIODIC = ("Periodic", "PeriodicClockAligned")
_THRESHOLD = ("UpperThreshold", "LowerThreshold")


@dataclass(frozen=True, slots=True)
class MonitorSpec:
    """A monitor the station ships with. ``factory_default`` ones come back on SetMonitoringBase FactoryDefault."""

    component: ComponentKey
    variable: VariableKey
    type: MonitorType
    value: float
    severity: int
    kind: MonitorKind = "PreconfiguredMonitor"
    transaction: bool = False
    factory_default: bool = True


DEFAULT_FACTORY_MONITORS: tuple[MonitorSpec, ...] = (
    MonitorSpec(ComponentKey("ChargingStation"), VariableKey("Problem"), "Delta", 1, 2, "HardWiredMonitor"),
    MonitorSpec(ComponentKey("ChargingStation"), VariableKey("AvailabilityState"), "Delta", 1, 5),
)


@dataclass(slots=True)
class Monitor:
    """One active monitor and its evaluation state."""

    id: int
    component: ComponentKey
    variable: VariableKey
    type: MonitorType
    value: float
    severity: int
    kind: MonitorKind = "CustomMonitor"
    transaction: bool = False
    tripped: bool = False
    reference: str | None = None
    due: datetime | None = None

    def to_wire(self) -> JSON:
        """``VariableMonitoringType`` item."""
        value: float = int(self.value) if float(self.value).is_integer() else self.value
        return {"id": self.id, "transaction": self.transaction, "value": value, "type": self.type,
                "severity": self.severity}


def _number(text: str | None) -> float | None:
    try:
        number = float(text) if text is not None else math.nan
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _rejected(code: str, info: str) -> JSON:
    return {"reasonCode": code, "additionalInfo": info[:512]}


class Monitoring:
    """The monitors of one station, bound to its :class:`DeviceModel` (for lookups and the MonitoringCtrlr)."""

    def __init__(self, model: DeviceModel, factory: Sequence[MonitorSpec] = DEFAULT_FACTORY_MONITORS) -> None:
        self.model = model
        self._factory = [s for s in factory if model.variable(s.component, s.variable) is not None]
        self._monitors: dict[int, Monitor] = {}
        self._next_id = len(self._factory) + 1
        self._next_event_id = 1
        self._install_factory(lambda spec: True)

    # -- state -----------------------------------------------------------------------------------------------

    @property
    def monitors(self) -> list[Monitor]:
        return list(self._monitors.values())

    def monitor(self, monitor_id: int) -> Monitor | None:
        return self._monitors.get(monitor_id)

    @property
    def level(self) -> int:
        return self.model.get_int("MonitoringCtrlr", "ActiveMonitoringLevel", 9) or 0

    def _install_factory(self, keep: Any) -> None:
        for number, spec in enumerate(self._factory, start=1):
            if keep(spec):
                self._monitors[number] = Monitor(
                    number, spec.component, spec.variable, spec.type, spec.value, spec.severity, spec.kind,
                    spec.transaction, reference=self.model.read(spec.component, spec.variable))

    def _set_ctrlr(self, variable: str, value: str) -> None:
        if self.model.variable(ComponentKey("MonitoringCtrlr"), VariableKey(variable)) is not None:
            self.model.set_value("MonitoringCtrlr", variable, value)

    # -- SetVariableMonitoring -------------------------------------------------------------------------------

    def set_variable_monitoring(self, data: Sequence[object], now: datetime) -> list[JSON]:
        """Answer ``setMonitoringData`` items with one ``setMonitoringResult`` each, in order.

        Statuses: Accepted (``id`` set, new or replaced), UnknownComponent, UnknownVariable,
        UnsupportedMonitorType (variable not monitorable, or a threshold on a non-numeric variable), Rejected
        (bad severity/value, unknown or hard-wired ``id``; ``statusInfo`` says why), Duplicate (same
        component, variable, type and severity as another monitor).
        """
        return [self._set_one(item if isinstance(item, dict) else {}, now) for item in data]

    def _set_one(self, item: dict[str, Any], now: datetime) -> JSON:
        ckey = ComponentKey.from_wire(item.get("component"))
        vkey = VariableKey.from_wire(item.get("variable"))
        mtype = item.get("type")
        severity = item.get("severity")
        result: JSON = {
            "type": mtype if mtype in MONITOR_TYPES else "Delta",
            "severity": severity if type(severity) is int else 0,
            "component": ckey.to_wire() if ckey else {"name": ""},
            "variable": vkey.to_wire() if vkey else {"name": ""},
        }
        status, info, monitor = self._check(item, ckey, vkey, now)
        if monitor is not None:
            result["id"] = monitor.id
        elif type(item.get("id")) is int:
            result["id"] = item["id"]
        result["status"] = status
        if info is not None:
            result["statusInfo"] = info
        return result

    def _check(self, item: dict[str, Any], ckey: ComponentKey | None, vkey: VariableKey | None,
               now: datetime) -> tuple[str, JSON | None, Monitor | None]:
        if ckey is None or self.model.component(ckey) is None:
            return "UnknownComponent", None, None
        var = self.model.variable(ckey, vkey) if vkey else None
        if var is None or vkey is None:
            return "UnknownVariable", None, None
        mtype, severity, value = item.get("type"), item.get("severity"), item.get("value")
        if mtype not in MONITOR_TYPES:
            return "UnsupportedMonitorType", _rejected("UnsupportedParam", f"unknown monitor type {mtype!r}"), None
        if not var.characteristics.supports_monitoring:
            return "UnsupportedMonitorType", _rejected("UnsupportedParam", f"{vkey.name} cannot be monitored"), None
        if mtype in _THRESHOLD and not var.characteristics.is_numeric:
            return "UnsupportedMonitorType", _rejected("UnsupportedParam", f"{vkey.name} is not numeric"), None
        if type(severity) is not int or not 0 <= severity <= 9:
            return "Rejected", _rejected("ValueOutOfRange", "severity must be 0..9"), None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return "Rejected", _rejected("InvalidValue", "value must be a number"), None
        if mtype == "Delta" and value < 0:
            return "Rejected", _rejected("ValuePositiveOnly", "a delta must not be negative"), None
        if mtype in _PERIODIC and value <= 0:
            return "Rejected", _rejected("ValueZeroNotAllowed", "a period must be positive"), None
        ch = var.characteristics
        if mtype in _THRESHOLD and ch.min_limit is not None and value < ch.min_limit:
            return "Rejected", _rejected("ValueTooLow", f"{vkey.name} never goes below {ch.min_limit:g}"), None
        if mtype in _THRESHOLD and ch.max_limit is not None and value > ch.max_limit:
            return "Rejected", _rejected("ValueTooHigh", f"{vkey.name} never goes above {ch.max_limit:g}"), None
        wanted_id = item.get("id")
        existing: Monitor | None = None
        if wanted_id is not None:
            existing = self._monitors.get(wanted_id) if type(wanted_id) is int else None
            if existing is None:
                return "Rejected", _rejected("NotFound", f"no monitor with id {wanted_id!r}"), None
            if existing.kind == "HardWiredMonitor":
                return "Rejected", _rejected("ReadOnly", "hard-wired monitors cannot be changed"), None
            if existing.component.index != ckey.index or existing.variable.index != vkey.index:
                return "Rejected", _rejected("InvalidValue", "a monitor cannot move to another variable"), None
        for other in self._monitors.values():
            if (other is not existing and other.component.index == ckey.index
                    and other.variable.index == vkey.index and other.type == mtype and other.severity == severity):
                return "Duplicate", None, None
        if mtype in _PERIODIC and not 1 <= float(value) <= _MAX_PERIOD_S:
            return "Rejected", _rejected("ValueOutOfRange", f"a period is 1 to {_MAX_PERIOD_S} seconds"), None
        if existing is None:
            existing = Monitor(self._next_id, ckey, vkey, mtype, float(value), severity)
            self._next_id += 1
        existing.type, existing.value, existing.severity = mtype, float(value), severity
        existing.transaction = item.get("transaction") is True
        existing.tripped = False
        existing.reference = self.model.read(ckey, vkey)
        existing.due = self._first_due(existing, now) if mtype in _PERIODIC else None
        self._monitors[existing.id] = existing
        return "Accepted", None, existing

    # -- base, level, clear ----------------------------------------------------------------------------------

    def set_monitoring_base(self, base: object) -> JSON:
        """Answer SetMonitoringBase: ``{"status": "Accepted"}`` or Rejected for an unknown base."""
        if base not in ("All", "FactoryDefault", "HardWiredOnly"):
            return {"status": "Rejected", "statusInfo": _rejected("UnsupportedParam", f"unknown base {base!r}")}
        keep_custom = base == "All"
        self._monitors = {i: m for i, m in self._monitors.items()
                          if m.kind == "HardWiredMonitor" or (keep_custom and m.kind == "CustomMonitor")}
        if base == "All":
            self._install_factory(lambda spec: spec.kind != "HardWiredMonitor")
        elif base == "FactoryDefault":
            self._install_factory(lambda spec: spec.kind != "HardWiredMonitor" and spec.factory_default)
        self._set_ctrlr("ActiveMonitoringBase", str(base))
        return {"status": "Accepted"}

    def set_monitoring_level(self, severity: object) -> JSON:
        """Answer SetMonitoringLevel: Accepted for 0..9 (events above it are not reported), Rejected otherwise."""
        if type(severity) is not int or not 0 <= severity <= 9:
            return {"status": "Rejected", "statusInfo": _rejected("ValueOutOfRange", "severity must be 0..9")}
        self._set_ctrlr("ActiveMonitoringLevel", str(severity))
        return {"status": "Accepted"}

    def clear_variable_monitoring(self, ids: Sequence[object]) -> list[JSON]:
        """Answer ClearVariableMonitoring with one ``clearMonitoringResult`` per id (Accepted/Rejected/NotFound)."""
        results: list[JSON] = []
        for raw in ids:
            monitor_id = raw if type(raw) is int else -1
            monitor = self._monitors.get(monitor_id)
            if monitor is None:
                results.append({"id": monitor_id, "status": "NotFound"})
            elif monitor.kind == "HardWiredMonitor":
                results.append({"id": monitor_id, "status": "Rejected",
                                "statusInfo": _rejected("ReadOnly", "hard-wired monitors cannot be cleared")})
            else:
                del self._monitors[monitor_id]
                results.append({"id": monitor_id, "status": "Accepted"})
        return results

    # -- reports ---------------------------------------------------------------------------------------------

    def monitoring_report(self, component_variables: Sequence[object] | None = None,
                          criteria: Sequence[object] | None = None) -> list[JSON]:
        """``monitor`` items (``MonitoringDataType``) for GetMonitoringReport, grouped per component/variable.

        Filters as :meth:`DeviceModel.custom_report` for ``component_variables``; ``criteria`` keep threshold,
        delta or periodic monitors. ``[]`` means the handler answers EmptyResultSet.
        """
        types = {t for c in (criteria or ()) if isinstance(c, str) for t in CRITERIA.get(c, ())}
        groups: dict[tuple[Any, ...], JSON] = {}
        for m in self._monitors.values():
            if criteria and m.type not in types:
                continue
            if component_variables and not any(matches(m.component, m.variable, cv) for cv in component_variables):
                continue
            group = groups.setdefault((m.component.index, m.variable.index), {
                "component": m.component.to_wire(), "variable": m.variable.to_wire(), "variableMonitoring": []})
            group["variableMonitoring"].append(m.to_wire())
        return list(groups.values())

    def report_messages(self, items: Sequence[JSON], request_id: int, generated_at: datetime) -> list[JSON]:
        """NotifyMonitoringReport payloads for ``items``, split by DeviceDataCtrlr.ItemsPerMessage[GetReport]."""
        return split_messages(items, "monitor", generated_at=generated_at, request_id=request_id,
                              items_per_message=self.model.items_per_message("DeviceDataCtrlr", "GetReport"))

    def event_messages(self, events: Sequence[JSON], generated_at: datetime, items_per_message: int = 50) -> list[JSON]:
        """NotifyEvent payloads for ``events`` (seqNo from 0, tbc on all but the last)."""
        return split_messages(events, "eventData", generated_at=generated_at, items_per_message=items_per_message)

    # -- events ----------------------------------------------------------------------------------------------

    def make_event(self, component: ComponentKey, variable: VariableKey, actual_value: str, trigger: str,
                   now: datetime, notification_type: str = "HardWiredNotification", *,
                   monitor_id: int | None = None, cleared: bool | None = None,
                   transaction_id: str | None = None, tech_code: str | None = None) -> JSON:
        """One ``EventDataType`` item with a fresh ``eventId`` (also for events not raised by a monitor)."""
        event: JSON = {"eventId": self._next_event_id, "timestamp": format_timestamp(now), "trigger": trigger,
                       "actualValue": actual_value[:2500], "component": component.to_wire(),
                       "variable": variable.to_wire(), "eventNotificationType": notification_type}
        self._next_event_id += 1
        if monitor_id is not None:
            event["variableMonitoringId"] = monitor_id
        if cleared is not None:
            event["cleared"] = cleared
        if transaction_id is not None:
            event["transactionId"] = transaction_id[:36]
        if tech_code is not None:
            event["techCode"] = tech_code[:50]
        return event

    def evaluate(self, component: ComponentKey, variable: VariableKey, new_value: str, now: datetime,
                 transaction_id: str | None = None) -> list[JSON]:
        """Feed a new value of a variable; return the NotifyEvent ``eventData`` items it causes.

        Thresholds report once when crossed (``cleared`` false) and once when back (``cleared`` true); a delta
        monitor reports when the value moved by at least its value since the last report (any change for
        non-numeric variables) and then takes the new value as reference. Monitors flagged ``transaction`` only
        act while ``transaction_id`` is given.
        """
        events: list[JSON] = []
        number = _number(new_value)
        for m in self._monitors.values():
            if m.component.index != component.index or m.variable.index != variable.index:
                continue
            if m.transaction and transaction_id is None:
                continue
            trigger, cleared = self._step(m, new_value, number)
            if trigger is not None and m.severity <= self.level:
                events.append(self.make_event(m.component, m.variable, new_value, trigger, now, m.kind,
                                              monitor_id=m.id, cleared=cleared, transaction_id=transaction_id))
        return events

    @staticmethod
    def _step(m: Monitor, text: str, number: float | None) -> tuple[str | None, bool | None]:
        if m.type in _THRESHOLD:
            if number is None:
                return None, None
            beyond = number > m.value if m.type == "UpperThreshold" else number < m.value
            if beyond != m.tripped:
                m.tripped = beyond
                return "Alerting", not beyond
            return None, None
        if m.type == "Delta":
            ref = _number(m.reference)
            moved = (abs(number - ref) >= m.value if m.value > 0 else number != ref) \
                if number is not None and ref is not None else text != m.reference
            if moved:
                m.reference = text
                return "Delta", None
        return None, None

    def should_queue_offline(self, event: JSON) -> bool:
        """Whether an event is kept while offline: its monitor's severity <= MonitoringCtrlr.OfflineQueuingSeverity
        (events not raised by a monitor are always kept)."""
        monitor = self._monitors.get(event.get("variableMonitoringId", -1))
        limit = self.model.get_int("MonitoringCtrlr", "OfflineQueuingSeverity", 9)
        return monitor is None or limit is None or monitor.severity <= limit

    # -- periodic --------------------------------------------------------------------------------------------

    @staticmethod
    def _first_due(m: Monitor, now: datetime) -> datetime:
        if m.type == "PeriodicClockAligned":
            midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
            elapsed = (now - midnight).total_seconds()
            return midnight + timedelta(seconds=(math.floor(elapsed / m.value) + 1) * m.value)
        return now + timedelta(seconds=m.value)

    def next_due(self, now: datetime) -> datetime | None:
        """When the engine should next call :meth:`due_events`; ``None`` without periodic monitors.

        Monitors that have no schedule yet (factory ones) are scheduled from ``now``.
        """
        dues: list[datetime] = []
        for m in self._monitors.values():
            if m.type in _PERIODIC:
                if m.due is None:
                    m.due = self._first_due(m, now)
                dues.append(m.due)
        return min(dues, default=None)

    def due_events(self, now: datetime, transaction_id: str | None = None) -> list[JSON]:
        """``eventData`` items (trigger Periodic, current value) of periodic monitors due at ``now``; each is
        rescheduled after ``now`` (missed periods are skipped, not replayed)."""
        events: list[JSON] = []
        for m in self._monitors.values():
            if m.type not in _PERIODIC or m.due is None or m.due > now:
                continue
            m.due = self._first_due(m, now) if m.type == "PeriodicClockAligned" else m.due + timedelta(
                seconds=m.value * (math.floor((now - m.due).total_seconds() / m.value) + 1))
            if (m.transaction and transaction_id is None) or m.severity > self.level:
                continue
            value = self.model.read(m.component, m.variable) or ""
            events.append(self.make_event(m.component, m.variable, value, "Periodic", now, m.kind,
                                          monitor_id=m.id, transaction_id=transaction_id))
        return events
