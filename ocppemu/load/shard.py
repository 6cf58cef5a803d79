"""The shard: the engine-neutral unit of a load run, a workbench that owns a range of station ids.

A :class:`Shard` is a thin wrapper around a :class:`~ocppemu.workbench.Workbench` with its own store. It adds
stations in bulk at a ramp (``add_stations``), summarises itself (``summary``: counts, recording, mergeable
metrics) and answers every :class:`~ocppemu.interface.WorkbenchAPI` method by name with JSON-ready data
(:meth:`Shard.call`), so the same shard runs in three homes: in-process, in a local worker process
(:mod:`ocppemu.load.worker`, the multi-process mode of ``ocppemu load``), or as a cluster actor. A shard started
again on the same store restores its stations from it (those with ``auto_start`` reconnect by themselves).

Everything that crosses the shard boundary is plain JSON data: method names, keyword arguments, results, and
errors as ``{"type": "NotFound" | "Conflict" | "InvalidRequest", "message": ...}``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel

from ocppemu.config.app import AppConfig
from ocppemu.load.metrics import LoadMetrics
from ocppemu.workbench import Workbench
from ocppemu.workbench import interface as api
from ocppemu.workbench.templates import BUILTIN_TEMPLATES, deep_merge

log = logging.getLogger(__name__)


class GcTimer:
    """Time spent in the cyclic garbage collector of this process (seconds, collections per generation)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self.longest = 0.0
        self._t0 = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
            return
        took = time.perf_counter() - self._t0
        self.seconds += took
        self.longest = max(self.longest, took)
        self.collections[int(info.get("generation", 0))] += 1

    def to_doc(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 4), "collections": list(self.collections),
                "longest_s": round(self.longest, 4)}

#: Request models of the WorkbenchAPI methods, by method and parameter name (decoded from JSON at the boundary).
REQUEST_MODELS: dict[str, dict[str, type[BaseModel]]] = {
    "clone_station": {"request": api.CloneRequest},
    "import_stations": {"request": api.ImportRequest},
    "save_template": {"template": api.TemplateCreate},
    "update_template": {"template": api.TemplateUpdate},
    "create_from_template": {"request": api.FromTemplateRequest},
    "station_action": {"request": api.ActionRequest},
    "send_message": {"request": api.SendMessageRequest},
    "query_messages": {"query": api.MessageQuery},
}
#: The WorkbenchAPI methods a shard answers through :meth:`Shard.call`.
API_METHODS = frozenset({
    "list_stations", "get_station", "create_station", "update_station", "delete_station", "start_station",
    "stop_station", "reset_station", "clone_station", "import_stations", "export_stations", "list_templates",
    "save_template", "update_template", "delete_template", "create_from_template", "station_action",
    "send_message", "query_messages", "transactions", "meter_values", "stats", "status", "findings"})
ERRORS: dict[str, type[api.WorkbenchError]] = {
    "NotFound": api.NotFound, "Conflict": api.Conflict, "InvalidRequest": api.InvalidRequest}


def station_ids(prefix: str, first: int, count: int, width: int = 6) -> list[str]:
    """The ids ``prefix000001`` ... of a shard's range (1-based numbers, zero-padded)."""
    return [f"{prefix}{i:0{width}d}" for i in range(first, first + count)]


def encode(value: Any) -> Any:
    """JSON-ready data of a result (pydantic models dumped in JSON mode)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def error_doc(exc: api.WorkbenchError) -> dict[str, str]:
    return {"type": type(exc).__name__ if type(exc).__name__ in ERRORS else "InvalidRequest",
            "message": exc.message}


def raise_error(doc: dict[str, str]) -> None:
    raise ERRORS.get(doc.get("type", ""), api.InvalidRequest)(doc.get("message", "shard error"))


class Shard:
    """A workbench owning the stations whose ids it was given; see the module docstring.

    ``store``: URL of its own store; ``config``: the application configuration (``max_stations`` is raised to
    ``capacity`` when smaller); ``name``: how reports and logs call it.
    """

    def __init__(self, store: str, *, config: AppConfig | None = None, name: str = "shard-0",
                 capacity: int = 10_000) -> None:
        app = config or AppConfig()
        if app.application.max_stations < capacity:
            app = app.model_copy(update={"application": app.application.model_copy(
                update={"max_stations": capacity})})
        self.name = name
        self.wb = Workbench(store, config=app)
        self.metrics = LoadMetrics()
        self.gc = GcTimer()
        self.started_at = 0.0
        self.restored = 0
        self._adding: asyncio.Task[None] | None = None
        self.add_errors: list[str] = []

    async def start(self) -> dict[str, Any]:
        """Open the store and restore the stations it holds (auto-start ones reconnect)."""
        self.wb.recorder.on_frame(self.metrics.on_frame)
        self.wb.recorder.on_event(self.metrics.on_event)
        await self.wb.start()
        self.restored = len(self.wb._stations)
        self.started_at = time.time()
        if self.restored:
            gc.freeze()
        return {"name": self.name, "restored": self.restored}

    async def close(self) -> None:
        if self._adding is not None:
            self._adding.cancel()
            await asyncio.gather(self._adding, return_exceptions=True)
        await self.wb.close()

    # -- bulk ------------------------------------------------------------------------------------------------------

    async def add_stations(self, station: dict[str, Any], ids: list[str], ramp: float | None = None,
                           template: str | None = None) -> dict[str, Any]:
        """Create (and start) stations ``ids`` from ``station`` (merged over ``template`` when given), at most
        ``ramp`` per second (None: as fast as possible). Returns at once; the ramp runs in the background.
        Stations that already exist (a restored shard) are left as they are."""
        base: dict[str, Any] = {}
        if template is not None:
            tpl = BUILTIN_TEMPLATES.get(template) or await self.wb.repo.get_template(template)
            if tpl is None:
                raise api.NotFound(f"no template {template!r}")
            base = dict(tpl.get("station", {}))
        doc = deep_merge({"csms_url": self.wb.app.csms.default_url, **base}, station)
        self.metrics.meter_interval = float(doc.get("meter_values_config", {}).get("interval", 60))
        todo = [sid for sid in ids if sid not in self.wb._stations]
        self.wb._validate({**doc, "station_id": todo[0] if todo else "CHECK"})  # one clear error before any work
        self._adding = asyncio.create_task(self._ramp(doc, todo, ramp), name=f"{self.name}-ramp")
        return {"queued": len(todo), "existing": len(ids) - len(todo)}

    async def _ramp(self, doc: dict[str, Any], ids: list[str], ramp: float | None) -> None:
        tick = 0.1
        per_tick = max(1, round((ramp or 1e9) * tick))
        started = time.monotonic()
        done = 0
        for i in range(0, len(ids), per_tick):
            chunk = [{**doc, "station_id": sid} for sid in ids[i:i + per_tick]]
            try:
                result = await self.wb.import_stations(api.ImportRequest(stations=chunk))
                for r in result.rejected:
                    self.add_errors.append(f"{r.station_id}: {r.reason}")
            except api.WorkbenchError as exc:
                self.add_errors.append(exc.message)
                log.error("%s: adding stations failed: %s", self.name, exc.message)
                return
            done += len(chunk)
            if ramp:
                wait = started + done / ramp - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            else:
                await asyncio.sleep(0)
        gc.freeze()  # what lives for the whole run stays out of the cyclic collector's way

    async def stop_stations(self) -> dict[str, Any]:
        """Stop every station (connections closed, state saved), write every frame; then the summary."""
        if self._adding is not None:
            self._adding.cancel()
            await asyncio.gather(self._adding, return_exceptions=True)
        self.metrics.stopping = True
        await asyncio.gather(*(st.runtime.stop() for st in list(self.wb._stations.values())))
        await self.wb.recorder.flush()
        return await self.summary()

    @property
    def adding(self) -> bool:
        return self._adding is not None and not self._adding.done()

    async def summary(self) -> dict[str, Any]:
        """Counts, recording counters and the mergeable metrics snapshot of this shard."""
        running = connecting = active = 0
        for st in self.wb._stations.values():  # one pass: this runs once per second over every station
            rt = st.runtime
            if rt.running:
                running += 1
                if rt.state == "connecting":
                    connecting += 1
                active += len(st.core.active_transactions())
        return {"name": self.name, "stations": len(self.wb._stations), "restored": self.restored,
                "adding": self.adding, "add_errors": self.add_errors[:10], "running": running,
                "connecting": connecting, "active_transactions": active, "recording": self.wb.recorder.stats(),
                "auto_transactions": self.wb.auto.totals(), "gc": self.gc.to_doc(),
                "metrics": self.metrics.snapshot()}

    # -- the WorkbenchAPI by name -----------------------------------------------------------------------------------

    async def call(self, method: str, kwargs: dict[str, Any]) -> Any:
        """Run WorkbenchAPI ``method`` with JSON ``kwargs``; JSON result. Raises WorkbenchError subclasses."""
        if method == "summary":
            return await self.summary()
        if method == "add_stations":
            return await self.add_stations(**kwargs)
        if method == "stop_stations":
            return await self.stop_stations()
        if method not in API_METHODS:
            raise api.InvalidRequest(f"unknown shard method {method!r}")
        models = REQUEST_MODELS.get(method, {})
        args = {k: (models[k].model_validate(v) if k in models else v) for k, v in kwargs.items()}
        return encode(await getattr(self.wb, method)(**args))

    async def events(self, stations: list[str] | None = None, kinds: list[str] | None = None,
                     cursor: str | None = None) -> AsyncIterator[dict[str, Any]]:
        async for event in self.wb.events(stations, kinds, cursor):
            yield event.model_dump(mode="json")

    async def export_messages(self, query: dict[str, Any], fmt: str = "jsonl") -> AsyncIterator[str]:
        async for chunk in self.wb.export_messages(api.MessageQuery.model_validate(query), fmt):  # type: ignore[arg-type]
            yield chunk


def merge_station(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    return deep_merge(base, overrides)
