"""kill -9 of the daemon (``ocppemu serve``) with an OCPP 1.6 station in a transaction, then a restart: what the
independent recording CSMS (tests/peers) sees must be what a charger that lost power sends.

Cases (bounded: one transaction each, a few meter values):

* ``csms_up``: killed mid-transaction while connected;
* ``csms_down``: the CSMS goes away first, the station queues meter values, then the daemon is killed; the CSMS
  is back before the daemon;
* ``continue``: as ``csms_up`` with ``simulation.after_restart: continue``: meter values resume for the same
  transaction, then the user stops it.

Checked at the CSMS: every transaction ended exactly once (``PowerLoss`` after a kill, or the user's stop),
never ``transactionId`` 0 and only ids the CSMS issued, and the energy register never lower than a value the
CSMS has already seen.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.daemon import Daemon
from tests.peers.fixtures import PeerFactory
from tests.peers.ocpp_csms import PeerCsms, Received

ENV = {"OCPPEMU_APPLICATION_STATE_SYNC_INTERVAL": "0.2", "OCPPEMU_APPLICATION_BATCH_INSERT_INTERVAL": "0.2"}


def register_values(msg: Received) -> list[float]:
    """Energy.Active.Import.Register values (Wh) in a MeterValues or StopTransaction."""
    out: list[float] = []
    for mv in msg.payload.get("meterValue", []) + msg.payload.get("transactionData", []):
        for sv in mv.get("sampledValue", []):
            if sv.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register":
                value = float(sv["value"])
                out.append(value * 1000 if sv.get("unit") == "kWh" else value)
    if msg.action == "StopTransaction":
        out.append(float(msg.payload["meterStop"]))
    return out


async def until(pred: Any, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if await pred():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached")


async def start_daemon(tmp_path: Path) -> Daemon:
    return await Daemon(f"sqlite:///{tmp_path / 'k.db'}", tmp_path / "data", env=ENV).start()


def kill9(daemon: Daemon) -> None:
    assert daemon.proc is not None
    daemon.proc.kill()


def check_at_csms(peer: PeerCsms, sid: str, *, reason: str) -> None:
    msgs = [m for m in peer.received(sid) if m.action in ("StartTransaction", "MeterValues", "StopTransaction")]
    starts = [m for m in msgs if m.action == "StartTransaction"]
    stops = [m for m in msgs if m.action == "StopTransaction"]
    issued = set(range(1, len(starts) + 1))
    assert len(starts) == 1, [m.raw for m in starts]
    assert len(stops) == 1, [m.raw for m in stops]
    assert stops[0].payload["reason"] == reason
    for m in msgs:
        if m.action != "StartTransaction" and "transactionId" in m.payload:
            assert m.payload["transactionId"] != 0 and m.payload["transactionId"] in issued, m.raw
    seen = [v for m in msgs for v in register_values(m)]
    assert seen == sorted(seen), seen  # the register the CSMS sees never goes down
    assert float(stops[0].payload["meterStop"]) >= float(starts[0].payload["meterStart"])
    assert peer.errors == []


@pytest.mark.parametrize("case", ["csms_up", "csms_down", "continue"])
async def test_kill9_mid_transaction_then_restart(tmp_path: Path, peer_csms: PeerFactory, case: str) -> None:
    peer = await peer_csms(versions=("1.6",))
    sid = "K9" + case.upper().replace("_", "")
    station = {"station_id": sid, "csms_url": peer.url, "auto_start": True,
               "meter_values_config": {"interval": 1, "aligned_data_interval": 0},
               "simulation": {"reconnect_initial_delay": 0.2, "reconnect_max_delay": 0.5,
                              "energy_delivery_rate": 36000,
                              "after_restart": "continue" if case == "continue" else "end"}}
    daemon = await start_daemon(tmp_path)
    try:
        async with httpx.AsyncClient(base_url=daemon.url, timeout=20) as http:
            assert (await http.post("/api/stations", json=station)).status_code == 201
            await peer.wait_for(sid, "BootNotification", timeout=20)
            await asyncio.sleep(0.3)
            r = await http.post(f"/api/stations/{sid}/actions", json={"action": "start_transaction", "id_tag": "K9"})
            assert r.json()["ok"], r.text
            await peer.wait_for(sid, "StartTransaction", timeout=20)
            await peer.wait_for(sid, "MeterValues", count=2, timeout=20)
            if case == "csms_down":
                await peer.stop(abrupt=True)
                await asyncio.sleep(2.5)  # meter values queue up while the CSMS is away
            await asyncio.sleep(0.5)  # let the last sample's state reach the store
        kill9(daemon)
        await asyncio.wait_for(daemon.proc.wait(), 20)  # type: ignore[union-attr]
        if case == "csms_down":
            await peer.start()
        daemon = await start_daemon(tmp_path)
        async with httpx.AsyncClient(base_url=daemon.url, timeout=20) as http:
            if case == "continue":
                before = len(peer.received(sid, "MeterValues"))
                await peer.wait_for(sid, "MeterValues", count=before + 2, timeout=30)
                r = await http.post(f"/api/stations/{sid}/actions", json={"action": "stop_transaction"})
                assert r.json()["ok"], r.text
            await peer.wait_for(sid, "StopTransaction", timeout=30)

            async def queue_empty() -> bool:
                return (await http.get(f"/api/stations/{sid}")).json()["runtime"]["queued_messages"] == 0
            await until(queue_empty)
            view = (await http.get("/api/transactions", params={"station_id": sid})).json()
        check_at_csms(peer, sid, reason="Local" if case == "continue" else "PowerLoss")
        assert [t["status"] for t in view["transactions"]] == ["completed"], view
    finally:
        if daemon.proc is not None and daemon.proc.returncode is None:
            await daemon.stop()


async def test_kill9_of_station_run_mid_session(tmp_path: Path, peer_csms: PeerFactory) -> None:
    """``ocppemu station run --charge`` killed mid-session: the next run ends the cut transaction once
    (PowerLoss) before its own session, with the CSMS's id, and its register continues from the saved one."""
    import sys

    peer = await peer_csms(versions=("1.6",))
    args = [sys.executable, "-m", "ocppemu", "station", "run", "--csms", peer.url, "--id", "RUN9", "--quiet",
            "--meter-interval", "1", "--power", "36000", "--store", f"sqlite:///{tmp_path / 'r.db'}"]
    first = await asyncio.create_subprocess_exec(*args, "--charge", "60", stderr=asyncio.subprocess.DEVNULL)
    try:
        await peer.wait_for("RUN9", "MeterValues", count=2, timeout=30)
        await asyncio.sleep(1.0)
    finally:
        first.kill()
        await first.wait()
    second = await asyncio.create_subprocess_exec(*args, "--charge", "1", stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(second.communicate(), 60)
    assert second.returncode == 0, err.decode()
    assert "ended (PowerLoss)" in err.decode()
    msgs = [m for m in peer.received("RUN9") if m.action in ("StartTransaction", "MeterValues", "StopTransaction")]
    starts = [m for m in msgs if m.action == "StartTransaction"]
    stops = [m for m in msgs if m.action == "StopTransaction"]
    assert len(starts) == 2 and len(stops) == 2
    assert [s.payload["transactionId"] for s in stops] == [1, 2]
    assert [s.payload["reason"] for s in stops] == ["PowerLoss", "Local"]
    assert all(m.payload.get("transactionId", 1) in (1, 2) for m in msgs if m.action != "StartTransaction")
    seen = [v for m in msgs for v in register_values(m)] + [float(starts[1].payload["meterStart"])]
    first_tx = [v for m in msgs[: msgs.index(stops[0]) + 1] for v in register_values(m)]
    assert first_tx == sorted(first_tx) and float(starts[1].payload["meterStart"]) >= first_tx[-1], seen


def check_2x_at_csms(peer: PeerCsms, sid: str) -> None:
    events = peer.received(sid, "TransactionEvent")
    by_tx: dict[str, list[Received]] = {}
    for e in events:
        by_tx.setdefault(e.payload["transactionInfo"]["transactionId"], []).append(e)
    assert len(by_tx) == 1, list(by_tx)
    (tx_events,) = by_tx.values()
    kinds = [e.payload["eventType"] for e in tx_events]
    assert kinds.count("Started") == 1 and kinds.count("Ended") == 1 and kinds[0] == "Started" \
        and kinds[-1] == "Ended", kinds
    assert [e.payload["seqNo"] for e in tx_events] == list(range(len(tx_events)))  # seqNo continuous
    ended = tx_events[-1].payload
    assert ended["transactionInfo"]["stoppedReason"] == "PowerLoss" and ended.get("offline") is True
    ordered = [v for e in tx_events for mv in e.payload.get("meterValue", []) for sv in mv.get("sampledValue", [])
               if sv.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register"
               for v in [float(sv["value"])]]
    assert ordered == sorted(ordered), ordered
    assert peer.errors == []


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
async def test_kill9_of_a_2x_station_mid_transaction(tmp_path: Path, peer_csms: PeerFactory, version: str) -> None:
    peer = await peer_csms(versions=(version,))
    sid = "K9V" + version.replace(".", "")
    station = {"station_id": sid, "csms_url": peer.url, "auto_start": True, "protocol_version": version,
               "configuration_overrides": {"SampledDataCtrlr.TxUpdatedInterval": "1"},
               "simulation": {"reconnect_initial_delay": 0.2, "reconnect_max_delay": 0.5,
                              "energy_delivery_rate": 36000}}
    daemon = await start_daemon(tmp_path)
    try:
        async with httpx.AsyncClient(base_url=daemon.url, timeout=20) as http:
            assert (await http.post("/api/stations", json=station)).status_code == 201
            await peer.wait_for(sid, "BootNotification", timeout=20)
            await asyncio.sleep(0.3)
            r = await http.post(f"/api/stations/{sid}/actions", json={"action": "start_transaction", "id_tag": "K9"})
            assert r.json()["ok"], r.text
            await peer.wait_for(sid, "TransactionEvent", count=3, timeout=20)
            await asyncio.sleep(0.5)
        kill9(daemon)
        await asyncio.wait_for(daemon.proc.wait(), 20)  # type: ignore[union-attr]
        daemon = await start_daemon(tmp_path)
        await peer.wait_for(sid, "TransactionEvent", timeout=30,
                            where=lambda m: m.payload.get("eventType") == "Ended")
        async with httpx.AsyncClient(base_url=daemon.url, timeout=20) as http:
            async def queue_empty() -> bool:
                return (await http.get(f"/api/stations/{sid}")).json()["runtime"]["queued_messages"] == 0
            await until(queue_empty)
            view = (await http.get("/api/transactions", params={"station_id": sid})).json()
        check_2x_at_csms(peer, sid)
        assert [t["status"] for t in view["transactions"]] == ["completed"], view
        assert view["transactions"][0]["id_tag"] == "K9"
    finally:
        if daemon.proc is not None and daemon.proc.returncode is None:
            await daemon.stop()
