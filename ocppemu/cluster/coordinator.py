"""The coordinator of a cluster run as a detached, named Ray actor, and the client that attaches to it.

:class:`CoordinatorActor` holds a :class:`~ocppemu.load.coordinator.Coordinator` over :class:`RayShardLink` values
(one per shard actor, found by name), so every query fans out to the shards and is merged there (stations by id,
messages by timestamp with one cursor, transactions, statistics; metrics with mergeable histograms). It watches its
shards once a second: a shard whose worker died is reported ``lost``, then ``restarting`` while Ray restarts it,
then ``restored`` (its stations came back from its store); these states are in ``status().store["shards"]`` and
are published as ``shard`` events. It enforces one ``max_stations`` over all shards.

:class:`ClusterWorkbench` is the :class:`~ocppemu.workbench.interface.WorkbenchAPI` that
``ocppemu.connect("ray://head:10001")`` returns: each method is one call of the coordinator actor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import warnings
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from pydantic import BaseModel

from ocppemu.cluster import COORDINATOR_NAME, NAMESPACE, ClusterError, describe_connect_error, import_ray
from ocppemu.cluster.ray_shard import RayShardLink, wait_back
from ocppemu.load.coordinator import Coordinator
from ocppemu.load.shard import REQUEST_MODELS, encode, error_doc, raise_error
from ocppemu.workbench import interface as api

M = TypeVar("M", bound=BaseModel)
_CREATES = {"create_station", "create_from_template", "clone_station"}


class CoordinatorActor:
    """The cluster's one WorkbenchAPI (see the module docstring). ``shards``: names of the shard actors;
    ``max_stations``: the global limit (None: the sum of the shards' capacities)."""

    def __init__(self, shards: list[str], max_stations: int | None = None) -> None:
        ray = import_ray()
        self.links = [RayShardLink(n, ray.get_actor(n, namespace=NAMESPACE)) for n in shards]
        self.coord = Coordinator(list(self.links), restart=wait_back)
        for link in self.links:
            link.on_lost = self._lost
        self.max_stations = max_stations
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._seq = 0
        self._seen_events = 0
        self._watch = asyncio.get_running_loop().create_task(self._watch_shards())

    def _lost(self, link: RayShardLink) -> None:
        self.coord.shard_lost(link)

    async def _watch_shards(self) -> None:
        """Ping every shard once a second (so a death is seen while nobody asks), publish state changes."""
        while True:
            for link in self.links:
                if link.state in ("running", "restored"):
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(link.call("summary"), 30.0)
            self._publish_shard_events()
            await asyncio.sleep(1.0)

    def _publish_shard_events(self) -> None:
        for ev in self.coord.shard_events[self._seen_events:]:
            self._seq += 1
            doc = {"seq": self._seq, "cursor": "", "kind": "shard", "station_id": None, "timestamp": ev["at"],
                   "data": ev}
            for q in list(self._subscribers):
                if q.full():
                    q.get_nowait()
                q.put_nowait(doc)
        self._seen_events = len(self.coord.shard_events)

    def pid(self) -> int:
        return os.getpid()

    def shard_states(self) -> list[dict[str, Any]]:
        return [{"name": s.name, "state": s.state, "restarts": s.restarts, "gaps": list(s.gaps)}
                for s in self.links]

    async def summaries(self) -> list[dict[str, Any]]:
        gaps = {s.name: s.gaps for s in self.links}
        return [{**x, "gaps": list(gaps.get(x["name"], []))} for x in await self.coord.summaries()]

    async def metrics(self) -> dict[str, Any]:
        return await self.coord.metrics()

    async def add_stations(self, index: int, station: dict[str, Any], ids: list[str], ramp: float | None = None,
                           template: str | None = None) -> dict[str, Any]:
        """Bulk-create ``ids`` on shard ``index`` (the load run places its stations itself)."""
        for sid in ids:
            self.coord.assign(sid, index)
        return dict(await self.links[index].call("add_stations", station=station, ids=ids, ramp=ramp,
                                                 template=template))

    async def stop_stations(self) -> list[dict[str, Any]]:
        parts = await asyncio.gather(*(s.call("stop_stations") for s in self.links), return_exceptions=True)
        return [{**p, "state": s.state, "restarts": s.restarts, "gaps": list(s.gaps)} if isinstance(p, dict)
                else {"name": s.name, "state": s.state, "restarts": s.restarts, "gaps": list(s.gaps)}
                for s, p in zip(self.links, parts, strict=True)]

    async def _check_room(self, method: str, kwargs: dict[str, Any]) -> None:
        if self.max_stations is None:
            return
        adding = len(kwargs.get("request", {}).get("stations", [])) if method == "import_stations" else 1
        if method == "import_stations" and kwargs.get("request", {}).get("dry_run"):
            return
        have = (await self.coord.status()).stations
        if have + adding > self.max_stations:
            raise api.Conflict(f"the cluster holds at most {self.max_stations} stations ({have} exist); "
                               "delete some or raise max_stations")

    async def call(self, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """WorkbenchAPI ``method`` with JSON ``kwargs``: ``{"ok": true, "result": ...}`` or the error's doc."""
        try:
            if method not in {"list_stations", "get_station", "create_station", "update_station", "delete_station",
                              "start_station", "stop_station", "reset_station", "clone_station",
                              "import_stations", "export_stations", "list_templates", "save_template",
                              "create_from_template", "station_action", "send_message", "query_messages",
                              "transactions", "meter_values", "stats", "status", "findings"}:
                raise api.InvalidRequest(f"unknown method {method!r}")
            if method in _CREATES or method == "import_stations":
                await self._check_room(method, kwargs)
            models = REQUEST_MODELS.get(method, {})
            args = {k: (models[k].model_validate(v) if k in models else v) for k, v in kwargs.items()}
            result = encode(await getattr(self.coord, method)(**args))
            if method == "status":
                result["store"]["shards"] = self.shard_states()
                if self.max_stations is not None:
                    result["max_stations"] = self.max_stations
            elif method == "list_stations" and self.max_stations is not None:
                result["max_stations"] = self.max_stations
            return {"ok": True, "result": result}
        except api.WorkbenchError as exc:
            return {"ok": False, "error": error_doc(exc)}
        except Exception as exc:  # a shard lost mid-call, or a bug: one sentence
            return {"ok": False, "error": {"type": "InvalidRequest", "message": f"{method} failed: {exc}"}}

    async def events(self, stations: list[str] | None = None, kinds: list[str] | None = None
                     ) -> AsyncIterator[dict[str, Any]]:
        """The shards' events interleaved, and this coordinator's ``shard`` events."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=10_000)
        if kinds is None or "shard" in kinds:
            self._subscribers.add(queue)

        async def pump() -> None:
            shard_kinds = [k for k in kinds if k != "shard"] if kinds is not None else None
            if shard_kinds == []:
                return
            async for ev in self.coord.events(stations, shard_kinds):
                if queue.full():
                    queue.get_nowait()
                queue.put_nowait(ev.model_dump(mode="json"))
        task = asyncio.create_task(pump())
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def export_messages(self, query: dict[str, Any], fmt: str = "jsonl") -> AsyncIterator[str]:
        async for chunk in self.coord.export_messages(api.MessageQuery.model_validate(query), fmt):  # type: ignore[arg-type]
            yield chunk

    async def close(self) -> None:
        self._watch.cancel()
        await asyncio.gather(self._watch, return_exceptions=True)
        await self.coord.close()


def coordinator_actor() -> Any:
    ray = import_ray()
    return ray.remote(max_restarts=-1, max_task_retries=0, num_cpus=0)(CoordinatorActor)


def start_coordinator(shards: list[str], max_stations: int | None = None) -> Any:
    """Create the detached, named coordinator actor (or get the one that exists)."""
    return coordinator_actor().options(name=COORDINATOR_NAME, namespace=NAMESPACE, lifetime="detached",
                                       get_if_exists=True).remote(shards, max_stations)


def connect_cluster(address: str) -> Any:
    """``ray.init`` to ``address`` (``ray://host:10001``, ``auto`` or ``host:6379``); :class:`ClusterError` when
    it fails. Does nothing when this process is already connected."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    try:
        with warnings.catch_warnings():  # Ray's own warnings would come before our one sentence
            warnings.simplefilter("ignore")
            ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, logging_level=logging.WARNING)
    except Exception as exc:
        raise ClusterError(describe_connect_error(address, exc)) from None
    return ray


def get_coordinator(address: str) -> Any:
    ray = connect_cluster(address)
    try:
        return ray.get_actor(COORDINATOR_NAME, namespace=NAMESPACE)
    except ValueError:
        raise ClusterError(f"the Ray cluster at {address} runs no ocppemu coordinator; start one with "
                           "'ocppemu load --cluster ...'") from None


class ClusterWorkbench:
    """The WorkbenchAPI of the coordinator actor ``handle`` (see the module docstring)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def _call(self, method: str, model: type[M], **kwargs: Any) -> M:
        args = {k: (v.model_dump(mode="json") if isinstance(v, BaseModel) else v) for k, v in kwargs.items()}
        doc = await self.handle.call.remote(method, args)
        if not doc.get("ok"):
            raise_error(doc.get("error", {}))
        return model.model_validate(doc["result"])

    async def list_stations(self, include_secrets: bool = False) -> api.StationList:
        return await self._call("list_stations", api.StationList, include_secrets=include_secrets)

    async def get_station(self, station_id: str, include_secrets: bool = False) -> api.StationView:
        return await self._call("get_station", api.StationView, station_id=station_id,
                                include_secrets=include_secrets)

    async def create_station(self, config: dict[str, Any]) -> api.StationView:
        return await self._call("create_station", api.StationView, config=config)

    async def update_station(self, station_id: str, config: dict[str, Any]) -> api.StationView:
        return await self._call("update_station", api.StationView, station_id=station_id, config=config)

    async def delete_station(self, station_id: str) -> api.Deleted:
        return await self._call("delete_station", api.Deleted, station_id=station_id)

    async def start_station(self, station_id: str) -> api.StationView:
        return await self._call("start_station", api.StationView, station_id=station_id)

    async def stop_station(self, station_id: str) -> api.StationView:
        return await self._call("stop_station", api.StationView, station_id=station_id)

    async def reset_station(self, station_id: str) -> api.StationView:
        return await self._call("reset_station", api.StationView, station_id=station_id)

    async def clone_station(self, station_id: str, request: api.CloneRequest) -> api.StationView:
        return await self._call("clone_station", api.StationView, station_id=station_id, request=request)

    async def import_stations(self, request: api.ImportRequest) -> api.ImportResult:
        return await self._call("import_stations", api.ImportResult, request=request)

    async def export_stations(self, include_secrets: bool = False) -> api.StationsExport:
        return await self._call("export_stations", api.StationsExport, include_secrets=include_secrets)

    async def list_templates(self) -> api.TemplateList:
        return await self._call("list_templates", api.TemplateList)

    async def save_template(self, template: api.TemplateCreate) -> api.TemplateView:
        return await self._call("save_template", api.TemplateView, template=template)

    async def update_template(self, name: str, template: api.TemplateUpdate) -> api.TemplateView:
        return await self._call("update_template", api.TemplateView, name=name, template=template)

    async def delete_template(self, name: str) -> api.TemplateDeleted:
        return await self._call("delete_template", api.TemplateDeleted, name=name)

    async def create_from_template(self, name: str, request: api.FromTemplateRequest) -> api.StationView:
        return await self._call("create_from_template", api.StationView, name=name, request=request)

    async def station_action(self, station_id: str, request: api.ActionRequest) -> api.ActionResponse:
        return await self._call("station_action", api.ActionResponse, station_id=station_id, request=request)

    async def send_message(self, station_id: str, request: api.SendMessageRequest) -> api.SendMessageResult:
        return await self._call("send_message", api.SendMessageResult, station_id=station_id, request=request)

    async def query_messages(self, query: api.MessageQuery) -> api.MessagePage:
        return await self._call("query_messages", api.MessagePage, query=query)

    async def export_messages(self, query: api.MessageQuery, fmt: api.ExportFormat = "jsonl") -> AsyncIterator[str]:
        async for ref in self.handle.export_messages.remote(query.model_dump(mode="json"), fmt):
            yield await ref

    async def transactions(self, station_id: str | None = None, status: str | None = None) -> api.TransactionList:
        return await self._call("transactions", api.TransactionList, station_id=station_id, status=status)

    async def meter_values(self, station_id: str, transaction_id: str | None = None,
                           measurand: str | None = None) -> api.MeterValueList:
        return await self._call("meter_values", api.MeterValueList, station_id=station_id,
                                transaction_id=transaction_id, measurand=measurand)

    async def stats(self, station_id: str | None = None) -> api.Stats:
        return await self._call("stats", api.Stats, station_id=station_id)

    async def findings(self, station_id: str | None = None, severity: str | None = None, rule: str | None = None,
                       limit: int = 1000) -> api.FindingList:
        return await self._call("findings", api.FindingList, station_id=station_id, severity=severity, rule=rule,
                                limit=limit)

    async def status(self) -> api.SystemStatus:
        return await self._call("status", api.SystemStatus)

    async def events(self, stations: list[str] | None = None, kinds: list[str] | None = None,
                     cursor: str | None = None) -> AsyncIterator[api.WorkbenchEvent]:
        if cursor:
            raise api.InvalidRequest("cursor: resuming is not offered across shards; subscribe without a cursor")
        async for ref in self.handle.events.remote(stations, kinds):
            yield api.WorkbenchEvent.model_validate(await ref)

    async def shards(self) -> list[dict[str, Any]]:
        """Each shard's state (running, lost, restarting, restored), restarts and gaps."""
        return list(await self.handle.shard_states.remote())

    async def close(self) -> None:
        """Detach (the coordinator and its shards keep running in the cluster)."""


def _conforms(c: ClusterWorkbench) -> api.WorkbenchAPI:
    return c


async def attach(address: str) -> ClusterWorkbench:
    """The coordinator of the cluster at ``address`` as a WorkbenchAPI (``ocppemu.connect("ray://...")``)."""
    return ClusterWorkbench(get_coordinator(address))
