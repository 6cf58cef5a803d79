"""A long MongoDB outage under the whole recorder, and a daemon stopped while MongoDB never comes back.

The outage lasts ``OCPPEMU_TEST_OUTAGE_SECONDS`` (default 5 s so the suite stays quick; the issue's 60 s was run
with ``OCPPEMU_TEST_OUTAGE_SECONDS=60``). Frames, transactions, meter values and authorization records handed to
the :class:`~ocppemu.workbench.recording.Recorder` during the outage are all stored exactly once afterwards, and
health is false for the whole outage. ``ocppemu serve`` given SIGTERM while its MongoDB is down exits within its
shutdown timeout and says how much it could not write.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ocppemu.ocpp.records import AuthorizationRecord, MeterSample, TransactionRecord
from ocppemu.station.core import StationEvent
from ocppemu.store import MessageFilter, Repository, open_store
from ocppemu.workbench.recording import Recorder
from tests.api.daemon import Daemon
from tests.store.helpers import call
from tests.store.secantus import SecantusServer, mongo_db_url

OUTAGE = float(os.environ.get("OCPPEMU_TEST_OUTAGE_SECONDS", "5"))
T0 = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
async def own_server(tmp_path: Path) -> AsyncIterator[SecantusServer]:
    server = SecantusServer(tmp_path / "secantus")
    await asyncio.to_thread(server.start)
    yield server
    await asyncio.to_thread(server.stop)


@pytest.fixture
async def outage_repo(own_server: SecantusServer) -> AsyncIterator[Repository]:
    repo = open_store(mongo_db_url(own_server.url, "long_outage", timeout_ms=300))
    await repo.init()
    yield repo
    await repo.close()


def tx(i: int) -> TransactionRecord:
    return TransactionRecord("LONG", str(i), 1, f"TAG{i}", T0 + timedelta(seconds=i), 0.0, "1.6",
                             created_at=T0 + timedelta(seconds=i))


async def test_every_record_survives_a_long_outage_exactly_once(
    own_server: SecantusServer, outage_repo: Repository
) -> None:
    rec = Recorder(outage_repo, buffer_size=100_000, batch_interval=0.05)
    await rec.start()
    n = 0

    def traffic(count: int) -> None:
        nonlocal n
        for _ in range(count):
            rec.frame(call(n, "LONG"))
            n += 1

    traffic(100)
    await rec.flush()
    await asyncio.to_thread(own_server.stop)
    started = time.monotonic()
    healthy_during: list[bool] = []
    while time.monotonic() - started < OUTAGE:
        traffic(20)
        k = n // 20
        rec.transaction(tx(k))
        rec.meter([MeterSample(T0 + timedelta(seconds=k), "LONG", 1, str(k), "Energy.Active.Import.Register",
                               float(k), "Wh")])
        rec.event(StationEvent("LONG", "authorize", {"id_tag": f"T{k}", "status": "Accepted", "source": "Cache",
                                                     "connector_id": 1}, T0.timestamp() + k))
        healthy_during.append((await outage_repo.health()).ok)
        await asyncio.sleep(0.2)
    await asyncio.to_thread(own_server.start)
    traffic(50)
    assert rec.buffer is not None
    unwritten = await rec.aclose(timeout=120)
    assert not unwritten and rec.dropped_writes == 0 and rec.failed_writes == 0
    assert healthy_during and not any(healthy_during)
    seqs = Counter([m.record.seq async for m in outage_repo.iter_messages(MessageFilter(station_id="LONG"))])
    assert sorted(seqs) == list(range(n)) and set(seqs.values()) == {1}
    txs = await outage_repo.query_transactions("LONG", limit=100_000)
    assert len(txs) == len({t.transaction_id for t in txs}) == (n - 100 - 50) // 20 == len(healthy_during)
    samples = await outage_repo.meter_series("LONG")
    auths = await outage_repo.list_authorizations("LONG", limit=100_000)
    assert len(samples) == len(auths) == len(txs)
    assert [a.record.id_token for a in auths] == [f"T{k}" for k in sorted(int(t.transaction_id) for t in txs)]
    stats = rec.buffer.stats()
    assert (stats.dropped, stats.rejected, stats.written) == (0, 0, n)


async def test_authorizations_written_after_the_outage(own_server: SecantusServer, outage_repo: Repository) -> None:
    rec = Recorder(outage_repo, batch_interval=0.05)
    await rec.start()
    await asyncio.to_thread(own_server.stop)
    for i in range(30):
        rec.write(lambda i=i: outage_repo.add_authorizations(
            [AuthorizationRecord(T0 + timedelta(seconds=i), "AUTH", f"T{i}", "Accepted", "Cache")]))
    await asyncio.sleep(1.0)
    await asyncio.to_thread(own_server.start)
    assert not await rec.aclose(timeout=60)
    got = [a.record.id_token for a in await outage_repo.list_authorizations("AUTH")]
    assert got == [f"T{i}" for i in range(30)]


async def test_serve_stops_on_sigterm_while_mongodb_is_down(own_server: SecantusServer, tmp_path: Path) -> None:
    daemon = Daemon(mongo_db_url(own_server.url, "serve_down", timeout_ms=300), tmp_path / "data",
                    extra=["--demo-csms", "0"],
                    env={"OCPPEMU_APPLICATION_SHUTDOWN_TIMEOUT": "2",
                         "OCPPEMU_APPLICATION_BATCH_INSERT_INTERVAL": "30"})
    await daemon.start()
    import httpx

    async with httpx.AsyncClient(base_url=daemon.url) as http:
        token = (tmp_path / "data" / "api-token").read_text().strip()
        r = await http.post("/api/stations", json={"station_id": "DOWN1", "auto_start": True},
                            headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.text
        for _ in range(100):
            st = (await http.get("/api/stations/DOWN1", headers={"Authorization": f"Bearer {token}"})).json()
            if st["runtime"]["state"] == "connected":
                break
            await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # the boot exchange is held in the buffer (batch interval 30 s)
    await asyncio.to_thread(own_server.stop)
    code = await daemon.stop(timeout=60)  # a bound on termination, far above the 2 s shutdown timeout
    out = "".join(daemon.output)
    assert code == 1, out
    assert "the store was unreachable at shutdown" in out and "could not be written" in out
