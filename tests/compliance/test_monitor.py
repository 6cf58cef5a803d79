"""The compliance monitor judges what the CSMS sends, fed by a real RPC endpoint's frame records."""

from __future__ import annotations

import json

import pytest

from ocppemu.compliance import ComplianceMonitor, check_frames
from ocppemu.compliance.findings import ComplianceFinding
from ocppemu.compliance.rules import RULES
from ocppemu.ocpp.records import FrameRecord
from ocppemu.ocpp.rpc import PendingCall, RpcEndpoint
from ocppemu.ocpp.versions import Version

T0 = 1_700_000_000.0


class Link:
    """A station endpoint whose frame records go through a monitor."""

    def __init__(self, version: Version = Version.V16, timeout: float = 30.0) -> None:
        self.records: list[FrameRecord] = []
        self.monitor = ComplianceMonitor(version, "CP1", response_timeout=timeout)
        self.findings: list[ComplianceFinding] = []
        self.rpc = RpcEndpoint(version, "CP1", call_timeout=timeout, record_sink=self._sink)

    def _sink(self, record: FrameRecord) -> None:
        self.records.append(record)
        self.findings.extend(self.monitor.observe(record))

    def call(self, action: str, payload: dict[str, object], now: float) -> str:
        pending = self.rpc.call(action, payload, now)
        assert isinstance(pending, PendingCall)
        return pending.message_id

    def csms(self, frame: list[object], now: float) -> None:
        self.rpc.receive(json.dumps(frame), now)

    def rules(self) -> list[str]:
        return [f.rule for f in self.findings]


def boot(link: Link, status: str = "Accepted", interval: int = 60, now: float = T0) -> None:
    payload = {"chargePointVendor": "v", "chargePointModel": "m"} if link.rpc.version is Version.V16 else {
        "chargingStation": {"vendorName": "v", "model": "m"}, "reason": "PowerUp"}
    mid = link.call("BootNotification", payload, now)
    link.csms([3, mid, {"currentTime": "2024-01-01T00:00:00Z", "interval": interval, "status": status}], now + 0.1)


def test_a_well_behaved_exchange_gives_no_finding() -> None:
    link = Link()
    boot(link)
    mid = link.call("Heartbeat", {}, T0 + 1)
    link.csms([3, mid, {"currentTime": "2024-01-01T00:00:01Z"}], T0 + 1.1)
    link.csms([2, "c1", "GetConfiguration", {}], T0 + 2)
    link.rpc.reply(_call("c1", "GetConfiguration"), {"configurationKey": []}, T0 + 2)  # type: ignore[arg-type]
    link.csms([2, "c2", "ClearCache", {}], T0 + 3)
    assert link.findings == []


def _call(mid: str, action: str) -> object:
    from ocppemu.ocpp.framing import Call

    return Call(mid, action, {})


def test_invalid_response_is_a_schema_finding_with_frame_rule_and_reference() -> None:
    link = Link()
    boot(link)
    mid = link.call("Heartbeat", {}, T0 + 1)
    link.csms([3, mid, {"currentTime": 5}], T0 + 1.1)
    (f,) = link.findings
    assert f.rule == "schema.response" and f.severity == "error" and f.action == "Heartbeat"
    assert f.message_id == mid and json.loads(f.frame) == [3, mid, {"currentTime": 5}]
    assert "4.2.2" in f.reference and f.seq == link.records[-1].seq


def test_missing_id_tag_info_is_named_as_such() -> None:
    link = Link()
    boot(link)
    mid = link.call("Authorize", {"idTag": "T1"}, T0 + 1)
    link.csms([3, mid, {}], T0 + 1.1)
    assert link.rules() == ["value.id-token-info"]


def test_answer_with_unknown_id_late_answer_and_time_out() -> None:
    link = Link(timeout=5)
    boot(link)
    link.csms([3, "never-sent", {"currentTime": "2024-01-01T00:00:00Z"}], T0 + 1)
    mid = link.call("Heartbeat", {}, T0 + 2)
    assert link.monitor.flush(T0 + 3) == []
    (timeout,) = link.monitor.flush(T0 + 8)
    assert timeout.rule == "rpc.response-timeout" and timeout.message_id == mid and "Heartbeat" in timeout.frame
    link.csms([3, mid, {"currentTime": "2024-01-01T00:00:00Z"}], T0 + 9)
    assert link.rules() == ["rpc.unknown-message-id", "rpc.late-response"]


@pytest.mark.parametrize(("version", "code", "finding"), [
    (Version.V16, "NoSuchCode", True), (Version.V16, "OccurenceConstraintViolation", False),
    (Version.V16, "RpcFrameworkError", True), (Version.V201, "RpcFrameworkError", False),
    (Version.V201, "FormationViolation", True),
])
def test_call_error_codes_must_exist_in_the_version(version: Version, code: str, finding: bool) -> None:
    link = Link(version)
    boot(link)
    mid = link.call("Heartbeat", {}, T0 + 1)
    link.csms([4, mid, code, "", {}], T0 + 1.1)
    assert link.rules() == (["rpc.error-code"] if finding else [])


def test_call_while_own_call_outstanding_and_calls_before_boot_accepted() -> None:
    link = Link()
    link.csms([2, "early", "GetConfiguration", {}], T0)
    link.rpc.reply(_call("early", "GetConfiguration"), {}, T0)  # type: ignore[arg-type]
    boot(link, "Pending", now=T0 + 1)
    link.csms([2, "p0", "GetConfiguration", {}], T0 + 1.5)  # allowed while Pending
    link.rpc.reply(_call("p0", "GetConfiguration"), {}, T0 + 1.5)  # type: ignore[arg-type]
    link.csms([2, "p1", "RemoteStartTransaction", {"idTag": "T"}], T0 + 2)
    assert link.rules() == ["boot.call-before-accepted"] * 2
    assert "BootNotification" in link.findings[0].description and "Pending" in link.findings[1].description
    # the CSMS's RemoteStart is unanswered; another call breaks synchronicity
    link.csms([2, "p2", "ChangeConfiguration", {"key": "k", "value": "v"}], T0 + 3)
    assert link.rules()[-1] == "rpc.call-while-outstanding"


def test_rejected_station_gets_no_calls_but_trigger_message() -> None:
    link = Link(Version.V201)
    boot(link, "Rejected")
    link.csms([2, "t", "TriggerMessage", {"requestedMessage": "BootNotification"}], T0 + 1)
    link.rpc.reply(_call("t", "TriggerMessage"), {"status": "Accepted"}, T0 + 1)  # type: ignore[arg-type]
    assert link.findings == []
    link.csms([2, "r", "Reset", {"type": "Immediate"}], T0 + 2)
    assert link.rules() == ["boot.call-before-accepted"]


def test_heartbeat_interval_and_transaction_ids() -> None:
    link = Link()
    boot(link, interval=0)
    assert link.rules() == ["value.heartbeat-interval"]
    for i in range(2):
        mid = link.call("StartTransaction", {"connectorId": i + 1, "idTag": "T", "meterStart": 0,
                                             "timestamp": "2024-01-01T00:00:00Z"}, T0 + 2 + i)
        link.csms([3, mid, {"transactionId": 7, "idTagInfo": {"status": "Accepted"}}], T0 + 2.1 + i)
    assert link.rules()[-1] == "value.transaction-id"
    link.csms([2, "rs", "RemoteStopTransaction", {"transactionId": 99}], T0 + 5)
    assert link.findings[-1].rule == "value.transaction-id" and link.findings[-1].severity == "warning"


def test_v201_transaction_event_without_id_token_info() -> None:
    link = Link(Version.V201)
    boot(link)
    payload = {"eventType": "Started", "timestamp": "2024-01-01T00:00:00Z", "triggerReason": "Authorized",
               "seqNo": 0, "transactionInfo": {"transactionId": "tx1"},
               "idToken": {"idToken": "T", "type": "ISO14443"}}
    mid = link.call("TransactionEvent", payload, T0 + 1)
    link.csms([3, mid, {}], T0 + 1.1)
    assert link.rules() == ["value.id-token-info"]
    link.csms([2, "s", "RequestStopTransaction", {"transactionId": "tx1"}], T0 + 2)
    assert link.rules() == ["value.id-token-info"]


def test_malformed_frames_unknown_actions_and_dropped_connection() -> None:
    link = Link()
    boot(link)
    link.rpc.receive("not json", T0 + 1)
    link.csms([2, "x", "NoSuchAction", {}], T0 + 2)
    link.csms([2, "y", "StatusNotification", {}], T0 + 3)
    assert link.rules() == ["rpc.malformed-frame", "rpc.unknown-action", "rpc.unknown-action"]
    assert link.monitor.closed(T0 + 4, 1000, by_peer=True) == []
    (drop,) = link.monitor.closed(T0 + 5, 1006, by_peer=True)
    assert drop.rule == "connection.dropped"
    assert link.monitor.closed(T0 + 6, 1006, by_peer=False) == []


def test_check_frames_replays_a_recorded_sequence() -> None:
    link = Link(timeout=10)
    boot(link)
    link.call("Heartbeat", {}, T0 + 1)
    again = check_frames(link.records, Version.V16, response_timeout=10, until=T0 + 20)
    assert [f.rule for f in again] == ["rpc.response-timeout"]


def test_every_rule_has_references_for_both_families() -> None:
    for r in RULES.values():
        assert r.ref_16 and r.ref_2x and r.severity in ("error", "warning", "info")


def test_every_rule_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "COMPLIANCE.md").read_text(encoding="utf-8")
    for rule_id in RULES:
        assert f"`{rule_id}`" in doc, rule_id
