"""One contract, two implementations: the in-process workbench and the HTTP client of a daemon behave alike."""

from __future__ import annotations

import asyncio

import pytest

from ocppemu.workbench.interface import (
    ActionRequest,
    CloneRequest,
    Conflict,
    FromTemplateRequest,
    ImportRequest,
    InvalidRequest,
    MessageQuery,
    NotFound,
    SendMessageRequest,
    TemplateCreate,
    TemplateUpdate,
    WorkbenchAPI,
    WorkbenchEvent,
)
from tests.peers.fixtures import PeerFactory


async def test_create_get_list_delete(wb: WorkbenchAPI) -> None:
    view = await wb.create_station({"station_id": "C1", "name": "first"})
    assert view.station_id == "C1" and view.config["csms_url"] == "ws://127.0.0.1:9/ocpp"
    assert view.runtime.running is False and view.runtime.connection_status == "disconnected"
    assert [s.station_id for s in (await wb.list_stations()).stations] == ["C1"]
    assert (await wb.get_station("C1")).config["name"] == "first"
    assert (await wb.delete_station("C1")).deleted is True
    with pytest.raises(NotFound):
        await wb.get_station("C1")


async def test_refusals_are_clear_and_write_nothing(wb: WorkbenchAPI) -> None:
    with pytest.raises(InvalidRequest, match="connector ids"):
        await wb.create_station({"station_id": "BAD", "connectors": [{"id": 2}]})
    with pytest.raises(InvalidRequest, match="bogus"):
        await wb.create_station({"station_id": "BAD", "bogus": True})
    assert (await wb.list_stations()).stations == []
    await wb.create_station({"station_id": "C1"})
    with pytest.raises(Conflict, match="already exists"):
        await wb.create_station({"station_id": "C1"})
    with pytest.raises(InvalidRequest, match="station_id"):
        await wb.update_station("C1", {"station_id": "OTHER"})
    with pytest.raises(NotFound):
        await wb.station_action("NOPE", ActionRequest(action="plug_in"))


async def test_max_stations_is_enforced_everywhere(wb: WorkbenchAPI) -> None:
    for i in range(4):
        await wb.create_station({"station_id": f"M{i}"})
    with pytest.raises(Conflict, match="max_stations"):
        await wb.create_station({"station_id": "M9"})
    with pytest.raises(Conflict, match="max_stations"):
        await wb.clone_station("M0", CloneRequest(station_id="M9"))
    with pytest.raises(Conflict, match="max_stations"):
        await wb.create_from_template("ac-7kw-single-1.6", FromTemplateRequest(station_id="M9"))
    await wb.delete_station("M3")
    with pytest.raises(Conflict, match="max_stations"):
        await wb.import_stations(ImportRequest(stations=[{"station_id": "I1"}, {"station_id": "I2"}]))
    assert len((await wb.list_stations()).stations) == 3


async def test_templates_and_clone(wb: WorkbenchAPI) -> None:
    names = {t.name for t in (await wb.list_templates()).templates}
    assert {"ac-7kw-single-1.6", "ac-22kw-dual-1.6", "dc-50kw-ccs-chademo-1.6", "dc-150kw-2.0.1",
            "ac-11kw-bidirectional-2.1"} <= names
    view = await wb.create_from_template("ac-22kw-dual-1.6", FromTemplateRequest(
        station_id="T1", overrides={"name": "dual", "simulation": {"seed": 7}}))
    assert [c["id"] for c in view.config["connectors"]] == [1, 2]
    assert view.config["simulation"]["seed"] == 7 and view.config["simulation"]["energy_delivery_rate"] == 11000.0
    v21 = await wb.create_from_template("ac-11kw-bidirectional-2.1", FromTemplateRequest(station_id="T21"))
    assert v21.config["protocol_version"] == "2.1"
    v201 = await wb.create_from_template("dc-150kw-2.0.1", FromTemplateRequest(station_id="T201"))
    assert v201.config["protocol_version"] == "2.0.1"
    assert any(v.get("component") == "TxCtrlr" for v in v201.snapshot.get("variables", []))
    await wb.delete_station("T21")
    await wb.delete_station("T201")
    with pytest.raises(NotFound):
        await wb.create_from_template("nope", FromTemplateRequest(station_id="T2"))
    saved = await wb.save_template(TemplateCreate(name="mine", station={"vendor": "Acme", "connectors": [{"id": 1}]}))
    assert saved.builtin is False
    with pytest.raises(InvalidRequest):
        await wb.save_template(TemplateCreate(name="broken", station={"connectors": [{"id": 3}]}))
    mine = await wb.create_from_template("mine", FromTemplateRequest(station_id="T3"))
    assert mine.config["vendor"] == "Acme"
    # a user template is edited and deleted (built-in ones are refused with a reason)
    edited = await wb.update_template("mine", TemplateUpdate(description="edited",
                                                             station={"vendor": "Bcme", "connectors": [{"id": 1}]}))
    assert edited.description == "edited" and edited.station["vendor"] == "Bcme"
    listed = {t.name: t for t in (await wb.list_templates()).templates}
    assert listed["mine"].description == "edited" and listed["mine"].station["vendor"] == "Bcme"
    with pytest.raises(InvalidRequest):
        await wb.update_template("mine", TemplateUpdate(station={"connectors": [{"id": 3}]}))
    with pytest.raises(Conflict, match="built-in"):
        await wb.update_template("ac-7kw-single-1.6", TemplateUpdate(station={}))
    with pytest.raises(Conflict, match="built-in"):
        await wb.delete_template("ac-7kw-single-1.6")
    with pytest.raises(NotFound):
        await wb.update_template("nope", TemplateUpdate(station={}))
    assert (await wb.delete_template("mine")).deleted
    assert "mine" not in {t.name for t in (await wb.list_templates()).templates}
    with pytest.raises(NotFound):
        await wb.delete_template("mine")
    assert (await wb.get_station("T3")).config["vendor"] == "Acme"  # stations made from it stay as they are
    clone = await wb.clone_station("T1", CloneRequest(station_id="T1b", overrides={"name": "copy"}))
    assert clone.config["name"] == "copy" and len(clone.config["connectors"]) == 2


async def test_secrets_masked_and_import_export(wb: WorkbenchAPI) -> None:
    await wb.create_station({"station_id": "S1", "csms_auth": {"type": "basic", "username": "u", "password": "pw"}})
    assert (await wb.get_station("S1")).config["csms_auth"]["password"] == "**********"
    exported = await wb.export_stations()
    assert exported.stations[0]["csms_auth"]["password"] == "**********"
    assert (await wb.export_stations(include_secrets=True)).stations[0]["csms_auth"]["password"] == "pw"
    # An update carrying the masked value keeps the stored password.
    cfg = (await wb.get_station("S1")).config
    await wb.update_station("S1", {**cfg, "name": "renamed"})
    assert (await wb.get_station("S1", include_secrets=True)).config["csms_auth"]["password"] == "pw"
    report = await wb.import_stations(ImportRequest(stations=[{"station_id": "S2"}, {"station_id": "S3",
                                                                                      "connectors": []}]))
    assert report.accepted == ["S2"] and report.rejected[0].station_id == "S3"
    assert {s.station_id for s in (await wb.list_stations()).stations} == {"S1", "S2"}


async def test_sessions_messages_custom_frames_and_events(wb: WorkbenchAPI, peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    events: list[WorkbenchEvent] = []

    async def listen() -> None:
        async for e in wb.events(stations=["L1"], kinds=["frame", "event"]):
            events.append(e)

    task = asyncio.create_task(listen())
    await asyncio.sleep(0.2)
    await wb.create_station({"station_id": "L1", "csms_url": peer.url, "auto_start": True})
    await wb.create_station({"station_id": "L2"})  # not on the stream's filter
    await peer.wait_for("L1", "BootNotification")
    for _ in range(100):
        if (await wb.get_station("L1")).runtime.registration_status == "Accepted":
            break
        await asyncio.sleep(0.05)
    ok = await wb.send_message("L1", SendMessageRequest(action="DataTransfer", payload={"vendorId": "acme"}))
    assert ok.outcome == "result" and ok.response is not None
    with pytest.raises(InvalidRequest, match="DataTransfer"):
        await wb.send_message("L1", SendMessageRequest(action="DataTransfer", payload={"nope": 1}))
    bad = await wb.send_message("L1", SendMessageRequest(mode="raw", raw='[2,"x1","DataTransfer",{"nope":1}]'))
    assert bad.outcome == "error" and bad.error_code is not None
    junk = await wb.send_message("L1", SendMessageRequest(mode="raw", raw="not json at all", timeout=1))
    assert junk.outcome in ("error", "no_response") and junk.sent == "not json at all"
    with pytest.raises(Conflict, match="not connected"):
        await wb.send_message("L2", SendMessageRequest(action="Heartbeat"))
    assert (await wb.station_action("L1", ActionRequest(action="start_transaction"))).ok
    await peer.wait_for("L1", "StartTransaction")
    refused = await wb.station_action("L1", ActionRequest(action="plug_in"))
    assert refused.ok is False and "already" in (refused.error or "")
    assert (await wb.station_action("L1", ActionRequest(action="stop_transaction"))).ok
    await peer.wait_for("L1", "StopTransaction")
    page = await wb.query_messages(MessageQuery(station_id="L1", action="StartTransaction"))
    assert {m.message_type for m in page.items} == {"Call", "CallResult"}
    stats = await wb.stats("L1")
    assert stats.messages > 0 and any(a.action == "BootNotification" for a in stats.actions)
    assert any(t.station_id == "L1" for t in (await wb.transactions()).transactions)
    with pytest.raises(InvalidRequest):
        await wb.query_messages(MessageQuery(cursor="not-a-cursor"))
    await asyncio.sleep(0.2)
    task.cancel()
    assert {e.station_id for e in events} == {"L1"}
    assert any(e.kind == "frame" and e.data["action"] == "StartTransaction" for e in events)
    assert any(e.kind == "event" for e in events)
    # Resuming from a cursor replays what came after it.
    cursor = events[0].cursor
    replay: list[WorkbenchEvent] = []
    async for e in wb.events(stations=["L1"], kinds=["frame", "event"], cursor=cursor):
        replay.append(e)
        if len(replay) == len(events) - 1:
            break
    assert [e.seq for e in replay] == [e.seq for e in events[1:]]
    status = await wb.status()
    assert status.stations == 2 and status.connected_stations == 1 and status.store["ok"]
    # The oracle saw exactly the two malformed frames we crafted, nothing else.
    assert sorted(e.frame for e in peer.errors) == ['[2,"x1","DataTransfer",{"nope":1}]', "not json at all"]
