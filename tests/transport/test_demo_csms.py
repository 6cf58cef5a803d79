"""The bundled demo CSMS answers every request with a payload valid against the official schemas."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest

from ocppemu.demo_csms import DemoCallError, DemoCsms, main_demo_csms, serve_demo_csms
from ocppemu.ocpp.versions import Version
from ocppemu.transport.websocket import WebSocketTransport

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
NOW = "2025-01-01T12:00:00Z"


@cache
def validator(version: Version, name: str) -> Callable[[Any], Any]:
    schema = json.loads((SCHEMAS / version.schema_dir / f"{name}.json").read_text(encoding="utf-8-sig"))
    return fastjsonschema.compile(schema)


def response_files(version: Version) -> list[str]:
    return sorted(p.stem for p in (SCHEMAS / version.schema_dir).glob("*Response.json"))


@pytest.mark.parametrize("version", list(Version))
def test_the_answer_to_every_action_is_valid_for_its_response_schema(version: Version) -> None:
    names = response_files(version)
    assert len(names) > 20
    csms = DemoCsms("127.0.0.1", 30)
    for name in names:
        action = name.removesuffix("Response")
        validator(version, name)(csms.response_for(version, action, {}))  # raises JsonSchemaException when invalid


@pytest.fixture
async def demo() -> AsyncIterator[DemoCsms]:
    csms = await serve_demo_csms("127.0.0.1", 0, heartbeat_interval=30)
    async with csms:
        yield csms


async def exchange(csms: DemoCsms, version: Version, frames: list[tuple[str, dict[str, Any]]],
                   station_id: str = "CP1") -> list[list[Any]]:
    transport = WebSocketTransport(f"{csms.url}/ocpp/{station_id}", version)
    await transport.connect()
    answers = []
    try:
        for i, (action, payload) in enumerate(frames):
            await transport.send(json.dumps([2, f"m{i}", action, payload]))
            answers.append(json.loads(await transport.recv()))
    finally:
        await transport.close()
    return answers


def assert_valid_results(version: Version, frames: list[tuple[str, dict[str, Any]]],
                         answers: list[list[Any]]) -> None:
    for i, ((action, _), answer) in enumerate(zip(frames, answers, strict=True)):
        assert answer[:2] == [3, f"m{i}"], answer
        validator(version, f"{action}Response")(answer[2])


V16_SESSION: list[tuple[str, dict[str, Any]]] = [
    ("BootNotification", {"chargePointVendor": "ocppemu", "chargePointModel": "Emulator"}),
    ("Heartbeat", {}),
    ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"}),
    ("Authorize", {"idTag": "TAG1"}),
    ("StartTransaction", {"connectorId": 1, "idTag": "TAG1", "meterStart": 0, "timestamp": NOW}),
    ("StartTransaction", {"connectorId": 2, "idTag": "TAG2", "meterStart": 0, "timestamp": NOW}),
    ("MeterValues", {"connectorId": 1, "transactionId": 1,
                     "meterValue": [{"timestamp": NOW, "sampledValue": [{"value": "10"}]}]}),
    ("StopTransaction", {"transactionId": 1, "idTag": "TAG1", "meterStop": 10, "timestamp": NOW}),
    ("DataTransfer", {"vendorId": "ocppemu"}),
    ("DiagnosticsStatusNotification", {"status": "Idle"}),
    ("FirmwareStatusNotification", {"status": "Idle"}),
]


async def test_v16_session_answers_are_schema_valid(demo: DemoCsms) -> None:
    answers = await exchange(demo, Version.V16, V16_SESSION)
    assert_valid_results(Version.V16, V16_SESSION, answers)
    boot, starts = answers[0][2], [answers[4][2], answers[5][2]]
    assert boot["status"] == "Accepted" and boot["interval"] == 30
    assert [s["transactionId"] for s in starts] == [1, 2]
    assert answers[3][2] == {"idTagInfo": {"status": "Accepted"}}


def v2_session() -> list[tuple[str, dict[str, Any]]]:
    token = {"idToken": "TAG1", "type": "ISO14443"}
    event = {"eventType": "Started", "timestamp": NOW, "triggerReason": "Authorized", "seqNo": 0,
             "transactionInfo": {"transactionId": "tx-1"}}
    return [
        ("BootNotification", {"reason": "PowerUp", "chargingStation": {"model": "E", "vendorName": "ocppemu"}}),
        ("Heartbeat", {}),
        ("StatusNotification", {"timestamp": NOW, "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}),
        ("Authorize", {"idToken": token}),
        ("TransactionEvent", {**event, "idToken": token}),
        ("TransactionEvent", {**event, "eventType": "Updated", "seqNo": 1}),
        ("MeterValues", {"evseId": 1, "meterValue": [{"timestamp": NOW, "sampledValue": [{"value": 1.0}]}]}),
        ("DataTransfer", {"vendorId": "ocppemu"}),
        ("NotifyReport", {"requestId": 1, "generatedAt": NOW, "seqNo": 0}),
        ("SecurityEventNotification", {"type": "StartupOfTheDevice", "timestamp": NOW}),
    ]


@pytest.mark.parametrize("version", [Version.V201, Version.V21])
async def test_v2x_session_answers_are_schema_valid(demo: DemoCsms, version: Version) -> None:
    frames = v2_session()
    answers = await exchange(demo, version, frames)
    assert_valid_results(version, frames, answers)
    assert answers[3][2] == {"idTokenInfo": {"status": "Accepted"}}
    assert answers[4][2] == {"idTokenInfo": {"status": "Accepted"}}
    assert answers[5][2] == {}


async def test_unknown_action_gets_not_implemented(demo: DemoCsms) -> None:
    [answer] = await exchange(demo, Version.V16, [("TransactionEvent", {})])
    assert answer[0] == 4 and answer[1] == "m0" and answer[2] == "NotImplemented"


async def test_call_to_a_station_returns_its_answer(demo: DemoCsms) -> None:
    transport = WebSocketTransport(f"{demo.url}/CP7", Version.V16)
    await transport.connect()
    try:
        await demo.wait_for_station("CP7")
        assert demo.stations == {"CP7": Version.V16}
        call = asyncio.create_task(demo.call("CP7", "Reset", {"type": "Soft"}, timeout=5))
        request = json.loads(await transport.recv())
        assert request[0] == 2 and request[2:] == ["Reset", {"type": "Soft"}]
        await transport.send(json.dumps([3, request[1], {"status": "Accepted"}]))
        assert await call == {"status": "Accepted"}

        failing = asyncio.create_task(demo.call("CP7", "UnlockConnector", {"connectorId": 1}, timeout=5))
        request = json.loads(await transport.recv())
        await transport.send(json.dumps([4, request[1], "NotSupported", "no lock", {}]))
        with pytest.raises(DemoCallError) as info:
            await failing
        assert info.value.code == "NotSupported"
    finally:
        await transport.close()


async def test_malformed_frames_do_not_stop_the_demo(demo: DemoCsms) -> None:
    transport = WebSocketTransport(f"{demo.url}/CP8", Version.V16)
    await transport.connect()
    try:
        await transport.send("not json")
        assert json.loads(await transport.recv())[:2] == [4, "-1"]  # the id could not be read: answered as -1
        await transport.send('[2,"x","BootNotification"]')
        assert json.loads(await transport.recv())[:3] == [4, "x", "FormatViolation"]
        await transport.send('[2,"y","Heartbeat",{}]')
        assert json.loads(await transport.recv())[:2] == [3, "y"]
    finally:
        await transport.close()


def test_cli_entry_reports_a_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main_demo_csms(["--port", str(port), "--log-level", "WARNING"]) == 2
