"""The CSMS dies during a transaction and comes back: queued messages arrive in order, each once."""

from __future__ import annotations

import asyncio

from tests.peers.ocpp_csms import Behaviour
from tests.station.v16.helpers import Harness, station_config, until


async def test_csms_killed_during_transaction(peer_csms) -> None:  # type: ignore[no-untyped-def]
    peer = await peer_csms(versions=("1.6",), behaviour=Behaviour(heartbeat_interval=30))
    sid = "CP001"
    async with Harness(station_config(peer.url)) as h:
        assert await h.runtime.wait_connected(10)
        assert h.act("start_session", 1, "TAG").ok
        await peer.wait_for(sid, "StartTransaction")
        await until(lambda: h.core.connectors[1].tx is not None and h.core.connectors[1].tx.transaction_id)
        tx_id = h.core.connectors[1].tx.transaction_id  # type: ignore[union-attr]
        await peer.wait_for(sid, "MeterValues", count=1)

        await peer.stop(abrupt=True)
        await until(lambda: not h.core.is_connected, what="the station to notice the drop")
        await asyncio.sleep(2.5)  # meter values keep being produced while offline
        assert h.act("stop_session", 1).ok
        queued = [e.action for e in h.core.queue]
        assert queued[-1] == "StopTransaction" and queued.count("MeterValues") >= 2
        queued_meter_ts = [e.payload["meterValue"][0]["timestamp"] for e in h.core.queue
                           if e.action == "MeterValues" and e.offline]
        assert len(queued_meter_ts) >= 2

        await peer.start()
        boots_before = len(peer.received(sid, "BootNotification"))
        await peer.wait_for(sid, "StopTransaction", timeout=20)
        await until(lambda: len(h.core.queue) == 0, what="queue drained")
        assert len(peer.received(sid, "BootNotification")) >= boots_before >= 1

    # Every MeterValues produced offline arrived exactly once, in order, before the StopTransaction.
    frames = peer.received(sid)
    after_restart = [m for m in frames if m.connection > 1]
    actions = [m.action for m in after_restart]
    assert actions[0] == "BootNotification"
    tx_frames = [m for m in after_restart if m.action in ("MeterValues", "StopTransaction")]
    meter_ts = [m.payload["meterValue"][0]["timestamp"] for m in tx_frames if m.action == "MeterValues"
                and m.payload.get("transactionId") is not None]
    assert [ts for ts in meter_ts if ts in set(queued_meter_ts)] == queued_meter_ts  # in order
    assert meter_ts == sorted(meter_ts)
    for ts in queued_meter_ts:  # produced while the CSMS was down: each arrives exactly once
        assert sum(1 for m in frames if m.action == "MeterValues" and m.payload["meterValue"][0]["timestamp"] == ts) == 1
    # A frame the CSMS received but died before answering is unconfirmed: the station re-sends it with the
    # same message id (so a CSMS can recognise the retransmission); nothing confirmed is ever sent again.
    by_ts: dict[str, set[str]] = {}
    for m in frames:
        if m.action == "MeterValues":
            by_ts.setdefault(m.payload["meterValue"][0]["timestamp"], set()).add(m.unique_id)
    assert all(len(ids) == 1 for ids in by_ts.values()), by_ts
    assert sum(1 for m in frames if m.action == "MeterValues") <= len(by_ts) + 1
    stops = peer.received(sid, "StopTransaction")
    assert len(stops) == 1 and stops[0].payload["transactionId"] == tx_id
    assert tx_frames[-1].action == "StopTransaction"
    assert all(m.payload.get("transactionId") == tx_id for m in tx_frames)
    assert peer.errors == []
