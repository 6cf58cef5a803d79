"""Scenario runner: choose a predefined charging-session flow and stations, run it, watch each step's status live
per station, pause / resume / stop. (The scenario engine will plug in here when it lands.)"""

from __future__ import annotations

import asyncio

import ipywidgets as w

from ocppemu.widgets import render
from ocppemu.widgets.flows import Flow, FlowRun, predefined_flows
from ocppemu.widgets.tasks import TaskRunner
from ocppemu.workbench.interface import WorkbenchAPI

STATUS_STYLE = {"pending": ("#6b7280", "·"), "running": ("#1f5fbf", "▶"), "ok": ("#1b7f3a", "✔"),
                "failed": ("#b00020", "✘"), "stopped": ("#9ca3af", "■")}


def run_html(run: FlowRun) -> str:
    """A steps-by-stations table of statuses (with each step's note as a tooltip)."""
    headers = ["step", *[render.esc(s) for s in run.stations]]
    rows = []
    for i, step in enumerate(run.flow.steps):
        cells = [render.esc(step.label)]
        for sid in run.stations:
            p = run.progress[sid]
            colour, mark = STATUS_STYLE[p.statuses[i]]
            cells.append(f"<span class='step-{p.statuses[i]}' title='{render.esc(p.notes[i])}' "
                         f"style='color:{colour}'>{mark} {p.statuses[i]}</span>"
                         + (f" <small style='color:#6b7280'>{render.esc(p.notes[i])}</small>" if p.notes[i] else ""))
        rows.append(cells)
    return f"<div>run <b class='run-state'>{run.state}</b></div>" + render.table(headers, rows,
                                                                               css_class="ocppemu-steps")


class ScenarioRunner(w.VBox):
    """Runs one :class:`Flow` at a time on the chosen stations."""

    def __init__(self, wb: WorkbenchAPI, *, charge_s: float = 10.0) -> None:
        self.wb = wb
        self.tasks = TaskRunner()
        self.flows: dict[str, Flow] = predefined_flows(charge_s)
        self.run: FlowRun | None = None
        self.run_task: asyncio.Task[object] | None = None
        self.flow = w.Dropdown(description="Flow", options=list(self.flows))
        self.flow.add_class("ocppemu-flow")
        self.charge = w.FloatText(value=charge_s, description="Charge s", layout=w.Layout(width="180px"))
        self.description = w.HTML()
        self.stations = w.SelectMultiple(description="Stations", options=[], rows=6)
        self.stations.add_class("ocppemu-flow-stations")
        self.run_button = w.Button(description="Run", icon="play", button_style="primary")
        self.run_button.add_class("ocppemu-run")
        self.pause_button = w.Button(description="Pause", icon="pause", disabled=True)
        self.resume_button = w.Button(description="Resume", icon="play", disabled=True)
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True)
        self.refresh_button = w.Button(description="Refresh stations", icon="refresh")
        self.board = w.HTML()
        self.board.add_class("ocppemu-flow-board")
        self.flow.observe(lambda _c: self._describe(), "value")
        self.charge.observe(lambda _c: self._rebuild(), "value")
        self.run_button.on_click(lambda _b: self.start())
        self.pause_button.on_click(lambda _b: self.run and self.run.pause())
        self.resume_button.on_click(lambda _b: self.run and self.run.resume())
        self.stop_button.on_click(lambda _b: self.run and self.run.stop())
        self.refresh_button.on_click(lambda _b: self.refresh())
        super().__init__([w.HTML("<h3>Scenarios</h3>"), w.HBox([self.flow, self.charge]), self.description,
                          w.HBox([self.stations, self.refresh_button]),
                          w.HBox([self.run_button, self.pause_button, self.resume_button, self.stop_button]),
                          self.tasks.status, self.board])
        self.add_class("ocppemu-scenarios")
        self._describe()
        self.refresh()

    def _rebuild(self) -> None:
        self.flows = predefined_flows(max(0.0, float(self.charge.value)))
        self._describe()

    def _describe(self) -> None:
        f = self.flows[self.flow.value]
        self.description.value = (f"<i>{render.esc(f.description)}</i><br>"
                                  + " → ".join(render.esc(s.label) for s in f.steps))

    def refresh(self) -> None:
        async def load() -> None:
            stations = (await self.wb.list_stations()).stations
            keep = [s for s in self.stations.value if s in {v.station_id for v in stations}]
            self.stations.options = [v.station_id for v in stations]
            self.stations.value = tuple(keep)

        self.tasks.spawn(load(), "stations")

    def start(self) -> None:
        """Run the chosen flow on the chosen stations (in the background)."""
        if self.run is not None and self.run.state in ("running", "paused"):
            self.tasks.fail("a run is in progress: stop it first")
            return
        chosen = list(self.stations.value)
        if not chosen:
            self.tasks.fail("run: choose at least one station")
            return
        self.run = FlowRun(self.wb, self.flows[self.flow.value], chosen, on_change=self._show)
        run = self.run

        async def go() -> None:
            outcome = await run.run()
            (self.tasks.ok if outcome == "done" else self.tasks.fail)(f"{run.flow.name}: {outcome}")

        self.run_task = self.tasks.spawn(go(), f"run {run.flow.name}")

    def _show(self, run: FlowRun) -> None:
        self.board.value = run_html(run)
        active = run.state in ("running", "paused")
        self.run_button.disabled = active
        self.pause_button.disabled = run.state != "running"
        self.resume_button.disabled = run.state != "paused"
        self.stop_button.disabled = not active

    async def close(self) -> None:
        if self.run is not None:
            self.run.stop()
        await self.tasks.close()
