"""The REST routes: one table used both by the Tornado handlers and by the OpenAPI document.

Each :class:`Route` names its body model, query model and response model (from :mod:`ocppemu.workbench.interface`)
and how it calls the workbench, so what is documented is exactly what is validated and returned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ocppemu.config.station import StationConfig
from ocppemu.workbench.interface import (
    ActionRequest,
    ActionResponse,
    CloneRequest,
    Deleted,
    FindingList,
    FromTemplateRequest,
    ImportRequest,
    ImportResult,
    MessagePage,
    MessageQuery,
    MeterValueList,
    SendMessageRequest,
    SendMessageResult,
    StationList,
    StationsExport,
    StationView,
    Stats,
    SystemStatus,
    TemplateCreate,
    TemplateDeleted,
    TemplateList,
    TemplateUpdate,
    TemplateView,
    TransactionList,
    WorkbenchAPI,
)


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SecretsQuery(_Query):
    include_secrets: bool = Field(default=False, description="Return passwords and keys (needs the API token)")


class TransactionsQuery(_Query):
    station_id: str | None = None
    status: Literal["active", "completed", "failed"] | None = None


class MeterQuery(_Query):
    transaction_id: str | None = None
    measurand: str | None = None


class StatsQuery(_Query):
    station_id: str | None = None


class FindingsQuery(_Query):
    station_id: str | None = None
    severity: Literal["error", "warning", "info"] | None = Field(
        default=None, description="Keep this severity and the more serious ones")
    rule: str | None = Field(default=None, description="A rule id or family, e.g. rpc.response-timeout or rpc")
    limit: int = Field(default=1000, ge=1, le=10_000)


class MessagesQuery(MessageQuery):
    model_config = ConfigDict(extra="ignore")


class ExportQuery(MessageQuery):
    model_config = ConfigDict(extra="ignore")
    format: Literal["jsonl", "csv", "text"] = "jsonl"


Call = Callable[[WorkbenchAPI, dict[str, str], Any, Any], Awaitable[Any]]

EXPORT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv", "text": "text/plain"}


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    operation: str
    summary: str
    call: Call
    response: type[BaseModel] | None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    secrets: bool = False

    @property
    def pattern(self) -> str:
        """The Tornado URL pattern (``{name}`` becomes a named group of one path segment)."""
        import re

        return "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path) + "$"


def _sid(p: dict[str, str]) -> str:
    return p["station_id"]


ROUTES: list[Route] = [
    Route("GET", "/api/status", "status", "System status: store health, connections, memory, uptime, version",
          lambda wb, p, b, q: wb.status(), SystemStatus),
    Route("GET", "/api/stations", "list_stations", "List all stations with their runtime state",
          lambda wb, p, b, q: wb.list_stations(q.include_secrets), StationList, query=SecretsQuery, secrets=True),
    Route("POST", "/api/stations", "create_station", "Create a station (started at once if enabled and auto_start)",
          lambda wb, p, b, q: wb.create_station(b), StationView, body=StationConfig, status=201),
    Route("GET", "/api/stations/export", "export_stations", "Export all station configurations as JSON",
          lambda wb, p, b, q: wb.export_stations(q.include_secrets), StationsExport, query=SecretsQuery,
          secrets=True),
    Route("POST", "/api/stations/import", "import_stations", "Import stations (validated before anything is written)",
          lambda wb, p, b, q: wb.import_stations(b), ImportResult, body=ImportRequest),
    Route("GET", "/api/stations/templates", "list_templates", "Built-in and user station templates",
          lambda wb, p, b, q: wb.list_templates(), TemplateList),
    Route("POST", "/api/stations/templates", "save_template", "Create or replace a user template",
          lambda wb, p, b, q: wb.save_template(b), TemplateView, body=TemplateCreate, status=201),
    Route("PUT", "/api/stations/templates/{name}", "update_template",
          "Replace a user template's description and station (built-in templates answer 409)",
          lambda wb, p, b, q: wb.update_template(p["name"], b), TemplateView, body=TemplateUpdate),
    Route("DELETE", "/api/stations/templates/{name}", "delete_template",
          "Delete a user template (built-in templates answer 409)",
          lambda wb, p, b, q: wb.delete_template(p["name"]), TemplateDeleted),
    Route("POST", "/api/stations/templates/{name}", "create_from_template",
          "Create a station from a template, with overrides",
          lambda wb, p, b, q: wb.create_from_template(p["name"], b), StationView, body=FromTemplateRequest,
          status=201),
    Route("GET", "/api/stations/{station_id}", "get_station", "A station's configuration, runtime state and snapshot",
          lambda wb, p, b, q: wb.get_station(_sid(p), q.include_secrets), StationView, query=SecretsQuery,
          secrets=True),
    Route("PUT", "/api/stations/{station_id}", "update_station",
          "Replace a station's configuration (a running station reconnects or restarts as needed; masked secrets "
          "keep their stored value)",
          lambda wb, p, b, q: wb.update_station(_sid(p), b), StationView, body=StationConfig),
    Route("DELETE", "/api/stations/{station_id}", "delete_station", "Stop and delete a station",
          lambda wb, p, b, q: wb.delete_station(_sid(p)), Deleted),
    Route("PATCH", "/api/stations/{station_id}/start", "start_station", "Start (connect) a station",
          lambda wb, p, b, q: wb.start_station(_sid(p)), StationView),
    Route("PATCH", "/api/stations/{station_id}/stop", "stop_station", "Stop (disconnect) a station",
          lambda wb, p, b, q: wb.stop_station(_sid(p)), StationView),
    Route("POST", "/api/stations/{station_id}/reset", "reset_station",
          "Reset the station's engine state (registers kept)",
          lambda wb, p, b, q: wb.reset_station(_sid(p)), StationView),
    Route("POST", "/api/stations/{station_id}/clone", "clone_station", "Clone a station under a new id",
          lambda wb, p, b, q: wb.clone_station(_sid(p), b), StationView, body=CloneRequest, status=201),
    Route("POST", "/api/stations/{station_id}/actions", "station_action",
          "A user action: plug in, authorize, start/stop transaction, fault, set status, disconnect network",
          lambda wb, p, b, q: wb.station_action(_sid(p), b), ActionResponse, body=ActionRequest),
    Route("POST", "/api/stations/{station_id}/messages", "send_message",
          "Send a crafted message (validated, or raw) and get its response, CallError or time-out",
          lambda wb, p, b, q: wb.send_message(_sid(p), b), SendMessageResult, body=SendMessageRequest),
    Route("GET", "/api/stations/{station_id}/meter-values", "meter_values", "Meter samples of a station",
          lambda wb, p, b, q: wb.meter_values(_sid(p), q.transaction_id, q.measurand), MeterValueList,
          query=MeterQuery),
    Route("GET", "/api/messages", "query_messages", "Messages, newest first, filtered, with cursor pagination",
          lambda wb, p, b, q: wb.query_messages(MessageQuery.model_validate(q.model_dump())), MessagePage,
          query=MessagesQuery),
    Route("GET", "/api/messages/export", "export_messages", "Export messages (JSON lines, CSV or text), streamed",
          lambda wb, p, b, q: _no_call(), None, query=ExportQuery),
    Route("GET", "/api/transactions", "transactions", "Transactions, newest first",
          lambda wb, p, b, q: wb.transactions(q.station_id, q.status), TransactionList, query=TransactionsQuery),
    Route("GET", "/api/findings", "findings", "Compliance findings against the CSMS, oldest first",
          lambda wb, p, b, q: wb.findings(q.station_id, q.severity, q.rule, q.limit), FindingList,
          query=FindingsQuery),
    Route("GET", "/api/stats", "stats", "Message statistics per action, transactions and energy",
          lambda wb, p, b, q: wb.stats(q.station_id), Stats, query=StatsQuery),
]


def _runs(wb: WorkbenchAPI) -> Any:
    from ocppemu.scenarios.service import service_for

    return service_for(wb)


def _scenario_routes() -> list[Route]:
    from ocppemu.scenarios.results import RunReport
    from ocppemu.scenarios.service import LibraryList, ReportQuery, ReportText, RunList, StartRunRequest

    return [
        Route("GET", "/api/scenarios", "list_scenarios", "The predefined scenarios: name, versions, OCA test ids",
              lambda wb, p, b, q: _runs(wb).library(), LibraryList),
        Route("POST", "/api/scenario-runs", "start_scenario_run",
              "Start a scenario run (a predefined name or a file's text); returns the live report",
              lambda wb, p, b, q: _runs(wb).start(b), RunReport, body=StartRunRequest, status=201),
        Route("GET", "/api/scenario-runs", "list_scenario_runs", "Scenario runs, live and stored, newest first",
              lambda wb, p, b, q: _runs(wb).list(), RunList),
        Route("GET", "/api/scenario-runs/{run_id}", "get_scenario_run",
              "A run's status and report: steps with timings, findings, latency, verdict",
              lambda wb, p, b, q: _runs(wb).get(p["run_id"]), RunReport),
        Route("POST", "/api/scenario-runs/{run_id}/stop", "stop_scenario_run",
              "Stop a run (its transactions are stopped, its stations stopped and removed)",
              lambda wb, p, b, q: _runs(wb).stop(p["run_id"]), RunReport),
        Route("POST", "/api/scenario-runs/{run_id}/pause", "pause_scenario_run", "Pause a run at the next step",
              lambda wb, p, b, q: _runs(wb).pause(p["run_id"]), RunReport),
        Route("POST", "/api/scenario-runs/{run_id}/resume", "resume_scenario_run", "Resume a paused run",
              lambda wb, p, b, q: _runs(wb).resume(p["run_id"]), RunReport),
        Route("GET", "/api/scenario-runs/{run_id}/report", "scenario_run_report",
              "A run's report as JSON, JUnit XML or HTML text",
              lambda wb, p, b, q: _runs(wb).report(p["run_id"], q.format), ReportText, query=ReportQuery),
    ]


ROUTES += _scenario_routes()


async def _no_call() -> None:  # the export route is served by a streaming handler
    return None
