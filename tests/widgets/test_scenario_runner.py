from __future__ import annotations

import asyncio

from ocppemu.widgets.flows import FlowRun, predefined_flows
from ocppemu.widgets.scenario_runner import ScenarioRunner
from ocppemu.workbench.interface import WorkbenchAPI

from .conftest import eventually


async def test_a_charging_session_runs_on_two_stations_with_live_step_status(wb: WorkbenchAPI) -> None:
    await wb.create_station({"station_id": "F-1"})
    await wb.create_station({"station_id": "F-2"})
    r = ScenarioRunner(wb, charge_s=1.0)
    await r.tasks.idle()
    r.flow.value = "charging-session"
    r.stations.value = ("F-1", "F-2")
    r.run_button.click()
    await eventually(lambda: r.run is not None and "running" in r.board.value, what="a running step")
    await r.tasks.idle(timeout=60)
    assert r.run is not None and r.run.state == "done", r.board.value
    assert "run <b class='run-state'>done</b>" in r.board.value
    assert all(s == "ok" for p in r.run.progress.values() for s in p.statuses)
    txs = (await wb.transactions()).transactions
    assert {t.station_id for t in txs} == {"F-1", "F-2"} and all(t.status != "active" for t in txs)


async def test_pause_resume_and_stop(wb: WorkbenchAPI) -> None:
    await wb.create_station({"station_id": "F-3"})
    changes: list[str] = []
    run = FlowRun(wb, predefined_flows(charge_s=30)["charging-session"], ["F-3"],
                  on_change=lambda r: changes.append(r.state))
    task = asyncio.create_task(run.run())
    await eventually(lambda: run.progress["F-3"].current == 4, timeout=30, what="charging step")
    run.pause()
    assert run.state == "paused"
    run.resume()
    assert run.state == "running"
    run.stop()
    assert await task == "stopped"
    assert run.progress["F-3"].statuses[-1] == "stopped"
    assert "paused" in changes
    await wb.station_action("F-3", __import__("ocppemu.workbench.interface").workbench.interface.ActionRequest(action="stop_transaction"))


async def test_a_failing_step_fails_that_station_only(wb: WorkbenchAPI) -> None:
    await wb.create_station({"station_id": "F-4", "enabled": False})
    run = FlowRun(wb, predefined_flows(charge_s=0.1)["charging-session"], ["F-4"])
    assert await run.run() == "failed"
    p = run.progress["F-4"]
    assert p.statuses[0] == "failed" and "disabled" in p.notes[0] and p.statuses[1] == "stopped"
