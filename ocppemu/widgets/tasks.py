"""Running workbench calls from widget callbacks without ever blocking the kernel.

A widget callback is synchronous; it hands its coroutine to :meth:`TaskRunner.spawn`, which schedules it on the
kernel's running asyncio loop and returns at once. Every task is tracked (so it is not garbage-collected and tests
can wait for it with :meth:`TaskRunner.idle`); its failure is shown as a sentence in the component's status line,
never raised into the kernel.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import ipywidgets as w

from ocppemu.workbench.interface import WorkbenchError

log = logging.getLogger(__name__)


class TaskRunner:
    """Schedules coroutines for one component and reports their outcome in ``status`` (an HTML widget)."""

    def __init__(self, status: w.HTML | None = None) -> None:
        self.status = status if status is not None else w.HTML()
        self.status.add_class("ocppemu-status")
        self._tasks: set[asyncio.Task[Any]] = set()
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self.errors: list[str] = []

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str,
              done: Callable[[Any], None] | None = None) -> asyncio.Task[Any] | None:
        """Run ``coro`` in the background; ``done(result)`` is called when it succeeds. Never raises."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            if self._loop is None or self._loop.is_closed():
                coro.close()
                self.fail(f"{what}: no running event loop")
                return None
            self._loop.call_soon_threadsafe(self.spawn, coro, what, done)
            return None
        task = loop.create_task(self._guard(coro, what, done), name=f"ocppemu-ui: {what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guard(self, coro: Coroutine[Any, Any, Any], what: str, done: Callable[[Any], None] | None) -> None:
        try:
            result = await coro
            if done is not None:
                done(result)
        except asyncio.CancelledError:
            raise
        except WorkbenchError as exc:
            self.fail(f"{what}: {exc.message}")
        except Exception as exc:
            log.exception("%s failed", what)
            self.fail(f"{what}: {type(exc).__name__}: {exc}")

    def ok(self, text: str) -> None:
        self.status.value = f'<span class="ocppemu-ok" style="color:#1b7f3a">{html.escape(text)}</span>'

    def fail(self, text: str) -> None:
        self.errors.append(text)
        self.status.value = f'<span class="ocppemu-error" style="color:#b00020">{html.escape(text)}</span>'

    @property
    def busy(self) -> int:
        return sum(1 for t in self._tasks if not t.done())

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until every task spawned so far (and those they spawn) has finished (tests, notebooks)."""
        async with asyncio.timeout(timeout):
            while True:
                pending = [t for t in self._tasks if not t.done() and t is not asyncio.current_task()
                           and not t.get_name().startswith("ocppemu-ui-live")]
                if not pending:
                    return
                await asyncio.wait(pending)

    def live(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any] | None:
        """Start a long-running task (a live feed); :meth:`idle` does not wait for it, :meth:`close` cancels it."""
        task = self.spawn(coro, what)
        if task is not None:
            task.set_name(f"ocppemu-ui-live: {what}")
        return task

    async def close(self) -> None:
        """Cancel every task of this component and wait for them to end."""
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
