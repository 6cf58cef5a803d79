"""Frames of ours recorded as sent when they were written, not when they were produced (a transport's caller)."""

from __future__ import annotations

import json

from ocppemu.ocpp.records import FrameRecord
from ocppemu.ocpp.rpc import RpcEndpoint
from ocppemu.ocpp.versions import Version

BOOT = {"chargePointVendor": "v", "chargePointModel": "m"}


def endpoint() -> tuple[RpcEndpoint, list[FrameRecord]]:
    records: list[FrameRecord] = []
    rpc = RpcEndpoint(Version.V16, "CP1", call_timeout=5, record_sink=records.append, record_sent_on_write=True)
    return rpc, records


def test_a_call_is_recorded_when_written_with_the_time_of_the_write() -> None:
    rpc, records = endpoint()
    rpc.call("BootNotification", BOOT, 10.0)
    assert records == []  # produced, not written yet
    [(text, record)] = rpc.take_outgoing()
    assert json.loads(text)[2] == "BootNotification" and records == []
    rpc.written(record, 10.5)
    assert [r.action for r in records] == ["BootNotification"] and records[0].direction == "sent"
    assert records[0].timestamp.timestamp() == 10.5 and records[0].raw == text


def test_received_and_sent_records_are_numbered_in_the_order_they_happened() -> None:
    rpc, records = endpoint()
    rpc.call("BootNotification", BOOT, 0.0)
    outgoing = rpc.take_outgoing()
    incoming = json.dumps([2, "csms-1", "Reset", {"type": "Soft"}])
    rpc.receive(incoming, 0.1)  # the CSMS's call arrives before our frame is written
    for _, record in outgoing:
        rpc.written(record, 0.2)
    assert [(r.direction, r.action) for r in records] == [("received", "Reset"), ("sent", "BootNotification")]
    assert [r.seq for r in records] == [1, 2]


def test_frames_that_never_reach_the_transport_are_counted_not_recorded() -> None:
    rpc, records = endpoint()
    rpc.call("BootNotification", BOOT, 0.0)
    rpc.connection_lost()
    assert rpc.take_outgoing() == [] and rpc.unwritten == 1
    assert [r.direction for r in records] == []


def test_take_outbox_is_a_write_now_for_callers_without_a_transport() -> None:
    rpc, records = endpoint()
    rpc.call("Heartbeat", {}, 0.0)
    assert len(rpc.take_outbox()) == 1
    assert [r.action for r in records] == ["Heartbeat"]


def test_by_default_frames_are_recorded_when_produced() -> None:
    records: list[FrameRecord] = []
    rpc = RpcEndpoint(Version.V16, "CP1", record_sink=records.append)
    rpc.call("Heartbeat", {}, 0.0)
    assert [r.action for r in records] == ["Heartbeat"]
    assert [record for _, record in rpc.take_outgoing()] == [None]
