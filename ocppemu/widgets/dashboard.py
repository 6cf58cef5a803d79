"""Dashboard: every station with its live connection state, a heartbeat indicator, active transactions, quick
start / stop, and a chart of frames per second by station (inline SVG, see :mod:`ocppemu.widgets.charts`).

Live data comes from the workbench's event stream (a background task, cancelled by :meth:`Dashboard.close`);
the table is redrawn at most every ``refresh_interval`` seconds however many frames arrive.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import ipywidgets as w

from ocppemu.widgets import charts, render
from ocppemu.widgets.connection import follow_events
from ocppemu.widgets.live import RateWindow
from ocppemu.widgets.tasks import TaskRunner
from ocppemu.workbench.interface import StationView, WorkbenchAPI


def heartbeat_state(v: StationView, now: float, connected_since: float | None = None) -> tuple[str, str]:
    """(colour, explanation) of a station's heartbeat: green within 2 intervals, amber later, grey never.

    A Heartbeat older than the present connection (``connected_since``) belongs to the previous one: the age is
    then counted from the reconnection."""
    hb = v.runtime.last_heartbeat
    if v.runtime.state != "connected":
        return "#9ca3af", "not connected"
    hb_ts = datetime.fromisoformat(hb.replace("Z", "+00:00")).timestamp() if hb else None
    if hb_ts is None or (connected_since is not None and hb_ts < connected_since):
        since = f" {max(now - connected_since, 0):.0f}s ago" if connected_since is not None else ""
        return "#1b7f3a", f"connected{since}, no Heartbeat needed yet"
    age = now - hb_ts
    interval = float(v.snapshot.get("heartbeat_interval") or 60)
    if age <= 2 * interval:
        return "#1b7f3a", f"last Heartbeat {age:.0f}s ago"
    return "#b45309", f"last Heartbeat {age:.0f}s ago (interval {interval:.0f}s)"


class Dashboard(w.VBox):
    """Overview of all stations; call :meth:`start_live` (done by default) for live updates."""

    def __init__(self, wb: WorkbenchAPI, *, refresh_interval: float = 1.0, window_s: int = 60,
                 live: bool = True) -> None:
        self.wb = wb
        self.tasks = TaskRunner()
        self.refresh_interval = refresh_interval
        self.rates = RateWindow(window_s)
        self.views: list[StationView] = []
        self.summary = w.HTML()
        self.summary.add_class("ocppemu-summary")
        self.rows = w.VBox()
        self.rows.add_class("ocppemu-dashboard-rows")
        self.buttons: dict[str, tuple[w.Button, w.Button, w.HTML]] = {}
        self.chart = w.HTML()
        self.chart.add_class("ocppemu-rate-chart")
        self.frames_seen = 0
        self._states: dict[str, str] = {}
        self._since: dict[str, float | None] = {}  # when a station (re)connected while this page watched
        parts: list[w.Widget] = [w.HTML("<h3>Stations</h3>"), self.summary, self.rows, self.tasks.status,
                                 w.HTML("<h4>Frames per second by station (last minute)</h4>"), self.chart]
        super().__init__(parts)
        self.add_class("ocppemu-dashboard")
        self.refresh()
        if live:
            self.start_live()

    def refresh(self) -> None:
        self.tasks.spawn(self._refresh(), "refresh")

    async def _refresh(self) -> None:
        self.views = (await self.wb.list_stations()).stations
        self._draw()

    def _draw(self) -> None:
        now = time.time()
        ids = [v.station_id for v in self.views]
        if list(self.buttons) != ids:
            self.buttons = {sid: self._row_widgets(sid) for sid in ids}
            self.rows.children = [w.HBox([b[2], b[0], b[1]]) for b in self.buttons.values()] if ids else [
                w.HTML("<i>No stations yet: create one in the station manager.</i>")]
        connected = 0
        for v in self.views:
            start, stop, info = self.buttons[v.station_id]
            was = self._states.get(v.station_id)
            if v.runtime.state == "connected" and was != "connected":
                self._since[v.station_id] = now if was is not None else None
            self._states[v.station_id] = v.runtime.state
            colour, why = heartbeat_state(v, now, self._since.get(v.station_id))
            txs = ", ".join(f"#{c}: {t}" for c, t in v.runtime.active_transactions.items()) or "—"
            energy = sum(v.runtime.energy_register_wh.values())
            info.value = (f"<div class='ocppemu-row' data-station='{render.esc(v.station_id)}' style='width:620px'>"
                          f"<b>{render.esc(v.station_id)}</b> {render.badge(v.runtime.state)} "
                          f"{render.dot(colour, why)} <span style='color:#6b7280'>{render.esc(why)}</span> · "
                          f"tx {render.esc(txs)} · {energy / 1000:.2f} kWh</div>")
            start.disabled = v.runtime.running or not v.config.get("enabled", True)
            stop.disabled = not v.runtime.running
            connected += v.runtime.state == "connected"
        self.summary.value = (f"<b>{len(self.views)}</b> stations · <b>{connected}</b> connected · "
                              f"<b>{sum(len(v.runtime.active_transactions) for v in self.views)}</b> active "
                              f"transactions · {self.frames_seen} frames seen")
        series = {sid: (xs, ys) for sid, (xs, ys) in self.rates.series(now).items()}
        self.chart.value = charts.line_chart(series, width=720, height=260, x_label="seconds ago",
                                             y_label="frames/s", empty="no frames in the last minute")

    def _row_widgets(self, sid: str) -> tuple[w.Button, w.Button, w.HTML]:
        start = w.Button(description="Start", icon="play", layout=w.Layout(width="90px"))
        stop = w.Button(description="Stop", icon="stop", layout=w.Layout(width="90px"))
        start.add_class("ocppemu-quick-start")
        stop.add_class("ocppemu-quick-stop")
        start.on_click(lambda _b: self.tasks.spawn(self._act(self.wb.start_station(sid), "started"), f"start {sid}"))
        stop.on_click(lambda _b: self.tasks.spawn(self._act(self.wb.stop_station(sid), "stopped"), f"stop {sid}"))
        return start, stop, w.HTML()

    async def _act(self, call: Any, verb: str) -> None:
        v = await call
        self.tasks.ok(f"{verb} {v.station_id}")
        await self._refresh()

    # -- live ------------------------------------------------------------------------------------------------------

    def start_live(self) -> None:
        """Follow the event stream and redraw periodically (background tasks; :meth:`close` stops them)."""
        self.tasks.live(self._follow(), "events")
        self.tasks.live(self._tick(), "redraw")

    async def _follow(self) -> None:
        async for ev in follow_events(self.wb, kinds=["frame", "state", "event"]):
            if ev.kind == "frame" and ev.station_id:
                self.rates.add(ev.station_id, ev.timestamp)
                self.frames_seen += 1

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval)
            try:
                await self._refresh()
            except Exception:  # the daemon may be restarting: the page's connection bar says so; keep trying
                continue

    async def close(self) -> None:
        await self.tasks.close()

