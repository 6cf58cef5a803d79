"""The in-process workbench: loading from the store, auto start, runtime state sync, reset, 2.x refusal."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ocppemu.config.app import AppConfig
from ocppemu.config.station import StationConfig
from ocppemu.station.factory import build_core
from ocppemu.workbench import Workbench
from ocppemu.workbench.interface import ActionRequest, Conflict, InvalidRequest
from tests.peers.fixtures import PeerFactory


def _config() -> AppConfig:
    return AppConfig.model_validate({"application": {"batch_insert_interval": 0.05, "state_sync_interval": 0.05}})


async def _accepted(wb: Workbench, sid: str) -> None:
    for _ in range(200):
        if (await wb.get_station(sid)).runtime.registration_status == "Accepted":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{sid} not accepted")


async def test_state_synced_auto_start_on_load_and_reset(tmp_path: Path, peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    url = f"sqlite:///{tmp_path / 'w.db'}"
    async with Workbench(url, config=_config()) as wb:
        await wb.create_station({"station_id": "A1", "csms_url": peer.url, "auto_start": True})
        await wb.create_station({"station_id": "A2", "csms_url": peer.url, "enabled": False})
        with pytest.raises(Conflict, match="disabled"):
            await wb.start_station("A2")
        await _accepted(wb, "A1")
        assert (await wb.station_action("A1", ActionRequest(action="start_transaction"))).ok
        await peer.wait_for("A1", "StartTransaction")
        await asyncio.sleep(0.3)
        state = await wb.repo.get_runtime_state("A1")
        assert state is not None and state.connection_status == "connected" and state.active_transactions
        reset = await wb.reset_station("A1")
        assert reset.snapshot["connectors"][1]["transaction_id"] is None
        await _accepted(wb, "A1")
    # Loaded again: A1 (auto_start) reconnects by itself, A2 stays stopped.
    async with Workbench(url, config=_config()) as wb:
        await peer.wait_for("A1", "BootNotification", count=3)
        views = {v.station_id: v for v in (await wb.list_stations()).stations}
        assert views["A1"].runtime.running and not views["A2"].runtime.running


async def test_every_version_is_created_and_bad_stations_refused_with_nothing_written(tmp_path: Path) -> None:
    async with Workbench(f"sqlite:///{tmp_path / 'w.db'}", config=_config()) as wb:
        for version in ("1.6", "2.0.1", "2.1"):
            assert _available(version)
            view = await wb.create_station({"station_id": f"V{version.replace('.', '')}",
                                            "protocol_version": version})
            assert view.config["protocol_version"] == version
            await wb.delete_station(view.station_id)
        with pytest.raises(InvalidRequest, match="feature profile"):
            await wb.create_station({"station_id": "X2", "supported_profiles": ["Nope"]})
        assert await wb.repo.list_stations() == []


def _available(version: str) -> bool:
    try:
        build_core(StationConfig(station_id="P", protocol_version=version, connectors=[{"id": 1}]))  # type: ignore[arg-type,list-item]
    except NotImplementedError:
        return False
    return True
