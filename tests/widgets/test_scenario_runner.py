"""The scenario runner widget drives the scenario engine: live step status per station, pause / resume / stop,
a failing step fails that station only, stored runs reopen."""

from __future__ import annotations

from ocppemu.widgets.scenario_runner import FROM_TEXT, ScenarioRunner
from ocppemu.workbench.interface import WorkbenchAPI

from .conftest import eventually

SESSION = """
version: 1
name: widget-session
stations: [{id: "F-${index}", count: 2}]
steps:
  - connect
  - boot: Accepted
  - plug_in
  - authorize: {expect: Accepted}
  - charge: {duration: %s}
  - stop
  - unplug
"""


async def test_a_charging_session_runs_on_two_stations_with_live_step_status(wb: WorkbenchAPI) -> None:
    r = ScenarioRunner(wb, poll_interval=0.05)
    await r.tasks.idle()
    assert "charging-session" in r.scenario.options and r.scenario.value == "charging-session"
    assert "Plug in, authorize, charge, stop, unplug" in r.description.value
    r.scenario.value = FROM_TEXT
    r.text.value = SESSION % 1
    r.run_button.click()
    await eventually(lambda: r.report is not None and "▶ running" in r.board.value, what="a running step")
    await r.tasks.idle(timeout=60)
    assert r.report is not None and r.report.state == "finished", r.board.value
    assert "run <b class='run-state'>finished</b>" in r.board.value
    assert r.report.verdict == "passed", r.board.value
    assert [s.status for s in r.report.steps] == ["passed"] * 14
    txs = (await wb.transactions()).transactions
    assert {t.station_id for t in txs} == {"F-1", "F-2"} and all(t.status != "active" for t in txs)
    # the run is stored and reopens from the list
    await r.tasks.idle()
    assert r.report.run_id in [v for _, v in r.history.options]
    r.board.value = ""
    r.show_run(r.report.run_id)
    await r.tasks.idle()
    assert "widget-session" in r.board.value
    await r.close()


async def test_pause_resume_and_stop(wb: WorkbenchAPI) -> None:
    r = ScenarioRunner(wb, poll_interval=0.05)
    await r.tasks.idle()
    r.scenario.value = FROM_TEXT
    r.text.value = SESSION.replace("count: 2", "count: 1") % 30
    r.run_button.click()
    await eventually(lambda: r.report is not None and any(s.kind == "charge" and s.status == "running"
                                                          for s in r.report.steps), timeout=30, what="charging")
    r.pause_button.click()
    await eventually(lambda: r.report is not None and r.report.state == "paused", what="paused")
    r.resume_button.click()
    await eventually(lambda: r.report is not None and r.report.state == "running", what="running again")
    r.stop_button.click()
    await r.tasks.idle(timeout=60)
    assert r.report is not None and r.report.verdict == "stopped"
    assert r.report.steps[-1].status == "stopped"
    txs = (await wb.transactions()).transactions
    assert txs and all(t.status != "active" for t in txs)  # stopping ended the transaction it started
    await r.close()


async def test_a_failing_step_fails_that_station_only(wb: WorkbenchAPI) -> None:
    r = ScenarioRunner(wb, poll_interval=0.05)
    await r.tasks.idle()
    r.scenario.value = FROM_TEXT
    r.text.value = """
version: 1
name: widget-failing
stations: [{id: F-4}, {id: F-5}]
steps:
  - connect
  - stop: {on: F-4}
  - boot: Accepted
"""
    r.run_button.click()
    await r.tasks.idle(timeout=60)
    assert r.report is not None and r.report.verdict == "failed"
    by = {(s.key, s.station_id): s for s in r.report.steps}
    assert by[("2", "F-4")].status == "failed" and "no transaction" in by[("2", "F-4")].message
    assert by[("3", "F-4")].status == "skipped" and by[("3", "F-5")].status == "passed"
    await r.close()


async def test_a_bad_file_is_reported_not_run(wb: WorkbenchAPI) -> None:
    r = ScenarioRunner(wb)
    await r.tasks.idle()
    r.scenario.value = FROM_TEXT
    r.text.value = "version: 1\nname: x\nsteps: [plug_inn]\n"
    r.run_button.click()
    await r.tasks.idle()
    assert r.report is None
    assert "unknown step" in r.tasks.status.value and "plug_inn" in r.tasks.status.value
