"""The Ray home of a shard: an async actor around :class:`~ocppemu.load.shard.Shard`, and the coordinator's link.

:func:`shard_actor` gives the actor class (``max_restarts=-1``: Ray starts it again after its worker dies). Its
constructor opens the shard's store and starts the stations it holds, so a restarted shard restores itself and its
``auto_start`` stations reconnect without anyone asking. :class:`RayShardLink` is what a
:class:`~ocppemu.load.coordinator.Coordinator` holds on such an actor (a ``ShardLink``): calls go through Ray, a
dead or restarting actor is reported once (``lost``), and :func:`wait_back` waits until Ray has it running again.
Ray is imported lazily (see :func:`ocppemu.cluster.import_ray`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from ocppemu.cluster import NAMESPACE, import_ray
from ocppemu.config.app import AppConfig
from ocppemu.load.shard import Shard, error_doc, raise_error
from ocppemu.workbench import interface as api

log = logging.getLogger(__name__)


class ShardUnavailable(RuntimeError):
    """The shard's actor is dead or being restarted by Ray."""


class ShardActor:
    """One shard in a Ray worker process. ``store``: its own store URL (SQLite on the worker's disk, or a shared
    MongoDB); ``config``: application configuration as JSON data."""

    def __init__(self, store: str, name: str, capacity: int = 10_000, config: dict[str, Any] | None = None) -> None:
        if store.startswith("sqlite:///"):  # the store's folder on this worker's disk
            os.makedirs(os.path.dirname(store.removeprefix("sqlite:///")) or ".", exist_ok=True)
        self.shard = Shard(store, config=AppConfig.model_validate(config or {}), name=name, capacity=capacity)
        self.started_at = time.time()
        # Started from the constructor (Ray runs an async actor's constructor in its event loop), so a restart
        # after a crash restores the stations on its own; every method waits for it.
        self._ready = asyncio.get_running_loop().create_task(self.shard.start())

    async def hello(self) -> dict[str, Any]:
        started = await self._ready
        return {**started, "pid": os.getpid(), "started_at": self.started_at}

    async def call(self, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        await self._ready
        try:
            return {"ok": True, "result": await self.shard.call(method, kwargs)}
        except api.WorkbenchError as exc:
            return {"ok": False, "error": error_doc(exc)}
        except Exception as exc:  # a bug: one sentence back, the shard keeps serving
            log.exception("shard method %s failed", method)
            return {"ok": False, "error": {"type": "InvalidRequest", "message": f"{method} failed: {exc}"}}

    async def events(self, stations: list[str] | None = None, kinds: list[str] | None = None
                     ) -> AsyncIterator[dict[str, Any]]:
        await self._ready
        async for ev in self.shard.events(stations, kinds):
            yield ev

    async def export_messages(self, query: dict[str, Any], fmt: str = "jsonl") -> AsyncIterator[str]:
        await self._ready
        async for chunk in self.shard.export_messages(query, fmt):
            yield chunk

    async def close(self) -> None:
        await self._ready
        await self.shard.close()


def shard_actor() -> Any:
    """The Ray actor class of :class:`ShardActor` (restarted for ever; one CPU each)."""
    ray = import_ray()
    return ray.remote(max_restarts=-1, max_task_retries=0, num_cpus=1)(ShardActor)


def start_shard(name: str, store: str, *, capacity: int, config: dict[str, Any] | None = None,
                detached: bool = True) -> Any:
    """Create the named shard actor (or get it when it exists); returns its handle."""
    options: dict[str, Any] = {"name": name, "namespace": NAMESPACE, "get_if_exists": True}
    if detached:
        options["lifetime"] = "detached"
    return shard_actor().options(**options).remote(store, name, capacity, config)


def _actor_errors() -> tuple[type[BaseException], ...]:
    ray = import_ray()
    return (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError)


class RayShardLink:
    """A coordinator's link to one shard actor (see the module docstring)."""

    def __init__(self, name: str, handle: Any) -> None:
        self.name = name
        self.handle = handle
        self.state = "running"  # lost, restarting, restored
        self.restarts = 0
        self.on_lost: Callable[[RayShardLink], None] | None = None
        self.lost_at: float | None = None
        self.gaps: list[dict[str, float]] = []  # one per loss: from, to, seconds
        self._errors = _actor_errors()

    def _lost(self, exc: BaseException) -> ShardUnavailable:
        if self.state not in ("lost", "restarting"):
            self.state = "lost"
            self.lost_at = time.time()
            log.warning("shard %s lost: %s", self.name, type(exc).__name__)
            if self.on_lost is not None:
                self.on_lost(self)
        return ShardUnavailable(f"shard {self.name} is {self.state}")

    async def call(self, method: str, **kwargs: Any) -> Any:
        if self.state in ("lost", "restarting"):
            raise ShardUnavailable(f"shard {self.name} is {self.state}")
        try:
            doc = await self.handle.call.remote(method, kwargs)
        except self._errors as exc:
            raise self._lost(exc) from None
        if not doc.get("ok"):
            raise_error(doc.get("error", {}))
        return doc.get("result")

    async def stream(self, method: str, **kwargs: Any) -> AsyncIterator[Any]:
        gen = getattr(self.handle, method).remote(**kwargs)
        try:
            async for ref in gen:
                yield await ref
        except self._errors as exc:
            raise self._lost(exc) from None

    async def hello(self) -> dict[str, Any]:
        return dict(await self.handle.hello.remote())


async def wait_back(link: RayShardLink, timeout: float = 180.0) -> None:
    """The coordinator's ``restart``: Ray restarts the actor itself; wait until it answers (stations restored)."""
    link.state = "restarting"
    deadline = time.monotonic() + timeout
    errors: tuple[type[BaseException], ...] = (*_actor_errors(), TimeoutError)
    while True:
        try:
            await asyncio.wait_for(link.hello(), 10.0)
            break
        except errors:
            if time.monotonic() > deadline:
                raise ShardUnavailable(f"shard {link.name} did not come back within {timeout:g} s") from None
            await asyncio.sleep(0.5)
    now = time.time()
    if link.lost_at is not None:
        link.gaps.append({"from": link.lost_at, "to": now, "seconds": round(now - link.lost_at, 3)})
    link.lost_at = None
    link.state = "restored"
