"""Scenario runs through the daemon's REST API (start, status, pause/resume, stop, report, list), with the remote
client the dashboards use, against the independent test CSMS."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ocppemu.scenarios.remote import scenario_runs
from ocppemu.scenarios.results import RunReport
from ocppemu.scenarios.service import StartRunRequest
from ocppemu.workbench.client import RemoteWorkbench
from ocppemu.workbench.interface import InvalidRequest, NotFound
from tests.api.daemon import Daemon
from tests.peers.fixtures import PeerFactory

SESSION = """
version: 1
name: api-session
stations: [{id: "API-${index}", count: 2}]
steps: [connect, boot, plug_in, {authorize: {expect: Accepted}}, {charge: {duration: %s}}, stop, unplug]
"""


async def _finished(runs: object, run_id: str) -> RunReport:
    for _ in range(600):
        report: RunReport = await runs.get(run_id)  # type: ignore[attr-defined]
        if report.state == "finished":
            return report
        await asyncio.sleep(0.1)
    pytest.fail("the run did not finish")


async def test_runs_through_the_rest_api(tmp_path: Path, peer_csms: PeerFactory) -> None:
    peer = await peer_csms(versions=("1.6",))
    daemon = await Daemon(f"sqlite:///{tmp_path / 'wb.db'}", tmp_path / "data",
                          env={"OCPPEMU_CSMS_DEFAULT_URL": peer.url}).start()
    try:
        client = RemoteWorkbench(daemon.url)
        runs = scenario_runs(client)
        names = [s.name for s in (await runs.library()).scenarios]
        assert "charging-session" in names
        started = await runs.start(StartRunRequest(text=SESSION % 1, seed=2))
        assert started.state in ("ready", "running") and started.total_steps == 14
        report = await _finished(runs, started.run_id)
        assert report.verdict == "passed", [(s.key, s.station_id, s.message) for s in report.steps]
        junit = await runs.report(started.run_id, "junit")
        assert junit.content.count("<testcase ") == 14
        html = await runs.report(started.run_id, "html")
        assert "api-session" in html.content
        listed = await runs.list()
        assert [r.run_id for r in listed.runs] == [started.run_id] and listed.runs[0].verdict == "passed"
        # a long run: pause, resume and stop; the transactions it started are ended
        long = await runs.start(StartRunRequest(text=SESSION.replace("count: 2", "count: 1") % 300))
        for _ in range(300):
            if any(s.kind == "charge" and s.status == "running" for s in (await runs.get(long.run_id)).steps):
                break
            await asyncio.sleep(0.1)
        assert (await runs.pause(long.run_id)).state == "paused"
        assert (await runs.resume(long.run_id)).state == "running"
        stopped = await runs.stop(long.run_id)
        assert stopped.verdict == "stopped"
        stops = await peer.wait_for("API-1", "StopTransaction", count=2, timeout=30)
        assert stops[-1].payload["reason"] == "Other"
        with pytest.raises(InvalidRequest, match="unknown step"):
            await runs.start(StartRunRequest(text="version: 1\nname: x\nsteps: [plug_inn]\n"))
        with pytest.raises(NotFound):
            await runs.start(StartRunRequest(scenario="../../etc/passwd"))
        with pytest.raises(NotFound):
            await runs.get("no-such-run")
        await client.close()
    finally:
        assert await daemon.stop() == 0
    assert peer.errors == []
