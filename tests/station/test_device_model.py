"""The 2.0.1 device model: catalogue, GetVariables/SetVariables, reports and their NotifyReport split."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocppemu.config.station import ConnectorConfig, StationConfig
from ocppemu.ocpp.versions import Version
from ocppemu.station.device_model import (
    ComponentKey,
    DeviceModel,
    StationDescription,
    UnknownVariableError,
    VariableKey,
    split_messages,
)
from ocppemu.station.device_model_catalog import ComponentSpec, ConnectorDescription, EvseDescription, VariableSpec

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "v201"
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@cache
def _validators(name: str) -> tuple[Any, Any]:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    return fastjsonschema.compile(schema, use_default=False), jsonschema.Draft6Validator(
        schema, format_checker=jsonschema.FormatChecker())


def assert_valid(name: str, payload: dict[str, Any]) -> None:
    """Both validators accept ``payload`` as a ``name`` message (fastjsonschema checks formats too)."""
    fast, ref = _validators(name)
    fast(payload)
    ref.validate(payload)


def station() -> StationDescription:
    return StationDescription(
        vendor="Acme", model="Duo", station_id="CS42",
        evses=(
            EvseDescription(1, 22000, 3, (ConnectorDescription(1, "sType2"), ConnectorDescription(2, "cType2"))),
            EvseDescription(2, 150000, 3, (ConnectorDescription(1, "cCCS2"),)),
        ),
    )


@pytest.fixture
def model() -> DeviceModel:
    return DeviceModel.for_station(station())


def gv(component: str, variable: str, **kw: Any) -> dict[str, Any]:
    comp: dict[str, Any] = {"name": component}
    if "evse" in kw:
        comp["evse"] = kw.pop("evse")
    if "ci" in kw:
        comp["instance"] = kw.pop("ci")
    var: dict[str, Any] = {"name": variable}
    if "vi" in kw:
        var["instance"] = kw.pop("vi")
    return {"component": comp, "variable": var, **kw}


def sv(component: str, variable: str, value: str, **kw: Any) -> dict[str, Any]:
    return gv(component, variable, attributeValue=value, **kw)


# -- catalogue ------------------------------------------------------------------------------------------------

REQUIRED = {
    "OCPPCommCtrlr": ["HeartbeatInterval", "MessageTimeout", "MessageAttempts", "MessageAttemptInterval",
                      "NetworkConfigurationPriority", "NetworkProfileConnectionAttempts", "OfflineThreshold",
                      "ResetRetries", "WebSocketPingInterval", "FileTransferProtocols"],
    "TxCtrlr": ["EVConnectionTimeOut", "StopTxOnEVSideDisconnect", "StopTxOnInvalidId", "TxStartPoint",
                "TxStopPoint", "MaxEnergyOnInvalidId", "TxBeforeAcceptedEnabled"],
    "SampledDataCtrlr": ["TxUpdatedMeasurands", "TxUpdatedInterval", "TxEndedMeasurands", "TxEndedInterval",
                         "TxStartedMeasurands", "Enabled", "RegisterValuesWithoutPhases"],
    "AlignedDataCtrlr": ["Measurands", "Interval", "TxEndedMeasurands", "TxEndedInterval", "SendDuringIdle"],
    "AuthCtrlr": ["Enabled", "AuthorizeRemoteStart", "LocalAuthorizeOffline", "LocalPreAuthorize",
                  "OfflineTxForUnknownIdEnabled", "MasterPassGroupId", "DisableRemoteAuthorization"],
    "AuthCacheCtrlr": ["Enabled", "Available", "LifeTime", "Storage", "Policy"],
    "LocalAuthListCtrlr": ["Enabled", "Entries", "Available", "ItemsPerMessage", "BytesPerMessage", "Storage"],
    "SmartChargingCtrlr": ["Enabled", "Available", "Entries", "LimitChangeSignificance", "PeriodsPerSchedule",
                           "ProfileStackLevel", "RateUnit", "ExternalControlSignalsEnabled",
                           "NotifyChargingLimitWithSchedules", "Phases3to1"],
    "ReservationCtrlr": ["Enabled", "Available", "NonEvseSpecific"],
    "SecurityCtrlr": ["OrganizationName", "CertificateEntries", "SecurityProfile", "Identity",
                      "BasicAuthPassword", "MaxCertificateChainSize", "CertSigningWaitMinimum",
                      "CertSigningRepeatTimes", "AdditionalRootCertificateCheck"],
    "DeviceDataCtrlr": ["ItemsPerMessage", "BytesPerMessage"],
    "ClockCtrlr": ["DateTime", "TimeSource", "TimeZone", "NtpServerUri"],
    "ISO15118Ctrlr": ["PnCEnabled", "SeccId", "ContractValidationOffline"],
    "DisplayMessageCtrlr": ["Enabled", "Available", "DisplayMessages", "SupportedFormats", "SupportedPriorities"],
    "MonitoringCtrlr": ["Enabled", "Available", "ItemsPerMessage", "BytesPerMessage", "OfflineQueuingSeverity",
                        "ActiveMonitoringBase", "ActiveMonitoringLevel"],
    "TariffCostCtrlr": ["Enabled", "Available", "Currency"],
    "ChargingStation": ["AvailabilityState", "Available", "Model", "VendorName", "SupplyPhases"],
}


def test_every_standard_controller_has_its_variables(model: DeviceModel) -> None:
    names = {(c.key.name, v.key.name) for c in model.components for v in c.variables.values()}
    missing = [(c, v) for c, vs in REQUIRED.items() for v in vs if (c, v) not in names]
    assert missing == []


def test_defaults_follow_the_octt_preconditions(model: DeviceModel) -> None:
    assert model.get_list("TxCtrlr", "TxStartPoint") == ["EVConnected", "Authorized"]
    assert model.get_list("TxCtrlr", "TxStopPoint") == ["EVConnected"]
    assert model.get_bool("AuthCtrlr", "Enabled") is True
    assert model.get_bool("AuthCtrlr", "AuthorizeRemoteStart", default=True) is False
    assert model.get_value("ChargingStation", "VendorName") == "Acme"
    assert model.get_int("OCPPCommCtrlr", "MessageTimeout", variable_instance="Default") == 30
    assert model.get_int("DeviceDataCtrlr", "ItemsPerMessage", variable_instance="GetVariables") == 50


def test_topology_has_one_component_per_evse_and_connector(model: DeviceModel) -> None:
    assert model.evse_ids() == [1, 2]
    assert model.get_value("Connector", "ConnectorType", evse=2, connector=1) == "cCCS2"
    assert model.get_value("EVSE", "Power", evse=2, attribute="MaxSet") == "150000"
    assert model.get_value("Connector", "ConnectorType", evse=2, connector=2) is None


def test_description_from_station_config_groups_connectors_by_evse() -> None:
    config = StationConfig(station_id="CS7", protocol_version=Version.V201, vendor="V", model="M", connectors=[
        ConnectorConfig(id=1, evse_id=1, type="CCS2", max_power=50000),
        ConnectorConfig(id=2, evse_id=1, type="CHAdeMO", max_power=50000),
        ConnectorConfig(id=1, evse_id=2, type="Type2", max_power=11000, phases=1),
    ], configuration_overrides={"OCPPCommCtrlr.HeartbeatInterval": "300", "HeartbeatInterval": "9"})
    model = DeviceModel.for_station(StationDescription.from_config(config))
    assert model.evse_ids() == [1, 2]
    assert model.get_value("Connector", "ConnectorType", evse=1, connector=2) == "cG105"
    assert model.get_int("EVSE", "SupplyPhases", evse=2) == 1
    assert model.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 300
    assert model.get_value("SecurityCtrlr", "Identity") == "CS7"


def test_overrides_report_what_they_cannot_apply(model: DeviceModel) -> None:
    problems = model.apply_overrides({
        "EVSE@1.Power": "5",  # read-only for the CSMS, but a station preset may set it
        "DeviceDataCtrlr.ItemsPerMessage[GetReport]": "7",
        "TxCtrlr.TxStartPoint": "Nonsense",
        "NoSuchCtrlr.X": "1",
        "bad..key": "1",
    })
    assert model.get_value("EVSE", "Power", evse=1) == "5"
    assert model.items_per_message("DeviceDataCtrlr", "GetReport") == 7
    assert len(problems) == 3 and any("TxStartPoint" in p for p in problems)


# -- GetVariables ---------------------------------------------------------------------------------------------

def test_get_variables_statuses(model: DeviceModel) -> None:
    results = model.get_variables([
        gv("ocppcommctrlr", "heartbeatinterval"),
        gv("NoSuchCtrlr", "X"),
        gv("TxCtrlr", "NoSuchVariable"),
        gv("OCPPCommCtrlr", "HeartbeatInterval", attributeType="Target"),
        gv("SecurityCtrlr", "BasicAuthPassword"),
        gv("EVSE", "Power", evse={"id": 2}, attributeType="MaxSet"),
        gv("EVSE", "Power"),  # the EVSE component needs its evse id
        gv("DeviceDataCtrlr", "ItemsPerMessage", vi="GetReport"),
    ])
    assert [r["attributeStatus"] for r in results] == [
        "Accepted", "UnknownComponent", "UnknownVariable", "NotSupportedAttributeType", "Rejected", "Accepted",
        "UnknownComponent", "Accepted"]
    assert results[0]["attributeValue"] == "60"
    assert results[0]["component"] == {"name": "ocppcommctrlr"}  # echoed as asked
    assert "attributeValue" not in results[4]
    assert results[4]["attributeStatusInfo"]["reasonCode"] == "WriteOnly"
    assert results[5]["attributeValue"] == "150000"
    assert results[7]["variable"] == {"name": "ItemsPerMessage", "instance": "GetReport"}
    assert_valid("GetVariablesResponse", {"getVariableResult": results})


def test_dynamic_values_are_read_live(model: DeviceModel) -> None:
    clock = ["2025-01-01T00:00:00Z"]
    model.register_dynamic(ComponentKey("ClockCtrlr"), VariableKey("DateTime"), lambda: clock[0])
    clock[0] = "2025-06-01T12:00:00Z"
    [result] = model.get_variables([gv("ClockCtrlr", "DateTime")])
    assert result["attributeValue"] == "2025-06-01T12:00:00Z"
    report = model.custom_report([{"component": {"name": "ClockCtrlr"}, "variable": {"name": "DateTime"}}])
    assert report[0]["variableAttribute"][0]["value"] == "2025-06-01T12:00:00Z"
    with pytest.raises(UnknownVariableError):
        model.register_dynamic(ComponentKey("ClockCtrlr"), VariableKey("Nope"), lambda: "")


# -- SetVariables ---------------------------------------------------------------------------------------------

def test_set_variables_accepts_and_notifies(model: DeviceModel) -> None:
    seen: list[tuple[str, str, str]] = []
    model.add_listener(lambda c, v, value: seen.append((c.name, v.name, value)))
    results = model.set_variables([
        sv("OCPPCommCtrlr", "HeartbeatInterval", "15"),
        sv("TxCtrlr", "TxStartPoint", "authorized , evconnected"),
        sv("AuthCtrlr", "AuthorizeRemoteStart", "TRUE"),
    ])
    assert [r["attributeStatus"] for r in results] == ["Accepted"] * 3
    assert model.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 15
    assert model.get_value("TxCtrlr", "TxStartPoint") == "Authorized,EVConnected"
    assert model.get_bool("AuthCtrlr", "AuthorizeRemoteStart") is True
    assert seen == [("OCPPCommCtrlr", "HeartbeatInterval", "15"),
                    ("TxCtrlr", "TxStartPoint", "Authorized,EVConnected"),
                    ("AuthCtrlr", "AuthorizeRemoteStart", "true")]
    assert_valid("SetVariablesResponse", {"setVariableResult": results})


def test_setting_the_same_value_again_does_not_notify(model: DeviceModel) -> None:
    seen: list[str] = []
    model.add_listener(lambda c, v, value: seen.append(value))
    model.set_variables([sv("OCPPCommCtrlr", "HeartbeatInterval", "60")])
    assert seen == []


@pytest.mark.parametrize(("item", "reason"), [
    (sv("ChargingStation", "Model", "X"), "ReadOnly"),
    (sv("OCPPCommCtrlr", "HeartbeatInterval", "0"), "ValueTooLow"),
    (sv("MonitoringCtrlr", "OfflineQueuingSeverity", "10"), "ValueTooHigh"),
    (sv("OCPPCommCtrlr", "HeartbeatInterval", "ten"), "InvalidValue"),
    (sv("OCPPCommCtrlr", "HeartbeatInterval", "1.5"), "InvalidValue"),
    (sv("SmartChargingCtrlr", "LimitChangeSignificance", "nan"), "InvalidValue"),
    (sv("AuthCtrlr", "Enabled", "yes"), "InvalidValue"),
    (sv("AuthCacheCtrlr", "Policy", "Random"), "InvalidValue"),
    (sv("TxCtrlr", "TxStopPoint", "EVConnected,Flying"), "InvalidValue"),
    (sv("TxCtrlr", "TxStopPoint", "EVConnected,EVConnected"), "InvalidValue"),
    (sv("TariffCostCtrlr", "Currency", "EURO"), "TooLargeElement"),
    (sv("SecurityCtrlr", "BasicAuthPassword", "short"), "InvalidValue"),
    (sv("SecurityCtrlr", "Identity", "x" * 1001), "TooLargeElement"),
])
def test_set_variables_rejects_with_a_reason(model: DeviceModel, item: dict[str, Any], reason: str) -> None:
    before = model.get_value(item["component"]["name"], item["variable"]["name"])
    [result] = model.set_variables([item])
    assert result["attributeStatus"] == "Rejected"
    assert result["attributeStatusInfo"]["reasonCode"] == reason
    assert model.get_value(item["component"]["name"], item["variable"]["name"]) == before
    assert_valid("SetVariablesResponse", {"setVariableResult": [result]})


def test_write_only_password_can_be_set_but_not_read(model: DeviceModel) -> None:
    [result] = model.set_variables([sv("SecurityCtrlr", "BasicAuthPassword", "0123456789abcdefXYZ")])
    assert result["attributeStatus"] == "Accepted"
    assert model.get_value("SecurityCtrlr", "BasicAuthPassword") == "0123456789abcdefXYZ"
    [read] = model.get_variables([gv("SecurityCtrlr", "BasicAuthPassword")])
    assert read["attributeStatus"] == "Rejected"
    [item] = model.custom_report([{"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}])
    assert "value" not in item["variableAttribute"][0]


def test_reboot_required_is_stored_but_not_announced(model: DeviceModel) -> None:
    seen: list[str] = []
    model.add_listener(lambda c, v, value: seen.append(value))
    [same] = model.set_variables([sv("OCPPCommCtrlr", "NetworkConfigurationPriority", "0")])
    assert same["attributeStatus"] == "RebootRequired" and model.pending_reboot == set()

    custom = DeviceModel([ComponentSpec("OCPPCommCtrlr", (
        VariableSpec("NetworkConfigurationPriority", "SequenceList", "0", values_list="0,1", reboot_required=True),
    ))])
    custom.add_listener(lambda c, v, value: seen.append(value))
    [result] = custom.set_variables([sv("OCPPCommCtrlr", "NetworkConfigurationPriority", "1,0")])
    assert result["attributeStatus"] == "RebootRequired"
    assert seen == []
    assert custom.get_list("OCPPCommCtrlr", "NetworkConfigurationPriority") == ["1", "0"]
    assert [(c.name, v.name) for c, v in custom.pending_reboot] == [("OCPPCommCtrlr", "NetworkConfigurationPriority")]
    assert_valid("SetVariablesResponse", {"setVariableResult": [same, result]})


def test_a_failing_listener_does_not_break_the_answer(model: DeviceModel) -> None:
    def boom(*_: object) -> None:
        raise RuntimeError("listener bug")

    seen: list[str] = []
    model.add_listener(boom)
    remove = model.add_listener(lambda c, v, value: seen.append(value))
    [result] = model.set_variables([sv("OCPPCommCtrlr", "OfflineThreshold", "30")])
    assert result["attributeStatus"] == "Accepted" and seen == ["30"]
    remove()
    model.set_variables([sv("OCPPCommCtrlr", "OfflineThreshold", "31")])
    assert seen == ["30"]


def test_station_side_set_value_bypasses_mutability(model: DeviceModel) -> None:
    seen: list[str] = []
    model.add_listener(lambda c, v, value: seen.append(f"{c.name}/{c.evse}/{c.connector}:{value}"))
    assert model.set_value("Connector", "AvailabilityState", "Occupied", evse=1, connector=2) is True
    assert model.set_value("Connector", "AvailabilityState", "Occupied", evse=1, connector=2) is False
    assert seen == ["Connector/1/2:Occupied"]
    with pytest.raises(UnknownVariableError):
        model.set_value("Connector", "AvailabilityState", "Occupied", evse=9, connector=1)


def test_typed_accessors_fall_back_to_defaults(model: DeviceModel) -> None:
    assert model.get_value("NoSuch", "Thing") is None
    assert model.get_int("NoSuch", "Thing", 5) == 5
    assert model.get_bool("TxCtrlr", "TxStartPoint", default=True) is True  # not a boolean
    assert model.get_list("NoSuch", "Thing") == []
    assert model.get_float("SmartChargingCtrlr", "LimitChangeSignificance") == 1.0


# -- reports --------------------------------------------------------------------------------------------------

def test_full_inventory_covers_everything_and_validates(model: DeviceModel) -> None:
    items = model.base_report("FullInventory")
    assert len(items) == sum(len(c.variables) for c in model.components)
    for payload in split_messages(items, "reportData", generated_at=NOW, request_id=3, items_per_message=40):
        assert_valid("NotifyReportRequest", payload)


def test_configuration_and_summary_inventories_are_subsets(model: DeviceModel) -> None:
    config = model.base_report("ConfigurationInventory")
    assert config and all(any(a["mutability"] != "ReadOnly" for a in i["variableAttribute"]) for i in config)
    summary = model.base_report("SummaryInventory")
    assert {i["variable"]["name"] for i in summary} <= {"AvailabilityState", "Available", "Problem"}
    assert {"name": "Connector", "evse": {"id": 1, "connectorId": 2}} in [i["component"] for i in summary]
    assert model.base_report("Nonsense") == []


def test_custom_report_filters(model: DeviceModel) -> None:
    evse2 = model.custom_report([{"component": {"name": "EVSE", "evse": {"id": 2}}}])
    assert {i["component"]["evse"]["id"] for i in evse2} == {2}
    connectors = model.custom_report([{"component": {"name": "connector"}, "variable": {"name": "ConnectorType"}}])
    assert len(connectors) == 3
    items = model.custom_report(
        [{"component": {"name": "DeviceDataCtrlr"}, "variable": {"name": "ItemsPerMessage", "instance": "GetReport"}}])
    assert [i["variable"] for i in items] == [{"name": "ItemsPerMessage", "instance": "GetReport"}]
    enabled = {i["component"]["name"] for i in model.custom_report(component_criteria=["Enabled"])}
    assert {"AuthCtrlr", "SmartChargingCtrlr"} <= enabled and "TariffCostCtrlr" not in enabled
    both = model.custom_report([{"component": {"name": "AuthCtrlr"}}, {"component": {"name": "TariffCostCtrlr"}}],
                               ["Enabled"])
    assert {i["component"]["name"] for i in both} == {"AuthCtrlr"}
    assert model.custom_report([{"component": {"name": "Unknown"}}]) == []
    assert model.custom_report(component_criteria=["Problem"]) == []
    assert_valid("NotifyReportRequest", {"requestId": 1, "generatedAt": "2025-01-01T00:00:00Z", "seqNo": 0,
                                         "reportData": evse2})


def test_split_numbers_parts_and_marks_all_but_the_last(model: DeviceModel) -> None:
    items = model.base_report("FullInventory")
    parts = split_messages(items, "reportData", generated_at=NOW, request_id=9,
                           items_per_message=model.items_per_message("DeviceDataCtrlr", "GetReport"))
    assert [p["seqNo"] for p in parts] == list(range(len(parts))) and len(parts) == 2
    assert [p["tbc"] for p in parts] == [True, False]
    assert all(p["requestId"] == 9 and p["generatedAt"] == "2025-01-02T03:04:05.000Z" for p in parts)
    assert [i for p in parts for i in p["reportData"]] == items
    small = split_messages(items, "reportData", generated_at=NOW, request_id=9, items_per_message=10)
    assert len(small) == -(-len(items) // 10) and all(len(p["reportData"]) <= 10 for p in small)
    by_bytes = split_messages(items, "reportData", generated_at=NOW, request_id=9, items_per_message=1000,
                              bytes_per_message=4000)
    assert len(by_bytes) > 1 and all(
        len(json.dumps([2, "x" * 36, "NotifyReport", p], separators=(",", ":"))) <= 4000 for p in by_bytes)
    assert split_messages([], "reportData", generated_at=NOW, request_id=1, items_per_message=5) == []


# -- robustness -----------------------------------------------------------------------------------------------

def _known_pairs() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    model = DeviceModel.for_station(station())
    return [(c.key.to_wire(), v.key.to_wire()) for c in model.components for v in c.variables.values()]


KNOWN = _known_pairs()
names = st.text(max_size=50)
component_st = st.one_of(
    st.sampled_from([c for c, _ in KNOWN]),
    st.fixed_dictionaries({"name": names}, optional={"instance": names, "evse": st.fixed_dictionaries(
        {"id": st.integers(-3, 5)}, optional={"connectorId": st.integers(-1, 3)})}),
)
variable_st = st.one_of(st.sampled_from([v for _, v in KNOWN]),
                        st.fixed_dictionaries({"name": names}, optional={"instance": names}))
value_st = st.one_of(st.text(max_size=60), st.sampled_from(
    ["true", "false", "0", "-1", "1e3", "60", "EVConnected", "A,W", "", " ", "9" * 30, "1.5", "LRU"]))
attr_st = st.sampled_from(["Actual", "Target", "MinSet", "MaxSet"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries({"component": component_st, "variable": variable_st,
                                       "attributeValue": value_st}, optional={"attributeType": attr_st}),
                min_size=1, max_size=8))
def test_random_set_variables_never_raise(items: list[dict[str, Any]]) -> None:
    model = DeviceModel.for_station(station())
    results = model.set_variables(items)
    assert len(results) == len(items)
    assert_valid("SetVariablesResponse", {"setVariableResult": results})
    read = model.get_variables([{k: v for k, v in i.items() if k != "attributeValue"} for i in items])
    assert len(read) == len(items)
    assert_valid("GetVariablesResponse", {"getVariableResult": read})
    assert_valid("NotifyReportRequest", {"requestId": 1, "generatedAt": "2025-01-01T00:00:00Z", "seqNo": 0,
                                         "reportData": model.base_report("FullInventory")})


def test_malformed_items_get_a_status_not_an_exception(model: DeviceModel) -> None:
    results = model.set_variables([{}, {"component": 3, "variable": {"name": "x"}, "attributeValue": "1"},
                                   sv("OCPPCommCtrlr", "HeartbeatInterval", "1") | {"attributeValue": 5}])
    assert [r["attributeStatus"] for r in results] == ["UnknownComponent", "UnknownComponent", "Rejected"]
    assert_valid("SetVariablesResponse", {"setVariableResult": results})
