"""What a meter sample costs the store while the station is online: one write for the samples, no offline-queue
mirror for a message the CSMS answers in time; a message left unanswered is still mirrored, so it survives a
restart of the emulator."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ocppemu.config.app import AppConfig
from ocppemu.ocpp.records import MeterSample
from ocppemu.station.offline_queue import OfflineQueue
from ocppemu.store.sqlite import SqliteRepository
from ocppemu.workbench import Workbench
from ocppemu.workbench.interface import ActionRequest
from ocppemu.workbench.recording import Recorder
from tests.peers.fixtures import PeerFactory


class CountingSqlite(SqliteRepository):
    """A real SQLite repository that counts the writes made to it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: Counter[str] = Counter()

    async def add_meter_samples(self, samples: Sequence[MeterSample]) -> int:
        self.writes["add_meter_samples"] += 1
        return await super().add_meter_samples(samples)

    async def queue_push(self, station_id: str, key: str, doc: Mapping[str, Any]) -> None:
        self.writes["queue_push"] += 1
        await super().queue_push(station_id, key, doc)

    async def queue_remove(self, station_id: str, key: str) -> bool:
        self.writes["queue_remove"] += 1
        return await super().queue_remove(station_id, key)


def _config() -> AppConfig:
    return AppConfig.model_validate({"application": {"batch_insert_interval": 2.0, "state_sync_interval": 3600}})


STATION = {"station_id": "W1", "auto_start": True, "meter_values_config": {"interval": 1, "aligned_data_interval": 0},
           "simulation": {"reconnect_initial_delay": 0.2, "reconnect_max_delay": 0.5}}


async def _wait_answered(wb: Workbench, peer: Any, count: int) -> None:
    """Until the CSMS got ``count`` MeterValues and the station's queue is empty (every one answered)."""
    await peer.wait_for("W1", "MeterValues", count=count, timeout=20)
    for _ in range(500):
        if (await wb.get_station("W1")).runtime.queued_messages == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the station's queue never emptied")


async def test_an_online_meter_sample_is_one_store_write(tmp_path: Path, peer_csms: PeerFactory) -> None:
    peer = await peer_csms(versions=("1.6",))
    repo = CountingSqlite(tmp_path / "w.db")
    async with Workbench(repo, config=_config()) as wb:
        await wb.create_station({**STATION, "csms_url": peer.url})
        for _ in range(500):
            if (await wb.get_station("W1")).runtime.registration_status == "Accepted":
                break
            await asyncio.sleep(0.02)
        assert (await wb.station_action("W1", ActionRequest(action="start_transaction", id_tag="T1"))).ok
        await _wait_answered(wb, peer, 1)
        await wb.recorder.flush()
        before, sent_before = Counter(repo.writes), len(peer.received("W1", "MeterValues"))
        await _wait_answered(wb, peer, sent_before + 3)
        await wb.recorder.flush()
        samples = len(peer.received("W1", "MeterValues")) - sent_before
        delta = repo.writes - before
        assert samples >= 3
        assert delta["queue_push"] == 0 and delta["queue_remove"] == 0  # answered in time: never mirrored
        # one write per sample (a sample taken after the CSMS's last count may be written already: +1 at most)
        assert samples <= delta["add_meter_samples"] <= samples + 1
    await repo.close()


async def test_a_queued_message_left_unanswered_is_mirrored_after_the_grace(tmp_path: Path) -> None:
    repo = CountingSqlite(tmp_path / "q.db")
    await repo.init()
    recorder = Recorder(repo, queue_grace=0.05)
    await recorder.start()
    queue = OfflineQueue(sink=recorder.queue_sink("Q1"))
    answered = queue.push("MeterValues", {"connectorId": 1, "meterValue": []})
    queue.pop_head(answered)  # answered at once: never written, nothing to remove
    unanswered = queue.push("StopTransaction", {"transactionId": 1})
    offline = queue.push("MeterValues", {"connectorId": 1, "meterValue": []}, offline=True)
    for _ in range(500):
        if len(await repo.queue_list("Q1")) == 2:
            break
        await asyncio.sleep(0.02)
    # written in the order they became due; the queue is restored by key (OfflineQueue.restore)
    assert sorted(item.doc["key"] for item in await repo.queue_list("Q1")) == [unanswered.key, offline.key]
    queue.pop_head(unanswered)
    await recorder.flush()
    assert [item.doc["key"] for item in await repo.queue_list("Q1")] == [offline.key]
    assert repo.writes["queue_push"] == 2 and repo.writes["queue_remove"] == 1
    await recorder.aclose()
    await repo.close()


async def test_flush_writes_what_is_still_queued(tmp_path: Path) -> None:
    repo = CountingSqlite(tmp_path / "q.db")
    await repo.init()
    recorder = Recorder(repo, queue_grace=3600)
    await recorder.start()
    queue = OfflineQueue(sink=recorder.queue_sink("Q1"))
    entry = queue.push("StopTransaction", {"transactionId": 1})
    await recorder.flush()  # e.g. the workbench closing: what is still queued must survive a restart
    assert [item.doc["key"] for item in await repo.queue_list("Q1")] == [entry.key]
    await recorder.aclose()
    await repo.close()
