"""Predefined charging-session flows driven through the workbench's station actions, and their runner.

A :class:`Flow` is a list of :class:`Step`: a station action, a pause, or a wait for a condition (connected, a
transaction running, no transaction). :class:`FlowRun` runs one flow on several stations at once, keeps every
step's status per station, calls ``on_change`` after each change, and can be paused (waits stop counting),
resumed and stopped (remaining steps become ``stopped``). A failing step fails that station's run only.
Until the scenario engine lands this is what the scenario runner offers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ocppemu.workbench.interface import ActionRequest, StationView, WorkbenchAPI, WorkbenchError

StepKind = Literal["start", "action", "pause", "until_tx", "until_no_tx", "until_connected"]
Status = Literal["pending", "running", "ok", "failed", "stopped"]


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    kind: StepKind
    request: ActionRequest | None = None
    seconds: float = 0.0
    tolerate_failure: bool = False


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    description: str
    steps: tuple[Step, ...]


def _act(label: str, action: str, **kw: object) -> Step:
    return Step(label, "action", ActionRequest.model_validate({"action": action, **kw}))


def predefined_flows(charge_s: float = 10.0, connector_id: int = 1) -> dict[str, Flow]:
    """The built-in flows, charging ``charge_s`` seconds on ``connector_id``."""
    c = connector_id
    start = (Step("start station", "start"), Step("connected", "until_connected", seconds=30),
             _act("plug in + authorize", "start_transaction", connector_id=c),
             Step("transaction started", "until_tx", seconds=30))
    finish = (_act("stop transaction", "stop_transaction", connector_id=c, reason="Local"),
              Step("transaction stopped", "until_no_tx", seconds=30), _act("unplug", "unplug", connector_id=c))
    flows = [
        Flow("charging-session", "Plug in, authorize, charge, stop, unplug",
             (*start, Step(f"charge {charge_s:g}s", "pause", seconds=charge_s), *finish)),
        Flow("suspend-resume", "A session the EV suspends for a while, then resumes",
             (*start, Step(f"charge {charge_s / 2:g}s", "pause", seconds=charge_s / 2),
              _act("EV suspends", "suspend", connector_id=c, by="EV"), Step("suspended 3s", "pause", seconds=3),
              _act("resume", "resume", connector_id=c),
              Step(f"charge {charge_s / 2:g}s", "pause", seconds=charge_s / 2), *finish)),
        Flow("offline-during-session", "The network drops for 5 s during charging; queued messages follow",
             (*start, Step(f"charge {charge_s / 2:g}s", "pause", seconds=charge_s / 2),
              _act("network down 5s", "disconnect_network", seconds=5.0), Step("offline", "pause", seconds=6),
              Step("reconnected", "until_connected", seconds=60),
              Step(f"charge {charge_s / 2:g}s", "pause", seconds=charge_s / 2), *finish)),
        Flow("fault-during-session", "A connector fault interrupts charging, then clears",
             (*start, Step(f"charge {charge_s / 2:g}s", "pause", seconds=charge_s / 2),
              _act("fault", "fault", connector_id=c, error_code="GroundFailure"),
              Step("faulted 3s", "pause", seconds=3), _act("clear fault", "clear_fault", connector_id=c),
              Step("stop transaction (if still running)", "action",
                   ActionRequest(action="stop_transaction", connector_id=c), tolerate_failure=True),
              Step("transaction stopped", "until_no_tx", seconds=30), _act("unplug", "unplug", connector_id=c))),
    ]
    return {f.name: f for f in flows}


@dataclass(slots=True)
class StationProgress:
    station_id: str
    statuses: list[Status]
    notes: list[str]
    current: int = -1


@dataclass(slots=True)
class FlowRun:
    """One flow on several stations. ``await run.run()`` returns when every station finished or was stopped."""

    wb: WorkbenchAPI
    flow: Flow
    stations: list[str]
    on_change: Callable[[FlowRun], None] | None = None
    poll_interval: float = 0.2
    progress: dict[str, StationProgress] = field(default_factory=dict)
    _go: asyncio.Event = field(default_factory=asyncio.Event)
    _stopped: bool = False
    state: str = "ready"

    def __post_init__(self) -> None:
        n = len(self.flow.steps)
        self.progress = {s: StationProgress(s, ["pending"] * n, [""] * n) for s in self.stations}
        self._go.set()

    @property
    def paused(self) -> bool:
        return not self._go.is_set()

    def pause(self) -> None:
        if self.state == "running":
            self._go.clear()
            self.state = "paused"
            self._changed()

    def resume(self) -> None:
        if self.state == "paused":
            self._go.set()
            self.state = "running"
            self._changed()

    def stop(self) -> None:
        """Stop after the step in progress; the remaining steps are marked ``stopped``."""
        self._stopped = True
        self._go.set()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    async def run(self) -> str:
        """Run the flow on every station concurrently; returns ``done``, ``failed`` or ``stopped``."""
        self.state = "running"
        self._changed()
        await asyncio.gather(*(self._run_station(p) for p in self.progress.values()))
        statuses = [s for p in self.progress.values() for s in p.statuses]
        self.state = "stopped" if self._stopped else "failed" if "failed" in statuses else "done"
        self._changed()
        return self.state

    async def _run_station(self, p: StationProgress) -> None:
        for i, step in enumerate(self.flow.steps):
            await self._go.wait()
            if self._stopped:
                p.statuses[i:] = ["stopped"] * (len(p.statuses) - i)
                break
            p.current, p.statuses[i] = i, "running"
            self._changed()
            try:
                note = await self._step(p.station_id, step)
                p.statuses[i], p.notes[i] = "ok", note
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = exc.message if isinstance(exc, WorkbenchError) else str(exc)
                if step.tolerate_failure:
                    p.statuses[i], p.notes[i] = "ok", f"skipped: {reason}"
                else:
                    p.statuses[i], p.notes[i] = "failed", reason
                    p.statuses[i + 1:] = ["stopped"] * (len(p.statuses) - i - 1)
                    self._changed()
                    break
            self._changed()
        p.current = -1

    async def _sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of un-paused time (returns early when stopped)."""
        left = seconds
        while left > 0 and not self._stopped:
            await self._go.wait()
            t0 = time.monotonic()
            await asyncio.sleep(min(self.poll_interval, left))
            left -= time.monotonic() - t0

    async def _until(self, sid: str, test: Callable[[StationView], bool], what: str, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while not self._stopped:
            v = await self.wb.get_station(sid)
            if test(v):
                return what
            if time.monotonic() > deadline and not self.paused:
                raise TimeoutError(f"{what}: not reached within {seconds:g}s (state {v.runtime.state})")
            await self._sleep(self.poll_interval)
        return "stopped"

    async def _step(self, sid: str, step: Step) -> str:
        if step.kind == "start":
            v = await self.wb.get_station(sid)
            if not v.runtime.running:
                await self.wb.start_station(sid)
                return "started"
            return "already running"
        if step.kind == "pause":
            await self._sleep(step.seconds)
            return f"{step.seconds:g}s"
        if step.kind == "until_connected":
            return await self._until(sid, lambda v: v.runtime.state == "connected", "connected", step.seconds)
        if step.kind == "until_tx":
            return await self._until(sid, lambda v: bool(v.runtime.active_transactions),
                                     "transaction running", step.seconds)
        if step.kind == "until_no_tx":
            return await self._until(sid, lambda v: not v.runtime.active_transactions, "no transaction", step.seconds)
        assert step.request is not None
        result = await self.wb.station_action(sid, step.request)
        if not result.ok:
            raise RuntimeError(result.error or f"{step.request.action} refused")
        return ", ".join(f"{k}={v}" for k, v in result.data.items())


async def cancel_quietly(task: asyncio.Task[object] | None) -> None:
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
