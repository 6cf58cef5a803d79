"""Whether a page's data is live: the daemon's reachability, shown on every page, and an event stream that
reconnects by itself.

:class:`Liveness` is the pure bookkeeping (answers and failures in, a sentence and a stale flag out);
:class:`ConnectionBar` is its widget: it asks the workbench for its status every ``interval`` seconds, says in one
sentence whether the daemon answers, since when it does not and how old the data on the page is, and greys out
the widgets it watches while they are stale. :func:`follow_events` is an event subscription that survives a
daemon restart (it resumes from the last cursor, or from now when the daemon no longer knows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import html
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

import ipywidgets as w

from ocppemu.workbench.interface import InvalidRequest, WorkbenchAPI, WorkbenchError, WorkbenchEvent

STALE_CLASS = "ocppemu-stale"


def readable_error(exc: BaseException) -> str:
    """A sentence for why the daemon could not be reached (no errno numbers, no class paths)."""
    if isinstance(exc, WorkbenchError):
        return exc.message
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return "connection refused (is `ocppemu serve` running?)"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return "it did not answer in time"
    code = getattr(exc, "code", None)
    if code == 599:
        return "it did not answer (connection closed or timed out)"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return str(exc) or type(exc).__name__


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S")


@dataclass(slots=True)
class Liveness:
    """Answers and failures of one daemon, with the wall-clock times they happened at (given, not read)."""

    url: str
    last_ok: float | None = None
    down_since: float | None = None
    reason: str | None = None
    changes: int = 0

    @property
    def up(self) -> bool:
        return self.last_ok is not None and self.down_since is None

    @property
    def stale(self) -> bool:
        return not self.up

    def ok(self, now: float) -> bool:
        """Record an answer; True when this ends an outage (or is the first answer)."""
        changed = self.down_since is not None or self.last_ok is None
        self.last_ok, self.down_since, self.reason = now, None, None
        self.changes += changed
        return changed

    def failed(self, now: float, reason: str) -> bool:
        """Record a failure; True when this starts an outage."""
        changed = self.down_since is None
        if changed:
            self.down_since = now
        self.reason = reason
        self.changes += changed
        return changed

    def sentence(self, now: float) -> str:
        """Where the page stands, in words (plain text)."""
        if self.up:
            return f"Connected to the workbench daemon at {self.url} · live"
        since = f" since {_clock(self.down_since)}" if self.down_since else ""
        why = f" ({self.reason})" if self.reason else ""
        if self.last_ok is None:
            return (f"The workbench daemon at {self.url} is not reachable{since}{why}. Start it with "
                    f"`ocppemu serve`; this page connects by itself as soon as it answers.")
        return (f"The workbench daemon at {self.url} is not answering{since}{why}. What this page shows is from "
                f"{_clock(self.last_ok)} and is not updating; reconnecting by itself.")


class ConnectionBar(w.HTML):
    """The daemon's connection state at the top of a page; greys out :meth:`watch`-ed widgets while stale.

    ``on_change(up)`` callbacks run when the daemon goes away or comes back (a view refreshes itself then).
    """

    def __init__(self, wb: WorkbenchAPI, url: str, *, interval: float = 2.0, timeout: float = 3.0) -> None:
        super().__init__()
        self.add_class("ocppemu-connection")
        self.wb = wb
        self.live = Liveness(url)
        self.interval, self.timeout = interval, timeout
        self._watched: list[w.DOMWidget] = []
        self._listeners: list[Callable[[bool], None]] = []
        self._task: asyncio.Task[None] | None = None

    def watch(self, widget: w.DOMWidget) -> None:
        self._watched.append(widget)
        self._paint()

    def on_change(self, fn: Callable[[bool], None]) -> None:
        self._listeners.append(fn)

    async def check(self) -> bool:
        """Ask the daemon once; update the bar; return whether it answered."""
        now = time.time()
        try:
            await asyncio.wait_for(self.wb.status(), self.timeout)
        except Exception as exc:
            changed = self.live.failed(now, readable_error(exc))
        else:
            changed = self.live.ok(now)
        self._paint()
        if changed:
            for fn in list(self._listeners):
                with contextlib.suppress(Exception):
                    fn(self.live.up)
        return self.live.up

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ocppemu-ui-live: connection")

    async def _run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.interval)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _paint(self) -> None:
        up = self.live.up
        colour, bg = ("#1b7f3a", "#f0fdf4") if up else ("#b00020", "#fef2f2")
        state = "daemon-up" if up else "daemon-down"
        self.value = (f"<div class='ocppemu-connection-state {state}' style='padding:4px 10px;border-radius:6px;"
                      f"background:{bg};color:{colour};font-size:13px'>"
                      f"<span style='font-weight:600'>{'●' if up else '○'}</span> "
                      f"{html.escape(self.live.sentence(time.time()))}</div>")
        for widget in self._watched:
            if up:
                widget.remove_class(STALE_CLASS)
            else:
                widget.add_class(STALE_CLASS)


async def follow_events(wb: WorkbenchAPI, *, kinds: list[str] | None = None, stations: list[str] | None = None,
                        retry: float = 1.0, max_retry: float = 5.0,
                        on_gap: Callable[[], None] | None = None) -> AsyncIterator[WorkbenchEvent]:
    """Events of ``wb`` for ever: when the stream breaks (the daemon restarts, the network drops) it reconnects
    with a growing pause and resumes after the last event seen; ``on_gap()`` runs after each reconnection, since
    events may have been missed (a view reloads its state then)."""
    cursor: str | None = None
    pause = retry
    broke = False
    while True:
        try:
            async for ev in wb.events(stations=stations, kinds=kinds, cursor=cursor):
                if broke:
                    broke = False
                    if on_gap is not None:
                        on_gap()
                pause = retry
                cursor = ev.cursor
                yield ev
        except asyncio.CancelledError:
            raise
        except InvalidRequest:
            cursor = None  # a restarted daemon does not know the old cursor: go on from now
        except Exception:
            pass
        broke = True
        await asyncio.sleep(pause)
        pause = min(pause * 2, max_retry)
