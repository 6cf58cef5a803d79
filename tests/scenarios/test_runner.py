"""The scenario runner end to end against the independent test CSMS (third-party ``ocpp`` package, strict)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ocppemu.config.app import AppConfig
from ocppemu.scenarios.loader import load
from ocppemu.scenarios.results import RunReport, StepResult
from ocppemu.scenarios.runner import ScenarioRun, run_scenario
from ocppemu.workbench import Workbench
from tests.peers.fixtures import PeerFactory

FILES = Path(__file__).parent / "files"
CONFIG = AppConfig.model_validate({"application": {"batch_insert_interval": 0.05}})


def _csms_calls(version: str) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    if version == "1.6":
        return ("GetConfiguration", {}), ("Reset", {"type": "Soft"})
    return (("GetVariables", {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"},
                                                   "variable": {"name": "HeartbeatInterval"}}]}),
            ("Reset", {"type": "OnIdle"}))


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
async def test_a_session_scenario_passes_against_the_independent_csms(tmp_path: Path, peer_csms: PeerFactory,
                                                                      version: str) -> None:
    peer = await peer_csms(versions=(version,))
    answers: dict[str, Any] = {}
    tasks: list[asyncio.Task[None]] = []

    async def csms_acts(station_id: str) -> None:
        first, second = _csms_calls(version)
        await peer.call(station_id, *first)
        answers[station_id] = await peer.call(station_id, *second)

    def on_step(report: RunReport, step: StepResult | None) -> None:
        if step is not None and step.title == "raw heartbeat" and step.status == "passed":
            tasks.append(asyncio.ensure_future(csms_acts(step.station_id)))

    async with Workbench(f"sqlite:///{tmp_path / 'w.db'}", config=CONFIG) as wb:
        report = await run_scenario(wb, FILES / "session.yaml", csms_url=peer.url, ocpp=version, seed=3,
                                    listener=on_step)
        await asyncio.gather(*tasks)
        failed = [(s.key, s.station_id, s.message) for s in report.steps if s.status != "passed"]
        assert failed == []
        assert report.verdict == "passed" and report.exit_code() == 0
        assert report.findings == []
        per_station = 15 if version == "1.6" else 14
        assert len(report.steps) == report.total_steps == 2 * per_station
        assert {s.station_id for s in report.steps} == {"S-1", "S-2"}
        assert [s.key for s in report.steps if s.station_id == "S-1"][-2:] == ["14.1.1", "14.2.1"]
        assert answers == {"S-1": {"status": "Rejected"}, "S-2": {"status": "Rejected"}}
        assert {x.action for x in report.latency} >= {"BootNotification", "Heartbeat", "Authorize"}
        assert all(x.p50_ms is not None and x.p50_ms >= 0 for x in report.latency if x.count)
        # the run is stored, and its stations are gone from the workbench
        runs = await wb.repo.list_scenario_runs("test-session")
        assert [r["verdict"] for r in runs] == ["passed"] and len(runs[0]["steps"]) == 2 * per_station
        assert (await wb.list_stations()).stations == []
    # the only thing the strict CSMS objected to is the unknown action the scenario sent on purpose
    assert {(e.action, e.code) for e in peer.errors} <= {("NoSuchAction", "NotSupported"),
                                                         ("NoSuchAction", "NotImplemented")}


async def test_a_refused_tag_fails_the_step_and_skips_the_rest(tmp_path: Path, peer_csms: PeerFactory) -> None:
    peer = await peer_csms(versions=("1.6",))
    peer.behaviour.accepted_tags = {"TAG-OK"}
    async with Workbench(f"sqlite:///{tmp_path / 'w.db'}", config=CONFIG) as wb:
        report = await run_scenario(wb, FILES / "failing.yaml", csms_url=peer.url)
    statuses = [(s.kind, s.status) for s in report.steps]
    assert statuses == [("connect", "passed"), ("boot", "passed"), ("authorize", "failed"), ("send", "skipped")]
    bad = report.steps[2]
    assert bad.rule == "expect" and bad.action == "Authorize" and "'Invalid', expected Accepted" in bad.message
    assert bad.line == 8
    assert report.verdict == "failed" and report.exit_code() == 1


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_stopping_a_run_ends_the_transactions_it_started(tmp_path: Path, peer_csms: PeerFactory,
                                                              version: str) -> None:
    peer = await peer_csms(versions=(version,))
    async with Workbench(f"sqlite:///{tmp_path / 'w.db'}", config=CONFIG) as wb:
        scenario = load(FILES / "long-session.yaml", ocpp=version, csms_url=peer.url)
        run = ScenarioRun(wb, scenario)
        events: list[str] = []
        run.listeners.append(lambda r, s: events.append(r.state))
        task = run.start()
        if version == "1.6":
            await peer.wait_for("L-1", "StartTransaction")
        else:
            await peer.wait_for("L-1", "TransactionEvent", where=lambda m: m.payload["eventType"] == "Started")
        for _ in range(200):
            if any(s.kind == "charge" and s.status == "running" for s in run.report.steps):
                break
            await asyncio.sleep(0.05)
        run.pause()
        assert run.report.state == "paused"
        run.resume()
        run.stop()
        report = await task
        assert report.verdict == "stopped" and report.exit_code() == 1
        assert [s.status for s in report.steps][-1] == "stopped"
        assert "paused" in events and events[-1] == "finished"
        if version == "1.6":
            assert (await peer.wait_for("L-1", "StopTransaction"))[0].payload["reason"] == "Other"
        else:
            ended = await peer.wait_for("L-1", "TransactionEvent", where=lambda m: m.payload["eventType"] == "Ended")
            assert ended[0].payload["transactionInfo"]["stoppedReason"] == "Other"
    assert peer.errors == []
