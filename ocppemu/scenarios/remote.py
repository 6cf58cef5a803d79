"""Scenario runs of a workbench daemon, through its REST API, with the same methods as the in-process
:class:`~ocppemu.scenarios.service.ScenarioService`; :func:`scenario_runs` picks the right one for a workbench."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from ocppemu.scenarios.results import RunReport
from ocppemu.scenarios.service import LibraryList, ReportText, RunList, StartRunRequest, service_for


class ScenarioRuns(Protocol):
    async def library(self) -> LibraryList: ...
    async def start(self, req: StartRunRequest) -> RunReport: ...
    async def get(self, run_id: str) -> RunReport: ...
    async def pause(self, run_id: str) -> RunReport: ...
    async def resume(self, run_id: str) -> RunReport: ...
    async def stop(self, run_id: str) -> RunReport: ...
    async def list(self, limit: int = 100) -> RunList: ...
    async def report(self, run_id: str, fmt: Literal["json", "junit", "html"]) -> ReportText: ...


class RemoteScenarioRuns:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def library(self) -> LibraryList:
        result: LibraryList = await self.client.api("GET", "/api/scenarios", LibraryList)
        return result

    async def start(self, req: StartRunRequest) -> RunReport:
        result: RunReport = await self.client.api("POST", "/api/scenario-runs", RunReport, body=req)
        return result

    async def get(self, run_id: str) -> RunReport:
        result: RunReport = await self.client.api("GET", f"/api/scenario-runs/{run_id}", RunReport)
        return result

    async def _post(self, run_id: str, what: str) -> RunReport:
        result: RunReport = await self.client.api("POST", f"/api/scenario-runs/{run_id}/{what}", RunReport)
        return result

    async def pause(self, run_id: str) -> RunReport:
        return await self._post(run_id, "pause")

    async def resume(self, run_id: str) -> RunReport:
        return await self._post(run_id, "resume")

    async def stop(self, run_id: str) -> RunReport:
        return await self._post(run_id, "stop")

    async def list(self, limit: int = 100) -> RunList:
        result: RunList = await self.client.api("GET", "/api/scenario-runs", RunList)
        return result

    async def report(self, run_id: str, fmt: Literal["json", "junit", "html"]) -> ReportText:
        result: ReportText = await self.client.api("GET", f"/api/scenario-runs/{run_id}/report", ReportText,
                                                   query={"format": fmt})
        return result


def scenario_runs(wb: Any) -> ScenarioRuns:
    """The scenario runs of ``wb``: in-process for a :class:`~ocppemu.workbench.Workbench`, over REST for a
    :class:`~ocppemu.workbench.client.RemoteWorkbench`."""
    from ocppemu.workbench.client import RemoteWorkbench

    if isinstance(wb, RemoteWorkbench):
        return RemoteScenarioRuns(wb)
    return service_for(wb)
