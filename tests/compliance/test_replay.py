"""``ocppemu scenario from-log``: a recorded session becomes a scenario that passes against the CSMS it was
recorded with and fails against one that answers differently."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import yaml

from ocppemu.compliance.replay import LogError, read_jsonl, scenario_from_frames, to_yaml
from ocppemu.config.app import AppConfig
from ocppemu.scenarios import run_scenario
from ocppemu.scenarios.loader import loads
from ocppemu.store.base import MessageFilter
from ocppemu.workbench import Workbench
from ocppemu.workbench.interface import ActionRequest
from tests.peers.ocpp_csms import PeerCsms

TAG = "OCPPEMU-REPLAY-TAG"


def _config() -> AppConfig:
    return AppConfig.model_validate({"application": {"batch_insert_interval": 0.05, "state_sync_interval": 0.05}})


async def _record(db: Path, peer: PeerCsms, version: str) -> None:
    async with Workbench(f"sqlite:///{db}", config=_config()) as wb:
        await wb.create_station({"station_id": "REC-1", "csms_url": peer.url, "protocol_version": version,
                                 "auto_start": True})
        for _ in range(200):
            if (await wb.get_station("REC-1")).runtime.registration_status == "Accepted":
                break
            await asyncio.sleep(0.05)
        assert (await wb.station_action("REC-1", ActionRequest(action="start_transaction", id_tag=TAG))).ok
        await peer.wait_for("REC-1", "StartTransaction" if version == "1.6" else "TransactionEvent")
        await asyncio.sleep(0.5)
        assert (await wb.station_action("REC-1", ActionRequest(action="stop_transaction"))).ok
        await peer.wait_for("REC-1", "StopTransaction" if version == "1.6" else "TransactionEvent", count=1)
        await asyncio.sleep(0.5)
        await wb.stop_station("REC-1")


async def _frames(db: Path) -> list[dict[str, object]]:
    async with Workbench(f"sqlite:///{db}", config=_config()) as wb:
        return [{"direction": m.record.direction, "raw": m.record.raw,
                 "protocol_version": m.record.protocol_version}
                async for m in wb.repo.iter_messages(MessageFilter(station_id="REC-1"))]


async def _replay(tmp_path: Path, scenario: Path, peer: PeerCsms, version: str) -> str:
    async with Workbench(f"sqlite:///{tmp_path / 'replay.db'}", config=_config()) as wb:
        report = await run_scenario(wb, scenario, csms_url=peer.url, ocpp=version, response_timeout=10)
    return report.verdict


async def test_record_convert_and_replay(tmp_path: Path) -> None:
    for version in ("1.6", "2.0.1"):
        db = tmp_path / f"rec-{version}.db"
        peer = await PeerCsms().start()
        try:
            await _record(db, peer, version)
        finally:
            await peer.stop()
        doc = scenario_from_frames(await _frames(db), name="incident-42", version=version)
        sends = [s["send"]["action"] for s in doc["steps"] if isinstance(s, dict) and "send" in s]
        assert ("StartTransaction" if version == "1.6" else "TransactionEvent") in sends
        assert doc["steps"][0] == "connect"
        path = tmp_path / f"incident-{version}.yaml"
        path.write_text(to_yaml(doc, "test"), encoding="utf-8")
        loads(path.read_text(encoding="utf-8"), str(path), ocpp=version)  # a valid scenario file

        same = await PeerCsms().start()
        try:
            assert await _replay(tmp_path, path, same, version) == "passed"
        finally:
            await same.stop()
        other = await PeerCsms().start()
        other.behaviour.tag_statuses = {TAG: "Blocked"}  # this CSMS answers the same card differently
        try:
            assert await _replay(tmp_path, path, other, version) == "failed"
        finally:
            await other.stop()


def test_csms_exported_trace_and_the_cli(tmp_path: Path) -> None:
    trace = [  # as a CSMS exports a charger's trace: "in" is what the CSMS received
        {"direction": "in",
         "message": [2, "1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]},
        {"direction": "out", "message": [3, "1", {"status": "Accepted", "interval": 300,
                                                  "currentTime": "2026-01-01T00:00:00Z"}]},
        {"direction": "in", "message": json.dumps([2, "2", "Authorize", {"idTag": "ABC"}])},
        {"direction": "out", "message": [3, "2", {"idTagInfo": {"status": "Accepted"}}]},
        {"direction": "out", "message": [2, "c1", "GetConfiguration", {"key": ["HeartbeatInterval"]}]},
        {"direction": "in", "message": [3, "c1", {"configurationKey": []}]},
        {"direction": "in", "message": [2, "3", "Heartbeat", {}]},
        {"direction": "out", "message": [4, "3", "InternalError", "oops", {}]},
    ]
    log = tmp_path / "trace.jsonl"
    log.write_text("\n".join(json.dumps(t) for t in trace) + "\n", encoding="utf-8")
    out = tmp_path / "s.yaml"
    run = subprocess.run([sys.executable, "-m", "ocppemu", "scenario", "from-log", str(log), "--ocpp", "1.6",
                          "--perspective", "csms", "--name", "field-trace", "-o", str(out)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    doc = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert doc["steps"][:2] == ["connect", {"boot": {"expect": "Accepted", "timeout": 60}}]
    authorize = doc["steps"][2]["send"]
    assert authorize["action"] == "Authorize"
    assert {"path": "$.idTagInfo.status", "equals": "Accepted"} in authorize["assert"]
    assert doc["steps"][3]["expect_call"]["answer"] == {"payload": {"configurationKey": []}}
    assert doc["steps"][4]["send"] == {"action": "Heartbeat", "payload": {}, "expect": "error",
                                       "error_code": "InternalError"}
    loads(out.read_text(encoding="utf-8"), str(out), ocpp="1.6")
    bad = subprocess.run([sys.executable, "-m", "ocppemu", "scenario", "from-log", str(log)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--ocpp" in bad.stderr


def test_unreadable_logs_are_one_sentence() -> None:
    try:
        read_jsonl('{"a": 1}\nnot json\n')
    except LogError as exc:
        assert str(exc).startswith("line 2:")
    else:
        raise AssertionError("expected a LogError")
    try:
        scenario_from_frames([{"direction": "sideways", "raw": [2, "1", "Heartbeat", {}]}], name="x", version="1.6")
    except LogError as exc:
        assert "line 1" in str(exc)
    else:
        raise AssertionError("expected a LogError")
