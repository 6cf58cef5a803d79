"""SQLite outages with exact counts: the disk fills up, another process locks the file, the store never recovers.

* Disk full (``PRAGMA max_page_count`` caps the file at its current size, as a full disk would): every write fails
  with "database or disk is full", health says so (``ok`` false), the buffer holds every frame; when space is
  back, every frame is stored exactly once and nothing is dropped.
* Locked (another connection holds an exclusive lock): the same, with "database is locked".
* Never recovering: a bounded ``Recorder.aclose`` returns after its timeout and says exactly how many frames and
  other record writes could not be written.
* The store file is private (0600) and so is a data folder it creates (0700).
"""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ocppemu.ocpp.records import MeterSample
from ocppemu.store import MessageBuffer, MessageFilter
from ocppemu.store.sqlite import SqliteRepository
from ocppemu.workbench.recording import Recorder
from tests.store.helpers import call


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[SqliteRepository]:
    store = SqliteRepository(tmp_path / "data" / "s.db", busy_timeout=0.1)
    await store.init()
    yield store
    await store.close()


async def cap_pages(repo: SqliteRepository, extra: int | None) -> None:
    """Cap the file at its current size (``extra`` None lifts the cap)."""
    def run() -> None:
        db = repo._conn  # the store's own connection: the cap is per connection, like a full disk for it
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages if extra is None else pages + extra}")
        if extra is None:
            db.execute("PRAGMA max_page_count = 4294967294")
    await repo._run(run)


async def seqs(repo: SqliteRepository, station: str) -> Counter[int]:
    return Counter([m.record.seq async for m in repo.iter_messages(MessageFilter(station_id=station))])


def big_call(i: int, station: str) -> object:
    return call(i, station, "DataTransfer", {"data": "z" * 2000})


async def test_disk_full_holds_every_frame_reports_unhealthy_and_loses_nothing(repo: SqliteRepository) -> None:
    buf = MessageBuffer(repo, max_size=10_000, interval=0.01, retry_initial=0.02, retry_max=0.1)
    for i in range(50):
        buf.add(big_call(i, "FULL"))  # type: ignore[arg-type]
    await buf.flush()
    assert (await repo.health()).ok
    await cap_pages(repo, 0)
    for i in range(50, 350):
        assert buf.add(big_call(i, "FULL"))  # type: ignore[arg-type]
    await asyncio.sleep(0.5)
    during = buf.stats()
    assert not during.store_available and during.failures > 0 and during.pending == 300
    health = await repo.health()
    assert not health.ok and "full" in health.detail
    await cap_pages(repo, None)  # space is back
    await buf.aclose(timeout=60)
    stats = buf.stats()
    assert (stats.dropped, stats.pending, stats.rejected, stats.written) == (0, 0, 0, 350)
    counted = await seqs(repo, "FULL")
    assert sorted(counted) == list(range(350)) and set(counted.values()) == {1}
    assert (await repo.health()).ok


async def test_locked_file_holds_every_frame_and_recovers(repo: SqliteRepository) -> None:
    buf = MessageBuffer(repo, max_size=10_000, interval=0.01, retry_initial=0.02, retry_max=0.1)
    other = sqlite3.connect(repo.path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN EXCLUSIVE")
        for i in range(200):
            assert buf.add(call(i, "LOCK"))
        await asyncio.sleep(0.6)
        assert buf.stats().pending == 200 and not buf.stats().store_available
        health = await repo.health()
        assert not health.ok and "locked" in health.detail
        other.execute("COMMIT")
    finally:
        other.close()
    await buf.aclose(timeout=60)
    stats = buf.stats()
    assert (stats.dropped, stats.pending, stats.written) == (0, 0, 200)
    counted = await seqs(repo, "LOCK")
    assert sorted(counted) == list(range(200)) and set(counted.values()) == {1}
    assert (await repo.health()).ok


async def test_bounded_close_reports_exactly_what_was_not_written(repo: SqliteRepository) -> None:
    rec = Recorder(repo, buffer_size=10_000, batch_interval=0.01)
    await rec.start()
    for i in range(20):
        rec.frame(call(i, "GONE"))
    await rec.flush()
    await cap_pages(repo, 0)  # the disk fills up and never recovers
    for i in range(20, 145):
        rec.frame(big_call(i, "GONE"))  # type: ignore[arg-type]
    sample = MeterSample(datetime(2025, 3, 1, tzinfo=UTC), "GONE", 1, None, "Energy.Active.Import.Register",
                         1.0, "Wh")
    for _ in range(7):
        rec.meter([sample] * 200)
    unwritten = await rec.aclose(timeout=1.0)
    await cap_pages(repo, None)
    # Exact accounting: what is stored plus what is reported unwritten is everything handed over (the last free
    # bytes of the file may still take the batch of samples before it is full). The recorder gathers the samples
    # handed over within one round into one write: the 7 x 200 samples are one batch, stored whole or not at all.
    stored_frames = sorted(await seqs(repo, "GONE"))
    stored_batches, partial = divmod(len(await repo.meter_series("GONE")), 1400)
    assert partial == 0
    assert len(stored_frames) - 20 + unwritten.frames == 125 and stored_batches + unwritten.writes == 1
    assert unwritten.frames == 125 and stored_frames == list(range(20)) and unwritten.writes == 1
    assert f"125 frame(s) and {unwritten.writes} other record write(s)" in unwritten.sentence()
    assert rec.buffer is not None and rec.buffer.dropped == 125


async def test_store_file_and_folder_are_private(repo: SqliteRepository) -> None:
    path = Path(repo.path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
