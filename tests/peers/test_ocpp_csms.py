"""The oracle CSMS itself works: it answers, records, validates strictly and can call a station."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from ocpp.exceptions import OCPPError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from tests.peers.fixtures import PeerFactory
from tests.peers.ocpp_csms import PeerCallError, PeerCsms

BOOT16 = {"chargePointVendor": "ocppemu", "chargePointModel": "Emulator"}
BOOT201 = {"reason": "PowerUp", "chargingStation": {"model": "Emulator", "vendorName": "ocppemu"}}


async def open_station(peer: PeerCsms, station_id: str, version: str = "1.6") -> ClientConnection:
    return await connect(f"{peer.url}/{station_id}", subprotocols=[f"ocpp{version}"], proxy=None)  # type: ignore[list-item]


async def roundtrip(ws: ClientConnection, frame: list[Any]) -> list[Any]:
    await ws.send(json.dumps(frame))
    answer: list[Any] = json.loads(await ws.recv())
    return answer


@pytest.mark.parametrize(("version", "boot"), [("1.6", BOOT16), ("2.0.1", BOOT201)])
async def test_boot_is_answered_and_recorded(peer_csms: PeerFactory, version: str, boot: dict) -> None:
    peer = await peer_csms()
    async with await open_station(peer, "CP001", version) as ws:
        assert ws.subprotocol == f"ocpp{version}"
        answer = await roundtrip(ws, [2, "m1", "BootNotification", boot])
    assert answer[0] == 3 and answer[1] == "m1"
    assert answer[2]["status"] == "Accepted" and answer[2]["interval"] == 60
    [rec] = peer.received("CP001")
    assert (rec.action, rec.unique_id, rec.payload) == ("BootNotification", "m1", boot)
    assert peer.errors == []


async def test_invalid_request_gets_a_callerror_and_is_recorded_as_error(peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    async with await open_station(peer, "CP002") as ws:
        answer = await roundtrip(ws, [2, "bad", "BootNotification", {"chargePointVendor": "x"}])
        bad_time = await roundtrip(ws, [2, "t", "StatusNotification",
                                        {"connectorId": 1, "errorCode": "NoError", "status": "Available",
                                         "timestamp": "yesterday"}])
    assert answer[0] == 4 and answer[1] == "bad"
    assert bad_time[0] == 4 and bad_time[2] == "FormatViolation"  # stricter than the ocpp package alone
    assert [(e.where, e.action) for e in peer.errors] == [("request", "BootNotification"),
                                                          ("request", "StatusNotification")]


async def test_start_transaction_ids_increase(peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    start = {"connectorId": 1, "idTag": "TAG1", "meterStart": 0, "timestamp": "2025-01-01T00:00:00Z"}
    async with await open_station(peer, "CP003") as ws:
        first = await roundtrip(ws, [2, "s1", "StartTransaction", start])
        second = await roundtrip(ws, [2, "s2", "StartTransaction", start])
    assert second[2]["transactionId"] == first[2]["transactionId"] + 1
    assert first[2]["idTagInfo"] == {"status": "Accepted"}
    assert peer.errors == []


async def station_answering(ws: ClientConnection, answer: dict[str, Any] | None) -> list[Any]:
    request: list[Any] = json.loads(await ws.recv())
    if answer is None:
        await ws.send(json.dumps([4, request[1], "NotImplemented", "no", {}]))
    else:
        await ws.send(json.dumps([3, request[1], answer]))
    return request


async def test_csms_initiated_call_returns_the_answer(peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    async with await open_station(peer, "CP004") as ws:
        await peer.wait_for_station("CP004")
        station = asyncio.create_task(station_answering(ws, {"status": "Accepted"}))
        result = await peer.call("CP004", "RemoteStartTransaction", {"idTag": "TAG1", "connectorId": 1})
        request = await station
    assert request[2:] == ["RemoteStartTransaction", {"idTag": "TAG1", "connectorId": 1}]
    assert result == {"status": "Accepted"}
    assert peer.errors == []


async def test_invalid_station_answer_is_recorded(peer_csms: PeerFactory) -> None:
    peer = await peer_csms(versions=["2.0.1"])
    async with await open_station(peer, "CP005", "2.0.1") as ws:
        await peer.wait_for_station("CP005")
        station = asyncio.create_task(station_answering(ws, {"status": "Maybe"}))
        with pytest.raises(OCPPError):
            await peer.call("CP005", "Reset", {"type": "Immediate"})
        await station
    assert [(e.where, e.action) for e in peer.errors] == [("response", "Reset")]


async def test_station_callerror_is_raised_not_counted_as_validation_error(peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    async with await open_station(peer, "CP006") as ws:
        await peer.wait_for_station("CP006")
        station = asyncio.create_task(station_answering(ws, None))
        with pytest.raises(PeerCallError) as info:
            await peer.call("CP006", "UnlockConnector", {"connectorId": 1})
        await station
    assert info.value.code == "NotImplemented"
    assert peer.errors == [] and len(peer.call_errors) == 1


async def test_basic_auth_required(peer_csms: PeerFactory) -> None:
    peer = await peer_csms(basic_auth=("CP007", "secret-password"))
    with pytest.raises(InvalidStatus) as info:
        await open_station(peer, "CP007")
    assert info.value.response.status_code == 401
    ws = await connect(f"{peer.url}/CP007", subprotocols=["ocpp1.6"], proxy=None,  # type: ignore[list-item]
                       additional_headers={"Authorization": "Basic Q1AwMDc6c2VjcmV0LXBhc3N3b3Jk"})
    await ws.close()
    assert peer.connections[-1].username == "CP007"


async def test_restart_on_the_same_port_keeps_the_records(peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    async with await open_station(peer, "CP008") as ws:
        await roundtrip(ws, [2, "h1", "Heartbeat", {}])
        port = peer.port
        await peer.stop(abrupt=True)
        assert not peer.running
    await peer.start()
    assert peer.port == port
    async with await open_station(peer, "CP008") as ws:
        await roundtrip(ws, [2, "h2", "Heartbeat", {}])
    assert [m.unique_id for m in peer.received("CP008", "Heartbeat")] == ["h1", "h2"]
    assert [m.connection for m in peer.received("CP008")] == [1, 2]


async def test_wait_for_counts_messages(peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    async with await open_station(peer, "CP009") as ws:
        waiter = asyncio.create_task(peer.wait_for("CP009", "Heartbeat", count=2, timeout=5))
        for i in range(2):
            await roundtrip(ws, [2, f"h{i}", "Heartbeat", {}])
        got = await waiter
    assert [m.unique_id for m in got] == ["h0", "h1"]


async def test_client_without_subprotocol_is_refused(peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    with pytest.raises(InvalidStatus) as info:
        await connect(f"{peer.url}/CP010", proxy=None)
    assert info.value.response.status_code == 400


NOW = "2025-01-01T12:00:00Z"
TOKEN = {"idToken": "TAG1", "type": "ISO14443"}
STATION_CALLS = {
    "1.6": [
        ("Authorize", {"idTag": "TAG1"}),
        ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}),
        ("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": NOW, "sampledValue": [{"value": "1"}]}]}),
        ("StopTransaction", {"transactionId": 1, "meterStop": 5, "timestamp": NOW, "idTag": "TAG1"}),
        ("DataTransfer", {"vendorId": "ocppemu"}),
        ("FirmwareStatusNotification", {"status": "Idle"}),
    ],
    "2.0.1": [
        ("Heartbeat", {}),
        ("Authorize", {"idToken": TOKEN}),
        ("StatusNotification", {"timestamp": NOW, "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}),
        ("TransactionEvent", {"eventType": "Started", "timestamp": NOW, "triggerReason": "Authorized", "seqNo": 0,
                              "transactionInfo": {"transactionId": "t1"}, "idToken": TOKEN}),
        ("MeterValues", {"evseId": 1, "meterValue": [{"timestamp": NOW, "sampledValue": [{"value": 1.5}]}]}),
        ("NotifyEvent", {"generatedAt": NOW, "seqNo": 0, "eventData": [{
            "eventId": 1, "timestamp": NOW, "trigger": "Alerting", "actualValue": "x",
            "eventNotificationType": "HardWiredNotification", "component": {"name": "EVSE"},
            "variable": {"name": "Problem"}}]}),
        ("NotifyReport", {"requestId": 1, "generatedAt": NOW, "seqNo": 0}),
        ("SecurityEventNotification", {"type": "StartupOfTheDevice", "timestamp": NOW}),
    ],
}


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_station_initiated_actions_are_all_handled(peer_csms: PeerFactory, version: str) -> None:
    peer = await peer_csms()
    peer.behaviour.accepted_tags = {"OTHER"}
    calls = STATION_CALLS[version]
    async with await open_station(peer, "CP011", version) as ws:
        answers = [await roundtrip(ws, [2, f"m{i}", action, payload]) for i, (action, payload) in enumerate(calls)]
    assert [a[0] for a in answers] == [3] * len(calls), answers
    assert peer.errors == []
    assert peer.actions("CP011") == [action for action, _ in calls]
    auth = next(a for (action, _), a in zip(calls, answers, strict=True) if action == "Authorize")
    info = auth[2].get("idTagInfo") or auth[2].get("idTokenInfo")
    assert info == {"status": "Invalid"}  # the tag is not in accepted_tags
