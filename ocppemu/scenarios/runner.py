"""The scenario runner: plays a loaded scenario on a :class:`~ocppemu.workbench.Workbench` and judges the CSMS.

Steps run in file order; a station step runs on all its stations at once and the next step starts when all have
finished it (see docs/SCENARIOS.md). Every step result is published on the workbench event stream (kind
``scenario``) as it changes, and kept in :attr:`ScenarioRun.report`. :meth:`ScenarioRun.pause` holds the run at the
next step boundary, :meth:`resume` continues, :meth:`stop` ends it: whatever the run started is ended too (running
transactions are stopped, which sends StopTransaction / TransactionEvent(Ended), and the run's stations are
stopped). Randomness (station simulation seeds) comes from the run's seed, so a run is repeatable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ocppemu.compliance.findings import ComplianceFinding
from ocppemu.ocpp.records import FrameRecord
from ocppemu.scenarios import format as fmt
from ocppemu.scenarios import steps as S
from ocppemu.scenarios.library import resolve
from ocppemu.scenarios.loader import Scenario, StationPlan, load, select
from ocppemu.scenarios.results import FindingOut, LatencyPoint, RunReport, StationOut, StepResult, latency_table
from ocppemu.scenarios.results import meter_points as meter_points_of
from ocppemu.scenarios.templating import UnknownVariable
from ocppemu.station.core import StationEvent

log = logging.getLogger(__name__)

Listener = Callable[[RunReport, StepResult | None], None]


class ScenarioRun:
    """One run of ``scenario`` on ``wb`` (an in-process workbench). ``await run.run()`` returns the report."""

    def __init__(self, wb: Any, scenario: Scenario, *, seed: int | None = None, response_timeout: float | None = None,
                 env: Mapping[str, str] | None = None, prompter: S.Prompter | None = None,
                 keep_stations: bool = False, store: bool = True, run_id: str | None = None) -> None:
        self.wb, self.scenario = wb, scenario
        m = scenario.model
        self.seed = seed if seed is not None else (m.settings.seed if m.settings.seed is not None else 0)
        self.response_timeout = response_timeout or m.settings.response_timeout
        self.env = dict(os.environ if env is None else env)
        self.prompter = prompter
        self.keep_stations, self.store = keep_stations, store
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.report = RunReport(run_id=self.run_id, scenario=m.name, file=scenario.file, description=m.description,
                                oca=list(m.oca), ocpp=sorted({p.version for p in scenario.stations}), seed=self.seed,
                                csms_url=scenario.stations[0].config.get("csms_url", "") if scenario.stations else "",
                                stations=[StationOut(station_id=p.station_id, version=p.version)
                                          for p in scenario.stations])
        self.report.total_steps = _count(m.steps, scenario.stations, None)
        self.listeners: list[Listener] = []
        self.ctx: dict[str, S.StationContext] = {}
        self._go = asyncio.Event()
        self._go.set()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[RunReport] | None = None
        self._created: list[str] = []
        self._records: list[FrameRecord] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._doc_id: str | None = None

    async def prepare(self) -> str:
        """Store the run's record (its id becomes :attr:`run_id` when the store gives one); returns the id."""
        if self.store and self._doc_id is None:
            self._doc_id = await self._save(None)
            if self._doc_id:
                self.run_id = self.report.run_id = self._doc_id
        return self.run_id

    # -- control -----------------------------------------------------------------------------------------------

    def pause(self) -> None:
        if self.report.state == "running":
            self._go.clear()
            self.report.state = "paused"
            self._changed(None)

    def resume(self) -> None:
        if self.report.state == "paused":
            self._go.set()
            self.report.state = "running"
            self._changed(None)

    def stop(self) -> None:
        """End the run: the current steps are cancelled, what the run started is ended (see the module doc)."""
        if self.report.state in ("running", "paused", "ready"):
            self.report.state = "stopping"
            self._stop.set()  # the main task cancels the steps and ends what they started
            self._go.set()
            self._changed(None)

    def start(self) -> asyncio.Task[RunReport]:
        """Run in the background; the task's result is the report."""
        if self._task is None:
            self._task = asyncio.create_task(self._main(), name=f"scenario:{self.run_id}")
        return self._task

    async def run(self) -> RunReport:
        task = self.start()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)
        return await task if not task.cancelled() else self.report

    # -- the run -----------------------------------------------------------------------------------------------

    async def _main(self) -> RunReport:
        r = self.report
        r.state, r.started_at = "running", time.time()
        self._changed(None)
        try:
            await self.prepare()
            await self._setup()
            steps_task = asyncio.ensure_future(self._steps(self.scenario.model.steps, ("steps",), "", None))
            stop_wait = asyncio.ensure_future(self._stop.wait())
            try:
                await asyncio.wait({steps_task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for t in (steps_task, stop_wait):
                    if not t.done():
                        t.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await t
            if steps_task.done() and not steps_task.cancelled() and steps_task.exception() is not None:
                raise steps_task.exception()  # type: ignore[misc]
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # a bug or a workbench refusal ends the run with a readable error
            log.exception("scenario run %s failed", self.run_id)
            r.error = f"{type(exc).__name__}: {exc}"
        finally:
            await self._teardown()
            stopped = self._stop.is_set()
            for s in r.steps:
                if s.status in ("pending", "running"):
                    s.status = "stopped" if stopped else "skipped"
            r.finished_at = time.time()
            r.duration_s = round(r.finished_at - (r.started_at or r.finished_at), 3)
            r.latency = latency_table(self._records)
            r.verdict = "error" if r.error else "stopped" if stopped else "failed" if r.failed else "passed"
            r.state = "finished"
            self._changed(None)
            if self.store:
                with contextlib.suppress(Exception):
                    await self._save(self._doc_id)
        return r

    async def _save(self, doc_id: str | None) -> str | None:
        doc = self.report.model_dump(mode="json")
        doc.pop("latency_points", None)
        if doc_id is None:
            return str(await self.wb.repo.create_scenario_run({**doc, "scenario": self.report.scenario}))
        await self.wb.repo.update_scenario_run(doc_id, doc)
        return doc_id

    async def _setup(self) -> None:
        rng = random.Random(self.seed)
        self._unsubscribe.append(self.wb.recorder.on_frame(self._on_frame))
        self._unsubscribe.append(self.wb.recorder.on_event(self._on_event))
        self._unsubscribe.append(self.wb.compliance.listen(self._on_finding))
        base = {"run_id": self.run_id, "seed": self.seed}
        for plan in self.scenario.stations:
            cfg = dict(plan.config)
            # Every CSMS frame is judged (docs/COMPLIANCE.md); the run's response timeout is the stations' call
            # timeout, so an answer the station gave up on is a finding.
            cfg["simulation"] = {**cfg.get("simulation", {}), "seed": rng.randrange(2**31),
                                 "compliance_checks": True, "call_timeout": self.response_timeout}
            cfg["auto_start"] = False
            cfg["enabled"] = True
            await self.wb.create_station(cfg)
            self._created.append(plan.station_id)
            variables = {**self.scenario.model.variables, **plan.variables, **base,
                         "station_id": plan.station_id, "index": plan.index, "ocpp": plan.version,
                         "csms_url": cfg.get("csms_url", "")}
            ctx = S.StationContext(plan.station_id, plan.version, self.wb, variables, self.env)
            self.ctx[plan.station_id] = ctx
            core, _ = self.wb.station_engine(plan.station_id)
            core.call_interceptor = ctx.intercept

    async def _teardown(self) -> None:
        """End what the run started: stop running transactions (and wait a little for their messages), then the
        stations; delete the stations unless asked to keep them."""
        for sid in self._created:
            with contextlib.suppress(Exception):
                core, runtime = self.wb.station_engine(sid)
                core.call_interceptor = None
                for connector in list(core.active_transactions()):
                    runtime.act(core.stop_session, connector, reason="Other")
        deadline = time.monotonic() + min(10.0, self.response_timeout)
        while time.monotonic() < deadline:
            busy = False
            for sid in self._created:
                with contextlib.suppress(Exception):
                    core, _ = self.wb.station_engine(sid)
                    busy = busy or (core.is_connected and (len(core.queue) > 0 or core.rpc.in_flight is not None))
            if not busy:
                break
            await asyncio.sleep(0.05)
        self.wb.compliance.flush(time.time(), self._created)  # calls still unanswered are findings too
        for sid in self._created:
            with contextlib.suppress(Exception):
                await self.wb.stop_station(sid)
        with contextlib.suppress(Exception):
            await self.wb.recorder.flush()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if not self.keep_stations:
            for sid in self._created:
                with contextlib.suppress(Exception):
                    await self.wb.delete_station(sid)

    def _on_frame(self, record: FrameRecord) -> None:
        ctx = self.ctx.get(record.station_id)
        if ctx is None:
            return
        ctx.feed(record)
        self._records.append(record)
        if record.direction == "received" and record.rtt_ms is not None and record.message_type != "Call":
            self.report.latency_points.append(LatencyPoint(t=record.timestamp.timestamp(), station_id=ctx.station_id,
                                                           action=record.action or "?", rtt_ms=record.rtt_ms))
        self.report.meter_points.extend(meter_points_of(record))

    def _on_finding(self, f: ComplianceFinding, *, force: bool = False) -> None:
        if force or f.station_id in self.ctx:
            self.report.findings.append(FindingOut(
                station_id=f.station_id, timestamp=f.timestamp.timestamp(), severity=f.severity, rule=f.rule,
                description=f.description, message_id=f.message_id, action=f.action, reference=f.reference))

    def _on_event(self, event: StationEvent) -> None:
        # The engine's own findings (schema, unknown ids) are judged again, with rule and reference, by the
        # compliance monitor of every run station; only stations without one report them here.
        checked = event.station_id in self.wb.compliance.monitors
        if event.station_id in self.ctx and event.kind == "finding" and not checked:
            d = event.data
            self.report.findings.append(FindingOut(
                station_id=event.station_id, timestamp=event.timestamp, severity=d.get("severity", "error"),
                rule=str(d.get("rule") or d.get("code") or "finding"), description=str(d.get("description", "")),
                message_id=d.get("message_id"), action=d.get("action"), reference=d.get("reference")))

    def _changed(self, step: StepResult | None) -> None:
        data: dict[str, Any] = {"run_id": self.run_id, "scenario": self.report.scenario, "state": self.report.state,
                                "verdict": self.report.verdict, "counts": self.report.counts(),
                                "total_steps": self.report.total_steps}
        if step is not None:
            data["step"] = step.model_dump(mode="json")
        with contextlib.suppress(Exception):
            self.wb.bus.publish("scenario", step.station_id if step else None, time.time(), data)
        for listener in list(self.listeners):
            try:
                listener(self.report, step)
            except Exception:
                log.exception("scenario listener failed")

    # -- steps -------------------------------------------------------------------------------------------------

    async def _steps(self, steps: list[fmt.StepWrapper], loc: tuple[str | int, ...], prefix: str,
                     default_on: list[str] | None) -> None:
        for i, step in enumerate(steps):
            await self._go.wait()
            key = f"{prefix}{i + 1}"
            here = (*loc, i, step.kind)
            args = step.args
            line = self.scenario.position(here)[0]
            if isinstance(args, fmt.WaitArgs):
                await self._wait(args.seconds)
                continue
            if isinstance(args, fmt.RepeatArgs):
                for n in range(1, args.times + 1):
                    for ctx in self.ctx.values():
                        ctx.variables["iteration"] = n
                    await self._steps(args.steps, (*here, "steps"), f"{key}.{n}.", default_on)
                continue
            if isinstance(args, fmt.ParallelArgs):
                branches = [self._steps(b.steps, (*here, "branches", bi, "steps"), f"{key}.b{bi + 1}.",
                                        b.on if b.on is not None else default_on)
                            for bi, b in enumerate(args.branches)]
                await asyncio.gather(*branches)
                continue
            on = default_on if default_on is not None and "on" not in args.model_fields_set else getattr(
                args, "on", ["all"])
            targets = select(on, self._plans())
            only = getattr(args, "ocpp", None)
            if only is not None:
                targets = [p for p in targets if p.version in only]
            nxt = steps[i + 1] if i + 1 < len(steps) else None
            await asyncio.gather(*(self._station_step(step, self.ctx[p.station_id], key, line, nxt)
                                   for p in targets))

    def _plans(self) -> list[StationPlan]:
        return self.scenario.stations

    async def _fuzz(self, ctx: S.StationContext, a: fmt.FuzzArgs) -> S.Outcome:
        return await _fuzz_step(self, ctx, a)

    async def _wait(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if not self._go.is_set():
                paused_at = time.monotonic()
                await self._go.wait()
                end += time.monotonic() - paused_at
                continue
            await asyncio.sleep(min(left, 0.1))

    async def _station_step(self, step: fmt.StepWrapper, ctx: S.StationContext, key: str, line: int,
                            nxt: fmt.StepWrapper | None) -> None:
        args = step.args
        result = StepResult(key=key, kind=step.kind, title=step.title, station_id=ctx.station_id, line=line)
        self.report.steps.append(result)
        if ctx.failed:
            result.status = "skipped"
            result.message = "an earlier step failed on this station"
            self._changed(result)
            return
        # An answer other than the default must be in place before the call can arrive: arm the next step's now.
        if nxt is not None and isinstance(nxt.args, fmt.ExpectCallArgs):
            ctx.arm(nxt.args)
        if isinstance(args, fmt.ExpectCallArgs):
            ctx.arm(args)
        ctx.window, ctx.last_start = ctx.last_start, len(ctx.frames)
        result.status, result.started_at = "running", time.time()
        self._changed(result)
        timeout = getattr(args, "timeout", None) or self.scenario.model.settings.step_timeout
        try:
            out = await asyncio.wait_for(self._execute(step, ctx, timeout), timeout + 5)
        except UnknownVariable as exc:
            out = S.unknown_variable(exc)
        except TimeoutError:
            out = S.Outcome.fail(f"the step did not finish within {timeout:g} s", "timeout")
        except asyncio.CancelledError:
            result.status = "stopped"
            result.duration_s = round(time.time() - result.started_at, 3)
            self._changed(result)
            raise
        except Exception as exc:
            log.exception("step %s on %s failed", key, ctx.station_id)
            out = S.Outcome.fail(f"internal error: {type(exc).__name__}: {exc}", "internal")
        if isinstance(args, fmt.ExpectCallArgs):
            ctx.disarm(args)
        result.duration_s = round(time.time() - result.started_at, 3)
        result.status = "passed" if out.ok else "failed"
        result.message, result.rule, result.action = out.message, out.rule, out.action
        if not out.ok and not args.continue_on_failure:
            ctx.failed = True
        self._changed(result)

    async def _execute(self, step: fmt.StepWrapper, ctx: S.StationContext, timeout: float) -> S.Outcome:
        a = step.args
        api = self.scenario.model.csms_api
        rt = min(timeout, self.response_timeout)
        if isinstance(a, fmt.ConnectArgs):
            return await S.do_connect(ctx, a, timeout)
        if isinstance(a, fmt.DisconnectArgs):
            await self.wb.stop_station(ctx.station_id)
            return S.Outcome(True, "disconnected")
        if isinstance(a, fmt.BootArgs):
            return await S.do_boot(ctx, a, timeout)
        if isinstance(a, fmt.AuthorizeArgs):
            return await S.do_authorize(ctx, a, rt)
        if isinstance(a, fmt.StartArgs):
            return await S.do_start(ctx, a, rt)
        if isinstance(a, fmt.StopArgs):
            return await S.do_stop(ctx, a, rt)
        if isinstance(a, fmt.NetworkDropArgs):
            return await S.do_network_drop(ctx, a, timeout)
        if isinstance(a, fmt.PowerLossArgs):
            return await S.do_power_loss(ctx, a, timeout)
        if isinstance(a, fmt.ParkingBayArgs):
            return await S.do_parking_bay(ctx, a, rt)
        if isinstance(a, fmt.ChargeArgs):
            return await S.do_charge(ctx, a, timeout)
        if isinstance(a, fmt.ConnectorArgs):
            return await S.do_event(ctx, a, timeout)
        if isinstance(a, fmt.ExpectCallArgs):
            return await S.do_expect_call(ctx, a, timeout, api, self.prompter)
        if isinstance(a, fmt.FuzzArgs):
            return await self._fuzz(ctx, a)
        if isinstance(a, fmt.SendArgs | fmt.SendRawArgs):
            return await S.do_send(ctx, a, rt)
        if isinstance(a, fmt.HttpArgs):
            return await S.do_http(ctx, a, timeout, api)
        if isinstance(a, fmt.PromptArgs):
            return await S.do_prompt(ctx, str(ctx.r(a.message)), self.prompter)
        if isinstance(a, fmt.SetArgs):
            return S.do_set(ctx, a)
        if isinstance(a, fmt.CheckArgs):
            return S.do_check(ctx, a)
        return S.Outcome.fail(f"step {step.kind} is not supported by this runner", "internal")


async def _fuzz_step(run: ScenarioRun, ctx: S.StationContext, a: fmt.FuzzArgs) -> S.Outcome:
    from ocppemu.compliance.fuzz_run import fuzz_csms
    from ocppemu.ocpp.versions import Version
    from ocppemu.transport.base import TransportError

    config = (await run.wb.get_station(ctx.station_id, include_secrets=True)).config
    seed = a.seed if a.seed is not None else run.seed or 0
    try:
        report = await fuzz_csms(config["csms_url"], Version(ctx.version), frames=a.frames, seed=seed,
                                 station_id=f"{ctx.station_id}-FUZZ", answer_timeout=a.answer_timeout,
                                 config=config)
    except TransportError as exc:
        return S.Outcome.fail(f"the fuzzer could not connect: {exc}", "fuzz.disconnected")
    for f in report.findings:  # the fuzzer's connection is not one of the run's stations: taken as they are
        run._on_finding(f, force=True)
    errors = report.errors
    summary = f"{len(report.cases)} frames (seed {seed}): {len(errors)} error finding(s), " \
              f"{len(report.findings) - len(errors)} other"
    return S.Outcome(not errors, summary, errors[0].rule if errors else None, errors[0].action if errors else None)


def _count(steps: list[fmt.StepWrapper], plans: list[StationPlan], default_on: list[str] | None) -> int:
    """How many station-step results a run of ``steps`` produces (for progress bars)."""
    total = 0
    for step in steps:
        a = step.args
        if isinstance(a, fmt.WaitArgs):
            continue
        if isinstance(a, fmt.RepeatArgs):
            total += a.times * _count(a.steps, plans, default_on)
        elif isinstance(a, fmt.ParallelArgs):
            total += sum(_count(b.steps, plans, b.on if b.on is not None else default_on) for b in a.branches)
        else:
            on = default_on if default_on is not None and "on" not in a.model_fields_set else getattr(a, "on", ["all"])
            targets = select(on, plans)
            only = getattr(a, "ocpp", None)
            total += len([p for p in targets if only is None or p.version in only])
    return total


async def run_scenario(wb: Any, scenario: Scenario | str | Path, *, csms_url: str | None = None,
                       ocpp: str | None = None, stations: int | None = None, seed: int | None = None,
                       response_timeout: float | None = None, env: Mapping[str, str] | None = None,
                       prompter: S.Prompter | None = None, keep_stations: bool = False,
                       listener: Listener | None = None) -> RunReport:
    """Load (if needed) and run a scenario on ``wb``; returns the finished report.

    ``scenario`` is a loaded :class:`Scenario`, a path or the name of a library scenario; ``csms_url``,
    ``ocpp`` and ``stations`` override the file's stations as ``--csms``, ``--ocpp`` and ``--stations`` do (the
    workbench's default CSMS URL is used when neither the file nor ``csms_url`` gives one). Raises
    ``ScenarioError`` for a bad file; a failing CSMS is a report with ``verdict == "failed"``, not an exception.
    """
    if not isinstance(scenario, Scenario):
        templates = await _stored_templates(wb)
        scenario = load(resolve(str(scenario)), ocpp=ocpp, stations=stations, templates=templates,
                        csms_url=csms_url or wb.app.csms.default_url)
    run = ScenarioRun(wb, scenario, seed=seed, response_timeout=response_timeout, env=env, prompter=prompter,
                      keep_stations=keep_stations)
    if listener is not None:
        run.listeners.append(listener)
    return await run.run()


async def _stored_templates(wb: Any) -> dict[str, dict[str, Any]]:
    try:
        listed = await wb.list_templates()
    except Exception:
        return {}
    return {t.name: {"description": t.description, "station": t.station} for t in listed.templates}
