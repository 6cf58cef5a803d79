"""MessageBuffer: bounded, never blocking, batched, retrying through failures, counting every drop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import pytest

from ocppemu.ocpp.records import FrameRecord
from ocppemu.store import MessageBuffer, Repository, StoreUnavailableError, WriteResult, open_store
from tests.store.helpers import call


class ScriptedRepo:
    """Stands in for a repository's ``add_messages``: fails while ``down``, records what it stored by id."""

    def __init__(self) -> None:
        self.stored: dict[str, FrameRecord] = {}
        self.batches: list[int] = []
        self.down = False
        self.fail_times = 0
        self.poison: str | None = None
        self.gate: asyncio.Event | None = None
        self.written = asyncio.Event()

    async def add_messages(self, records: Sequence[FrameRecord], ids: Sequence[str] | None = None) -> WriteResult:
        assert ids is not None and len(ids) == len(records)
        if self.gate is not None:
            await self.gate.wait()
        if self.down or self.fail_times:
            self.fail_times = max(0, self.fail_times - 1)
            raise StoreUnavailableError("store is down")
        if self.poison is not None and any(r.message_id == self.poison for r in records):
            raise ValueError("cannot encode")
        res = WriteResult()
        for rid, rec in zip(ids, records, strict=True):
            if rid in self.stored:
                res.duplicates += 1
            else:
                self.stored[rid] = rec
                res.inserted += 1
        self.batches.append(len(records))
        self.written.set()
        return res


def buffer_for(repo: ScriptedRepo, **kw: Any) -> MessageBuffer:
    kw.setdefault("retry_initial", 0.001)
    kw.setdefault("retry_max", 0.01)
    return MessageBuffer(repo, **kw)  # type: ignore[arg-type]


async def test_add_is_synchronous_and_drops_exactly_the_overflow(caplog: pytest.LogCaptureFixture) -> None:
    repo = ScriptedRepo()
    repo.gate = asyncio.Event()  # the store hangs: nothing completes
    buf = buffer_for(repo, max_size=10, interval=0.01)
    with caplog.at_level(logging.WARNING, logger="ocppemu.store.buffer"):
        kept = [buf.add(call(i)) for i in range(25)]
        await asyncio.sleep(0.05)  # let the writer take a batch in flight: it still counts against the bound
        kept.append(buf.add(call(25)))
    assert kept == [True] * 10 + [False] * 16
    assert buf.dropped == 16 and buf.stats().pending == 10
    assert "dropped frame CP1-10 of station CP1" in caplog.text
    repo.gate.set()
    await buf.aclose()
    assert sorted(r.seq for r in repo.stored.values()) == list(range(10))
    assert buf.stats().written == 10 and buf.dropped == 16


async def test_half_full_triggers_a_write_before_the_interval() -> None:
    repo = ScriptedRepo()
    buf = buffer_for(repo, max_size=10, interval=3600)
    for i in range(5):
        buf.add(call(i))
    await asyncio.wait_for(repo.written.wait(), 10)
    assert repo.batches == [5]
    await buf.aclose()


async def test_interval_writes_a_lone_frame_and_flush_waits_for_it() -> None:
    repo = ScriptedRepo()
    buf = buffer_for(repo, max_size=1000, interval=0.01)
    buf.add(call(1))
    await asyncio.wait_for(repo.written.wait(), 10)
    buf.add(call(2))
    await buf.flush()
    assert len(repo.stored) == 2
    await buf.aclose()


async def test_outage_is_retried_and_every_frame_written_once() -> None:
    repo = ScriptedRepo()
    repo.down = True
    buf = buffer_for(repo, max_size=1000, interval=0.005, max_batch=7)
    for i in range(100):
        buf.add(call(i))
        if i % 10 == 0:
            await asyncio.sleep(0.002)
    assert not buf.stats().store_available and buf.stats().failures > 0
    repo.down = False
    await buf.aclose()
    assert sorted(r.seq for r in repo.stored.values()) == list(range(100))
    stats = buf.stats()
    assert (stats.written, stats.dropped, stats.pending, stats.store_available) == (100, 0, 0, True)
    assert max(repo.batches) <= 7


async def test_close_with_timeout_counts_unwritten_frames_as_dropped() -> None:
    repo = ScriptedRepo()
    repo.down = True
    buf = buffer_for(repo, max_size=100, interval=0.005)
    for i in range(30):
        buf.add(call(i))
    await buf.aclose(timeout=0.1)
    assert buf.dropped == 30 and buf.stats().pending == 0 and repo.stored == {}
    assert buf.add(call(99)) is False and buf.dropped == 31


async def test_a_frame_the_store_cannot_take_is_rejected_not_retried_forever() -> None:
    repo = ScriptedRepo()
    repo.poison = "CP1-3"
    buf = buffer_for(repo, max_size=100, interval=0.005)
    for i in range(6):
        buf.add(call(i))
    await asyncio.wait_for(buf.aclose(), 10)
    assert sorted(r.seq for r in repo.stored.values()) == [0, 1, 2, 4, 5]
    assert buf.stats().rejected == 1 and buf.dropped == 0


async def test_oversize_frames_are_counted_as_rejected_by_a_real_store(tmp_path: object) -> None:
    repo: Repository = open_store(f"sqlite:///{tmp_path}/b.db", max_document_bytes=2000)
    await repo.init()
    buf = MessageBuffer(repo, max_size=100, interval=0.01)
    buf.add(call(1))
    buf.add(call(2, payload={"x": "y" * 5000}))
    buf.add(call(3))
    await buf.aclose()
    assert (buf.stats().written, buf.stats().rejected) == (2, 1)
    assert await repo.count_messages() == 2
    await repo.close()


async def test_many_frames_through_sqlite(tmp_path: object) -> None:
    repo: Repository = open_store(f"sqlite:///{tmp_path}/b.db")
    await repo.init()
    buf = MessageBuffer(repo, max_size=20_000, interval=0.05)
    for i in range(10_000):
        assert buf.add(call(i, station=f"CP{i % 7}"))
    await buf.aclose()
    assert await repo.count_messages() == 10_000 and buf.stats().written == 10_000
    await repo.close()
