"""Payload validation maps each broken schema rule to the OCPP error code a real charger answers with."""

from __future__ import annotations

import pytest

from ocppemu.ocpp.errors import ErrorCode, wire_code
from ocppemu.ocpp.validation import validate, warm_up
from ocppemu.ocpp.versions import Version

BOOT16 = {"chargePointVendor": "v", "chargePointModel": "m"}


@pytest.mark.parametrize(("payload", "code"), [
    ({"chargePointVendor": "v"}, ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
    ({**BOOT16, "chargePointModel": 5}, ErrorCode.TYPE_CONSTRAINT_VIOLATION),
    ({**BOOT16, "chargePointVendor": "x" * 21}, ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    ({**BOOT16, "extra": 1}, ErrorCode.FORMAT_VIOLATION),
])
def test_rule_to_code(payload: dict[str, object], code: ErrorCode) -> None:
    got = validate(Version.V16, "BootNotification", "request", payload)
    assert got is not None and got.code is code


def test_valid_and_unknown() -> None:
    assert validate(Version.V16, "BootNotification", "request", BOOT16) is None
    got = validate(Version.V16, "NoSuchAction", "request", {})
    assert got is not None and got.code is ErrorCode.NOT_IMPLEMENTED


def test_enum_and_datetime() -> None:
    got = validate(Version.V201, "BootNotification", "request",
                   {"reason": "Nope", "chargingStation": {"model": "m", "vendorName": "v"}})
    assert got is not None and got.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION and "reason" in got.description
    got = validate(Version.V16, "HeartbeatResponse".removesuffix("Response"), "response", {"currentTime": "yesterday"})
    assert got is not None and got.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION


def test_wire_codes_per_version() -> None:
    assert wire_code(ErrorCode.FORMAT_VIOLATION, Version.V16) == "FormatViolation"
    assert wire_code(ErrorCode.FORMAT_VIOLATION, Version.V16, "original") == "FormationViolation"
    assert wire_code(ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION, Version.V16, "original") == \
        "OccurenceConstraintViolation"
    assert wire_code(ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED, Version.V16) == "ProtocolError"
    assert wire_code(ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED, Version.V201) == "MessageTypeNotSupported"


@pytest.mark.parametrize("version", list(Version))
def test_every_validator_compiles(version: Version) -> None:
    warm_up(version)


def test_multiple_of_tenth_is_checked_with_a_tolerance() -> None:
    profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
               "chargingProfileKind": "Absolute",
               "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
                   {"startPeriod": 0, "limit": 1.2}, {"startPeriod": 60, "limit": 0.7}]}}
    assert validate(Version.V16, "SetChargingProfile", "request",
                    {"connectorId": 1, "csChargingProfiles": profile}) is None
    profile["chargingSchedule"]["chargingSchedulePeriod"][1]["limit"] = 0.75  # type: ignore[index]
    got = validate(Version.V16, "SetChargingProfile", "request", {"connectorId": 1, "csChargingProfiles": profile})
    assert got is not None and got.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION and "limit" in got.description


def test_validation_does_not_fill_in_defaults() -> None:
    payload = {"eventType": "Started", "timestamp": "2026-01-01T00:00:00Z", "triggerReason": "Authorized",
               "seqNo": 0, "transactionInfo": {"transactionId": "t1"}}
    assert validate(Version.V201, "TransactionEvent", "request", payload) is None
    assert "offline" not in payload
