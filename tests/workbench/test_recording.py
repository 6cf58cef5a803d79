"""The workbench records every frame at the default level, applies the configured level, and shows the counts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ocppemu.config.app import AppConfig
from ocppemu.store.base import MessageFilter
from ocppemu.workbench import Workbench
from ocppemu.workbench.interface import ActionRequest
from tests.peers.fixtures import PeerFactory


def _config(record: str) -> AppConfig:
    return AppConfig.model_validate({"application": {"batch_insert_interval": 0.05, "max_stations": 50},
                                     "store": {"record": record}})


async def _run(wb: Workbench, peer_url: str, n: int) -> None:
    for i in range(n):
        await wb.create_station({"station_id": f"R{i}", "csms_url": peer_url, "auto_start": True})
    for _ in range(400):
        views = (await wb.list_stations()).stations
        if all(v.runtime.registration_status == "Accepted" for v in views):
            break
        await asyncio.sleep(0.05)
    for i in range(n):
        assert (await wb.station_action(f"R{i}", ActionRequest(action="start_transaction"))).ok
    await asyncio.sleep(0.5)
    await wb.recorder.flush()


async def test_default_level_stores_every_frame_and_status_says_so(tmp_path: Path, peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    async with Workbench(f"sqlite:///{tmp_path / 'all.db'}", config=_config("all")) as wb:
        await _run(wb, peer.url, 20)
        status = (await wb.status()).store
        stored = await wb.repo.count_messages()
        assert stored == wb.recorder.frames_seen == status["frames_recorded"] > 20 * 4
        assert (status["recording_level"], status["frames_dropped"], status["frames_skipped_by_level"]) == (
            "all", 0, 0)
        view = await wb.get_station("R0")
        assert view.runtime.frames_dropped == 0


async def test_calls_level_stores_exactly_the_requests(tmp_path: Path, peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    seen: list[str] = []
    async with Workbench(f"sqlite:///{tmp_path / 'calls.db'}", config=_config("calls")) as wb:
        wb.recorder.on_frame(lambda r: seen.append(r.message_type))
        await _run(wb, peer.url, 5)
        stored = await wb.repo.count_messages()
        results = await wb.repo.count_messages(MessageFilter(message_type="CallResult"))
        assert stored == seen.count("Call") > 0 and results == 0
        assert (await wb.status()).store["frames_skipped_by_level"] == len(seen) - stored
