"""Transaction messages queued while the CSMS is unreachable survive a restart of the emulator itself and are
delivered, in order and once, when the station reconnects."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ocppemu.config.app import AppConfig
from ocppemu.workbench import Workbench
from ocppemu.workbench.interface import ActionRequest
from tests.peers.fixtures import PeerFactory


def _config() -> AppConfig:
    return AppConfig.model_validate({"application": {"batch_insert_interval": 0.05, "state_sync_interval": 0.05}})


async def test_queue_survives_an_emulator_restart(tmp_path: Path, peer_csms: PeerFactory) -> None:
    peer = await peer_csms(versions=("1.6",))
    url = f"sqlite:///{tmp_path / 'w.db'}"
    station = {"station_id": "Q1", "csms_url": peer.url, "auto_start": True,
               "meter_values_config": {"interval": 1, "aligned_data_interval": 0},
               "configuration_overrides": {"LocalAuthorizeOffline": "true", "AllowOfflineTxForUnknownId": "true"},
               "simulation": {"reconnect_initial_delay": 0.2, "reconnect_max_delay": 0.5}}
    async with Workbench(url, config=_config()) as wb:
        await wb.create_station(station)
        await peer.wait_for("Q1", "BootNotification")
        await asyncio.sleep(0.3)
        await peer.stop(abrupt=True)
        for _ in range(100):
            if (await wb.get_station("Q1")).runtime.state != "connected":
                break
            await asyncio.sleep(0.05)
        assert (await wb.station_action("Q1", ActionRequest(action="start_transaction", id_tag="OFF1"))).ok
        await asyncio.sleep(2.5)
        assert (await wb.station_action("Q1", ActionRequest(action="stop_transaction"))).ok
        queued = (await wb.get_station("Q1")).runtime.queued_messages
        assert queued >= 3
        await asyncio.sleep(0.3)
    # The emulator is down; what it queued is in the store. The CSMS comes back, then the emulator.
    await peer.start()
    async with Workbench(url, config=_config()) as wb:
        stops = await peer.wait_for("Q1", "StopTransaction", timeout=20)
        for _ in range(100):
            if (await wb.get_station("Q1")).runtime.queued_messages == 0:
                break
            await asyncio.sleep(0.05)
        assert (await wb.get_station("Q1")).runtime.queued_messages == 0
    tx = [m for m in peer.received("Q1") if m.action in ("StartTransaction", "MeterValues", "StopTransaction")]
    assert [m.action for m in tx][0] == "StartTransaction" and tx[-1].action == "StopTransaction"
    assert len(tx) == queued
    assert len(stops) == 1 and len(peer.received("Q1", "StartTransaction")) == 1
    tx_id = stops[0].payload["transactionId"]
    assert all(m.payload.get("transactionId") == tx_id for m in tx[1:])
    assert peer.errors == []
