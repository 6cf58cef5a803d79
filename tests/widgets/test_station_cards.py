"""Station cards and the template panel driven in Python against an in-process workbench with the demo CSMS."""

from __future__ import annotations

import asyncio
import json

from ocppemu.widgets.charts import line_chart, nice_ticks
from ocppemu.widgets.connection import Liveness, readable_error
from ocppemu.widgets.station_cards import StationCards, duration_text
from ocppemu.widgets.station_manager import StationManager
from ocppemu.workbench.interface import WorkbenchAPI

from .conftest import connected_station, eventually


async def _energy(wb: WorkbenchAPI, sid: str) -> float:
    conns = (await wb.get_station(sid)).snapshot["connectors"]
    return float(next(c for c in conns if c["id"] == 1)["energy_wh"])


def _status(cards: StationCards, sid: str) -> str:
    return cards.cards[sid].live.value


async def test_a_card_plugs_in_authorizes_charges_with_live_energy_faults_and_recovers(wb: WorkbenchAPI) -> None:
    await connected_station(wb, "K-1")
    cards = StationCards(wb, interval=0.1)
    await cards.tasks.idle()
    card = cards.cards["K-1"]
    assert "status-Available" in _status(cards, "K-1")
    card.act("plug_in")
    await eventually(lambda: "status-Preparing" in _status(cards, "K-1"), what="Preparing")
    card.tag.value = "TYPED-TAG"
    card.act("authorize")
    await eventually(lambda: "status-Charging" in _status(cards, "K-1"), what="Charging")
    assert "TYPED-TAG" in _status(cards, "K-1") and "TYPED-TAG" in card.tag.options  # a typed tag is offered again
    first = await _energy(wb, "K-1")
    await asyncio.sleep(1.5)
    later = await _energy(wb, "K-1")
    assert later > first  # the meter model's energy now, no MeterValues sample in between
    card.act("start_transaction")  # start on a busy connector says what happened, whatever the engine decides
    await eventually(lambda: "start_transaction on connector #1" in card.result.value, what="start outcome")
    await eventually(lambda: "status-Charging" in _status(cards, "K-1") or "Finishing" in _status(cards, "K-1"),
                     what="a status after the second start")
    card.error_code.value = "GroundFailure"
    card.act("fault")
    await eventually(lambda: "Faulted (GroundFailure)" in _status(cards, "K-1"), what="Faulted")
    card.act("clear_fault")
    await eventually(lambda: "clear_fault on connector #1: done" in card.result.value, what="recovered")
    card.act("unplug")
    await eventually(lambda: "status-Available" in _status(cards, "K-1"), what="Available again")
    card.act("stop_transaction")
    await eventually(lambda: "no transaction" in card.result.value, what="a refusal in a sentence")
    assert "ocppemu-error" in card.result.value
    await cards.close()


async def test_cards_show_the_last_connection_error_and_an_empty_state(wb: WorkbenchAPI) -> None:
    cards = StationCards(wb, live=False)
    await cards.tasks.idle()
    assert cards.grid.children == (cards.empty,) and "No stations yet" in cards.empty.value
    await wb.create_station({"station_id": "K-BAD", "csms_url": "ws://127.0.0.1:9/ocpp"})
    await wb.start_station("K-BAD")

    async def has_error() -> bool:
        return bool((await wb.get_station("K-BAD")).runtime.last_error)

    for _ in range(100):
        if await has_error():
            break
        await asyncio.sleep(0.1)
    await cards._refresh()
    assert "last connection error" in _status(cards, "K-BAD")
    await cards.close()


async def test_the_template_panel_creates_edits_and_deletes_a_user_template(wb: WorkbenchAPI) -> None:
    await wb.create_station({"station_id": "K-T", "vendor": "Acme"})
    m = StationManager(wb, live_interval=None)
    await m.tasks.idle()
    p = m.template_panel
    m.station_list.value = ("K-T",)
    p.fill_from_station()
    assert json.loads(p.doc.value)["vendor"] == "Acme" and "station_id" not in json.loads(p.doc.value)
    p.name.value = "acme-ac"
    p.save_new()
    await m.tasks.idle()
    await eventually(lambda: "acme-ac" in p.templates, what="the new template listed")
    p.pick.value = "acme-ac"
    p.doc.value = json.dumps({"vendor": "Bcme", "connectors": [{"id": 1}]})
    p.save_changes()
    await m.tasks.idle()
    await eventually(lambda: p.templates["acme-ac"].station.get("vendor") == "Bcme", what="the edit saved")
    p.doc.value = "{not json"
    p.save_changes()
    assert "not JSON" in m.tasks.status.value
    p.pick.value = "ac-7kw-single-1.6"
    assert p.delete_button.disabled and "built-in" in p.note.value
    p.pick.value = "acme-ac"
    p.ask_delete()
    p.confirm_delete()
    await m.tasks.idle()
    await eventually(lambda: "acme-ac" not in p.templates, what="the template deleted")
    await m.close()


def test_pure_helpers() -> None:
    assert duration_text(65) == "1:05" and duration_text(3725) == "1:02:05" and duration_text(None) == "—"
    assert nice_ticks(0, 9.3)[-1] >= 9.3
    svg = line_chart({"<A>": ([0, 1, 2], [0, 5, 3])}, x_label="s")
    assert "<polyline" in svg and "&lt;A&gt;" in svg and "<A>" not in svg
    assert "no data yet" in line_chart({})
    live = Liveness("http://d")
    assert live.stale and "not reachable" in live.sentence(0)
    assert live.ok(1) and not live.stale and "live" in live.sentence(1)
    assert live.failed(2, readable_error(ConnectionRefusedError(111, "Connection refused")))
    text = live.sentence(3)
    assert "not answering since" in text and "connection refused" in text and "111" not in text


async def test_an_http_csms_address_is_soap_and_refused_for_2x_with_the_reason(wb: WorkbenchAPI) -> None:
    import pytest

    from ocppemu.workbench.interface import InvalidRequest

    with pytest.raises(InvalidRequest, match="SOAP, which exists only for OCPP 1.6"):
        await wb.create_station({"station_id": "K-HTTP", "csms_url": "http://csms.example/ocpp",
                                 "protocol_version": "2.0.1"})
    m = StationManager(wb, live_interval=None)
    await m.tasks.idle()
    m.form.inputs["station_id"].value = "K-HTTP"
    m.form.inputs["protocol_version"].value = "2.0.1"
    m.form.inputs["csms_url"].value = "https://csms.example/ocpp"
    assert m.form.check() is None  # the form says why, nothing is sent
    m.form.inputs["protocol_version"].value = "1.6"
    assert m.form.check() is not None  # 1.6 over SOAP is accepted
    await m.close()


def test_the_heartbeat_age_after_a_reconnect_is_the_new_connections() -> None:
    from datetime import UTC, datetime

    from ocppemu.widgets.dashboard import heartbeat_state
    from ocppemu.widgets.station_cards import heartbeat_text
    from ocppemu.workbench.interface import StationRuntime, StationView

    old_hb = datetime.fromtimestamp(1000, UTC).isoformat()
    v = StationView(station_id="H", config={}, snapshot={"heartbeat_interval": 60},
                    runtime=StationRuntime(running=True, state="connected", connection_status="connected",
                                           registration_status="Accepted", last_heartbeat=old_hb))
    assert heartbeat_text(v, 1500, None) == "last Heartbeat 500s ago"
    assert heartbeat_text(v, 1500, 1490) == "connected 10s ago"  # the Heartbeat was the old connection's
    assert heartbeat_state(v, 1500)[0] == "#b45309"
    colour, why = heartbeat_state(v, 1500, 1490)
    assert colour == "#1b7f3a" and "connected 10s ago" in why


def test_every_connector_action_of_the_workbench_has_a_button() -> None:
    from typing import get_args

    from ocppemu.widgets.station_cards import card_actions
    from ocppemu.workbench.interface import ActionName

    from ocppemu.widgets.station_cards import ALIASES

    buttons = {a for _label, a, _what in card_actions()} | {a for a, same in ALIASES.items()
                                                            if same in {b for _l, b, _w in card_actions()}}
    # the network drop has its own control (with its seconds); a raw status and the automatic transaction
    # generator's settings need fields a card does not offer
    assert set(get_args(ActionName)) - buttons == {"disconnect_network", "set_connector_status", "auto_transactions"}
