"""Durability: what a station exchanged with a real CSMS peer survives closing and reopening the store.

A minimal OCPP 1.6 station talks to the independent peer CSMS (``ocpp`` package) on 127.0.0.1, logs every frame
through the :class:`MessageBuffer` and records its transaction and meter values. After the store is closed and a
new repository opens the same file / database, the counts match what the peer saw, exactly.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from ocppemu.ocpp.records import FrameRecord, MeterSample, TransactionRecord
from ocppemu.store import MessageBuffer, MessageFilter, open_store
from tests.peers.fixtures import PeerFactory


class MiniStation:
    """Just enough of a 1.6 station to drive the peer; every frame goes to ``buffer``."""

    def __init__(self, ws: Any, station_id: str, buffer: MessageBuffer) -> None:
        self.ws, self.station_id, self.buffer, self.n = ws, station_id, buffer, 0

    async def call(self, action: str, payload: dict[str, Any]) -> Any:
        self.n += 1
        mid = str(self.n)
        raw = json.dumps([2, mid, action, payload])
        sent_at = time.perf_counter()
        self.buffer.add(FrameRecord(datetime.now(UTC), self.station_id, "sent", "Call", mid, action, "1.6", payload,
                                    raw, correlation_id=mid, seq=self.n))
        await self.ws.send(raw)
        while True:
            text = await self.ws.recv()
            frame = json.loads(text)
            if frame[0] in (3, 4) and frame[1] == mid:
                break
        kind = "CallResult" if frame[0] == 3 else "CallError"
        self.buffer.add(FrameRecord(
            datetime.now(UTC), self.station_id, "received", kind, mid, action, "1.6",
            frame[2] if kind == "CallResult" else {}, text, correlation_id=mid,
            rtt_ms=(time.perf_counter() - sent_at) * 1000, seq=self.n))
        return frame[2]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def test_session_survives_reopen_with_exact_counts(store_url: str, peer_csms: PeerFactory) -> None:
    peer = await peer_csms(versions=["1.6"])
    repo = open_store(store_url)
    await repo.init()
    buf = MessageBuffer(repo, max_size=1000, interval=0.05)
    async with connect(f"{peer.url}/CP1", subprotocols=[Subprotocol("ocpp1.6")]) as ws:
        st = MiniStation(ws, "CP1", buf)
        await st.call("BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "X"})
        for _ in range(5):
            await st.call("Heartbeat", {})
        started = await st.call("StartTransaction", {"connectorId": 1, "idTag": "TAG1", "meterStart": 0,
                                                     "timestamp": now_iso()})
        tid = started["transactionId"]
        t = TransactionRecord("CP1", str(tid), 1, "TAG1", datetime.now(UTC), 0.0, "1.6")
        await repo.upsert_transaction(t)
        for wh in (100, 200, 300):
            ts = now_iso()
            await st.call("MeterValues", {"connectorId": 1, "transactionId": tid, "meterValue": [
                {"timestamp": ts, "sampledValue": [{"value": str(wh), "measurand": "Energy.Active.Import.Register",
                                                    "unit": "Wh"}]}]})
            await repo.add_meter_samples([MeterSample(datetime.now(UTC), "CP1", 1, str(tid),
                                                      "Energy.Active.Import.Register", float(wh), "Wh")])
        await st.call("StopTransaction", {"transactionId": tid, "meterStop": 300, "timestamp": now_iso()})
        t.status, t.meter_stop, t.stop_timestamp = "completed", 300.0, datetime.now(UTC)
        await repo.upsert_transaction(t)
    await buf.aclose()
    await repo.close()

    seen_by_peer = peer.messages["CP1"]
    assert peer.errors == []
    reopened = open_store(store_url)
    await reopened.init()
    try:
        sent = await reopened.count_messages(MessageFilter(station_id="CP1", direction="sent"))
        received = await reopened.count_messages(MessageFilter(station_id="CP1", direction="received"))
        assert sent == len(seen_by_peer) == 11
        assert received == st.n == 11
        stored_ids = [m.record.message_id async for m in reopened.iter_messages(MessageFilter(direction="sent"))]
        assert stored_ids == [m.unique_id for m in seen_by_peer]
        txs = await reopened.query_transactions(station_id="CP1")
        assert [(x.transaction_id, x.status, x.meter_stop) for x in txs] == [(str(tid), "completed", 300.0)]
        series = await reopened.meter_series("CP1", str(tid), "Energy.Active.Import.Register")
        assert [s.value for s in series] == [100.0, 200.0, 300.0]
        assert [e.energy_wh for e in await reopened.energy_by_transaction("CP1")] == [300.0]
    finally:
        await reopened.close()


async def test_offline_queue_survives_reopen_in_order(store_url: str) -> None:
    repo = open_store(store_url)
    await repo.init()
    for i in range(4):
        await repo.queue_push("CP1", f"k{i}", {"action": "MeterValues", "i": i})
    await repo.queue_remove("CP1", "k0")
    await repo.close()
    again = open_store(store_url)
    await again.init()
    try:
        assert [(q.key, q.doc["i"]) for q in await again.queue_list("CP1")] == [("k1", 1), ("k2", 2), ("k3", 3)]
    finally:
        await again.close()
