"""The CSMS dies during a 2.0.1 transaction and comes back: queued TransactionEvents arrive in seqNo order, once,
with ``offline`` true exactly where they were produced offline."""

from __future__ import annotations

import asyncio

from tests.peers.ocpp_csms import Behaviour
from tests.station.v201.helpers import Harness, station_config, until


async def test_csms_killed_during_transaction(peer_csms) -> None:  # type: ignore[no-untyped-def]
    peer = await peer_csms(versions=("2.0.1",), behaviour=Behaviour(heartbeat_interval=30))
    sid = "CS001"
    async with Harness(station_config(peer.url)) as h:
        assert await h.runtime.wait_connected(10)
        assert h.act("start_session", 1, "TOK").ok
        await until(lambda: h.core.evses[1].active_tx is not None, what="transaction")
        tid = h.core.evses[1].active_tx.transaction_id  # type: ignore[union-attr]
        await peer.wait_for(sid, "TransactionEvent", where=lambda m: m.payload["triggerReason"] == "MeterValuePeriodic")

        await peer.stop(abrupt=True)
        await until(lambda: not h.core.is_connected, what="the station to notice the drop")
        await asyncio.sleep(2.5)  # periodic meter values keep being produced while offline
        assert h.act("stop_session", 1).ok
        offline_seq = [e.payload["seqNo"] for e in h.core.queue if e.offline]
        assert len(offline_seq) >= 3  # two periodic Updated and the Ended, at least
        assert all(e.payload.get("offline") is True for e in h.core.queue if e.offline)

        await peer.start()
        await peer.wait_for(sid, "TransactionEvent", where=lambda m: m.payload["eventType"] == "Ended", timeout=20)
        await until(lambda: len(h.core.queue) == 0, what="queue drained")

    frames = [m for m in peer.received(sid, "TransactionEvent") if m.payload["transactionInfo"]["transactionId"] == tid]
    # A frame the CSMS received but died before answering is re-sent with the same message id; nothing else twice.
    by_seq: dict[int, set[str]] = {}
    for m in frames:
        by_seq.setdefault(m.payload["seqNo"], set()).add(m.unique_id)
    assert all(len(ids) == 1 for ids in by_seq.values()), by_seq
    assert len(frames) <= len(by_seq) + 1
    first_seen: list[int] = []
    for m in frames:
        if m.payload["seqNo"] not in first_seen:
            first_seen.append(m.payload["seqNo"])
    assert first_seen == list(range(len(first_seen)))  # every seqNo, in order
    assert frames[-1].payload["eventType"] == "Ended"
    for m in frames:
        produced_offline = m.payload["seqNo"] in offline_seq
        assert m.payload.get("offline", False) is produced_offline, m.payload
    after_restart = [m for m in peer.received(sid) if m.connection > 1]
    assert after_restart[0].action == "BootNotification"
    assert peer.errors == []
