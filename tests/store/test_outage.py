"""Outage: the MongoDB server (SecantusDB) is stopped during traffic through the buffer and started again.

With a buffer large enough every frame ends up stored exactly once and nothing is dropped; with a small buffer
the drop counter equals the overflow exactly. Each test runs its own server (data kept on disk across restart).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ocppemu.store import MessageBuffer, MessageFilter, Repository, open_store
from tests.store.helpers import call
from tests.store.secantus import SecantusServer, mongo_db_url


@pytest.fixture
async def own_server(tmp_path: Path) -> AsyncIterator[SecantusServer]:
    server = SecantusServer(tmp_path / "secantus")
    await asyncio.to_thread(server.start)
    yield server
    await asyncio.to_thread(server.stop)


@pytest.fixture
async def outage_repo(own_server: SecantusServer) -> AsyncIterator[Repository]:
    repo = open_store(mongo_db_url(own_server.url, "outage", timeout_ms=300))
    await repo.init()
    yield repo
    await repo.close()


async def seqs(repo: Repository) -> Counter[int]:
    return Counter([m.record.seq async for m in repo.iter_messages(MessageFilter(station_id="CP1"))])


async def test_outage_with_a_large_buffer_loses_nothing_and_duplicates_nothing(
    own_server: SecantusServer, outage_repo: Repository
) -> None:
    buf = MessageBuffer(outage_repo, max_size=10_000, interval=0.02, retry_initial=0.05, retry_max=0.3)
    for i in range(150):
        buf.add(call(i))
        await asyncio.sleep(0.001)
    await asyncio.to_thread(own_server.stop)  # the server goes away mid-traffic
    for i in range(150, 450):
        assert buf.add(call(i))  # stations keep logging; add never waits
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.5)  # writes are failing now
    during = buf.stats()
    assert not during.store_available and during.failures > 0 and during.pending > 0
    assert not (await outage_repo.health()).ok
    await asyncio.to_thread(own_server.start)
    for i in range(450, 500):
        buf.add(call(i))
    await buf.aclose(timeout=60)
    stats = buf.stats()
    assert (stats.dropped, stats.pending, stats.rejected) == (0, 0, 0)
    counted = await seqs(outage_repo)
    assert sorted(counted) == list(range(500))
    assert set(counted.values()) == {1}
    assert stats.written + stats.duplicates >= 500 and stats.written == 500


async def test_outage_with_a_small_buffer_drops_exactly_the_overflow(
    own_server: SecantusServer, outage_repo: Repository
) -> None:
    buf = MessageBuffer(outage_repo, max_size=50, interval=0.02, retry_initial=0.05, retry_max=0.3)
    for i in range(20):
        buf.add(call(i))
    await buf.flush()
    await asyncio.to_thread(own_server.stop)
    kept = [buf.add(call(i)) for i in range(20, 20 + 50 + 17)]
    await asyncio.sleep(0.3)
    assert kept.count(False) == 17 and buf.dropped == 17
    await asyncio.to_thread(own_server.start)
    await buf.aclose(timeout=60)
    counted = await seqs(outage_repo)
    assert sorted(counted) == list(range(70)) and set(counted.values()) == {1}
    assert buf.dropped == 17 and buf.stats().written == 70
