"""The typed interface of a workbench, satisfied by the in-process engine and by the HTTP client of a daemon.

:class:`WorkbenchAPI` lists the methods (all async) and the pydantic models they return; the REST API uses the
same models for its bodies and its OpenAPI document, so the three cannot drift apart. Errors are the
:class:`WorkbenchError` subclasses below on both sides (the client maps HTTP status codes back to them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

# -- errors --------------------------------------------------------------------------------------------------------


class WorkbenchError(Exception):
    """A request the workbench refused; ``status`` is the HTTP status used by the API."""

    status: ClassVar[int] = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(WorkbenchError):
    status = 422


class NotFound(WorkbenchError):
    status = 404


class Conflict(WorkbenchError):
    status = 409


class Unauthorized(WorkbenchError):
    status = 401


ERRORS: dict[int, type[WorkbenchError]] = {400: WorkbenchError, 401: Unauthorized, 403: Unauthorized,
                                           404: NotFound, 409: Conflict, 422: InvalidRequest}


# -- models --------------------------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Model):
    """Every 4xx answer of the API."""

    error: str = Field(description="What was wrong, in a sentence")
    status: int


class StationRuntime(_Model):
    """Live state of a station, as synced to the store."""

    running: bool
    state: str = Field(description="stopped, connecting, connected, waiting or offline")
    connection_status: str
    registration_status: str
    last_heartbeat: str | None = None
    last_error: str | None = None
    active_transactions: dict[str, str] = Field(default_factory=dict)
    energy_register_wh: dict[str, float] = Field(default_factory=dict)
    queued_messages: int = 0
    auto_transactions: dict[str, Any] | None = Field(default=None, description="The automatic transaction "
                                                     "generator: phase per connector and counters; None when off")
    frames_dropped: int = Field(default=0, description="Frames of this station the message log lost (hard limit "
                                "of the recording buffer reached); 0 in normal operation")


class StationView(_Model):
    """A station: its configuration (secrets masked unless asked for), runtime state and live snapshot."""

    station_id: str
    config: dict[str, Any]
    runtime: StationRuntime
    snapshot: dict[str, Any] = Field(default_factory=dict)


class StationList(_Model):
    stations: list[StationView]
    max_stations: int


class Deleted(_Model):
    station_id: str
    deleted: bool


class CloneRequest(_Model):
    station_id: str = Field(min_length=1, max_length=48, description="Id of the new station")
    overrides: dict[str, Any] = Field(default_factory=dict)


class FromTemplateRequest(_Model):
    station_id: str = Field(min_length=1, max_length=48)
    overrides: dict[str, Any] = Field(default_factory=dict)


class TemplateView(_Model):
    name: str
    builtin: bool
    description: str = ""
    station: dict[str, Any]


class TemplateList(_Model):
    templates: list[TemplateView]


class TemplateCreate(_Model):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    station: dict[str, Any]


class TemplateUpdate(_Model):
    """A new description and station document for an existing user template (its name stays)."""

    description: str = ""
    station: dict[str, Any]


class TemplateDeleted(_Model):
    name: str
    deleted: bool


class ImportRequest(_Model):
    """Stations to import; an export of ``/api/stations/export`` imports back as it is."""

    format: Literal["ocppemu-stations"] | None = None
    version: int | None = Field(default=None, ge=1, le=1)
    stations: list[Any] = Field(description="Station objects, as in an export's 'stations'")
    replace: bool = False
    dry_run: bool = False


class ImportRejection(_Model):
    index: int | None
    station_id: str | None
    reason: str


class ImportResult(_Model):
    accepted: list[str]
    rejected: list[ImportRejection]
    dry_run: bool


class StationsExport(_Model):
    format: Literal["ocppemu-stations"] = "ocppemu-stations"
    version: int = 1
    stations: list[dict[str, Any]]


ActionName = Literal["plug_in", "unplug", "authorize", "present_tag", "start_transaction", "stop_transaction",
                     "suspend", "resume", "fault", "clear_fault", "recover", "set_connector_status", "power_loss",
                     "disconnect_network", "auto_transactions"]


class ActionRequest(_Model):
    """A user action on a station (see :class:`ocppemu.station.actions.StationActions`). Which fields matter
    depends on ``action``: ``connector_id`` (the EVSE id in 2.x) for all but ``disconnect_network`` (which uses
    ``seconds``) and ``power_loss``; ``id_tag`` for authorize / present_tag / start_transaction; ``reason`` for
    stop_transaction; ``by`` (EV or EVSE) for suspend; ``error_code`` for fault (unknown codes are refused);
    ``status`` (and ``error_code``) for set_connector_status; ``enabled`` and ``settings`` (fields of the station's
    ``auto_transactions`` section) for auto_transactions, which turns the automatic transaction generator on or off
    or re-tunes it. ``start_transaction`` on a connector that is already charging is refused; ``authorize`` /
    ``present_tag`` is the swipe whose second time stops the session (the answer's ``data.stopped`` says so).
    ``recover`` is ``clear_fault``."""

    action: ActionName
    connector_id: int = Field(default=1, ge=0, le=1000)
    id_tag: str | None = Field(default=None, max_length=36)
    reason: str = Field(default="Local", max_length=50)
    by: Literal["EV", "EVSE"] = "EV"
    error_code: str = Field(default="OtherError", max_length=50)
    status: str | None = Field(default=None, max_length=50)
    seconds: float = Field(default=10.0, ge=0, le=86400)
    enabled: bool | None = None
    settings: dict[str, Any] | None = None


class ActionResponse(_Model):
    ok: bool
    error: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class SendMessageRequest(_Model):
    """A crafted message from a station. ``mode='validated'`` sends CALL ``action`` with ``payload`` after a
    schema check; ``mode='raw'`` writes ``raw`` as it is (any text, even not JSON) to test the CSMS's robustness."""

    mode: Literal["validated", "raw"] = "validated"
    action: str | None = Field(default=None, max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict)
    raw: str | None = Field(default=None, max_length=1_000_000)
    timeout: float = Field(default=10.0, gt=0, le=300)


class SendMessageResult(_Model):
    message_id: str | None
    sent: str = Field(description="The text written to the connection")
    outcome: Literal["result", "error", "timeout", "no_response"]
    response: Any = None
    error_code: str | None = None
    error_description: str | None = None
    response_raw: str | None = None
    rtt_ms: float | None = None
    validation_error: str | None = None


class MessageOut(_Model):
    id: str
    timestamp: str
    station_id: str
    direction: str
    message_type: str
    message_id: str | None = None
    action: str | None = None
    protocol_version: str
    payload: Any = None
    raw: str
    correlation_id: str | None = None
    error_code: str | None = None
    error_description: str | None = None
    validation_error: str | None = None
    rtt_ms: float | None = None
    seq: int = 0


class MessagePage(_Model):
    items: list[MessageOut]
    next_cursor: str | None


class MessageQuery(_Model):
    station_id: str | None = None
    action: str | None = None
    direction: Literal["sent", "received"] | None = None
    message_type: str | None = None
    since: str | None = Field(default=None, description="ISO 8601, inclusive")
    until: str | None = Field(default=None, description="ISO 8601, exclusive")
    correlation_id: str | None = None
    text: str | None = None
    limit: int = Field(default=100, ge=1, le=10000)
    cursor: str | None = None


class TransactionOut(_Model):
    station_id: str
    transaction_id: str
    connector_id: int
    id_tag: str | None
    start_timestamp: str
    meter_start: float
    protocol_version: str
    evse_id: int | None = None
    stop_timestamp: str | None = None
    meter_stop: float | None = None
    energy_consumed: float | None = None
    reason: str | None = None
    status: str
    created_at: str
    updated_at: str


class TransactionList(_Model):
    transactions: list[TransactionOut]


class MeterSampleOut(_Model):
    timestamp: str
    station_id: str
    connector_id: int
    transaction_id: str | None
    measurand: str
    value: float
    unit: str
    context: str
    phase: str | None = None
    location: str
    format: str


class MeterValueList(_Model):
    samples: list[MeterSampleOut]


class ActionStatOut(_Model):
    action: str
    count: int
    errors: int
    mean_rtt_ms: float | None
    p95_rtt_ms: float | None


class Stats(_Model):
    station_id: str | None
    messages: int
    actions: list[ActionStatOut]
    transactions: int
    energy_wh: float


class SystemStatus(_Model):
    version: str
    uptime_s: float
    store: dict[str, Any]
    stations: int
    running_stations: int
    connected_stations: int
    open_connections: int = Field(description="Station connections to CSMSs plus API stream clients")
    stream_clients: int
    memory_rss_bytes: int | None
    events_published: int
    events_dropped: int
    max_stations: int
    config: dict[str, Any] = Field(default_factory=dict,
                                   description="The running application configuration, secrets masked")


class WorkbenchEvent(_Model):
    seq: int
    cursor: str
    kind: str
    station_id: str | None
    timestamp: float
    data: dict[str, Any]


class FindingOut(_Model):
    """A compliance finding: the CSMS departed from the specification (see ``docs/COMPLIANCE.md``)."""

    timestamp: str
    station_id: str
    protocol_version: str
    rule: str
    severity: Literal["error", "warning", "info"]
    reference: str
    description: str
    action: str | None = None
    message_id: str | None = None
    frame: str = ""
    seq: int | None = None


class FindingList(_Model):
    items: list[FindingOut]
    counts: dict[str, int] = Field(default_factory=dict, description="Findings per severity (of those listed)")


ExportFormat = Literal["jsonl", "csv", "text"]


@runtime_checkable
class WorkbenchAPI(Protocol):
    """What notebooks, widgets, scripts and tests use; :class:`~ocppemu.workbench.Workbench` (in-process) and
    :class:`~ocppemu.workbench.client.RemoteWorkbench` (a daemon) both implement it."""

    async def list_stations(self, include_secrets: bool = False) -> StationList: ...
    async def get_station(self, station_id: str, include_secrets: bool = False) -> StationView: ...
    async def create_station(self, config: dict[str, Any]) -> StationView: ...
    async def update_station(self, station_id: str, config: dict[str, Any]) -> StationView: ...
    async def delete_station(self, station_id: str) -> Deleted: ...
    async def start_station(self, station_id: str) -> StationView: ...
    async def stop_station(self, station_id: str) -> StationView: ...
    async def reset_station(self, station_id: str) -> StationView: ...
    async def clone_station(self, station_id: str, request: CloneRequest) -> StationView: ...
    async def import_stations(self, request: ImportRequest) -> ImportResult: ...
    async def export_stations(self, include_secrets: bool = False) -> StationsExport: ...
    async def list_templates(self) -> TemplateList: ...
    async def save_template(self, template: TemplateCreate) -> TemplateView: ...
    async def update_template(self, name: str, template: TemplateUpdate) -> TemplateView: ...
    async def delete_template(self, name: str) -> TemplateDeleted: ...
    async def create_from_template(self, name: str, request: FromTemplateRequest) -> StationView: ...
    async def station_action(self, station_id: str, request: ActionRequest) -> ActionResponse: ...
    async def send_message(self, station_id: str, request: SendMessageRequest) -> SendMessageResult: ...
    async def query_messages(self, query: MessageQuery) -> MessagePage: ...
    def export_messages(self, query: MessageQuery, fmt: ExportFormat = "jsonl") -> AsyncIterator[str]: ...
    async def transactions(self, station_id: str | None = None, status: str | None = None) -> TransactionList: ...
    async def meter_values(self, station_id: str, transaction_id: str | None = None,
                           measurand: str | None = None) -> MeterValueList: ...
    async def stats(self, station_id: str | None = None) -> Stats: ...
    async def status(self) -> SystemStatus: ...
    async def findings(self, station_id: str | None = None, severity: str | None = None,
                       rule: str | None = None, limit: int = 1000) -> FindingList: ...
    def events(self, stations: list[str] | None = None, kinds: list[str] | None = None,
               cursor: str | None = None) -> AsyncIterator[WorkbenchEvent]: ...
    async def close(self) -> None: ...
