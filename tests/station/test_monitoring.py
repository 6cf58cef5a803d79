"""Variable monitoring (2.0.1 block N): set/clear/base/level, reports, events when values trip, periodic ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocppemu.station.device_model import ComponentKey, DeviceModel, StationDescription, VariableKey
from ocppemu.station.monitoring import Monitoring

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "v201"
T0 = datetime(2025, 3, 1, 10, 0, 7, tzinfo=UTC)
EVSE1 = {"name": "EVSE", "evse": {"id": 1}}
POWER = ComponentKey("EVSE", evse=1), VariableKey("Power")


@cache
def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())  # type: ignore[no-any-return]


@cache
def _validators(name: str) -> tuple[Any, Any]:
    schema = _schema(name)
    return fastjsonschema.compile(schema, use_default=False), jsonschema.Draft6Validator(
        schema, format_checker=jsonschema.FormatChecker())


def assert_valid(name: str, payload: dict[str, Any]) -> None:
    fast, ref = _validators(name)
    fast(payload)
    ref.validate(payload)


@pytest.fixture
def model() -> DeviceModel:
    return DeviceModel.for_station(StationDescription())


@pytest.fixture
def mon(model: DeviceModel) -> Monitoring:
    return Monitoring(model)


def md(component: dict[str, Any], variable: str, mtype: str, value: float, severity: int = 5,
       **kw: Any) -> dict[str, Any]:
    return {"component": component, "variable": {"name": variable}, "type": mtype, "value": value,
            "severity": severity, **kw}


def set_ok(mon: Monitoring, *items: dict[str, Any]) -> list[int]:
    results = mon.set_variable_monitoring(list(items), T0)
    assert_valid("SetVariableMonitoringResponse", {"setMonitoringResult": results})
    assert [r["status"] for r in results] == ["Accepted"] * len(items), results
    return [r["id"] for r in results]


def events_valid(events: list[dict[str, Any]]) -> None:
    assert_valid("NotifyEventRequest", {"generatedAt": "2025-03-01T10:00:00Z", "seqNo": 0, "eventData": events})


# -- SetVariableMonitoring ------------------------------------------------------------------------------------

def test_set_variable_monitoring_statuses(mon: Monitoring) -> None:
    [first] = set_ok(mon, md(EVSE1, "Power", "UpperThreshold", 11000))
    results = mon.set_variable_monitoring([
        md({"name": "Nope"}, "Power", "Delta", 1),
        md(EVSE1, "Nope", "Delta", 1),
        md({"name": "ChargingStation"}, "AvailabilityState", "UpperThreshold", 3),
        md({"name": "SecurityCtrlr"}, "BasicAuthPassword", "Delta", 0),
        md(EVSE1, "Power", "Delta", 100, severity=10),
        md(EVSE1, "Power", "Delta", -5),
        md(EVSE1, "Power", "Periodic", 0),
        md(EVSE1, "Power", "UpperThreshold", 10 ** 9),
        md(EVSE1, "Power", "UpperThreshold", 5000),
        md(EVSE1, "Power", "LowerThreshold", 1000, id=4242),
        md(EVSE1, "Power", "LowerThreshold", 1000, id=1),
    ], T0)
    assert [r["status"] for r in results] == [
        "UnknownComponent", "UnknownVariable", "UnsupportedMonitorType", "UnsupportedMonitorType", "Rejected",
        "Rejected", "Rejected", "Rejected", "Duplicate", "Rejected", "Rejected"]
    assert [r.get("statusInfo", {}).get("reasonCode") for r in results[4:8]] == [
        "ValueOutOfRange", "ValuePositiveOnly", "ValueZeroNotAllowed", "ValueTooHigh"]
    assert results[9]["statusInfo"]["reasonCode"] == "NotFound"
    assert results[10]["statusInfo"]["reasonCode"] == "ReadOnly"  # id 1 is the hard-wired Problem monitor
    assert_valid("SetVariableMonitoringResponse", {"setMonitoringResult": results})
    assert len([m for m in mon.monitors if m.kind == "CustomMonitor"]) == 1 and mon.monitor(first) is not None


def test_ids_are_fresh_and_replacing_by_id_keeps_it(mon: Monitoring) -> None:
    a, b = set_ok(mon, md(EVSE1, "Power", "UpperThreshold", 11000), md(EVSE1, "Power", "Delta", 500))
    assert a != b and {a, b}.isdisjoint({1, 2})
    [again] = set_ok(mon, md(EVSE1, "Power", "UpperThreshold", 7000, severity=3, id=a))
    monitor = mon.monitor(a)
    assert again == a and monitor is not None and (monitor.value, monitor.severity) == (7000, 3)
    moved = mon.set_variable_monitoring([md({"name": "ChargingStation"}, "Problem", "Delta", 1, id=a)], T0)
    assert moved[0]["status"] == "Rejected"


# -- evaluation -----------------------------------------------------------------------------------------------

def test_upper_threshold_trips_once_and_clears_once(mon: Monitoring) -> None:
    [mid] = set_ok(mon, md(EVSE1, "Power", "UpperThreshold", 11000, severity=4))
    assert mon.evaluate(*POWER, "10000", T0) == []
    [tripped] = mon.evaluate(*POWER, "11000.5", T0)
    assert mon.evaluate(*POWER, "12000", T0) == []
    [cleared] = mon.evaluate(*POWER, "9000", T0 + timedelta(seconds=5))
    assert (tripped["trigger"], tripped["cleared"], tripped["actualValue"]) == ("Alerting", False, "11000.5")
    assert (cleared["cleared"], cleared["variableMonitoringId"]) == (True, mid)
    assert tripped["eventNotificationType"] == "CustomMonitor"
    assert tripped["component"] == EVSE1 and tripped["variable"] == {"name": "Power"}
    assert cleared["eventId"] > tripped["eventId"]
    assert cleared["timestamp"] == "2025-03-01T10:00:12.000Z"
    events_valid([tripped, cleared])


def test_lower_threshold_and_non_numeric_values(mon: Monitoring) -> None:
    set_ok(mon, md(EVSE1, "Power", "LowerThreshold", 100))
    assert mon.evaluate(*POWER, "not a number", T0) == []
    [low] = mon.evaluate(*POWER, "50", T0)
    assert low["cleared"] is False
    [back] = mon.evaluate(*POWER, "150", T0)
    assert back["cleared"] is True


def test_delta_reports_moves_of_at_least_its_value(mon: Monitoring, model: DeviceModel) -> None:
    model.set_value("EVSE", "Power", "1000", evse=1)
    set_ok(mon, md(EVSE1, "Power", "Delta", 500))
    assert mon.evaluate(*POWER, "1400", T0) == []
    [event] = mon.evaluate(*POWER, "1500", T0)
    assert event["trigger"] == "Delta" and "cleared" not in event
    assert mon.evaluate(*POWER, "1900", T0) == []  # reference moved to 1500
    assert len(mon.evaluate(*POWER, "1000", T0)) == 1
    events_valid([event])


def test_delta_on_a_non_numeric_variable_reports_every_change(mon: Monitoring) -> None:
    comp = {"name": "Connector", "evse": {"id": 1, "connectorId": 1}}
    set_ok(mon, md(comp, "AvailabilityState", "Delta", 0))
    key = ComponentKey("Connector", evse=1, connector=1), VariableKey("AvailabilityState")
    assert mon.evaluate(*key, "Available", T0) == []
    [event] = mon.evaluate(*key, "Occupied", T0)
    assert event["actualValue"] == "Occupied"
    assert mon.evaluate(*key, "Occupied", T0) == []


def test_factory_monitors_report_as_preconfigured_and_hardwired(mon: Monitoring, model: DeviceModel) -> None:
    [event] = mon.evaluate(ComponentKey("ChargingStation"), VariableKey("Problem"), "true", T0)
    assert event["eventNotificationType"] == "HardWiredMonitor"
    [event] = mon.evaluate(ComponentKey("ChargingStation"), VariableKey("AvailabilityState"), "Unavailable", T0)
    assert event["eventNotificationType"] == "PreconfiguredMonitor"
    events_valid([event])


def test_transaction_monitors_only_act_during_a_transaction(mon: Monitoring) -> None:
    set_ok(mon, md(EVSE1, "Power", "UpperThreshold", 1000, transaction=True))
    assert mon.evaluate(*POWER, "5000", T0) == []
    [event] = mon.evaluate(*POWER, "5000", T0, transaction_id="tx-1")
    assert event["transactionId"] == "tx-1"
    events_valid([event])


def test_monitoring_level_silences_less_severe_monitors(mon: Monitoring, model: DeviceModel) -> None:
    set_ok(mon, md(EVSE1, "Power", "UpperThreshold", 1000, severity=6),
           md(EVSE1, "Power", "UpperThreshold", 2000, severity=2))
    assert mon.set_monitoring_level(4) == {"status": "Accepted"}
    assert model.get_int("MonitoringCtrlr", "ActiveMonitoringLevel") == 4
    events = mon.evaluate(*POWER, "3000", T0)
    assert [e["variableMonitoringId"] for e in events] == [mon.monitors[-1].id]
    rejected = mon.set_monitoring_level(12)
    assert rejected["status"] == "Rejected"
    assert_valid("SetMonitoringLevelResponse", rejected)


def test_offline_queuing_follows_severity(mon: Monitoring, model: DeviceModel) -> None:
    set_ok(mon, md(EVSE1, "Power", "UpperThreshold", 1000, severity=1),
           md(EVSE1, "Power", "UpperThreshold", 2000, severity=8))
    severe, mild = mon.evaluate(*POWER, "3000", T0)
    assert mon.should_queue_offline(severe) and not mon.should_queue_offline(mild)
    plain = mon.make_event(ComponentKey("ChargingStation"), VariableKey("Problem"), "true", "Alerting", T0)
    assert mon.should_queue_offline(plain)
    events_valid([plain])


# -- clear, base, report --------------------------------------------------------------------------------------

def test_clear_variable_monitoring(mon: Monitoring) -> None:
    [mid] = set_ok(mon, md(EVSE1, "Power", "Delta", 100))
    results = mon.clear_variable_monitoring([mid, mid, 1, 2])
    assert [r["status"] for r in results] == ["Accepted", "NotFound", "Rejected", "Accepted"]
    assert_valid("ClearVariableMonitoringResponse", {"clearMonitoringResult": results})
    assert [m.id for m in mon.monitors] == [1]
    assert mon.evaluate(*POWER, "99999", T0) == []


def test_monitoring_base(mon: Monitoring, model: DeviceModel) -> None:
    [custom] = set_ok(mon, md(EVSE1, "Power", "Delta", 100))
    mon.clear_variable_monitoring([2])
    assert mon.set_monitoring_base("All") == {"status": "Accepted"}
    assert {m.id for m in mon.monitors} == {1, 2, custom}
    assert mon.set_monitoring_base("HardWiredOnly") == {"status": "Accepted"}
    assert [m.kind for m in mon.monitors] == ["HardWiredMonitor"]
    assert model.get_value("MonitoringCtrlr", "ActiveMonitoringBase") == "HardWiredOnly"
    set_ok(mon, md(EVSE1, "Power", "Delta", 100))
    assert mon.set_monitoring_base("FactoryDefault") == {"status": "Accepted"}
    assert sorted(m.kind for m in mon.monitors) == ["HardWiredMonitor", "PreconfiguredMonitor"]
    answer = mon.set_monitoring_base("Everything")
    assert answer["status"] == "Rejected"
    assert_valid("SetMonitoringBaseResponse", answer)


def test_monitoring_report_groups_filters_and_splits(mon: Monitoring, model: DeviceModel) -> None:
    set_ok(mon, md(EVSE1, "Power", "UpperThreshold", 11000), md(EVSE1, "Power", "Delta", 100),
           md(EVSE1, "Power", "Periodic", 60))
    items = mon.monitoring_report()
    assert len(items) == 3  # Problem, AvailabilityState and EVSE 1 Power
    power = [i for i in items if i["variable"] == {"name": "Power"}]
    assert [m["type"] for m in power[0]["variableMonitoring"]] == ["UpperThreshold", "Delta", "Periodic"]
    assert power[0]["variableMonitoring"][0]["value"] == 11000
    only_delta = mon.monitoring_report([{"component": {"name": "EVSE"}}], ["DeltaMonitoring"])
    assert [m["type"] for i in only_delta for m in i["variableMonitoring"]] == ["Delta"]
    assert mon.monitoring_report([{"component": {"name": "EVSE", "evse": {"id": 2}}}]) == []
    model.apply_overrides({"DeviceDataCtrlr.ItemsPerMessage[GetReport]": "2"})
    parts = mon.report_messages(items, request_id=5, generated_at=T0)
    assert [(p["seqNo"], p["tbc"], len(p["monitor"])) for p in parts] == [(0, True, 2), (1, False, 1)]
    for p in parts:
        assert_valid("NotifyMonitoringReportRequest", p)
    events = [mon.make_event(*POWER, str(n), "Alerting", T0) for n in range(5)]
    notify = mon.event_messages(events, T0, items_per_message=2)
    assert [(p["seqNo"], p["tbc"]) for p in notify] == [(0, True), (1, True), (2, False)]
    for p in notify:
        assert_valid("NotifyEventRequest", p)


# -- periodic -------------------------------------------------------------------------------------------------

def test_periodic_monitor_is_due_every_period(mon: Monitoring, model: DeviceModel) -> None:
    assert mon.next_due(T0) is None
    [mid] = set_ok(mon, md(EVSE1, "Power", "Periodic", 60))
    assert mon.next_due(T0) == T0 + timedelta(seconds=60)
    assert mon.due_events(T0 + timedelta(seconds=59)) == []
    model.set_value("EVSE", "Power", "7200", evse=1)
    [event] = mon.due_events(T0 + timedelta(seconds=61))
    assert (event["trigger"], event["actualValue"], event["variableMonitoringId"]) == ("Periodic", "7200", mid)
    assert mon.next_due(T0) == T0 + timedelta(seconds=120)
    assert len(mon.due_events(T0 + timedelta(seconds=400))) == 1  # missed periods are not replayed
    assert mon.next_due(T0) == T0 + timedelta(seconds=420)
    events_valid([event])


def test_clock_aligned_monitor_fires_on_interval_boundaries(mon: Monitoring) -> None:
    set_ok(mon, md(EVSE1, "Power", "PeriodicClockAligned", 900))
    assert mon.next_due(T0) == datetime(2025, 3, 1, 10, 15, tzinfo=UTC)
    assert len(mon.due_events(datetime(2025, 3, 1, 10, 15, 1, tzinfo=UTC))) == 1
    assert mon.next_due(T0) == datetime(2025, 3, 1, 10, 30, tzinfo=UTC)


# -- robustness -----------------------------------------------------------------------------------------------

# hypothesis-jsonschema 0.23 fails on object schemas with the installed hypothesis, so shapes are drawn by hand:
# schema-shaped items on known and unknown names, plus a few malformed ones.
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
any_items = st.fixed_dictionaries({}, optional={
    "component": st.one_of(json_scalar, st.fixed_dictionaries({"name": st.text(max_size=50)}, optional={
        "instance": st.text(max_size=5), "evse": st.fixed_dictionaries({"id": st.integers()})})),
    "variable": st.one_of(json_scalar, st.fixed_dictionaries({"name": st.text(max_size=50)})),
    "type": json_scalar, "value": json_scalar, "severity": json_scalar, "id": json_scalar,
    "transaction": json_scalar,
})
known_items = st.fixed_dictionaries({
    "component": st.sampled_from([EVSE1, {"name": "ChargingStation"}, {"name": "MonitoringCtrlr"}]),
    "variable": st.sampled_from([{"name": "Power"}, {"name": "Problem"}, {"name": "OfflineQueuingSeverity"}]),
    "type": st.sampled_from(["UpperThreshold", "LowerThreshold", "Delta", "Periodic", "PeriodicClockAligned"]),
    "value": st.one_of(st.integers(-10, 30000), st.floats(allow_nan=False, allow_infinity=False)),
    "severity": st.integers(-1, 11),
}, optional={"id": st.integers(0, 6), "transaction": st.booleans()})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(known_items, any_items), min_size=1, max_size=6),
       st.lists(st.text(max_size=12), max_size=4))
def test_random_monitoring_requests_never_raise(items: list[dict[str, Any]], values: list[str]) -> None:
    mon = Monitoring(DeviceModel.for_station(StationDescription()))
    results = mon.set_variable_monitoring(items, T0)
    assert len(results) == len(items)
    assert_valid("SetVariableMonitoringResponse", {"setMonitoringResult": results})
    events = [e for v in values for e in mon.evaluate(*POWER, v, T0)] + mon.due_events(T0 + timedelta(days=1))
    if events:
        events_valid(events)
    report = mon.monitoring_report()
    for part in mon.report_messages(report, 1, T0):
        assert_valid("NotifyMonitoringReportRequest", part)
    cleared = mon.clear_variable_monitoring([m.id for m in mon.monitors] + [999])
    assert_valid("ClearVariableMonitoringResponse", {"clearMonitoringResult": cleared})
