"""2.0.1 and 2.1 stations through the workbench: created from templates, started, charged, their EVSE topology and
device model visible, every frame valid at the independent CSMS."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ocppemu.config.app import AppConfig
from ocppemu.workbench import Workbench
from ocppemu.workbench.interface import ActionRequest, FromTemplateRequest, MessageQuery
from tests.peers.fixtures import PeerFactory


@pytest.mark.parametrize(("template", "version"), [("dc-150kw-2.0.1", "2.0.1"), ("ac-11kw-bidirectional-2.1", "2.1")])
async def test_2x_station_session_through_the_workbench(tmp_path: Path, peer_csms: PeerFactory, template: str,
                                                        version: str) -> None:
    peer = await peer_csms(versions=(version,))
    config = AppConfig.model_validate({"application": {"batch_insert_interval": 0.05}})
    async with Workbench(f"sqlite:///{tmp_path / 'w.db'}", config=config) as wb:
        view = await wb.create_from_template(template, FromTemplateRequest(
            station_id="E1", overrides={"csms_url": peer.url,
                                        "meter_values_config": {"interval": 1, "aligned_data_interval": 0}}))
        assert view.config["protocol_version"] == version
        await wb.start_station("E1")
        for _ in range(200):
            if (await wb.get_station("E1")).runtime.registration_status == "Accepted":
                break
            await asyncio.sleep(0.05)
        assert (await wb.station_action("E1", ActionRequest(action="start_transaction", id_tag="TOKEN1"))).ok
        await peer.wait_for("E1", "TransactionEvent", where=lambda m: m.payload["eventType"] == "Started")
        await peer.wait_for("E1", "TransactionEvent", where=lambda m: m.payload["eventType"] == "Updated")
        snap = (await wb.get_station("E1")).snapshot
        assert snap["evses"][0]["transaction_id"] is not None
        assert snap["evses"][0]["connectors"]
        assert any(v["component"] == "TxCtrlr" and v["variable"] == "TxStartPoint" for v in snap["variables"])
        assert (await wb.station_action("E1", ActionRequest(action="stop_transaction"))).ok
        await peer.wait_for("E1", "TransactionEvent", where=lambda m: m.payload["eventType"] == "Ended")
        await asyncio.sleep(0.2)
        page = await wb.query_messages(MessageQuery(station_id="E1", action="TransactionEvent"))
        assert page.items
    assert peer.errors == []
