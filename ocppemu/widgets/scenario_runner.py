"""Scenario runner: choose a predefined scenario (or paste a scenario file), run it through the scenario engine,
watch every step's status live per station, pause / resume / stop, and open the reports of earlier runs.

It talks to :func:`ocppemu.scenarios.remote.scenario_runs`, so the same widget drives an in-process workbench and
a daemon (over its REST API). The board is a steps-by-stations table, refreshed while a run is live.
"""

from __future__ import annotations

import asyncio
import contextlib

import ipywidgets as w

from ocppemu.scenarios.remote import scenario_runs
from ocppemu.scenarios.results import RunReport
from ocppemu.scenarios.service import StartRunRequest
from ocppemu.widgets import render
from ocppemu.widgets.tasks import TaskRunner
from ocppemu.workbench.interface import WorkbenchAPI

STATUS_STYLE = {"pending": ("#6b7280", "·"), "running": ("#1f5fbf", "▶"), "passed": ("#1b7f3a", "✔"),
                "failed": ("#b00020", "✘"), "skipped": ("#9ca3af", "-"), "stopped": ("#9ca3af", "■")}
FROM_TEXT = "(scenario file below)"


def run_html(report: RunReport) -> str:
    """The run's state and verdict, a steps-by-stations table of statuses (messages as tooltips) and findings."""
    stations = [s.station_id for s in report.stations]
    order: list[tuple[str, str]] = []
    cells: dict[tuple[str, str], str] = {}
    for s in report.steps:
        if (s.key, s.title) not in order:
            order.append((s.key, s.title))
        colour, mark = STATUS_STYLE.get(s.status, ("#000", "?"))
        note = s.message
        cells[(s.key, s.station_id)] = (
            f"<span class='step-{s.status}' title='{render.esc(note)}' style='color:{colour}'>{mark} {s.status}</span>"
            + (f" <small style='color:#6b7280'>{render.esc(note)}</small>" if s.status == "failed" and note else ""))
    rows = [[render.esc(f"{key} {title}"), *[cells.get((key, sid), "") for sid in stations]] for key, title in order]
    counts = ", ".join(f"{v} {k}" for k, v in sorted(report.counts().items()))
    head = (f"<div><b>{render.esc(report.scenario)}</b> run <b class='run-state'>{report.state}</b>"
            + (f" verdict <b class='run-verdict'>{report.verdict}</b>" if report.verdict else "")
            + f" <small>{render.esc(counts)} of {report.total_steps}</small></div>")
    if report.error:
        head += f"<div style='color:#b00020'>{render.esc(report.error)}</div>"
    table = render.table(["step", *[render.esc(s) for s in stations]], rows, css_class="ocppemu-steps")
    findings = ""
    if report.findings:
        findings = "<h4>Findings</h4>" + render.table(
            ["station", "severity", "rule", "action", "description"],
            [[render.esc(f.station_id), render.esc(f.severity), render.esc(f.rule), render.esc(f.action or ""),
              render.esc(f.description)] for f in report.findings], css_class="ocppemu-findings")
    return head + table + findings


class ScenarioRunner(w.VBox):
    """Runs one scenario at a time on the workbench ``wb`` (in-process or a daemon)."""

    def __init__(self, wb: WorkbenchAPI, *, poll_interval: float = 0.3) -> None:
        self.wb = wb
        self.runs = scenario_runs(wb)
        self.tasks = TaskRunner()
        self.poll_interval = poll_interval
        self.report: RunReport | None = None
        self.scenario = w.Dropdown(description="Scenario", options=[FROM_TEXT])
        self.scenario.add_class("ocppemu-scenario")
        self.text = w.Textarea(placeholder="version: 1\nname: my-test\nsteps: [connect, boot]",
                               layout=w.Layout(width="100%", height="160px"))
        self.text.add_class("ocppemu-scenario-text")
        self.ocpp = w.Dropdown(description="OCPP", options=[("file", ""), ("1.6", "1.6"), ("2.0.1", "2.0.1"),
                                                             ("2.1", "2.1")], layout=w.Layout(width="180px"))
        self.count = w.IntText(value=0, description="Stations", layout=w.Layout(width="160px"))
        self.csms = w.Text(description="CSMS", placeholder="default: the workbench's CSMS URL")
        self.run_button = w.Button(description="Run", icon="play", button_style="primary")
        self.run_button.add_class("ocppemu-run")
        self.pause_button = w.Button(description="Pause", icon="pause", disabled=True)
        self.resume_button = w.Button(description="Resume", icon="play", disabled=True)
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True)
        self.history = w.Dropdown(description="Runs", options=[])
        self.open_button = w.Button(description="Open", icon="folder-open")
        self.description = w.HTML()
        self.description.add_class("ocppemu-scenario-description")
        self.library: dict[str, str] = {}
        self.board = w.HTML()
        self.board.add_class("ocppemu-flow-board")
        self.run_button.on_click(lambda _b: self.start())
        self.pause_button.on_click(lambda _b: self._control("pause"))
        self.resume_button.on_click(lambda _b: self._control("resume"))
        self.stop_button.on_click(lambda _b: self._control("stop"))
        self.open_button.on_click(lambda _b: self.show_run(self.history.value))
        self.scenario.observe(lambda _c: self._describe(), "value")
        super().__init__([w.HTML("<h3>Scenarios</h3>"), self.scenario, self.description, self.text,
                          w.HBox([self.ocpp, self.count, self.csms]),
                          w.HBox([self.run_button, self.pause_button, self.resume_button, self.stop_button]),
                          self.tasks.status, self.board, w.HBox([self.history, self.open_button])])
        self.add_class("ocppemu-scenarios")
        self.refresh()

    def refresh(self) -> None:
        """Reload the predefined scenarios and the list of runs."""
        async def load() -> None:
            lib = await self.runs.library()
            usable = [s for s in lib.scenarios if s.problem is None]
            self.library = {s.name: (f"<b>{render.esc(s.name)}</b>: <i>{render.esc(s.description)}</i> "
                                     f"<small>OCPP {render.esc(', '.join(s.versions))}"
                                     + (f"; OCA {render.esc(' '.join(s.oca))}" if s.oca else "") + "</small>")
                            for s in usable}
            current = self.scenario.value
            self.scenario.options = [FROM_TEXT, *self.library]
            if current == FROM_TEXT and not self.text.value.strip() and self.library:
                self.scenario.value = "charging-session" if "charging-session" in self.library else next(
                    iter(self.library))
            elif current in self.scenario.options:
                self.scenario.value = current
            self._describe()
            runs = await self.runs.list()
            self.history.options = [(f"{r.scenario} {r.verdict or r.state} {r.run_id}", r.run_id) for r in runs.runs]

        self.tasks.spawn(load(), "scenarios")

    def _describe(self) -> None:
        v = self.scenario.value
        self.description.value = self.library.get(v, "") if v != FROM_TEXT else "<i>the scenario file below</i>"

    def start(self) -> None:
        """Start the chosen scenario (in the background) and follow it."""
        if self.report is not None and self.report.state not in ("finished",):
            self.tasks.fail("a run is in progress: stop it first")
            return
        from_text = self.scenario.value == FROM_TEXT
        if from_text and not self.text.value.strip():
            self.tasks.fail("run: choose a scenario or paste a scenario file")
            return
        req = StartRunRequest(scenario=None if from_text else self.scenario.value,
                              text=self.text.value if from_text else None, ocpp=self.ocpp.value or None,
                              stations=self.count.value if self.count.value > 0 else None,
                              csms_url=self.csms.value.strip() or None)

        async def go() -> None:
            report = await self.runs.start(req)
            self._show(report)
            await self._follow(report.run_id)

        self.tasks.spawn(go(), "run")

    async def _follow(self, run_id: str) -> None:
        while True:
            report = await self.runs.get(run_id)
            self._show(report)
            if report.state == "finished":
                (self.tasks.ok if report.verdict == "passed" else self.tasks.fail)(
                    f"{report.scenario}: {report.verdict}")
                self.refresh()
                return
            await asyncio.sleep(self.poll_interval)

    def _control(self, what: str) -> None:
        report = self.report
        if report is None:
            return

        async def do() -> None:
            self._show(await getattr(self.runs, what)(report.run_id))

        self.tasks.spawn(do(), what)

    def show_run(self, run_id: str | None) -> None:
        """Show a stored (or live) run."""
        if not run_id:
            return

        async def load() -> None:
            self._show(await self.runs.get(run_id))

        self.tasks.spawn(load(), "open run")

    def _show(self, report: RunReport) -> None:
        self.report = report
        self.board.value = run_html(report)
        active = report.state in ("running", "paused", "ready", "stopping")
        self.run_button.disabled = active
        self.pause_button.disabled = report.state != "running"
        self.resume_button.disabled = report.state != "paused"
        self.stop_button.disabled = not active

    async def close(self) -> None:
        if self.report is not None and self.report.state in ("running", "paused"):
            with contextlib.suppress(Exception):
                await self.runs.stop(self.report.run_id)
        await self.tasks.close()


async def run_scenario(wb: WorkbenchAPI, scenario: str | None = None, *, text: str | None = None,
                       progress: bool = True, poll_interval: float = 0.2, **options: object) -> RunReport:
    """Run a predefined ``scenario`` (or a scenario file's ``text``) on ``wb`` (in-process or a daemon) and return
    its finished report, showing a progress bar in a notebook. ``options`` are :class:`StartRunRequest` fields
    (``csms_url``, ``ocpp``, ``stations``, ``seed``, ``response_timeout``). Raises ``InvalidRequest`` for a bad
    file."""
    runs = scenario_runs(wb)
    report = await runs.start(StartRunRequest.model_validate({"scenario": scenario, "text": text, **options}))
    bar = w.IntProgress(min=0, max=max(1, report.total_steps), description=report.scenario[:18])
    bar.add_class("ocppemu-run-progress")
    label = w.HTML()
    if progress:
        from IPython.display import display

        display(w.HBox([bar, label]))
    while True:
        done = sum(1 for s in report.steps if s.status not in ("pending", "running"))
        bar.value = min(done, bar.max)
        label.value = render.esc(", ".join(f"{v} {k}" for k, v in sorted(report.counts().items())))
        if report.state == "finished":
            break
        await asyncio.sleep(poll_interval)
        report = await runs.get(report.run_id)
    bar.bar_style = "success" if report.verdict == "passed" else "danger"
    label.value += f" <b>{render.esc(str(report.verdict))}</b>"
    return report
