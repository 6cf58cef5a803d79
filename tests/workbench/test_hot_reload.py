"""Hot reload: a running station's CSMS URL changes, it moves to the other CSMS; the others never reconnect."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ocppemu.config.app import AppConfig
from ocppemu.workbench import Workbench
from ocppemu.workbench.interface import ActionRequest
from tests.peers.fixtures import PeerFactory


async def test_changing_csms_url_moves_only_that_station(tmp_path: Path, peer_csms: PeerFactory) -> None:
    first, second = await peer_csms(), await peer_csms()
    config = AppConfig.model_validate({"application": {"batch_insert_interval": 0.05}})
    async with Workbench(f"sqlite:///{tmp_path / 'h.db'}", config=config) as wb:
        for sid in ("H1", "H2", "H3"):
            await wb.create_station({"station_id": sid, "csms_url": first.url, "auto_start": True})
        for sid in ("H1", "H2", "H3"):
            await first.wait_for(sid, "BootNotification")
        for _ in range(100):
            views = (await wb.list_stations()).stations
            if all(v.runtime.registration_status == "Accepted" for v in views):
                break
            await asyncio.sleep(0.05)
        assert (await wb.station_action("H2", ActionRequest(action="start_transaction"))).ok
        await first.wait_for("H2", "StartTransaction")
        connections_before = {s: len([c for c in first.connections if c.station_id == s]) for s in ("H1", "H3")}

        cfg = (await wb.get_station("H2")).config
        view = await wb.update_station("H2", {**cfg, "csms_url": second.url})
        assert view.config["csms_url"] == second.url
        await second.wait_for("H2", "BootNotification")
        await second.wait_for_station("H2")
        assert not first.is_connected("H2")
        # The transaction survived the move and ends on the new CSMS.
        for _ in range(100):
            if (await wb.get_station("H2")).runtime.registration_status == "Accepted":
                break
            await asyncio.sleep(0.05)
        assert (await wb.station_action("H2", ActionRequest(action="stop_transaction"))).ok
        await second.wait_for("H2", "StopTransaction")
        # The others stayed on their connection: no reconnection, no second boot.
        for sid in ("H1", "H3"):
            assert first.is_connected(sid)
            assert len([c for c in first.connections if c.station_id == sid]) == connections_before[sid]
            assert len(first.received(sid, "BootNotification")) == 1
            assert second.received(sid) == []
        stored = await wb.repo.get_station("H2")
        assert stored is not None and stored.csms_url == second.url
    assert first.errors == [] and second.errors == []
