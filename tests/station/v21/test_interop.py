"""OCPP 2.1 interop over real WebSockets: against the independent CSMS (the `ocpp` package's 2.1 schemas, strict
validation) and, as a user runs it, `ocppemu station run --ocpp 2.1` against the bundled demo CSMS."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from ocppemu.demo_csms import serve_demo_csms
from tests.peers.ocpp_csms import PeerCsms
from tests.station.v21.helpers import Harness, station_config, until

TARIFF: dict[str, Any] = {"tariffId": "T-INTEROP", "currency": "EUR",
                          "energy": {"prices": [{"priceKwh": 0.4}]}, "fixedFee": {"prices": [{"priceFixed": 0.5}]}}


def tx_events(peer: PeerCsms, sid: str, tid: str) -> list[dict[str, Any]]:
    return [m.payload for m in peer.received(sid, "TransactionEvent")
            if m.payload["transactionInfo"]["transactionId"] == tid]


async def ended(peer: PeerCsms, sid: str, tid: str) -> list[dict[str, Any]]:
    await peer.wait_for(sid, "TransactionEvent", where=lambda m: m.payload["eventType"] == "Ended"
                        and m.payload["transactionInfo"]["transactionId"] == tid)
    events = tx_events(peer, sid, tid)
    assert [e["seqNo"] for e in events] == list(range(len(events)))
    return events


async def test_station21_against_the_independent_csms(peer_csms) -> None:  # type: ignore[no-untyped-def]
    peer: PeerCsms = await peer_csms(versions=("2.1",))
    async with Harness(station_config(peer.url, station_id="CS21")) as h:
        sid = "CS21"
        assert await h.runtime.wait_connected(10)
        await peer.wait_for(sid, "BootNotification")
        assert peer.connections[0].subprotocol == "ocpp2.1"
        await peer.wait_for(sid, "StatusNotification")

        # A local transaction with meter values.
        assert h.act("start_session", 1, "TOK-LOCAL").ok
        await until(lambda: h.core.evses[1].active_tx is not None, what="local transaction")
        tid = h.core.evses[1].active_tx.transaction_id  # type: ignore[union-attr]
        await peer.wait_for(sid, "TransactionEvent", where=lambda m: m.payload["triggerReason"] ==
                            "MeterValuePeriodic" and m.payload["transactionInfo"]["transactionId"] == tid)
        assert h.act("stop_session", 1).ok
        events = await ended(peer, sid, tid)
        assert any(e.get("meterValue") for e in events) and "costDetails" not in events[-1]
        assert h.act("unplug", 1).ok

        # A remote start and stop.
        answer = await peer.call(sid, "RequestStartTransaction", {
            "idToken": {"idToken": "TOK-REMOTE", "type": "Central"}, "remoteStartId": 7, "evseId": 1})
        assert answer["status"] == "Accepted"
        await until(lambda: h.core.evses[1].active_tx is not None, what="remote transaction")
        rtid = h.core.evses[1].active_tx.transaction_id  # type: ignore[union-attr]
        assert (await peer.call(sid, "RequestStopTransaction", {"transactionId": rtid}))["status"] == "Accepted"
        remote = await ended(peer, sid, rtid)
        assert remote[0]["transactionInfo"]["remoteStartId"] == 7
        assert remote[-1]["transactionInfo"]["stoppedReason"] == "Remote"
        assert h.act("unplug", 1).ok

        # SetDefaultTariff, then a transaction priced by the station.
        assert (await peer.call(sid, "SetDefaultTariff", {"evseId": 0, "tariff": TARIFF}))["status"] == "Accepted"
        tariffs = await peer.call(sid, "GetTariffs", {"evseId": 1})
        assert tariffs["tariffAssignments"][0]["tariffId"] == "T-INTEROP"
        assert h.act("start_session", 1, "TOK-PRICED").ok
        await until(lambda: h.core.evses[1].active_tx is not None, what="priced transaction")
        ptid = h.core.evses[1].active_tx.transaction_id  # type: ignore[union-attr]
        await peer.wait_for(sid, "TransactionEvent", where=lambda m: "costDetails" in m.payload
                            and m.payload["transactionInfo"]["transactionId"] == ptid)

        # A periodic event stream of the EVSE's power while charging.
        result = h.act("open_event_stream", 1, period=1, values=2)
        assert result.ok
        await until(lambda: len(peer.received_sends(sid, "NotifyPeriodicEventStream")) >= 2, what="stream data")
        stream = await peer.call(sid, "GetPeriodicEventStream", {})
        assert stream["constantStreamData"][0]["id"] == result.data["stream_id"]
        data = [d for m in peer.received_sends(sid, "NotifyPeriodicEventStream") for d in m.payload["data"]]
        assert len(data) >= 4 and all(float(d["v"]) >= 0 for d in data)
        assert h.act("close_event_stream", result.data["stream_id"]).ok
        await peer.wait_for(sid, "ClosePeriodicEventStream")

        assert h.act("stop_session", 1).ok
        priced = await ended(peer, sid, ptid)
        assert priced[0]["transactionInfo"]["tariffId"] == "T-INTEROP"
        cost = priced[-1]["costDetails"]["totalCost"]
        assert cost["currency"] == "EUR" and cost["total"]["exclTax"] >= 0.5
        await peer.wait_for(sid, "OpenPeriodicEventStream")
    assert peer.errors == [], peer.errors
    assert h.core.findings == type(h.core.findings)()


async def test_cli_station_run_21_against_the_demo_csms(tmp_path: Path) -> None:
    csms = await serve_demo_csms("127.0.0.1", 0, heartbeat_interval=30)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ocppemu.cli", "station", "run", "--csms", f"ws://127.0.0.1:{csms.port}/ocpp",
            "--id", "CS21", "--ocpp", "2.1", "--charge", "2", "--meter-interval", "1",
            "--store", f"sqlite:///{tmp_path / 'x.db'}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await csms.close()
    assert proc.returncode == 0, err.decode()
    assert "session completed" in err.decode()
    for action in ("BootNotification", "TransactionEvent", "StatusNotification"):
        assert action in out.decode()
