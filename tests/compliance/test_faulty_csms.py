"""Each fault of the deliberately faulty CSMS is caught as its own compliance finding, on a real connection."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ocppemu.config.app import AppConfig
from ocppemu.scenarios import run_scenario
from ocppemu.workbench import Workbench
from ocppemu.workbench.interface import SendMessageRequest
from tests.peers.faulty_csms import started, wait_until

EXPECTED = {
    "missing-field": "schema.response",
    "wrong-type": "schema.response",
    "wrong-message-id": "rpc.unknown-message-id",
    "no-response": "rpc.response-timeout",
    "bad-error-code": "rpc.error-code",
    "drop-connection": "connection.dropped",
    "call-before-boot": "boot.call-before-accepted",
}


def _config() -> AppConfig:
    return AppConfig.model_validate({"application": {"batch_insert_interval": 0.05, "debug_mode": True}})


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
@pytest.mark.parametrize("fault", sorted(EXPECTED))
async def test_fault_is_a_finding(tmp_path: Path, fault: str, version: str) -> None:
    csms = await started(fault)
    try:
        async with Workbench(f"sqlite:///{tmp_path / 'w.db'}", config=_config()) as wb:
            await wb.create_station({"station_id": "F1", "csms_url": csms.url, "protocol_version": version,
                                     "auto_start": True,
                                     "simulation": {"compliance_checks": True, "call_timeout": 1.0}})

            async def accepted() -> bool:
                return (await wb.get_station("F1")).runtime.registration_status == "Accepted"

            await wait_until(accepted)
            if fault != "call-before-boot":
                await wb.send_message("F1", SendMessageRequest(action="Heartbeat", payload={}, timeout=1.5))
            if fault == "no-response":
                wb.compliance.flush(time.time())

            async def found() -> bool:
                return any(f.rule == EXPECTED[fault] for f in (await wb.findings("F1")).items)

            await wait_until(found)
            finding = next(f for f in (await wb.findings("F1")).items if f.rule == EXPECTED[fault])
            assert finding.station_id == "F1" and finding.protocol_version == version
            assert finding.reference and finding.severity in ("error", "warning")
            if fault != "drop-connection":
                assert finding.frame and finding.message_id
            errors = await wb.findings("F1", severity="error")
            assert all(f.severity == "error" for f in errors.items)
    finally:
        await csms.stop()


async def test_checks_are_off_unless_the_station_setting_asks(tmp_path: Path) -> None:
    csms = await started("missing-field")
    try:
        async with Workbench(f"sqlite:///{tmp_path / 'w.db'}", config=_config()) as wb:
            await wb.create_station({"station_id": "F2", "csms_url": csms.url, "auto_start": True})

            async def accepted() -> bool:
                return (await wb.get_station("F2")).runtime.registration_status == "Accepted"

            await wait_until(accepted)
            result = await wb.send_message("F2", SendMessageRequest(action="Heartbeat", payload={}, timeout=1.5))
            assert result.validation_error  # the engine still sees the bad answer ...
            await asyncio.sleep(0.2)
            assert (await wb.findings()).items == []  # ... but no compliance finding is kept
    finally:
        await csms.stop()


FILES = Path(__file__).parent / "files"


def _serve_in_thread(fault: str | None) -> tuple[Any, Any, Any]:
    loop = asyncio.new_event_loop()
    csms = loop.run_until_complete(started(fault))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    return loop, thread, csms


def _stop_thread(loop: Any, thread: Any, csms: Any) -> None:
    asyncio.run_coroutine_threadsafe(csms.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_ocppemu_run_exits_1_with_the_finding(tmp_path: Path, fault: str) -> None:
    loop, thread, csms = _serve_in_thread(fault)
    try:
        report = tmp_path / "r.json"
        run = subprocess.run([sys.executable, "-m", "ocppemu", "run", str(FILES / "heartbeat.yaml"), "--csms",
                              csms.url, "--ocpp", "1.6", "--response-timeout", "1", "--json", str(report),
                              "--quiet", "--store", f"sqlite:///{tmp_path / 'runs.db'}"],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 1, run.stdout + run.stderr
        doc = json.loads(report.read_text())
        findings = doc["runs"][0]["findings"]
        rules = {f["rule"] for f in findings}
        assert EXPECTED[fault] in rules, rules
        hit = next(f for f in findings if f["rule"] == EXPECTED[fault])
        assert hit["reference"]
    finally:
        _stop_thread(loop, thread, csms)


def test_ocppemu_run_exits_0_against_a_well_behaved_csms(tmp_path: Path) -> None:
    loop, thread, csms = _serve_in_thread(None)
    try:
        report = tmp_path / "r.json"
        run = subprocess.run([sys.executable, "-m", "ocppemu", "run", str(FILES / "heartbeat.yaml"), "--csms",
                              csms.url, "--ocpp", "2.0.1", "--response-timeout", "1", "--json", str(report),
                              "--quiet", "--store", f"sqlite:///{tmp_path / 'runs.db'}"],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        assert json.loads(report.read_text())["runs"][0]["findings"] == []
    finally:
        _stop_thread(loop, thread, csms)


async def test_inspector_shows_findings_beside_their_frames(tmp_path: Path) -> None:
    from ocppemu.widgets.message_inspector import MessageInspector

    csms = await started("wrong-type")
    try:
        async with Workbench(f"sqlite:///{tmp_path / 'w.db'}", config=_config()) as wb:
            await wb.create_station({"station_id": "F3", "csms_url": csms.url, "auto_start": True,
                                     "simulation": {"compliance_checks": True}})

            async def accepted() -> bool:
                return (await wb.get_station("F3")).runtime.registration_status == "Accepted"

            await wait_until(accepted)
            await wb.send_message("F3", SendMessageRequest(action="Heartbeat", payload={}, timeout=1.5))
            ins = MessageInspector(wb, max_rows=50, redraw_interval=0.05)
            try:
                await ins.tasks.idle()
                answer = next(m for m in ins.feed if m.action == "Heartbeat" and m.message_type == "CallResult")
                await ins._detail(answer)
                assert "schema.response" in ins.detail.value and "4.2.2" in ins.detail.value
                boot = next(m for m in ins.feed if m.action == "BootNotification")
                await ins._detail(boot)
                assert "ocppemu-finding" not in ins.detail.value
            finally:
                await ins.close()
    finally:
        await csms.stop()


async def test_fuzz_step_reports_the_fuzzer_findings(tmp_path: Path) -> None:
    for fault, verdict in ((None, "passed"), ("lenient", "failed")):
        csms = await started(fault)
        try:
            async with Workbench(f"sqlite:///{tmp_path / f'fz-{fault}.db'}", config=_config()) as wb:
                report = await run_scenario(wb, FILES / "fuzz.yaml", csms_url=csms.url, ocpp="2.0.1")
        finally:
            await csms.stop()
        assert report.verdict == verdict, [s.message for s in report.steps]
        fuzz = next(s for s in report.steps if "frames (seed" in (s.message or ""))
        assert "15 frames (seed 4)" in fuzz.message
        if fault == "lenient":
            assert any(f.rule == "fuzz.accepted-invalid" for f in report.findings)
            assert csms.connections >= 2  # the station's own connection and the fuzzer's
