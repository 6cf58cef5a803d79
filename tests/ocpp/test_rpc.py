"""The sans-I/O RPC endpoint: one call in flight, correlation, time-outs, and bad input as findings."""

from __future__ import annotations

import json

from ocppemu.ocpp.errors import ErrorCode, Violation
from ocppemu.ocpp.records import FrameRecord
from ocppemu.ocpp.rpc import CallCompleted, CallFailed, Finding, IncomingCall, RpcEndpoint
from ocppemu.ocpp.versions import Version

BOOT = {"chargePointVendor": "v", "chargePointModel": "m"}


def endpoint(version: Version = Version.V16) -> tuple[RpcEndpoint, list[FrameRecord]]:
    records: list[FrameRecord] = []
    return RpcEndpoint(version, "CP1", call_timeout=5, record_sink=records.append), records


def test_one_call_in_flight_and_correlation() -> None:
    rpc, records = endpoint()
    a = rpc.call("BootNotification", BOOT, 0.0)
    b = rpc.call("Heartbeat", {}, 0.0)
    assert not isinstance(a, Violation) and not isinstance(b, Violation)
    assert len(rpc.take_outbox()) == 1  # the heartbeat waits for the boot's answer
    events = rpc.receive(json.dumps([3, a.message_id, {"status": "Accepted", "currentTime": "2026-01-01T00:00:00Z",
                                                        "interval": 10}]), 0.25)
    assert isinstance(events[0], CallCompleted) and events[0].pending is a and events[0].rtt_ms == 250.0
    out = rpc.take_outbox()
    assert len(out) == 1 and json.loads(out[0])[1] == b.message_id
    answer = [r for r in records if r.message_type == "CallResult"][0]
    assert answer.action == "BootNotification" and answer.correlation_id == a.message_id and answer.rtt_ms == 250.0


def test_invalid_outgoing_payload_is_refused_unless_asked() -> None:
    rpc, _ = endpoint()
    got = rpc.call("BootNotification", {"chargePointVendor": "v"}, 0.0)
    assert isinstance(got, Violation) and got.code is ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
    assert rpc.take_outbox() == []
    assert not isinstance(rpc.call("BootNotification", {"chargePointVendor": "v"}, 0.0, validate_payload=False),
                          Violation)
    assert len(rpc.take_outbox()) == 1


def test_timeout_releases_the_next_call() -> None:
    rpc, _ = endpoint()
    a = rpc.call("Heartbeat", {}, 0.0)
    rpc.call("Heartbeat", {}, 0.0)
    rpc.take_outbox()
    assert rpc.next_deadline() == 5.0
    events = rpc.tick(5.0)
    assert isinstance(events[0], CallFailed) and events[0].reason == "timeout" and events[0].pending is a
    assert len(rpc.take_outbox()) == 1
    late = rpc.receive(json.dumps([3, a.message_id, {"currentTime": "2026-01-01T00:00:00Z"}]), 6.0)
    assert isinstance(late[0], Finding)  # an answer for a call already given up is a finding, not a crash


def test_invalid_incoming_call_is_answered_with_the_right_error() -> None:
    rpc, records = endpoint()
    events = rpc.receive(json.dumps([2, "x1", "RemoteStartTransaction", {"connectorId": 1}]), 0.0)
    assert isinstance(events[0], Finding)
    out = json.loads(rpc.take_outbox()[0])
    assert out[:3] == [4, "x1", "OccurrenceConstraintViolation"]
    assert records[0].validation_error is not None


def test_wrong_direction_and_unknown_action() -> None:
    rpc, _ = endpoint()
    rpc.receive(json.dumps([2, "a", "BootNotification", BOOT]), 0.0)
    rpc.receive(json.dumps([2, "b", "Frobnicate", {}]), 0.0)
    out = [json.loads(t) for t in rpc.take_outbox()]
    assert out[0][2] == "NotSupported" and out[1][2] == "NotImplemented"


def test_valid_incoming_call() -> None:
    rpc, _ = endpoint()
    events = rpc.receive(json.dumps([2, "a", "Reset", {"type": "Soft"}]), 0.0)
    assert isinstance(events[0], IncomingCall)
    rpc.reply(events[0].call, {"status": "Accepted"}, 0.0)
    assert json.loads(rpc.take_outbox()[0]) == [3, "a", {"status": "Accepted"}]


def test_invalid_result_fails_the_call_and_21_answers_callresulterror() -> None:
    for version, expect_reply in ((Version.V16, False), (Version.V21, True)):
        rpc, _ = endpoint(version)
        payload = {} if version is Version.V16 else {}
        pending = rpc.call("Heartbeat", payload, 0.0)
        assert not isinstance(pending, Violation)
        rpc.take_outbox()
        events = rpc.receive(json.dumps([3, pending.message_id, {"currentTime": 5}]), 0.1)
        assert any(isinstance(e, Finding) for e in events)
        failed = [e for e in events if isinstance(e, CallFailed)]
        assert failed and failed[0].reason == "invalid_result"
        out = rpc.take_outbox()
        assert bool(out) is expect_reply
        if expect_reply:
            assert json.loads(out[0])[0] == 5


def test_raw_frames_are_sent_as_they_are_and_still_correlated() -> None:
    rpc, records = endpoint()
    assert rpc.send_raw("this is not json", 0.0) is None
    pending = rpc.send_raw('[2,"r1","Heartbeat",{"bogus":1}]', 0.0)
    assert pending is not None and pending.raw
    assert rpc.take_outbox() == ["this is not json", '[2,"r1","Heartbeat",{"bogus":1}]']
    events = rpc.receive('[4,"r1","FormatViolation","bad",{}]', 0.5)
    assert isinstance(events[-1], CallFailed) and events[-1].reason == "error"
    assert records[0].message_type == "Invalid"


def test_connection_lost_fails_everything_pending() -> None:
    rpc, _ = endpoint()
    rpc.call("Heartbeat", {}, 0.0)
    rpc.call("Heartbeat", {}, 0.0)
    events = rpc.connection_lost()
    assert [e.reason for e in events if isinstance(e, CallFailed)] == ["disconnected", "disconnected"]
    assert rpc.next_deadline() is None


def test_send_frames_only_in_21_and_validated() -> None:
    rpc, records = endpoint(Version.V21)
    bad = rpc.send("NotifyPeriodicEventStream", {"id": 1}, 0.0)
    assert isinstance(bad, Violation)
    ok = rpc.send("NotifyPeriodicEventStream", {"id": 1, "pending": 0, "basetime": "2026-01-01T00:00:00Z",
                                                "data": [{"t": 0.5, "v": "1"}]}, 0.0)
    assert not isinstance(ok, Violation)
    assert json.loads(rpc.take_outbox()[0])[0] == 6 and records[-1].message_type == "Send"
    rpc16, _ = endpoint(Version.V16)
    got = rpc16.send("Heartbeat", {}, 0.0)
    assert isinstance(got, Violation) and rpc16.take_outbox() == []
