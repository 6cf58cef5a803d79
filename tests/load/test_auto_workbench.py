"""Automatic transactions in a running workbench against the independent CSMS: every version, API control."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ocppemu.config.app import AppConfig
from ocppemu.workbench import Workbench
from ocppemu.workbench.interface import ActionRequest, FromTemplateRequest, InvalidRequest
from tests.peers.fixtures import PeerFactory

FAST = {"enabled": True, "duration": [0.6, 0.8], "pause": [0.2, 0.3], "start_delay": [0, 0.1], "seed": 5}


def _config() -> AppConfig:
    return AppConfig.model_validate({"application": {"batch_insert_interval": 0.05, "max_stations": 10}})


@pytest.mark.parametrize(("version", "start", "stop"), [
    ("1.6", "StartTransaction", "StopTransaction"), ("2.0.1", "TransactionEvent", "TransactionEvent"),
    ("2.1", "TransactionEvent", "TransactionEvent")])
async def test_generator_runs_sessions_on_every_version(tmp_path: Path, peer_csms: PeerFactory, version: str,
                                                        start: str, stop: str) -> None:
    versions = ("2.1",) if version == "2.1" else ("1.6", "2.0.1")
    peer = await peer_csms(versions=versions)
    connectors = [{"id": 1}, {"id": 2}] if version == "1.6" else [{"id": 1, "evse_id": 1}, {"id": 1, "evse_id": 2}]
    async with Workbench(f"sqlite:///{tmp_path / 'a.db'}", config=_config()) as wb:
        await wb.create_station({"station_id": "G1", "csms_url": peer.url, "auto_start": True,
                                 "protocol_version": version, "connectors": connectors,
                                 "auto_transactions": FAST})
        await peer.wait_for("G1", stop, count=4 if version == "1.6" else 8, timeout=20)
        view = await wb.get_station("G1")
        auto = view.runtime.auto_transactions
        assert auto is not None and auto["begun"] and set(auto["connectors"]) == {"1", "2"}
        assert auto["starts"] >= 2 and auto["stops"] >= 2 and auto["refused"] == 0, auto


async def test_api_turns_the_generator_off_and_on_and_refuses_bad_settings(tmp_path: Path,
                                                                          peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    async with Workbench(f"sqlite:///{tmp_path / 'b.db'}", config=_config()) as wb:
        await wb.create_station({"station_id": "G2", "csms_url": peer.url, "auto_start": True})
        assert (await wb.get_station("G2")).runtime.auto_transactions is None
        on = await wb.station_action("G2", ActionRequest(action="auto_transactions", enabled=True, settings=FAST))
        assert on.ok and on.data["auto_transactions"]["enabled"]
        await peer.wait_for("G2", "StopTransaction", count=2, timeout=20)
        stored = await wb.repo.get_station("G2")
        assert stored is not None and stored.auto_transactions.enabled  # saved: a restart keeps it
        off = await wb.station_action("G2", ActionRequest(action="auto_transactions", enabled=False))
        assert off.ok and off.data["auto_transactions"] == {"enabled": False}
        assert (await wb.get_station("G2")).runtime.auto_transactions is None
        with pytest.raises(InvalidRequest, match="settings"):
            await wb.station_action("G2", ActionRequest(action="auto_transactions",
                                                        settings={"duration": [5, 1]}))


async def test_load_template_has_the_generator_on(tmp_path: Path) -> None:
    async with Workbench(f"sqlite:///{tmp_path / 'c.db'}", config=_config()) as wb:
        view = await wb.create_from_template("load-ac-22kw-dual-1.6", FromTemplateRequest(station_id="L1"))
        assert view.config["auto_transactions"]["enabled"] and view.config["meter_values_config"]["interval"] == 10
        await asyncio.sleep(0)
