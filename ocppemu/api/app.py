"""The Tornado application of the daemon: REST handlers built from the route table, the export stream, the
WebSocket event stream and the OpenAPI document.

Every 4xx answer is an :class:`~ocppemu.workbench.interface.ErrorBody`. When a token is required, every request needs
``Authorization: Bearer <token>`` (the WebSocket also accepts ``?token=``); ``include_secrets=true`` always needs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
import tornado.httputil
import tornado.web
import tornado.websocket
from pydantic import BaseModel, ValidationError

from ocppemu.api.auth import bearer_matches
from ocppemu.api.guard import Guard
from ocppemu.api.openapi import build_openapi
from ocppemu.api.routes import EXPORT_TYPES, ROUTES, ExportQuery, Route
from ocppemu.config.station import StationConfig
from ocppemu.workbench import Workbench
from ocppemu.workbench.events import Subscription
from ocppemu.workbench.interface import ErrorBody, InvalidRequest, MessageQuery, Unauthorized, WorkbenchError
from ocppemu.workbench.views import explain

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(slots=True)
class ApiContext:
    workbench: Workbench
    token: str
    require_token: bool
    guard: Guard = field(default_factory=Guard)


class _Forbidden(WorkbenchError):
    status = 403


class _TooLarge(WorkbenchError):
    status = 413


def check_request(ctx: ApiContext, request: tornado.httputil.HTTPServerRequest) -> WorkbenchError | None:
    """Host, Origin, body type and size of a request (see :mod:`ocppemu.api.guard`)."""
    headers = request.headers
    problem = ctx.guard.host_problem(headers.get("Host")) or ctx.guard.origin_problem(
        headers.get("Origin"), headers.get("Host"))
    if problem:
        return _Forbidden(problem)
    length = headers.get("Content-Length")
    if (length and length.isdigit() and int(length) > MAX_BODY_BYTES) or len(request.body or b"") > MAX_BODY_BYTES:
        return _TooLarge(f"the request body is larger than the API's limit of {MAX_BODY_BYTES // (1024 * 1024)} MB")
    problem = Guard.content_type_problem(request.method or "", headers.get("Content-Type"), request.body or b"")
    return InvalidRequest(problem) if problem else None


class _Base(tornado.web.RequestHandler):
    ctx: ApiContext

    def initialize(self, ctx: ApiContext, **_: Any) -> None:
        self.ctx = ctx

    def authenticated(self) -> bool:
        return bearer_matches(self.request.headers.get("Authorization"), self.ctx.token)

    def prepare(self) -> None:
        refused = check_request(self.ctx, self.request)
        if refused is not None:
            raise _Refused(refused)
        if self.ctx.require_token and not self.authenticated():
            raise _Refused(Unauthorized("this API needs 'Authorization: Bearer <token>' (see the api-token file "
                                        "in the data directory)"))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if not isinstance(value, _Refused):  # a refusal is an answer, not a failure of the daemon
            super().log_exception(typ, value, tb)

    def fail(self, exc: WorkbenchError) -> None:
        self.clear()
        self.set_status(exc.status)
        self.set_header("Content-Type", "application/json")
        if exc.status == 401:
            self.set_header("WWW-Authenticate", 'Bearer realm="ocppemu"')
        self.finish(ErrorBody(error=exc.message, status=exc.status).model_dump_json())

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, _Refused):
            self.fail(exc.error)
            return
        reason = self._reason if status_code < 500 else "internal error (see the daemon's log)"
        self.set_header("Content-Type", "application/json")
        self.finish(ErrorBody(error=reason, status=status_code).model_dump_json())

    def send_json(self, model: BaseModel, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(model.model_dump_json())

    def query_model(self, model: type[BaseModel]) -> Any:
        raw = {name: self.get_query_argument(name) for name in model.model_fields
               if self.get_query_argument(name, None) is not None}
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            raise _Refused(InvalidRequest(explain(exc, "query parameter "))) from None

    def body_json(self) -> Any:
        if not self.request.body:
            raise _Refused(InvalidRequest("a JSON request body is required"))
        try:
            data = orjson.loads(self.request.body)
            orjson.dumps(data)  # refuses text that is not valid Unicode (lone surrogates) before it goes further
        except orjson.JSONDecodeError as exc:
            raise _Refused(WorkbenchError(f"request body is not valid JSON: {exc}")) from None
        except orjson.JSONEncodeError as exc:
            raise _Refused(InvalidRequest(f"request body holds invalid Unicode text: {exc}")) from None
        return data

    def check_secrets(self, query: Any) -> None:
        if getattr(query, "include_secrets", False) and not self.authenticated():
            raise _Refused(Unauthorized("include_secrets=true needs the API token (Authorization: Bearer ...)"))


class _Refused(Exception):
    def __init__(self, error: WorkbenchError) -> None:
        super().__init__(error.message)
        self.error = error


class RouteHandler(_Base):
    """Serves the routes of one path, one per HTTP method."""

    routes: dict[str, Route]

    def initialize(self, ctx: ApiContext, **kwargs: Any) -> None:
        self.ctx = ctx
        self.routes = kwargs["routes"]

    async def _serve(self, **path: str) -> None:
        route = self.routes.get(self.request.method or "")
        if route is None:
            self.set_header("Allow", ", ".join(sorted(self.routes)))
            self.fail(_MethodNotAllowed(f"{self.request.method} is not allowed here; use {', '.join(self.routes)}"))
            return
        try:
            query: Any = self.query_model(route.query) if route.query is not None else None
            self.check_secrets(query)
            body: Any = None
            if route.body is not None:
                data = self.body_json()
                if not isinstance(data, dict):
                    raise _Refused(InvalidRequest("the request body must be a JSON object"))
                if route.body is StationConfig:
                    body = data  # validated by the workbench (csms defaults applied, secrets unmasked)
                else:
                    try:
                        body = route.body.model_validate(data)
                    except ValidationError as exc:
                        raise _Refused(InvalidRequest(explain(exc))) from None
            if route.response is None:
                await self._export(query)  # the export route always has its ExportQuery
                return
            result = await route.call(self.ctx.workbench, path, body, query)
        except _Refused as exc:
            self.fail(exc.error)
            return
        except WorkbenchError as exc:
            self.fail(exc)
            return
        self.send_json(result, route.status)

    async def _export(self, query: ExportQuery) -> None:
        q = MessageQuery.model_validate(query.model_dump(exclude={"format"}))
        chunks = self.ctx.workbench.export_messages(q, query.format)
        try:
            first = await anext(chunks, "")
        except WorkbenchError as exc:
            self.fail(exc)
            return
        ext = {"jsonl": "jsonl", "csv": "csv", "text": "txt"}[query.format]
        self.set_header("Content-Type", f"{EXPORT_TYPES[query.format]}; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="messages.{ext}"')
        self.write(first)
        await self.flush()
        async for chunk in chunks:
            self.write(chunk)
            await self.flush()
        self.finish()

    get = post = put = patch = delete = _serve


class _MethodNotAllowed(WorkbenchError):
    status = 405


class OpenApiHandler(_Base):
    def prepare(self) -> None:  # the document is public (but Host and Origin are still checked)
        refused = check_request(self.ctx, self.request)
        if refused is not None:
            raise _Refused(refused)

    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps(self.application.settings["openapi"]))


class StreamHandler(tornado.websocket.WebSocketHandler):
    """``/api/stream?stations=A,B&kinds=frame,event&cursor=N``: one JSON text message per event.

    A slow client never slows the stations: its events wait in its own bounded queue and the oldest are dropped
    (each event's ``seq`` shows gaps). Resume after a reconnect by passing the last ``cursor`` seen.
    """

    ctx: ApiContext

    def initialize(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    def check_origin(self, origin: str) -> bool:
        return self.ctx.guard.origin_problem(origin, self.request.headers.get("Host")) is None

    def prepare(self) -> None:
        problem = self.ctx.guard.host_problem(self.request.headers.get("Host"))
        if problem:
            raise tornado.web.HTTPError(403, reason="Host not allowed")
        token = self.get_query_argument("token", None)
        ok = bearer_matches(self.request.headers.get("Authorization"), self.ctx.token) or (
            token is not None and bearer_matches(f"Bearer {token}", self.ctx.token))
        if self.ctx.require_token and not ok:
            raise tornado.web.HTTPError(401, reason="API token required")

    def _list(self, name: str) -> list[str] | None:
        text = self.get_query_argument(name, None)
        return [p for p in text.split(",") if p] if text else None

    async def open(self, *args: str, **kwargs: str) -> None:
        try:
            self._sub = self.ctx.workbench.bus.subscribe(self._list("stations"), self._list("kinds"),
                                                         cursor=self.get_query_argument("cursor", None))
        except ValueError as exc:
            await self.write_message(orjson.dumps({"kind": "error", "data": {"error": str(exc)}}).decode())
            self.close(1008, str(exc)[:120])
            return
        self._task = asyncio.create_task(self._pump(self._sub))

    async def _pump(self, sub: Subscription) -> None:
        with contextlib.suppress(tornado.websocket.WebSocketClosedError, asyncio.CancelledError):
            async for event in sub:
                await self.write_message(orjson.dumps(event.to_doc()).decode())

    def on_message(self, message: str | bytes) -> None:
        pass  # the stream is one-way; filters are chosen when connecting

    def on_close(self) -> None:
        if self._sub is not None:
            self._sub.close()
        if self._task is not None:
            self._task.cancel()


def make_app(ctx: ApiContext, *, server_url: str | None = None) -> tornado.web.Application:
    """The Tornado application serving the API of ``ctx.workbench``."""
    by_path: dict[str, dict[str, Route]] = defaultdict(dict)
    for r in ROUTES:
        by_path[r.pattern][r.method] = r
    handlers: list[Any] = [
        (r"^/api/openapi\.json$", OpenApiHandler, {"ctx": ctx}),
        (r"^/api/stream$", StreamHandler, {"ctx": ctx}),
    ]
    handlers += [(pattern, RouteHandler, {"ctx": ctx, "routes": routes}) for pattern, routes in by_path.items()]
    return tornado.web.Application(handlers, openapi=build_openapi(server_url), default_handler_class=_NotFound,
                                   default_handler_args={"ctx": ctx})


class _NotFound(_Base):
    def prepare(self) -> None:
        raise _Refused(_PathNotFound(f"no such endpoint: {self.request.method} {self.request.path}"))


class _PathNotFound(WorkbenchError):
    status = 404
