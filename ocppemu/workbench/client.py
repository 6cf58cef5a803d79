"""The HTTP/WebSocket client of a workbench daemon: :class:`RemoteWorkbench` implements
:class:`~ocppemu.workbench.interface.WorkbenchAPI` with the same methods and models as the in-process
:class:`~ocppemu.workbench.Workbench`, and raises the same ``WorkbenchError`` subclasses (mapped from HTTP status).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import orjson
from pydantic import BaseModel
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from tornado.websocket import websocket_connect

from ocppemu.workbench.interface import (
    ERRORS,
    ActionRequest,
    ActionResponse,
    CloneRequest,
    Deleted,
    ExportFormat,
    FindingList,
    FromTemplateRequest,
    ImportRequest,
    ImportResult,
    InvalidRequest,
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
    WorkbenchError,
    WorkbenchEvent,
)

M = TypeVar("M", bound=BaseModel)


def _q(params: dict[str, Any]) -> str:
    clean = {k: ("true" if v is True else "false" if v is False else v) for k, v in params.items()
             if v is not None and v != ""}
    return ("?" + urlencode(clean)) if clean else ""


def _error(code: int, body: bytes) -> WorkbenchError:
    try:
        message = str(orjson.loads(body)["error"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        message = body.decode("utf-8", "replace")[:500] or f"HTTP {code}"
    return ERRORS.get(code, WorkbenchError)(message)


class RemoteWorkbench:
    """A workbench daemon at ``url`` (``http://host:8080``); ``token`` is sent as a bearer header."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._http = AsyncHTTPClient()

    def _headers(self) -> dict[str, str]:
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        return h

    async def api(self, method: str, path: str, model: type[M], body: Any = None,
                  query: dict[str, Any] | None = None) -> M:
        """Call any route of the daemon (``path`` from ``/api``) and parse its answer as ``model``; errors are the
        :class:`WorkbenchError` subclasses. For clients of routes this class has no method for (scenario runs)."""
        return await self._call(method, path, model, body, query)

    async def _call(self, method: str, path: str, model: type[M], body: Any = None,
                    query: dict[str, Any] | None = None) -> M:
        payload: bytes | None = None
        headers = self._headers()
        if body is not None:
            data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
            payload = orjson.dumps(data)
            headers["Content-Type"] = "application/json"
        elif method in ("POST", "PUT", "PATCH"):
            payload = b""
        req = HTTPRequest(self.url + path + _q(query or {}), method=method, headers=headers, body=payload,
                          request_timeout=self.timeout)
        try:
            resp: HTTPResponse = await self._http.fetch(req)
        except HTTPClientError as exc:
            if exc.response is None:
                raise
            raise _error(exc.code, exc.response.body) from None
        return model.model_validate_json(resp.body)

    @staticmethod
    def _p(station_id: str) -> str:
        return quote(station_id, safe="")

    # -- stations --------------------------------------------------------------------------------------------------

    async def list_stations(self, include_secrets: bool = False) -> StationList:
        return await self._call("GET", "/api/stations", StationList, query={"include_secrets": include_secrets})

    async def get_station(self, station_id: str, include_secrets: bool = False) -> StationView:
        return await self._call("GET", f"/api/stations/{self._p(station_id)}", StationView,
                                query={"include_secrets": include_secrets})

    async def create_station(self, config: dict[str, Any]) -> StationView:
        return await self._call("POST", "/api/stations", StationView, config)

    async def update_station(self, station_id: str, config: dict[str, Any]) -> StationView:
        return await self._call("PUT", f"/api/stations/{self._p(station_id)}", StationView, config)

    async def delete_station(self, station_id: str) -> Deleted:
        return await self._call("DELETE", f"/api/stations/{self._p(station_id)}", Deleted)

    async def start_station(self, station_id: str) -> StationView:
        return await self._call("PATCH", f"/api/stations/{self._p(station_id)}/start", StationView)

    async def stop_station(self, station_id: str) -> StationView:
        return await self._call("PATCH", f"/api/stations/{self._p(station_id)}/stop", StationView)

    async def reset_station(self, station_id: str) -> StationView:
        return await self._call("POST", f"/api/stations/{self._p(station_id)}/reset", StationView)

    async def clone_station(self, station_id: str, request: CloneRequest) -> StationView:
        return await self._call("POST", f"/api/stations/{self._p(station_id)}/clone", StationView, request)

    async def import_stations(self, request: ImportRequest) -> ImportResult:
        return await self._call("POST", "/api/stations/import", ImportResult, request)

    async def export_stations(self, include_secrets: bool = False) -> StationsExport:
        return await self._call("GET", "/api/stations/export", StationsExport,
                                query={"include_secrets": include_secrets})

    async def list_templates(self) -> TemplateList:
        return await self._call("GET", "/api/stations/templates", TemplateList)

    async def save_template(self, template: TemplateCreate) -> TemplateView:
        return await self._call("POST", "/api/stations/templates", TemplateView, template)

    async def update_template(self, name: str, template: TemplateUpdate) -> TemplateView:
        return await self._call("PUT", f"/api/stations/templates/{self._p(name)}", TemplateView, template)

    async def delete_template(self, name: str) -> TemplateDeleted:
        return await self._call("DELETE", f"/api/stations/templates/{self._p(name)}", TemplateDeleted)

    async def create_from_template(self, name: str, request: FromTemplateRequest) -> StationView:
        return await self._call("POST", f"/api/stations/templates/{self._p(name)}", StationView, request)

    async def station_action(self, station_id: str, request: ActionRequest) -> ActionResponse:
        return await self._call("POST", f"/api/stations/{self._p(station_id)}/actions", ActionResponse, request)

    async def send_message(self, station_id: str, request: SendMessageRequest) -> SendMessageResult:
        return await self._call("POST", f"/api/stations/{self._p(station_id)}/messages", SendMessageResult, request)

    # -- history ---------------------------------------------------------------------------------------------------

    async def query_messages(self, query: MessageQuery) -> MessagePage:
        return await self._call("GET", "/api/messages", MessagePage, query=query.model_dump())

    async def export_messages(self, query: MessageQuery, fmt: ExportFormat = "jsonl") -> AsyncIterator[str]:
        """The export as it streams in (chunks split anywhere: join them before parsing lines); raises a
        ``WorkbenchError`` if the daemon refuses it."""
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        status: list[int] = []
        error = bytearray()

        def on_header(line: str) -> None:
            if line.startswith("HTTP/"):
                status[:] = [int(line.split()[1])]

        def on_chunk(data: bytes) -> None:
            if status and status[0] >= 400:
                error.extend(data)
            else:
                chunks.put_nowait(data)

        url = self.url + "/api/messages/export" + _q({**query.model_dump(), "format": fmt})
        req = HTTPRequest(url, headers=self._headers(), request_timeout=self.timeout * 10,
                          header_callback=on_header, streaming_callback=on_chunk)

        async def run() -> None:
            try:
                await self._http.fetch(req, raise_error=False)
            finally:
                chunks.put_nowait(None)

        task = asyncio.create_task(run())
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        try:
            while (data := await chunks.get()) is not None:
                text = decoder.decode(data)
                if text:
                    yield text
            await task
            if status and status[0] >= 400:
                raise _error(status[0], bytes(error))
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def transactions(self, station_id: str | None = None, status: str | None = None) -> TransactionList:
        return await self._call("GET", "/api/transactions", TransactionList,
                                query={"station_id": station_id, "status": status})

    async def meter_values(self, station_id: str, transaction_id: str | None = None,
                           measurand: str | None = None) -> MeterValueList:
        return await self._call("GET", f"/api/stations/{self._p(station_id)}/meter-values", MeterValueList,
                                query={"transaction_id": transaction_id, "measurand": measurand})

    async def findings(self, station_id: str | None = None, severity: str | None = None,
                       rule: str | None = None, limit: int = 1000) -> FindingList:
        return await self._call("GET", "/api/findings", FindingList, query={
            "station_id": station_id, "severity": severity, "rule": rule, "limit": limit})

    async def stats(self, station_id: str | None = None) -> Stats:
        return await self._call("GET", "/api/stats", Stats, query={"station_id": station_id})

    async def status(self) -> SystemStatus:
        return await self._call("GET", "/api/status", SystemStatus)

    async def events(self, stations: list[str] | None = None, kinds: list[str] | None = None,
                     cursor: str | None = None) -> AsyncIterator[WorkbenchEvent]:
        """Live events over ``/api/stream`` until the caller stops iterating or the daemon closes it."""
        ws_url = "ws" + self.url[4:] if self.url.startswith("http") else self.url
        query = _q({"stations": ",".join(stations) if stations else None,
                    "kinds": ",".join(kinds) if kinds else None, "cursor": cursor})
        req = HTTPRequest(ws_url + "/api/stream" + query, headers=self._headers())
        try:
            conn = await websocket_connect(req)
        except HTTPClientError as exc:
            raise _error(exc.code, exc.response.body if exc.response else b"") from None
        try:
            while True:
                msg = await conn.read_message()
                if msg is None:
                    return
                doc = orjson.loads(msg)
                if doc.get("kind") == "error" and "seq" not in doc:
                    raise InvalidRequest(str(doc.get("data", {}).get("error")))
                yield WorkbenchEvent.model_validate(doc)
        finally:
            conn.close()

    async def close(self) -> None:
        """Nothing to release (the HTTP client is shared per event loop); present for the interface."""
