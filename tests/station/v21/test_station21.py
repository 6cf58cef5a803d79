"""Sans-I/O behaviour of the OCPP 2.1 station: what 2.1 adds on top of the 2.0.1 station."""

from __future__ import annotations

from typing import Any

import pytest

from ocppemu.ocpp.validation import validate
from ocppemu.ocpp.versions import Version
from ocppemu.station.v21.tariffs import TariffTable, Usage, cost_details
from tests.station.v21.helpers import Driver

TARIFF: dict[str, Any] = {"tariffId": "T1", "currency": "EUR",
                          "energy": {"prices": [{"priceKwh": 0.5}], "taxRates": [{"type": "VAT", "tax": 20.0}]},
                          "fixedFee": {"prices": [{"priceFixed": 1.0}]}}


def booted() -> Driver:
    d = Driver()
    d.boot()
    return d


def all_valid(d: Driver) -> None:
    """Every CALL and SEND the station produced validates against the 2.1 schemas."""
    for action, payload in d.calls + d.sends:
        assert validate(Version.V21, action, "request", payload) is None, (action, payload)
    assert d.core.last_error is None


def tx_events(d: Driver) -> list[dict[str, Any]]:
    return d.sent("TransactionEvent")


# -- shared messages in their 2.1 form -----------------------------------------------------------------------


def test_local_transaction_with_meter_values_is_valid_21() -> None:
    d = booted()
    assert d.act("start_session", 1, "TOK").ok
    d.advance(5.0)
    assert d.act("stop_session", 1).ok
    events = tx_events(d)
    assert events[0]["eventType"] == "Started" and events[-1]["eventType"] == "Ended"
    assert any(e["triggerReason"] == "MeterValuePeriodic" for e in events)
    assert "costDetails" not in events[-1]  # no tariff: the station does not price
    all_valid(d)


def test_monitoring_report_names_the_event_notification_type() -> None:
    d = booted()
    answer = d.csms_call("GetMonitoringReport", {"requestId": 7})
    assert answer["status"] == "Accepted"
    reports = d.sent("NotifyMonitoringReport")
    kinds = {m["eventNotificationType"] for r in reports for g in r["monitor"] for m in g["variableMonitoring"]}
    assert "HardWiredMonitor" in kinds
    all_valid(d)


# -- tariffs and cost -----------------------------------------------------------------------------------------


def test_cost_details_apply_prices_and_tax() -> None:
    details = cost_details(TARIFF, Usage(energy_wh=10_000, charging_s=600, idle_s=60), "2030-01-01T00:00:00Z")
    total = details["totalCost"]
    assert total["energy"] == {"exclTax": 5.0, "inclTax": 6.0}
    assert total["total"] == {"exclTax": 6.0, "inclTax": 7.0}
    capped = cost_details({**TARIFF, "maxCost": {"exclTax": 2.0, "inclTax": 2.4}}, Usage(10_000, 600, 0), "x")
    assert capped["totalCost"]["typeOfCost"] == "MaxCost" and capped["totalCost"]["total"]["exclTax"] == 2.0


def test_tariff_table_per_evse_with_station_default() -> None:
    table = TariffTable()
    assert table.set_default(0, TARIFF) == "Accepted"
    assert table.set_default(2, {**TARIFF, "tariffId": "T2"}) == "Accepted"
    assert table.set_default(1, {**TARIFF, "currency": "USD"}) == "DuplicateTariffId"
    assert table.for_evse(1) is not None and table.for_evse(1)["tariffId"] == "T1"  # type: ignore[index]
    assert table.for_evse(2)["tariffId"] == "T2"  # type: ignore[index]
    assert {a["tariffId"] for a in table.assignments(2)} == {"T1", "T2"}
    assert table.clear(["T2", "T9"], None) == [{"tariffId": "T2", "status": "Accepted"},
                                               {"tariffId": "T9", "status": "NoTariff"}]


def test_default_tariff_prices_the_transaction() -> None:
    d = booted()
    assert d.csms_call("SetDefaultTariff", {"evseId": 1, "tariff": TARIFF})["status"] == "Accepted"
    assert d.csms_call("GetTariffs", {"evseId": 1})["tariffAssignments"][0]["tariffId"] == "T1"
    d.act("start_session", 1, "TOK")
    d.advance(3.0)
    d.act("stop_session", 1)
    events = tx_events(d)
    assert events[0]["transactionInfo"]["tariffId"] == "T1"
    assert all("tariffId" not in e["transactionInfo"] for e in events[1:])
    periodic = [e for e in events if e["triggerReason"] == "MeterValuePeriodic"]
    assert periodic and all("costDetails" in e for e in periodic)
    final = events[-1]["costDetails"]
    energy_kwh = final["totalUsage"]["energy"] / 1000
    assert final["totalCost"]["total"]["exclTax"] == pytest.approx(1.0 + 0.5 * energy_kwh, abs=1e-3)
    costs = [e for e in d.events if e.kind == "cost"]
    assert costs and costs[-1].data["currency"] == "EUR"
    all_valid(d)


def test_change_transaction_tariff() -> None:
    d = booted()
    d.csms_call("SetDefaultTariff", {"evseId": 0, "tariff": TARIFF})
    assert d.csms_call("ChangeTransactionTariff", {"transactionId": "nope", "tariff": TARIFF})["status"] == \
        "TxNotFound"
    d.act("start_session", 1, "TOK")
    tid = tx_events(d)[0]["transactionInfo"]["transactionId"]
    usd = {**TARIFF, "tariffId": "T2", "currency": "USD"}
    assert d.csms_call("ChangeTransactionTariff", {"transactionId": tid, "tariff": usd})["status"] == \
        "NoCurrencyChange"
    cheaper = {**TARIFF, "tariffId": "T3", "energy": {"prices": [{"priceKwh": 0.1}]}}
    assert d.csms_call("ChangeTransactionTariff", {"transactionId": tid, "tariff": cheaper})["status"] == "Accepted"
    changed = [e for e in tx_events(d) if e["triggerReason"] == "TariffChanged"]
    assert changed[0]["transactionInfo"]["tariffId"] == "T3" and "costDetails" in changed[0]
    kinds = {a["tariffKind"] for a in d.csms_call("GetTariffs", {"evseId": 0})["tariffAssignments"]}
    assert kinds == {"DefaultTariff", "DriverTariff"}
    assert d.csms_call("ClearTariffs", {})["clearTariffsResult"] == [{"tariffId": "T1", "status": "Accepted"}]
    assert d.csms_call("GetTariffs", {"evseId": 2})["status"] in ("NoTariff", "Rejected")
    all_valid(d)


def test_web_payment_waits_then_times_out() -> None:
    d = booted()
    assert d.csms_call("NotifyWebPaymentStarted", {"evseId": 1, "timeout": 30}) == {}
    assert 1 in d.core.web_payments
    d.advance(31.0)
    assert 1 not in d.core.web_payments
    assert [e.data["status"] for e in d.events if e.kind == "web_payment"] == ["Started", "TimedOut"]


# -- DER and aFRR ---------------------------------------------------------------------------------------------


def _curve(priority: int) -> dict[str, Any]:
    return {"priority": priority, "yUnit": "PctMaxW", "curveData": [{"x": 50.0, "y": 100.0}]}


def test_der_controls_supersede_report_and_clear() -> None:
    d = booted()
    first = d.csms_call("SetDERControl", {"isDefault": False, "controlId": "c1", "controlType": "VoltWatt",
                                          "curve": _curve(5)})
    assert first == {"status": "Accepted"}
    second = d.csms_call("SetDERControl", {"isDefault": False, "controlId": "c2", "controlType": "VoltWatt",
                                           "curve": _curve(1)})
    assert second["supersededIds"] == ["c1"]
    missing = d.csms_call("SetDERControl", {"isDefault": True, "controlId": "c3", "controlType": "FixedVar"})
    assert missing["status"] == "Rejected"
    assert d.csms_call("SetDERControl", {"isDefault": True, "controlId": "g", "controlType": "Gradients",
                                         "gradient": {"priority": 1, "gradient": 1.0, "softGradient": 2.0}})[
        "status"] == "Accepted"
    assert d.csms_call("GetDERControl", {"requestId": 3})["status"] == "Accepted"
    report = d.sent("ReportDERControl")[-1]
    assert {c["id"]: c["isSuperseded"] for c in report["curve"]} == {"c1": True, "c2": False}
    assert report["gradient"][0]["id"] == "g" and report["tbc"] is False
    assert d.csms_call("ClearDERControl", {"isDefault": False, "controlType": "VoltWatt"})["status"] == "Accepted"
    assert d.csms_call("GetDERControl", {"requestId": 4, "isDefault": False})["status"] == "NotFound"
    all_valid(d)


def test_der_and_afrr_need_a_v2x_evse() -> None:
    d = booted()
    assert d.csms_call("AFRRSignal", {"timestamp": "2030-01-01T00:00:00Z", "signal": -3})["status"] == "Accepted"
    assert d.core.afrr_signal is not None and d.core.afrr_signal[1] == -3
    d.core.v2x_evses.clear()
    assert d.csms_call("SetDERControl", {"isDefault": False, "controlId": "c", "controlType": "VoltWatt",
                                         "curve": _curve(1)})["status"] == "NotSupported"
    assert d.csms_call("AFRRSignal", {"timestamp": "2030-01-01T00:00:00Z", "signal": 1})["status"] == "Rejected"


# -- energy transfer, dynamic profiles, priority ---------------------------------------------------------------


def test_allowed_energy_transfer_steers_the_next_charging_needs() -> None:
    d = booted()
    d.act("start_session", 1, "TOK")
    tid = tx_events(d)[0]["transactionInfo"]["transactionId"]
    assert d.act("notify_ev_charging_needs", 1, transfer_mode="DC_BPT").data["mode"] == "DC_BPT"
    bpt = d.sent("NotifyEVChargingNeeds")[-1]["chargingNeeds"]
    assert bpt["v2xChargingParameters"]["maxDischargePower"] > 0 and bpt["controlMode"] == "DynamicControl"
    assert d.csms_call("NotifyAllowedEnergyTransfer", {"transactionId": "x", "allowedEnergyTransfer": ["DC"]})[
        "status"] == "Rejected"
    assert d.csms_call("NotifyAllowedEnergyTransfer", {"transactionId": tid, "allowedEnergyTransfer": ["DC"]})[
        "status"] == "Accepted"
    d.act("stop_session", 1)
    d.act("unplug", 1)
    d.act("start_session", 1, "TOK")  # the next transaction keeps what the CSMS allowed
    assert d.act("notify_ev_charging_needs", 1, transfer_mode="DC_BPT").data["mode"] == "DC"
    needs = d.sent("NotifyEVChargingNeeds")[-1]["chargingNeeds"]
    assert needs["requestedEnergyTransfer"] == "DC" and needs["availableEnergyTransfer"] == ["DC"]
    assert "v2xChargingParameters" not in needs
    all_valid(d)


def _dynamic_profile(pid: int, tid: str, interval: int | None = None) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "id": pid, "stackLevel": 1, "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Dynamic",
        "transactionId": tid,
        "chargingSchedule": [{"id": 1, "chargingRateUnit": "W",
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000.0}]}]}
    if interval is not None:
        profile["dynUpdateInterval"] = interval
    return profile


def test_dynamic_schedule_update_and_pull() -> None:
    d = booted()
    d.act("start_session", 1, "TOK")
    tid = tx_events(d)[0]["transactionInfo"]["transactionId"]
    assert d.csms_call("UpdateDynamicSchedule", {"chargingProfileId": 9, "scheduleUpdate": {"limit": 1.0}})[
        "status"] == "Rejected"
    answer = d.csms_call("SetChargingProfile", {"evseId": 1, "chargingProfile": _dynamic_profile(9, tid, 10)})
    assert answer["status"] == "Accepted", answer
    assert d.csms_call("UpdateDynamicSchedule", {"chargingProfileId": 9, "scheduleUpdate": {"limit": 3000.0}})[
        "status"] == "Accepted"
    d.advance(0.5)
    assert d.core.evses[1].meter.power_w <= 3000.0 + 1e-6
    d.advance(10.0)  # dynUpdateInterval: the station pulls, the CSMS answers 4000 W
    assert d.sent("PullDynamicScheduleUpdate") == [{"chargingProfileId": 9}]
    wire = d.core.profiles.find(profile_ids=[9])[0].profile.wire
    assert wire["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] == 4000.0
    all_valid(d)


def test_priority_charging_needs_a_profile() -> None:
    d = booted()
    d.act("start_session", 1, "TOK")
    tid = tx_events(d)[0]["transactionInfo"]["transactionId"]
    assert d.csms_call("UsePriorityCharging", {"transactionId": "x", "activate": True})["status"] == "Rejected"
    assert d.csms_call("UsePriorityCharging", {"transactionId": tid, "activate": True})["status"] == "NoProfile"
    prio = {"id": 20, "stackLevel": 0, "chargingProfilePurpose": "PriorityCharging",
            "chargingProfileKind": "Relative",
            "chargingSchedule": [{"id": 2, "chargingRateUnit": "W",
                                  "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 22000.0}]}]}
    assert d.csms_call("SetChargingProfile", {"evseId": 1, "chargingProfile": prio})["status"] == "Accepted"
    assert d.csms_call("UsePriorityCharging", {"transactionId": tid, "activate": True})["status"] == "Accepted"
    assert d.sent("NotifyPriorityCharging") == [{"transactionId": tid, "activated": True}]
    assert d.act("request_priority_charging", 1, activate=False).ok
    assert d.sent("NotifyPriorityCharging")[-1]["activated"] is False
    all_valid(d)


# -- battery swap ---------------------------------------------------------------------------------------------


def test_request_battery_swap_sends_out_then_in() -> None:
    d = booted()
    token = {"idToken": "DRIVER", "type": "ISO14443"}
    assert d.csms_call("RequestBatterySwap", {"idToken": token, "requestId": 42})["status"] == "Accepted"
    d.advance(5.0)
    swaps = d.sent("BatterySwap")
    assert [s["eventType"] for s in swaps] == ["BatteryOut", "BatteryIn"]
    assert all(s["requestId"] == 42 and s["idToken"] == token for s in swaps)
    assert swaps[0]["batteryData"][0]["serialNumber"] != swaps[1]["batteryData"][0]["serialNumber"]
    assert d.act("battery_swap", 1).ok
    all_valid(d)


# -- periodic event streams -----------------------------------------------------------------------------------


def test_event_stream_sends_meter_data_at_its_pace() -> None:
    d = booted()
    d.act("start_session", 1, "TOK")
    result = d.act("open_event_stream", 1, period=1, values=3)
    assert result.ok
    sid = result.data["stream_id"]
    opened = d.sent("OpenPeriodicEventStream")[0]["constantStreamData"]
    assert opened["id"] == sid and opened["params"] == {"interval": 0, "values": 3}
    d.advance(6.5)
    streamed = [p for a, p in d.sends if a == "NotifyPeriodicEventStream"]
    assert len(streamed) == 2 and all(len(p["data"]) == 3 for p in streamed)
    assert float(streamed[-1]["data"][0]["v"]) > 0  # charging power
    assert streamed[0]["data"][1]["t"] == pytest.approx(1.0)
    monitor_id = opened["variableMonitoringId"]
    assert not any(ev.get("variableMonitoringId") == monitor_id
                   for p in d.sent("NotifyEvent") for ev in p["eventData"])  # the stream replaces NotifyEvent
    assert d.csms_call("AdjustPeriodicEventStream", {"id": sid, "params": {"values": 1}})["status"] == "Accepted"
    assert d.csms_call("AdjustPeriodicEventStream", {"id": 99, "params": {}})["status"] == "Rejected"
    assert d.csms_call("GetPeriodicEventStream", {})["constantStreamData"][0]["params"]["values"] == 1
    before = len(d.sends)
    d.advance(2.0)
    assert len(d.sends) == before + 2
    assert d.act("close_event_stream", sid).ok
    assert d.sent("ClosePeriodicEventStream") == [{"id": sid}]
    assert d.csms_call("GetPeriodicEventStream", {}) == {}
    all_valid(d)


def test_set_variable_monitoring_with_stream_parameters_opens_a_stream() -> None:
    d = booted()
    answer = d.csms_call("SetVariableMonitoring", {"setMonitoringData": [
        {"value": 2, "type": "Periodic", "severity": 8, "component": {"name": "EVSE", "evse": {"id": 1}},
         "variable": {"name": "Power"}, "periodicEventStream": {"interval": 4, "values": 0}}]})
    assert answer["setMonitoringResult"][0]["status"] == "Accepted"
    opened = d.sent("OpenPeriodicEventStream")[0]["constantStreamData"]
    assert opened["variableMonitoringId"] == answer["setMonitoringResult"][0]["id"]
    d.advance(9.0)
    streamed = [p for a, p in d.sends if a == "NotifyPeriodicEventStream"]
    assert len(streamed) == 2 and [len(p["data"]) for p in streamed] == [2, 2]
    d.csms_call("ClearVariableMonitoring", {"id": [opened["variableMonitoringId"]]})
    d.advance(3.0)
    assert d.sent("ClosePeriodicEventStream") == [{"id": opened["id"]}]
    all_valid(d)
