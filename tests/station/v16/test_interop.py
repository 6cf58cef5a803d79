"""OCPP 1.6 interop against an independent CSMS (the third-party `ocpp` package, strict validation)."""

from __future__ import annotations

import asyncio

import pytest

from tests.peers.ocpp_csms import Behaviour
from tests.station.v16.helpers import Harness, station_config, until


async def run_session(peer, h: Harness, station_id: str) -> None:  # type: ignore[no-untyped-def]
    assert await h.runtime.wait_connected(10)
    assert h.act("start_session", 1, "TAG-OK").ok
    await peer.wait_for(station_id, "StartTransaction")
    await peer.wait_for(station_id, "MeterValues", count=2, timeout=10)
    tx_id = h.core.connectors[1].tx.transaction_id  # type: ignore[union-attr]
    await until(lambda: h.core.connectors[1].tx.transaction_id is not None, what="transaction id")
    tx_id = h.core.connectors[1].tx.transaction_id  # type: ignore[union-attr]
    answer = await peer.call(station_id, "RemoteStopTransaction", {"transactionId": tx_id})
    assert answer == {"status": "Accepted"}
    stops = await peer.wait_for(station_id, "StopTransaction")
    assert stops[0].payload["transactionId"] == tx_id
    assert stops[0].payload["reason"] == "Remote"


@pytest.mark.parametrize("count", [1, 10])
async def test_complete_sessions(peer_csms, count: int) -> None:  # type: ignore[no-untyped-def]
    peer = await peer_csms(versions=("1.6",), behaviour=Behaviour(heartbeat_interval=1))
    harnesses = [Harness(station_config(peer.url, f"CP{i:03d}")) for i in range(count)]
    for h in harnesses:
        await h.runtime.start()
    try:
        await asyncio.gather(*(run_session(peer, h, h.core.station_id) for h in harnesses))
        for h in harnesses:
            sid = h.core.station_id
            await peer.wait_for(sid, "Heartbeat")
            actions = peer.actions(sid)
            assert actions[0] == "BootNotification"
            for action in ("StatusNotification", "Authorize", "StartTransaction", "MeterValues", "StopTransaction"):
                assert action in actions, action
            start = peer.received(sid, "StartTransaction")[0].payload
            stop = peer.received(sid, "StopTransaction")[0].payload
            assert stop["meterStop"] >= start["meterStart"]
            values = [m.payload for m in peer.received(sid, "MeterValues")]
            energies = [float(sv["value"]) for mv in values for v in mv["meterValue"] for sv in v["sampledValue"]
                        if sv.get("measurand") == "Energy.Active.Import.Register"]
            assert energies == sorted(energies)
    finally:
        for h in harnesses:
            await h.runtime.stop()
    assert peer.errors == []


async def test_csms_initiated_actions(peer_csms) -> None:  # type: ignore[no-untyped-def]
    peer = await peer_csms(versions=("1.6",))
    async with Harness(station_config(peer.url, connectors=[{"id": 1}, {"id": 2}])) as h:
        assert await h.runtime.wait_connected(10)
        sid = "CP001"
        # RemoteStart: the station plugs the EV in (simulated driver) and starts.
        assert await peer.call(sid, "RemoteStartTransaction", {"idTag": "REMOTE1", "connectorId": 2}) == {
            "status": "Accepted"}
        starts = await peer.wait_for(sid, "StartTransaction")
        assert starts[0].payload["connectorId"] == 2 and starts[0].payload["idTag"] == "REMOTE1"
        # ChangeConfiguration + GetConfiguration
        assert await peer.call(sid, "ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "2"}) == {
            "status": "Accepted"}
        conf = await peer.call(sid, "GetConfiguration", {"key": ["MeterValueSampleInterval", "NoSuchKey"]})
        assert conf["configurationKey"] == [{"key": "MeterValueSampleInterval", "readonly": False, "value": "2"}]
        assert conf["unknownKey"] == ["NoSuchKey"]
        assert (await peer.call(sid, "ChangeConfiguration", {"key": "NumberOfConnectors", "value": "5"}))[
            "status"] == "Rejected"
        assert (await peer.call(sid, "ChangeConfiguration", {"key": "Nope", "value": "1"}))["status"] == "NotSupported"
        # TriggerMessage
        before = len(peer.received(sid, "Heartbeat"))
        assert await peer.call(sid, "TriggerMessage", {"requestedMessage": "Heartbeat"}) == {"status": "Accepted"}
        await peer.wait_for(sid, "Heartbeat", count=before + 1)
        assert await peer.call(sid, "TriggerMessage", {"requestedMessage": "StatusNotification",
                                                       "connectorId": 1}) == {"status": "Accepted"}
        # UnlockConnector ends the running transaction on connector 2.
        assert await peer.call(sid, "UnlockConnector", {"connectorId": 2}) == {"status": "Unlocked"}
        stops = await peer.wait_for(sid, "StopTransaction")
        assert stops[0].payload["reason"] == "UnlockCommand"
        # ChangeAvailability while idle
        assert await peer.call(sid, "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}) == {
            "status": "Accepted"}
        await peer.wait_for(sid, "StatusNotification",
                            where=lambda m: m.payload["connectorId"] == 1 and m.payload["status"] == "Unavailable")
        # Reset: a new boot follows on a new connection.
        boots = len(peer.received(sid, "BootNotification"))
        assert await peer.call(sid, "Reset", {"type": "Soft"}) == {"status": "Accepted"}
        await peer.wait_for(sid, "BootNotification", count=boots + 1, timeout=15)
    assert peer.errors == []


async def test_change_availability_while_charging_is_scheduled(peer_csms) -> None:  # type: ignore[no-untyped-def]
    peer = await peer_csms(versions=("1.6",))
    async with Harness(station_config(peer.url)) as h:
        assert await h.runtime.wait_connected(10)
        assert h.act("start_session", 1, "TAG").ok
        await peer.wait_for("CP001", "StartTransaction")
        answer = await peer.call("CP001", "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})
        assert answer == {"status": "Scheduled"}
        await until(lambda: h.core.connectors[1].tx is not None and h.core.connectors[1].tx.transaction_id is not None)
        assert h.act("stop_session", 1).ok
        assert h.act("unplug", 1).ok
        await peer.wait_for("CP001", "StatusNotification",
                            where=lambda m: m.payload["connectorId"] == 1 and m.payload["status"] == "Unavailable")
    assert peer.errors == []
