"""OCPP-J framing: every frame type round-trips; malformed input becomes the spec's error, never an exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocppemu.ocpp.errors import ErrorCode, Violation
from ocppemu.ocpp.framing import Call, CallError, CallResult, CallResultError, Send, parse, serialise
from ocppemu.ocpp.versions import Version


@pytest.mark.parametrize("frame", [
    Call("1", "Heartbeat", {}),
    CallResult("2", {"currentTime": "2026-01-01T00:00:00Z"}),
    CallError("3", "NotImplemented", "nope", {"a": 1}),
])
@pytest.mark.parametrize("version", list(Version))
def test_round_trip(frame, version: Version) -> None:  # type: ignore[no-untyped-def]
    assert parse(serialise(frame), version) == frame


@pytest.mark.parametrize("frame", [CallResultError("4", "FormatViolation", "bad", {}), Send("5", "NotifyPeriodicEventStream", {"x": 1})])
def test_21_only_frames(frame) -> None:  # type: ignore[no-untyped-def]
    text = serialise(frame)
    assert parse(text, Version.V21) == frame
    got = parse(text, Version.V201)
    assert isinstance(got, Violation) and got.code is ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED
    got16 = parse(text, Version.V16)
    assert isinstance(got16, Violation) and got16.code is ErrorCode.PROTOCOL_ERROR


@pytest.mark.parametrize(("text", "version", "code", "message_id"), [
    ("not json", Version.V16, ErrorCode.FORMAT_VIOLATION, "-1"),
    ("not json", Version.V201, ErrorCode.RPC_FRAMEWORK_ERROR, "-1"),
    ("{}", Version.V201, ErrorCode.RPC_FRAMEWORK_ERROR, "-1"),
    ('[2, 5, "Heartbeat", {}]', Version.V16, ErrorCode.FORMAT_VIOLATION, "-1"),
    ('[9, "1", "Heartbeat", {}]', Version.V201, ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED, "1"),
    ('[9, "1", "Heartbeat", {}]', Version.V16, ErrorCode.PROTOCOL_ERROR, "1"),
    ('[2, "1", "Heartbeat", []]', Version.V16, ErrorCode.FORMAT_VIOLATION, "1"),
    ('[2, "1", "Heartbeat"]', Version.V201, ErrorCode.RPC_FRAMEWORK_ERROR, "1"),
    ('[2, "' + "x" * 40 + '", "Heartbeat", {}]', Version.V201, ErrorCode.RPC_FRAMEWORK_ERROR, "x" * 40),
    ('[2, "' + "y" * 129 + '", "Heartbeat", {}]', Version.V16, ErrorCode.FORMAT_VIOLATION, "y" * 129),
])
def test_malformed(text: str, version: Version, code: ErrorCode, message_id: str) -> None:
    got = parse(text, version)
    assert isinstance(got, Violation)
    assert got.code is code
    assert got.message_id == message_id


def test_result_and_error_violations_are_not_answered() -> None:
    for text in ('[3, "1", []]', '[4, "1", 5, "x", {}]', '[4, "1", "GenericError", "x", []]'):
        got = parse(text, Version.V16)
        assert isinstance(got, Violation) and not got.answerable


def test_huge_integer_is_still_json() -> None:
    # Beyond 64 bits the fast decoder gives a float; the frame is still parsed (and schema checks see a number).
    got = parse('[2, "1", "Heartbeat", {"n": ' + "9" * 40 + "}]", Version.V16)
    assert isinstance(got, Call) and got.payload["n"] == pytest.approx(1e40)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, version=st.sampled_from(list(Version)))
def test_any_json_parses_to_a_frame_or_a_violation(value: object, version: Version) -> None:
    got = parse(json.dumps(value), version)
    assert isinstance(got, Call | CallResult | CallError | CallResultError | Send | Violation)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_any_text_parses_to_a_frame_or_a_violation(text: str) -> None:
    got = parse(text, Version.V16)
    assert isinstance(got, Call | CallResult | CallError | Violation)
