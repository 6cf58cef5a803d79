"""Runs are stored in ``scenario_runs`` on SQLite and MongoDB and read back; every step result is published on the
workbench event stream while the run goes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ocppemu.config.app import AppConfig
from ocppemu.scenarios.service import StartRunRequest, service_for
from ocppemu.workbench import Workbench
from ocppemu.workbench.interface import WorkbenchEvent
from tests.peers.fixtures import PeerFactory
from tests.store.conftest import mongo_base_url, store_url  # noqa: F401 - the store fixtures, both backends

FILES = Path(__file__).parent / "files"
CONFIG = AppConfig.model_validate({"application": {"batch_insert_interval": 0.05}})


async def test_a_run_is_stored_and_streamed(store_url: str, peer_csms: PeerFactory) -> None:  # noqa: F811
    peer = await peer_csms(versions=("1.6",))
    peer.behaviour.accepted_tags = {"TAG-OK"}
    async with Workbench(store_url, config=CONFIG) as wb:
        events: list[WorkbenchEvent] = []

        async def listen() -> None:
            async for e in wb.events(kinds=["scenario"]):
                events.append(e)

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.05)
        svc = service_for(wb)
        text = (FILES / "failing.yaml").read_text(encoding="utf-8")
        started = await svc.start(StartRunRequest(text=text, csms_url=peer.url, seed=4))
        for _ in range(300):
            if (await svc.get(started.run_id)).state == "finished":
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        listener.cancel()
        svc.live.clear()  # read back from the store, not from memory
        stored = await svc.get(started.run_id)
        assert stored.scenario == "test-failing" and stored.verdict == "failed" and stored.seed == 4
        assert [(s.kind, s.status) for s in stored.steps] == [
            ("connect", "passed"), ("boot", "passed"), ("authorize", "failed"), ("send", "skipped")]
        assert all(s.duration_s is not None for s in stored.steps[:3])
        assert stored.stations[0].station_id == "F-1" and stored.stations[0].version == "1.6"
        assert [r.run_id for r in (await svc.list()).runs] == [started.run_id]
        step_events = [e.data["step"] for e in events if "step" in e.data]
        finished = {(s["key"], s["status"]) for s in step_events if s["status"] not in ("pending", "running")}
        assert finished == {("1", "passed"), ("2", "passed"), ("3", "failed"), ("4", "skipped")}
        assert any(s["status"] == "running" for s in step_events)
        assert events[-1].data["state"] == "finished" and events[-1].data["verdict"] == "failed"
