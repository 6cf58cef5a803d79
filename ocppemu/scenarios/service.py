"""Scenario runs of a workbench as a service: start, follow, pause, resume, stop, list and report.

The REST API and the scenario dashboard use it. Live runs are kept in memory; finished ones are read back from
the store's ``scenario_runs``. A scenario is given by the name of a library scenario or as the text of a file
(never as a path on the daemon's machine).
"""

from __future__ import annotations

import asyncio
import re
import weakref
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ocppemu.scenarios.library import entries, find
from ocppemu.scenarios.loader import ScenarioError, load, loads
from ocppemu.scenarios.reports import to_html, to_json, to_junit
from ocppemu.scenarios.results import RunReport, RunState, Verdict
from ocppemu.scenarios.runner import ScenarioRun
from ocppemu.workbench.interface import Conflict, InvalidRequest, NotFound

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartRunRequest(_Model):
    """A run to start: ``scenario`` (a library name) or ``text`` (a scenario file's content), and the run's
    overrides (as ``ocppemu run``'s options)."""

    scenario: str | None = Field(default=None, max_length=200, description="Name of a predefined scenario")
    text: str | None = Field(default=None, max_length=1_000_000, description="A scenario file's content (YAML)")
    csms_url: str | None = Field(default=None, description="Default: the workbench's csms.default_url")
    ocpp: str | None = None
    stations: int | None = Field(default=None, ge=1, le=100000)
    seed: int | None = None
    response_timeout: float | None = Field(default=None, gt=0, le=3600)


class RunSummary(_Model):
    run_id: str
    scenario: str
    state: RunState
    verdict: Verdict | None
    started_at: float | None
    finished_at: float | None
    counts: dict[str, int]
    total_steps: int
    stations: int


class RunList(_Model):
    runs: list[RunSummary]


class LibraryScenario(_Model):
    name: str
    versions: list[str]
    oca: list[str]
    description: str
    problem: str | None = None


class LibraryList(_Model):
    scenarios: list[LibraryScenario]


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    format: Literal["json", "junit", "html"] = "json"


class ReportText(_Model):
    run_id: str
    format: Literal["json", "junit", "html"]
    content: str


def _summary(r: RunReport) -> RunSummary:
    return RunSummary(run_id=r.run_id, scenario=r.scenario, state=r.state, verdict=r.verdict,
                      started_at=r.started_at, finished_at=r.finished_at, counts=r.counts(),
                      total_steps=r.total_steps, stations=len(r.stations))


class ScenarioService:
    """The runs of one workbench (see the module doc)."""

    def __init__(self, wb: Any) -> None:
        self.wb = wb
        self.live: dict[str, ScenarioRun] = {}

    async def start(self, req: StartRunRequest) -> RunReport:
        if (req.scenario is None) == (req.text is None):
            raise InvalidRequest("give either 'scenario' (a predefined name) or 'text' (a scenario file)")
        options: dict[str, Any] = {"ocpp": req.ocpp, "stations": req.stations,
                                   "csms_url": req.csms_url or self.wb.app.csms.default_url,
                                   "max_stations": self.wb.max_stations}
        try:
            if req.text is not None:
                scenario = loads(req.text, "<request>", **options)
            else:
                name = req.scenario or ""
                found = find(name) if NAME.fullmatch(name) else None
                if found is None:
                    raise NotFound(f"no predefined scenario {req.scenario!r} (see GET /api/scenarios)")
                path = found
                scenario = load(path, **options)
        except ScenarioError as exc:
            raise InvalidRequest("; ".join(str(p) for p in exc.problems[:20])) from None
        busy = {p.station_id for run in self.live.values() if run.report.state != "finished"
                for p in run.scenario.stations}
        clash = sorted(busy & {p.station_id for p in scenario.stations})
        if clash:
            raise Conflict(f"stations {', '.join(clash[:5])} are in a running scenario run")
        run = ScenarioRun(self.wb, scenario, seed=req.seed, response_timeout=req.response_timeout)
        await run.prepare()
        self.live[run.run_id] = run
        run.start()
        await asyncio.sleep(0)
        return run.report

    async def library(self) -> LibraryList:
        return LibraryList(scenarios=[LibraryScenario(name=e.name, versions=e.versions, oca=e.oca,
                                                      description=e.description, problem=e.problem)
                                      for e in entries()])

    async def get(self, run_id: str) -> RunReport:
        run = self.live.get(run_id)
        if run is not None:
            return run.report
        doc = await self.wb.repo.get_scenario_run(run_id)
        if doc is None:
            raise NotFound(f"no scenario run {run_id!r}")
        fields = set(RunReport.model_fields)
        return RunReport.model_validate({k: v for k, v in doc.items() if k in fields} | {"run_id": run_id})

    def _live(self, run_id: str) -> ScenarioRun:
        run = self.live.get(run_id)
        if run is None or run.report.state == "finished":
            raise Conflict(f"scenario run {run_id!r} is not running")
        return run

    async def stop(self, run_id: str) -> RunReport:
        run = self._live(run_id)
        run.stop()
        if run._task is not None:
            await asyncio.wait({run._task}, timeout=30)
        return run.report

    async def pause(self, run_id: str) -> RunReport:
        run = self._live(run_id)
        run.pause()
        return run.report

    async def resume(self, run_id: str) -> RunReport:
        run = self._live(run_id)
        run.resume()
        return run.report

    async def list(self, limit: int = 100) -> RunList:
        out = [_summary(r.report) for r in self.live.values()]
        seen = {s.run_id for s in out}
        fields = set(RunReport.model_fields)
        for doc in await self.wb.repo.list_scenario_runs(limit=limit):
            rid = str(doc.get("id"))
            if rid in seen:
                continue
            try:
                out.append(_summary(RunReport.model_validate(
                    {k: v for k, v in doc.items() if k in fields} | {"run_id": rid})))
            except ValueError:
                continue
        out.sort(key=lambda s: s.started_at or 0, reverse=True)
        return RunList(runs=out[:limit])

    async def report(self, run_id: str, fmt: Literal["json", "junit", "html"]) -> ReportText:
        r = await self.get(run_id)
        render = {"json": to_json, "junit": to_junit, "html": to_html}[fmt]
        return ReportText(run_id=run_id, format=fmt, content=render([r]))


_SERVICES: weakref.WeakKeyDictionary[Any, ScenarioService] = weakref.WeakKeyDictionary()


def service_for(wb: Any) -> ScenarioService:
    """The scenario service of ``wb`` (one per workbench, made on first use)."""
    svc = _SERVICES.get(wb)
    if svc is None:
        svc = _SERVICES[wb] = ScenarioService(wb)
    return svc
