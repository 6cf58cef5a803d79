from __future__ import annotations

import asyncio

from ocppemu.widgets.message_inspector import MessageInspector, exchange_html, frame_matches
from ocppemu.workbench.interface import ActionRequest, MessageOut, MessageQuery, WorkbenchAPI

from .conftest import connected_station, eventually


def _m(**kw: object) -> MessageOut:
    base = {"id": "1", "timestamp": "2025-01-01T10:00:00.000Z", "station_id": "S", "direction": "sent",
            "message_type": "Call", "action": "Heartbeat", "protocol_version": "1.6", "payload": {},
            "raw": '[2,"a","Heartbeat",{}]'}
    return MessageOut.model_validate({**base, **kw})


def test_frame_matches_follows_every_filter() -> None:
    m = _m()
    assert frame_matches(MessageQuery(), m)
    assert frame_matches(MessageQuery(station_id="S", action="Heartbeat", direction="sent", message_type="Call"), m)
    assert not frame_matches(MessageQuery(station_id="T"), m)
    assert not frame_matches(MessageQuery(direction="received"), m)
    assert not frame_matches(MessageQuery(since="2025-01-01T10:00:01Z"), m)
    assert frame_matches(MessageQuery(until="2025-01-01T10:00:01Z"), m)
    assert frame_matches(MessageQuery(text="heartbeat"), m)
    assert not frame_matches(MessageQuery(text="heartbeat boot"), m)


def test_exchange_shows_request_beside_response_with_rtt_and_errors() -> None:
    req = _m(payload={"a": 1})
    resp = _m(id="2", direction="received", message_type="CallError", error_code="FormatViolation",
              error_description="bad", rtt_ms=12.5, validation_error="x: wrong")
    out = exchange_html(req, resp)
    assert "12.5 ms" in out and "FormatViolation" in out and "x: wrong" in out and "Request" in out
    assert "not seen" in exchange_html(req, None)


async def test_filter_live_feed_detail_and_export(wb: WorkbenchAPI) -> None:
    await connected_station(wb, "IN-1")
    await connected_station(wb, "IN-2")
    ins = MessageInspector(wb, max_rows=50, redraw_interval=0.05)
    await ins.tasks.idle()
    assert {m.station_id for m in ins.feed} == {"IN-1", "IN-2"}
    assert ins.station.options[1:] == (("IN-1", "IN-1"), ("IN-2", "IN-2"))
    ins.station.value = "IN-2"
    ins.action.value = "BootNotification"
    ins.apply_button.click()
    await ins.tasks.idle()
    assert ins.feed and all(m.station_id == "IN-2" and m.action == "BootNotification" for m in ins.feed)
    assert "IN-1" not in ins.table.value
    # a live frame matching the filter arrives at the top; others are kept out
    ins.action.value = ""
    ins.apply_button.click()
    await ins.tasks.idle()
    before = len(ins.feed)
    await wb.station_action("IN-2", ActionRequest(action="plug_in"))
    await wb.station_action("IN-1", ActionRequest(action="plug_in"))
    await eventually(lambda: len(ins.feed) >= before + 2, what="live frames")
    await asyncio.sleep(0.2)
    assert ins.feed[0].station_id == "IN-2" and all(m.station_id == "IN-2" for m in ins.feed)
    assert "StatusNotification" in ins.table.value
    # detail: a response shows its request beside it
    answer = next(m for m in ins.feed if m.message_type == "CallResult" and m.action == "BootNotification")
    ins.pick.value = answer.id
    await ins.tasks.idle()
    assert "round trip" in ins.detail.value and "chargePointVendor" in ins.detail.value
    assert "Accepted" in ins.detail.value
    # export of the filtered set
    ins.export_format.value = "csv"
    ins.export_button.click()
    await ins.tasks.idle()
    assert "data:text/csv;base64," in ins.download.value
    assert "IN-2" in ins.last_export and "IN-1" not in ins.last_export
    await ins.close()


async def test_the_feed_stays_bounded(wb: WorkbenchAPI) -> None:
    await connected_station(wb, "IN-3")
    ins = MessageInspector(wb, max_rows=3, live=False)
    await ins.tasks.idle()
    for i in range(10):
        ins.add_live(_m(id=f"x{i}", station_id="IN-3"))
    assert len(ins.feed) == 3 and ins.feed[0].id == "x9"
    ins.since.value = "yesterday"
    ins.apply_button.click()
    await ins.tasks.idle()
    assert "since" in ins.tasks.status.value and "ISO 8601" in ins.tasks.status.value


def test_soap_frame_shows_the_envelope_beside_the_json_view() -> None:
    raw = ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
           '<heartbeatRequest xmlns="urn://Ocpp/Cs/2015/10/"/></s:Body></s:Envelope>')
    req = _m(raw=raw, payload={"note": "<b>"})
    out = exchange_html(req, None)
    assert "SOAP envelope" in out and "JSON view" in out
    assert "class='xml-tag'" in out and "heartbeatRequest" in out and "&lt;s:Envelope" in out
    assert "&lt;b&gt;" in out and "\"<b>\"" not in out  # peer text is escaped
    assert "SOAP envelope" not in exchange_html(_m(), None)  # OCPP-J frames keep the JSON view only
