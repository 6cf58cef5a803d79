"""A shard in its own local process, and the handle the coordinator holds on it.

The worker (``python -m ocppemu.load.worker``) runs one :class:`~ocppemu.load.shard.Shard` and speaks JSON lines
on its standard input and output (nothing else is written there: the worker's own output goes to stderr):

* request ``{"id": n, "method": m, "args": {...}}`` -> ``{"id": n, "ok": true, "result": ...}`` or
  ``{"id": n, "ok": false, "error": {"type": ..., "message": ...}}``;
* ``{"id": n, "method": "events" | "export_messages", "args": {...}}`` -> ``{"id": n, "item": ...}`` lines, then
  ``{"id": n, "end": true}``; ``{"method": "cancel", "args": {"id": n}}`` ends such a stream early;
* ``{"id": n, "method": "close"}`` stops the shard (stations stopped, store flushed) and the process.

:class:`WorkerHandle` starts such a process, sends requests, and notices when it dies (``on_exit``), so a
coordinator can start it again on the same store, which restores its stations.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any, BinaryIO

import orjson

from ocppemu.config.app import AppConfig
from ocppemu.load.shard import Shard, error_doc, raise_error
from ocppemu.workbench import interface as api

log = logging.getLogger(__name__)
_LINE_LIMIT = 1 << 30  # one answer may carry every station of a shard


class WorkerError(RuntimeError):
    """The worker process is gone or answered something that is not the protocol."""


# -- the worker side --------------------------------------------------------------------------------------------

async def serve(shard: Shard, out: BinaryIO) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    streams: dict[int, asyncio.Task[None]] = {}
    tasks: set[asyncio.Task[None]] = set()

    def send(doc: dict[str, Any]) -> None:
        out.write(orjson.dumps(doc) + b"\n")
        out.flush()

    async def answer(rid: int, method: str, args: dict[str, Any]) -> None:
        try:
            send({"id": rid, "ok": True, "result": await shard.call(method, args)})
        except api.WorkbenchError as exc:
            send({"id": rid, "ok": False, "error": error_doc(exc)})
        except Exception as exc:  # a bug: report it as one sentence, keep serving
            log.exception("shard method %s failed", method)
            send({"id": rid, "ok": False, "error": {"type": "InvalidRequest", "message": f"{method} failed: {exc}"}})

    async def stream(rid: int, items: AsyncIterator[Any]) -> None:
        try:
            async for item in items:
                send({"id": rid, "item": item})
        except api.WorkbenchError as exc:
            send({"id": rid, "ok": False, "error": error_doc(exc)})
        finally:
            send({"id": rid, "end": True})
            streams.pop(rid, None)

    send({"id": 0, "ok": True, "result": await shard.start()})
    while True:
        line = await reader.readline()
        if not line:
            break
        req = orjson.loads(line)
        rid, method, args = int(req.get("id", 0)), str(req.get("method")), dict(req.get("args") or {})
        if method == "close":
            break
        if method == "cancel":
            task = streams.pop(int(args.get("id", -1)), None)
            if task is not None:
                task.cancel()
            continue
        if method == "events":
            streams[rid] = asyncio.create_task(stream(rid, shard.events(**args)))
        elif method == "export_messages":
            streams[rid] = asyncio.create_task(stream(rid, shard.export_messages(**args)))
        else:
            task = asyncio.create_task(answer(rid, method, args))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    for task in list(streams.values()):
        task.cancel()
    await shard.close()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m ocppemu.load.worker")
    p.add_argument("--store", required=True)
    p.add_argument("--name", default="shard-0")
    p.add_argument("--capacity", type=int, default=10_000)
    p.add_argument("--config", default="{}", help="application configuration as JSON")
    p.add_argument("--uvloop", action="store_true")
    args = p.parse_args(argv)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed by accident goes to stderr, never into the protocol
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format=f"%(asctime)s {args.name} %(levelname)s %(name)s: %(message)s")
    # Thousands of long-lived stations: collect the young generation less often and the old one rarely (the shard
    # also freezes what exists after its ramp), so gen-2 pauses do not stall the stations' loop.
    gc.set_threshold(50_000, 50, 1000)
    shard = Shard(args.store, config=AppConfig.model_validate(orjson.loads(args.config)), name=args.name,
                  capacity=args.capacity)
    run = asyncio.run
    if args.uvloop:
        with contextlib.suppress(ImportError):
            import uvloop

            run = uvloop.run
    run(serve(shard, out))


# -- the coordinator side ---------------------------------------------------------------------------------------

class WorkerHandle:
    """One worker process: start, call, stream, close; ``on_exit`` is called when it ends without being asked."""

    def __init__(self, name: str, store: str, *, capacity: int = 10_000, config: dict[str, Any] | None = None,
                 uvloop: bool = False, stderr: int | None = None) -> None:
        self.name, self.store, self.capacity = name, store, capacity
        self.config = config or {}
        self.uvloop = uvloop
        self.stderr = stderr
        self.proc: asyncio.subprocess.Process | None = None
        self.restored = 0
        self.restarts = 0
        self.state = "stopped"  # starting, running, lost, restarting, restored, stopped
        self.on_exit: Callable[[WorkerHandle], None] | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._streams: dict[int, asyncio.Queue[Any]] = {}
        self._next = 1
        self._reader: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> dict[str, Any]:
        cmd = [sys.executable, "-m", "ocppemu.load.worker", "--store", self.store, "--name", self.name,
               "--capacity", str(self.capacity), "--config", orjson.dumps(self.config).decode()]
        if self.uvloop:
            cmd.append("--uvloop")
        self.state = "starting" if self.restarts == 0 else "restarting"
        self._closing = False
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=self.stderr,
            limit=_LINE_LIMIT)
        first: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[0] = first
        self._reader = asyncio.create_task(self._read(), name=f"{self.name}-reader")
        hello = await first
        self.restored = int(hello.get("restored", 0))
        self.state = "running" if self.restarts == 0 else "restored"
        return dict(hello)

    async def call(self, method: str, **kwargs: Any) -> Any:
        """Call ``method`` on the shard; raises the shard's WorkbenchError, or WorkerError if the worker died."""
        if not self.alive or self.proc is None or self.proc.stdin is None:
            raise WorkerError(f"{self.name} is not running")
        rid = self._next
        self._next += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        self.proc.stdin.write(orjson.dumps({"id": rid, "method": method, "args": kwargs}) + b"\n")
        return await fut

    async def stream(self, method: str, **kwargs: Any) -> AsyncIterator[Any]:
        if not self.alive or self.proc is None or self.proc.stdin is None:
            raise WorkerError(f"{self.name} is not running")
        rid = self._next
        self._next += 1
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._streams[rid] = queue
        stdin = self.proc.stdin
        stdin.write(orjson.dumps({"id": rid, "method": method, "args": kwargs}) + b"\n")
        try:
            while True:
                msg = await queue.get()
                if msg is None or msg.get("end"):
                    return
                if msg.get("ok") is False:
                    raise_error(msg["error"])
                yield msg["item"]
        finally:
            self._streams.pop(rid, None)
            if self.alive:
                stdin.write(orjson.dumps({"method": "cancel", "args": {"id": rid}}) + b"\n")

    async def close(self, timeout: float = 30.0) -> None:
        """Ask the shard to stop (stations stopped, store flushed), then wait for the process."""
        self._closing = True
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None and proc.stdin is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                proc.stdin.write(b'{"id": -1, "method": "close"}\n')
                await proc.stdin.drain()
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        self.state = "stopped"

    def kill(self) -> None:
        """Kill the process abruptly (what a crash looks like; for tests and drills)."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()

    async def _read(self) -> None:
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        try:
            while True:
                line = await proc.stdout.readline()
                if not line:
                    break
                msg = orjson.loads(line)
                rid = int(msg.get("id", 0))
                queue = self._streams.get(rid)
                if queue is not None:
                    queue.put_nowait(msg)
                    continue
                fut = self._pending.pop(rid, None)
                if fut is None or fut.done():
                    continue
                if msg.get("ok"):
                    fut.set_result(msg.get("result"))
                else:
                    try:
                        raise_error(msg.get("error", {}))
                    except api.WorkbenchError as exc:
                        fut.set_exception(exc)
        finally:
            await proc.wait()
            gone = WorkerError(f"{self.name} (pid {proc.pid}) ended with code {proc.returncode}")
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(gone)
            self._pending.clear()
            for queue in self._streams.values():
                queue.put_nowait(None)
            if not self._closing:
                self.state = "lost"
                log.warning("%s", gone)
                if self.on_exit is not None:
                    self.on_exit(self)


if __name__ == "__main__":
    main()
