"""OCPP 1.6 configuration keys: GetConfiguration / ChangeConfiguration semantics of the station's store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from ocppemu.config.station import ConnectorConfig, CsmsAuth, MeterValuesConfig, StationConfig
from ocppemu.station.configuration_keys import (
    MEASURANDS_V16,
    STANDARD_KEYS,
    ConfigurationError,
    ConfigurationKeyEntry,
    ConfigurationStore,
    GetConfigurationResult,
    KeyType,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "v16"


def _compile(name: str) -> Any:
    return fastjsonschema.compile(json.loads((SCHEMAS / name).read_text()))


VALIDATE_GET = _compile("GetConfigurationResponse.json")
VALIDATE_CHANGE = _compile("ChangeConfigurationResponse.json")

# Facts from OCPP 1.6 section 9 and the 1.6 security white paper: (read-only, type) per key.
EXPECTED_ACCESS: dict[str, tuple[bool, KeyType]] = {
    "AllowOfflineTxForUnknownId": (False, KeyType.BOOL),
    "AuthorizationCacheEnabled": (False, KeyType.BOOL),
    "AuthorizeRemoteTxRequests": (False, KeyType.BOOL),
    "BlinkRepeat": (False, KeyType.INT),
    "ClockAlignedDataInterval": (False, KeyType.INT),
    "ConnectionTimeOut": (False, KeyType.INT),
    "ConnectorPhaseRotation": (False, KeyType.CSL),
    "ConnectorPhaseRotationMaxLength": (True, KeyType.INT),
    "GetConfigurationMaxKeys": (True, KeyType.INT),
    "HeartbeatInterval": (False, KeyType.INT),
    "LightIntensity": (False, KeyType.INT),
    "LocalAuthorizeOffline": (False, KeyType.BOOL),
    "LocalPreAuthorize": (False, KeyType.BOOL),
    "MaxEnergyOnInvalidId": (False, KeyType.INT),
    "MeterValuesAlignedData": (False, KeyType.CSL),
    "MeterValuesAlignedDataMaxLength": (True, KeyType.INT),
    "MeterValuesSampledData": (False, KeyType.CSL),
    "MeterValuesSampledDataMaxLength": (True, KeyType.INT),
    "MeterValueSampleInterval": (False, KeyType.INT),
    "MinimumStatusDuration": (False, KeyType.INT),
    "NumberOfConnectors": (True, KeyType.INT),
    "ResetRetries": (False, KeyType.INT),
    "StopTransactionOnEVSideDisconnect": (False, KeyType.BOOL),
    "StopTransactionOnInvalidId": (False, KeyType.BOOL),
    "StopTxnAlignedData": (False, KeyType.CSL),
    "StopTxnAlignedDataMaxLength": (True, KeyType.INT),
    "StopTxnSampledData": (False, KeyType.CSL),
    "StopTxnSampledDataMaxLength": (True, KeyType.INT),
    "SupportedFeatureProfiles": (True, KeyType.CSL),
    "SupportedFeatureProfilesMaxLength": (True, KeyType.INT),
    "TransactionMessageAttempts": (False, KeyType.INT),
    "TransactionMessageRetryInterval": (False, KeyType.INT),
    "UnlockConnectorOnEVSideDisconnect": (False, KeyType.BOOL),
    "WebSocketPingInterval": (False, KeyType.INT),
    "LocalAuthListEnabled": (False, KeyType.BOOL),
    "LocalAuthListMaxLength": (True, KeyType.INT),
    "SendLocalListMaxLength": (True, KeyType.INT),
    "ReserveConnectorZeroSupported": (True, KeyType.BOOL),
    "ChargeProfileMaxStackLevel": (True, KeyType.INT),
    "ChargingScheduleAllowedChargingRateUnit": (True, KeyType.CSL),
    "ChargingScheduleMaxPeriods": (True, KeyType.INT),
    "ConnectorSwitch3to1PhaseSupported": (True, KeyType.BOOL),
    "MaxChargingProfilesInstalled": (True, KeyType.INT),
    "AdditionalRootCertificateCheck": (True, KeyType.BOOL),
    "AuthorizationKey": (False, KeyType.STRING),
    "CertificateSignedMaxChainSize": (True, KeyType.INT),
    "CertificateStoreMaxLength": (True, KeyType.INT),
    "CpoName": (False, KeyType.STRING),
    "SecurityProfile": (False, KeyType.INT),
}


def station(**kwargs: Any) -> StationConfig:
    return StationConfig(station_id="CP001", **kwargs)


@pytest.fixture
def store() -> ConfigurationStore:
    return ConfigurationStore.for_station(station())


def entries(payload: GetConfigurationResult) -> dict[str, ConfigurationKeyEntry]:
    return {e["key"]: e for e in payload["configurationKey"]}


def test_table_matches_the_spec_key_set() -> None:
    assert set(STANDARD_KEYS) == set(EXPECTED_ACCESS)
    for name, (readonly, type_) in EXPECTED_ACCESS.items():
        assert (STANDARD_KEYS[name].readonly, STANDARD_KEYS[name].type) == (readonly, type_), name


def test_measurand_enum_matches_the_schema() -> None:
    schema = json.loads((SCHEMAS / "MeterValues.json").read_text())
    sampled = schema["properties"]["meterValue"]["items"]["properties"]["sampledValue"]["items"]
    assert set(MEASURANDS_V16) == set(sampled["properties"]["measurand"]["enum"])


def test_get_all_answers_every_key_with_its_readonly_flag(store: ConfigurationStore) -> None:
    payload = store.get_configuration(None)
    VALIDATE_GET(payload)
    got = entries(payload)
    assert set(got) == set(STANDARD_KEYS)
    for name, (readonly, _) in EXPECTED_ACCESS.items():
        assert got[name]["readonly"] is readonly, name
    assert "unknownKey" not in payload


def test_values_are_strings_and_write_only_key_has_no_value(store: ConfigurationStore) -> None:
    got = entries(store.get_configuration([]))
    assert "value" not in got["AuthorizationKey"]
    for name, entry in got.items():
        if name != "AuthorizationKey":
            assert isinstance(entry["value"], str), name


def test_unknown_keys_reported_and_schema_valid(store: ConfigurationStore) -> None:
    payload = store.get_configuration(["HeartbeatInterval", "NoSuchKey", "HeartbeatInterval"])
    VALIDATE_GET(payload)
    assert payload == {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "60"}],
                       "unknownKey": ["NoSuchKey"]}


def test_get_configuration_max_keys_is_respected() -> None:
    store = ConfigurationStore.for_station(station(configuration_overrides={"GetConfigurationMaxKeys": "2"}))
    payload = store.get_configuration(["HeartbeatInterval", "ResetRetries", "BlinkRepeat", "Nope"])
    VALIDATE_GET(payload)
    assert [e["key"] for e in payload["configurationKey"]] == ["HeartbeatInterval", "ResetRetries"]
    assert "unknownKey" not in payload


def test_values_derived_from_the_station() -> None:
    config = station(
        connectors=[ConnectorConfig(id=1), ConnectorConfig(id=2, phases=1)],
        meter_values_config=MeterValuesConfig(interval=15, aligned_data_interval=300,
                                              measurands=["Energy.Active.Import.Register", "SoC"]),
        supported_profiles=["Core", "SmartCharging"],
    )
    store = ConfigurationStore.for_station(config)
    assert store.get_int("NumberOfConnectors") == 2
    assert store.get_int("MeterValueSampleInterval") == 15
    assert store.get_int("ClockAlignedDataInterval") == 300
    assert store.get_list("MeterValuesSampledData") == ["Energy.Active.Import.Register", "SoC"]
    assert store.get_list("SupportedFeatureProfiles") == ["Core", "SmartCharging"]
    assert store.get_list("ConnectorPhaseRotation") == ["0.RST", "1.RST", "2.NotApplicable"]
    assert store.get_int("HeartbeatInterval") == 60
    # keys of unsupported profiles are absent
    assert "LocalAuthListEnabled" not in store
    assert "ReserveConnectorZeroSupported" not in store
    assert "ChargeProfileMaxStackLevel" in store
    assert store.get_configuration(["LocalAuthListEnabled"])["unknownKey"] == ["LocalAuthListEnabled"]


def test_security_profile_derived_and_password_hidden() -> None:
    config = station(csms_url="wss://csms.example/ocpp",
                     csms_auth=CsmsAuth(type="basic", username="CP001", password=SecretStr("short")))
    store = ConfigurationStore.for_station(config)
    assert store.get_int("SecurityProfile") == 2
    assert store.get_str("AuthorizationKey") == "short"
    assert "short" not in json.dumps(store.get_configuration(None))


def test_overrides_apply_and_vendor_keys_are_read_write() -> None:
    store = ConfigurationStore.for_station(station(configuration_overrides={
        "HeartbeatInterval": "300", "LocalPreAuthorize": "TRUE", "VendorMode": "eco"}))
    assert store.get_int("HeartbeatInterval") == 300
    assert store.get_bool("LocalPreAuthorize") is True
    assert store.get_str("LocalPreAuthorize") == "true"
    got = entries(store.get_configuration(["VendorMode"]))
    assert got["VendorMode"] == {"key": "VendorMode", "readonly": False, "value": "eco"}
    assert store.change_configuration("VendorMode", "boost") == "Accepted"
    assert store.get_str("VendorMode") == "boost"


@pytest.mark.parametrize("overrides", [
    {"HeartbeatInterval": "soon"},
    {"MeterValuesSampledData": "Energy.Active.Import.Register,Banana"},
    {"x" * 51: "1"},
])
def test_invalid_overrides_are_refused_with_a_sentence(overrides: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="configuration key"):
        ConfigurationStore.for_station(station(configuration_overrides=overrides))


@pytest.mark.parametrize("key", sorted(k for k, (ro, _) in EXPECTED_ACCESS.items() if ro))
def test_read_only_keys_are_rejected(store: ConfigurationStore, key: str) -> None:
    before = store.get_str(key)
    assert store.change_configuration(key, before) == "Rejected"
    assert store.get_str(key) == before


def test_unknown_key_is_not_supported(store: ConfigurationStore) -> None:
    assert store.change_configuration("NoSuchKey", "1") == "NotSupported"
    assert "NoSuchKey" not in store


@pytest.mark.parametrize(("key", "value"), [
    ("HeartbeatInterval", "abc"),
    ("HeartbeatInterval", "-5"),
    ("HeartbeatInterval", "1.5"),
    ("LightIntensity", "101"),
    ("LocalPreAuthorize", "yes"),
    ("MeterValuesSampledData", "Voltage,Energy"),
    ("MeterValuesSampledData", "Voltage,,SoC"),
    ("StopTxnSampledData", ",".join(MEASURANDS_V16[:11])),  # 11 items, the limit is 10
    ("ConnectorPhaseRotation", "1.XYZ"),
    ("ConnectorPhaseRotation", "7.RST"),
    ("AuthorizationKey", "tooshort"),
    ("AuthorizationKey", "x" * 41),
    ("SecurityProfile", "4"),
    ("CpoName", "x" * 501),
])
def test_invalid_values_are_rejected(store: ConfigurationStore, key: str, value: str) -> None:
    before = store.get_str(key)
    outcome = store.try_change(key, value)
    assert outcome.status == "Rejected"
    assert outcome.reason
    assert store.get_str(key) == before


def test_valid_changes_are_accepted_and_normalised(store: ConfigurationStore) -> None:
    assert store.change_configuration("HeartbeatInterval", "120") == "Accepted"
    assert store.get_int("HeartbeatInterval") == 120
    assert store.change_configuration("LocalPreAuthorize", "True") == "Accepted"
    assert store.get_bool("LocalPreAuthorize") is True
    assert store.change_configuration("MeterValuesSampledData", "Voltage, SoC") == "Accepted"
    assert store.get_configuration(["MeterValuesSampledData"])["configurationKey"] == [
        {"key": "MeterValuesSampledData", "readonly": False, "value": "Voltage,SoC"}]
    assert store.change_configuration("StopTxnAlignedData", "") == "Accepted"
    assert store.get_list("StopTxnAlignedData") == []
    assert store.change_configuration("CpoName", "Example CPO") == "Accepted"
    assert store.changed_values() == {"HeartbeatInterval": "120", "LocalPreAuthorize": "true",
                                      "MeterValuesSampledData": "Voltage,SoC", "CpoName": "Example CPO"}


def test_reboot_required_keys_store_the_value_but_do_not_notify(store: ConfigurationStore) -> None:
    calls: list[tuple[str, str]] = []
    store.add_listener(lambda k, v: calls.append((k, v)))
    assert store.change_configuration("WebSocketPingInterval", "30") == "RebootRequired"
    assert store.get_int("WebSocketPingInterval") == 30
    assert store.pending_reboot == {"WebSocketPingInterval"}
    assert calls == []
    assert store.reboot() == {"WebSocketPingInterval"}
    assert store.pending_reboot == set()


def test_reboot_required_can_be_widened_per_station() -> None:
    store = ConfigurationStore.for_station(station(), reboot_required_keys=["HeartbeatInterval"],
                                           readonly_keys=["AuthorizeRemoteTxRequests"])
    assert store.change_configuration("HeartbeatInterval", "10") == "RebootRequired"
    assert store.change_configuration("AuthorizeRemoteTxRequests", "true") == "Rejected"
    assert entries(store.get_configuration(["AuthorizeRemoteTxRequests"]))["AuthorizeRemoteTxRequests"][
        "readonly"] is True


def test_listener_called_on_accepted_changes_only(store: ConfigurationStore) -> None:
    calls: list[tuple[str, str]] = []
    unsubscribe = store.add_listener(lambda k, v: calls.append((k, v)))
    store.change_configuration("HeartbeatInterval", "0030")
    store.change_configuration("MeterValueSampleInterval", "bad")
    store.change_configuration("NumberOfConnectors", "5")
    assert calls == [("HeartbeatInterval", "30")]
    unsubscribe()
    store.change_configuration("HeartbeatInterval", "40")
    assert calls == [("HeartbeatInterval", "30")]


def test_a_failing_listener_does_not_break_the_change(store: ConfigurationStore) -> None:
    def boom(key: str, value: str) -> None:
        raise RuntimeError("listener bug")

    store.add_listener(boom)
    assert store.change_configuration("HeartbeatInterval", "90") == "Accepted"
    assert store.get_int("HeartbeatInterval") == 90


def test_security_profile_only_goes_up_and_needs_a_key(store: ConfigurationStore) -> None:
    assert store.get_int("SecurityProfile") == 0
    assert store.change_configuration("SecurityProfile", "1") == "Rejected"  # no AuthorizationKey yet
    assert store.change_configuration("AuthorizationKey", "0123456789ABCDEF0123") == "Accepted"
    assert store.change_configuration("SecurityProfile", "2") == "Accepted"
    assert store.change_configuration("SecurityProfile", "1") == "Rejected"


def test_set_local_bypasses_read_only_but_not_validation(store: ConfigurationStore) -> None:
    calls: list[tuple[str, str]] = []
    store.add_listener(lambda k, v: calls.append((k, v)))
    store.set_local("HeartbeatInterval", "300", notify=True)
    assert store.get_int("HeartbeatInterval") == 300
    assert calls == [("HeartbeatInterval", "300")]
    store.set_local("NumberOfConnectors", "3")
    assert store.get_int("NumberOfConnectors") == 3
    with pytest.raises(ConfigurationError):
        store.set_local("HeartbeatInterval", "never")
    with pytest.raises(KeyError):
        store.set_local("NoSuchKey", "1")


def test_typed_accessors(store: ConfigurationStore) -> None:
    assert store.get_bool("AuthorizationCacheEnabled") is True
    assert store.get_int("NoSuchKey", 7) == 7
    assert store.get_list("NoSuchKey", ["a"]) == ["a"]
    assert store.get_str("NoSuchKey", "x") == "x"
    with pytest.raises(KeyError):
        store.get_int("NoSuchKey")


key_names = st.sampled_from([*STANDARD_KEYS, "VendorMode", "NoSuchKey"]) | st.text(max_size=60)
values = (st.text(max_size=40) | st.integers(-10, 20000).map(str) | st.sampled_from(["true", "false", ""])
          | st.lists(st.sampled_from([*MEASURANDS_V16, "Bogus"]), max_size=12).map(",".join))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(key_names, values), min_size=1, max_size=20))
def test_random_changes_never_raise_and_answers_stay_valid(changes: list[tuple[str, str]]) -> None:
    store = ConfigurationStore.for_station(station(configuration_overrides={"VendorMode": "eco"}))
    for key, value in changes:
        status = store.change_configuration(key, value)
        assert status in ("Accepted", "Rejected", "RebootRequired", "NotSupported")
        VALIDATE_CHANGE({"status": status})
    VALIDATE_GET(store.get_configuration(None))
    for key in store:
        spec = store.spec(key)
        if spec is not None and spec.type is KeyType.INT:
            store.get_int(key)
        elif spec is not None and spec.type is KeyType.BOOL:
            store.get_bool(key)
