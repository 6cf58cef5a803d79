"""One :class:`~ocppemu.interface.WorkbenchAPI` over many shards: the API, dashboards and notebooks see one
workbench.

A :class:`Coordinator` holds :class:`ShardLink` values (anything with ``call`` and ``stream`` coroutines: a local
worker process, an in-process shard, a cluster actor), maps each station id to its shard, routes per-station
calls there, fans out the rest and merges: stations by id, messages newest first with one cursor that keeps each
shard's place, transactions, exports, statistics and status summed, events interleaved as they come. A shard
that dies is reported (``lost``), started again on its store and its stations restored (``restored``); its
state is in :meth:`Coordinator.status` (``store.shards``) and published as ``shard`` events.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Protocol

import orjson

from ocppemu.load.metrics import merge_snapshots
from ocppemu.store.codec import encode_cursor, to_ms
from ocppemu.version import __version__
from ocppemu.workbench import interface as api

log = logging.getLogger(__name__)


class ShardLink(Protocol):
    """What the coordinator needs of a shard, wherever it runs."""

    name: str
    state: str
    restarts: int

    async def call(self, method: str, **kwargs: Any) -> Any: ...
    def stream(self, method: str, **kwargs: Any) -> AsyncIterator[Any]: ...


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


class Coordinator:
    """The WorkbenchAPI of many shards. ``restart``: start a lost shard again (a coroutine taking the link)."""

    def __init__(self, shards: list[ShardLink], *, restart: Any = None) -> None:
        if not shards:
            raise ValueError("a coordinator needs at least one shard")
        self.shards = shards
        self._owner: dict[str, int] = {}
        self._restart = restart
        self._started = time.time()
        self.shard_events: list[dict[str, Any]] = []
        self._watch: set[asyncio.Task[None]] = set()

    # -- shard life -------------------------------------------------------------------------------------------------

    def shard_lost(self, link: ShardLink) -> None:
        """Called when a shard's process ended unexpectedly: note it and start it again on its store."""
        self._note(link, "lost")
        if self._restart is not None:
            task = asyncio.get_running_loop().create_task(self._bring_back(link))
            self._watch.add(task)
            task.add_done_callback(self._watch.discard)

    async def _bring_back(self, link: ShardLink) -> None:
        link.restarts += 1
        self._note(link, "restarting")
        try:
            await self._restart(link)
        except Exception as exc:
            log.error("shard %s could not be restarted: %s", link.name, exc)
            self._note(link, "lost", error=str(exc))
            return
        self._note(link, "restored")

    def _note(self, link: ShardLink, state: str, **extra: Any) -> None:
        self.shard_events.append({"shard": link.name, "state": state, "at": time.time(), **extra})
        log.warning("shard %s: %s", link.name, state)

    async def wait_restored(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._watch and all(s.state in ("running", "restored") for s in self.shards):
                return True
            await asyncio.sleep(0.05)
        return False

    # -- routing ----------------------------------------------------------------------------------------------------

    async def _all(self, method: str, **kwargs: Any) -> list[Any]:
        return list(await asyncio.gather(*(s.call(method, **kwargs) for s in self.shards)))

    async def _locate(self, station_id: str) -> ShardLink:
        index = self._owner.get(station_id)
        if index is not None:
            return self.shards[index]
        for i, shard in enumerate(self.shards):
            try:
                await shard.call("get_station", station_id=station_id)
            except api.NotFound:
                continue
            self._owner[station_id] = i
            return shard
        raise api.NotFound(f"no station {station_id!r}")

    async def _on(self, station_id: str, method: str, **kwargs: Any) -> Any:
        shard = await self._locate(station_id)
        return await shard.call(method, station_id=station_id, **kwargs)

    async def _least_loaded(self) -> int:
        counts = await self._all("summary")
        return min(range(len(counts)), key=lambda i: counts[i]["stations"])

    def assign(self, station_id: str, index: int) -> None:
        """Tell the coordinator which shard owns a station (done by bulk loaders that place stations)."""
        self._owner[station_id] = index

    # -- stations ---------------------------------------------------------------------------------------------------

    async def list_stations(self, include_secrets: bool = False) -> api.StationList:
        parts = await self._all("list_stations", include_secrets=include_secrets)
        stations: list[dict[str, Any]] = []
        for i, part in enumerate(parts):
            for st in part["stations"]:
                self._owner[st["station_id"]] = i
                stations.append(st)
        stations.sort(key=lambda s: s["station_id"])
        return api.StationList.model_validate({"stations": stations,
                                               "max_stations": sum(p["max_stations"] for p in parts)})

    async def get_station(self, station_id: str, include_secrets: bool = False) -> api.StationView:
        return api.StationView.model_validate(
            await self._on(station_id, "get_station", include_secrets=include_secrets))

    async def create_station(self, config: dict[str, Any]) -> api.StationView:
        sid = config.get("station_id") if isinstance(config, dict) else None
        if isinstance(sid, str):
            with contextlib.suppress(api.NotFound):
                await self._locate(sid)
                raise api.Conflict(f"station {sid!r} already exists")
        index = await self._least_loaded()
        view = await self.shards[index].call("create_station", config=_dump(config))
        self._owner[view["station_id"]] = index
        return api.StationView.model_validate(view)

    async def update_station(self, station_id: str, config: dict[str, Any]) -> api.StationView:
        return api.StationView.model_validate(await self._on(station_id, "update_station", config=_dump(config)))

    async def delete_station(self, station_id: str) -> api.Deleted:
        result = api.Deleted.model_validate(await self._on(station_id, "delete_station"))
        self._owner.pop(station_id, None)
        return result

    async def start_station(self, station_id: str) -> api.StationView:
        return api.StationView.model_validate(await self._on(station_id, "start_station"))

    async def stop_station(self, station_id: str) -> api.StationView:
        return api.StationView.model_validate(await self._on(station_id, "stop_station"))

    async def reset_station(self, station_id: str) -> api.StationView:
        return api.StationView.model_validate(await self._on(station_id, "reset_station"))

    async def clone_station(self, station_id: str, request: api.CloneRequest) -> api.StationView:
        shard = await self._locate(station_id)
        view = await shard.call("clone_station", station_id=station_id, request=_dump(request))
        self._owner[view["station_id"]] = self.shards.index(shard)
        return api.StationView.model_validate(view)

    async def import_stations(self, request: api.ImportRequest) -> api.ImportResult:
        """Stations spread over the shards in turn (all validated by their shard; a refusal there is reported)."""
        groups: list[list[Any]] = [[] for _ in self.shards]
        for i, st in enumerate(request.stations):
            groups[i % len(self.shards)].append(st)
        parts = await asyncio.gather(*(
            s.call("import_stations", request={**request.model_dump(mode="json"), "stations": g})
            for s, g in zip(self.shards, groups, strict=True) if g))
        accepted: list[str] = []
        rejected: list[dict[str, Any]] = []
        for part in parts:
            accepted += part["accepted"]
            rejected += part["rejected"]
        return api.ImportResult.model_validate({"accepted": accepted, "rejected": rejected,
                                                "dry_run": request.dry_run})

    async def export_stations(self, include_secrets: bool = False) -> api.StationsExport:
        parts = await self._all("export_stations", include_secrets=include_secrets)
        stations = sorted((s for p in parts for s in p["stations"]), key=lambda s: str(s.get("station_id")))
        return api.StationsExport(stations=stations)

    # -- templates --------------------------------------------------------------------------------------------------

    async def list_templates(self) -> api.TemplateList:
        return api.TemplateList.model_validate(await self.shards[0].call("list_templates"))

    async def save_template(self, template: api.TemplateCreate) -> api.TemplateView:
        parts = await self._all("save_template", template=_dump(template))
        return api.TemplateView.model_validate(parts[0])

    async def update_template(self, name: str, template: api.TemplateUpdate) -> api.TemplateView:
        parts = await self._all("update_template", name=name, template=_dump(template))
        return api.TemplateView.model_validate(parts[0])

    async def delete_template(self, name: str) -> api.TemplateDeleted:
        parts = await self._all("delete_template", name=name)
        return api.TemplateDeleted.model_validate(parts[0])

    async def create_from_template(self, name: str, request: api.FromTemplateRequest) -> api.StationView:
        index = await self._least_loaded()
        view = await self.shards[index].call("create_from_template", name=name, request=_dump(request))
        self._owner[view["station_id"]] = index
        return api.StationView.model_validate(view)

    # -- actions ----------------------------------------------------------------------------------------------------

    async def station_action(self, station_id: str, request: api.ActionRequest) -> api.ActionResponse:
        return api.ActionResponse.model_validate(await self._on(station_id, "station_action", request=_dump(request)))

    async def send_message(self, station_id: str, request: api.SendMessageRequest) -> api.SendMessageResult:
        return api.SendMessageResult.model_validate(
            await self._on(station_id, "send_message", request=_dump(request)))

    # -- history ----------------------------------------------------------------------------------------------------

    async def query_messages(self, query: api.MessageQuery) -> api.MessagePage:
        """Newest first across shards; the cursor holds each shard's place, so pages never repeat or skip."""
        if query.station_id:
            shard = await self._locate(query.station_id)
            return api.MessagePage.model_validate(await shard.call("query_messages", query=_dump(query)))
        places = _decode_places(query.cursor, len(self.shards))
        pages = await asyncio.gather(*(
            s.call("query_messages", query={**_dump(query), "cursor": places[i] or None})
            if places[i] != _DONE else _empty() for i, s in enumerate(self.shards)))
        merged = [(m, i) for i, page in enumerate(pages) for m in page["items"]]
        merged.sort(key=lambda mi: (to_ms(datetime.fromisoformat(mi[0]["timestamp"])), mi[0]["id"]), reverse=True)
        taken = merged[:query.limit]
        new = list(places)
        for i, page in enumerate(pages):
            if places[i] == _DONE:
                continue
            mine = [m for m, j in taken if j == i]
            if len(mine) == len(page["items"]):
                new[i] = page["next_cursor"] or _DONE
            elif mine:
                last = mine[-1]
                new[i] = encode_cursor(to_ms(datetime.fromisoformat(last["timestamp"])), last["id"])
        more = any(p != _DONE for p in new)
        return api.MessagePage.model_validate({"items": [m for m, _ in taken],
                                               "next_cursor": _encode_places(new) if more else None})

    async def export_messages(self, query: api.MessageQuery, fmt: api.ExportFormat = "jsonl") -> AsyncIterator[str]:
        """The shards' exports one after the other (each oldest first)."""
        for shard in self.shards:
            async for chunk in shard.stream("export_messages", query=_dump(query), fmt=fmt):
                yield chunk

    async def transactions(self, station_id: str | None = None, status: str | None = None) -> api.TransactionList:
        if station_id:
            return api.TransactionList.model_validate(await self._on(station_id, "transactions", status=status))
        parts = await self._all("transactions", station_id=None, status=status)
        rows = sorted((t for p in parts for t in p["transactions"]), key=lambda t: str(t.get("start_timestamp")))
        return api.TransactionList.model_validate({"transactions": rows})

    async def meter_values(self, station_id: str, transaction_id: str | None = None,
                           measurand: str | None = None) -> api.MeterValueList:
        return api.MeterValueList.model_validate(await self._on(station_id, "meter_values",
                                                                transaction_id=transaction_id, measurand=measurand))

    async def findings(self, station_id: str | None = None, severity: str | None = None, rule: str | None = None,
                       limit: int = 1000) -> api.FindingList:
        """Compliance findings of one station (its shard) or of all shards, oldest first, the newest ``limit``."""
        if station_id:
            return api.FindingList.model_validate(await self._on(station_id, "findings", severity=severity,
                                                                 rule=rule, limit=limit))
        parts = await self._all("findings", station_id=None, severity=severity, rule=rule, limit=limit)
        rows = sorted((f for p in parts for f in p["items"]), key=lambda f: str(f["timestamp"]))[-limit:]
        counts: dict[str, int] = {}
        for f in rows:
            counts[f["severity"]] = counts.get(f["severity"], 0) + 1
        return api.FindingList.model_validate({"items": rows, "counts": counts})

    async def stats(self, station_id: str | None = None) -> api.Stats:
        if station_id:
            return api.Stats.model_validate(await self._on(station_id, "stats"))
        parts = await self._all("stats", station_id=None)
        by_action: dict[str, dict[str, Any]] = {}
        for p in parts:
            for a in p["actions"]:
                cur = by_action.setdefault(a["action"], {"action": a["action"], "count": 0, "errors": 0,
                                                         "mean_rtt_ms": None, "p95_rtt_ms": None, "_sum": 0.0})
                cur["count"] += a["count"]
                cur["errors"] += a["errors"]
                if a["mean_rtt_ms"] is not None:
                    cur["_sum"] += a["mean_rtt_ms"] * a["count"]
                # the store's p95 does not merge: the largest shard p95 is an upper bound (load metrics merge)
                if a["p95_rtt_ms"] is not None:
                    cur["p95_rtt_ms"] = max(cur["p95_rtt_ms"] or 0.0, a["p95_rtt_ms"])
        actions = []
        for cur in by_action.values():
            total = cur.pop("_sum")
            cur["mean_rtt_ms"] = round(total / cur["count"], 3) if cur["count"] and total else None
            actions.append(cur)
        return api.Stats.model_validate({
            "station_id": None, "messages": sum(p["messages"] for p in parts), "actions": actions,
            "transactions": sum(p["transactions"] for p in parts),
            "energy_wh": sum(p["energy_wh"] for p in parts)})

    # -- status, metrics, events ------------------------------------------------------------------------------------

    async def summaries(self) -> list[dict[str, Any]]:
        """Each live shard's summary (a lost shard gives its state only)."""
        async def one(s: ShardLink) -> dict[str, Any]:
            try:
                summary = await s.call("summary")
            except Exception as exc:  # lost, restarting
                return {"name": s.name, "state": s.state, "restarts": s.restarts, "error": str(exc)}
            return {**summary, "state": s.state, "restarts": s.restarts}
        return list(await asyncio.gather(*(one(s) for s in self.shards)))

    async def metrics(self) -> dict[str, Any]:
        """The merged metrics snapshot of all shards (counters summed, histograms merged exactly)."""
        return merge_snapshots([s["metrics"] for s in await self.summaries() if "metrics" in s])

    async def status(self) -> api.SystemStatus:
        parts: list[dict[str, Any]] = []
        for s in self.shards:
            try:
                parts.append(await s.call("status"))
            except Exception:
                continue
        store_keys = ("frames_seen", "frames_recorded", "frames_dropped", "frames_skipped_by_level",
                      "frames_pending", "frames_rejected", "stations_with_dropped_frames", "dropped_writes",
                      "failed_writes")
        store: dict[str, Any] = {k: sum(int(p["store"].get(k, 0) or 0) for p in parts) for k in store_keys}
        store.update({"ok": all(p["store"].get("ok") for p in parts) and len(parts) == len(self.shards),
                      "backend": "shards", "detail": f"{len(self.shards)} shard(s), one store each",
                      "recording_level": parts[0]["store"].get("recording_level") if parts else None,
                      "shards": [{"name": s.name, "state": s.state, "restarts": s.restarts} for s in self.shards],
                      "shard_events": self.shard_events[-50:]})
        def total(key: str) -> int:
            return sum(int(p.get(key) or 0) for p in parts)
        return api.SystemStatus(
            version=__version__, uptime_s=round(time.time() - self._started, 3), store=store,
            stations=total("stations"), running_stations=total("running_stations"),
            connected_stations=total("connected_stations"), open_connections=total("open_connections"),
            stream_clients=total("stream_clients"), memory_rss_bytes=total("memory_rss_bytes"),
            events_published=total("events_published"), events_dropped=total("events_dropped"),
            max_stations=total("max_stations"), config=parts[0].get("config", {}) if parts else {})

    async def events(self, stations: list[str] | None = None, kinds: list[str] | None = None,
                     cursor: str | None = None) -> AsyncIterator[api.WorkbenchEvent]:
        """Every shard's live events, interleaved as they arrive (cursors are per shard: resume is not offered)."""
        if cursor:
            raise api.InvalidRequest("cursor: resuming is not offered across shards; subscribe without a cursor")
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=10_000)

        async def pump(s: ShardLink) -> None:
            with contextlib.suppress(Exception):
                async for ev in s.stream("events", stations=stations, kinds=kinds):
                    if queue.full():
                        queue.get_nowait()  # drop the oldest, as the in-process bus does
                    queue.put_nowait(ev)
        tasks = [asyncio.create_task(pump(s)) for s in self.shards]
        try:
            while True:
                ev = await queue.get()
                if ev is None:
                    return
                yield api.WorkbenchEvent.model_validate(ev)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._watch):
            task.cancel()
        await asyncio.gather(*self._watch, return_exceptions=True)
        closers = [getattr(s, "close", None) for s in self.shards]
        await asyncio.gather(*(c() for c in closers if c is not None), return_exceptions=True)


_DONE = "-"


async def _empty() -> dict[str, Any]:
    return {"items": [], "next_cursor": None}


def _encode_places(places: list[str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(places)).decode().rstrip("=")


def _decode_places(cursor: str | None, n: int) -> list[str]:
    if not cursor:
        return [""] * n
    try:
        places = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        places = None
    if not isinstance(places, list) or len(places) != n or not all(isinstance(p, str) for p in places):
        raise api.InvalidRequest("cursor: not a page cursor of this workbench")
    return places


def _conforms(c: Coordinator) -> api.WorkbenchAPI:
    """Type check only: a coordinator is a WorkbenchAPI (mypy verifies the protocol here)."""
    return c
