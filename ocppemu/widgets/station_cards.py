"""Station cards: one card per station with its connectors (status, live power, energy, duration, transaction id,
id tag), the last connection error, and controls for every station-side event the engine offers, per connector.

Each control is one :class:`~ocppemu.workbench.interface.ActionRequest` sent through
:meth:`~ocppemu.workbench.interface.WorkbenchAPI.station_action` (or a start/stop of the station); its outcome is
shown on the card in a sentence. Values are redrawn every ``interval`` seconds from the workbench's live view of each
station (energy as the meter model has it now, not as of the last sample) and at once when the station reports an
event. The HTML of a card is a pure function of a :class:`~ocppemu.workbench.interface.StationView` (:func:`card_html`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any, get_args

import ipywidgets as w

from ocppemu.widgets import render
from ocppemu.widgets.connection import follow_events, readable_error
from ocppemu.widgets.tasks import TaskRunner
from ocppemu.workbench.interface import ActionName, ActionRequest, StationView, WorkbenchAPI

# ChargePointErrorCode of OCPP 1.6 (2.x faults carry no code: the engine ignores it there).
ERROR_CODES = ("OtherError", "ConnectorLockFailure", "EVCommunicationError", "GroundFailure", "HighTemperature",
               "InternalError", "LocalListConflict", "OverCurrentFailure", "OverVoltage", "PowerMeterFailure",
               "PowerSwitchFailure", "ReaderFailure", "ResetFailure", "UnderVoltage", "WeakSignal")

CONNECTOR_COLOURS = {"Available": "#1b7f3a", "Preparing": "#b45309", "Occupied": "#b45309", "Charging": "#1f5fbf",
                     "SuspendedEV": "#6b21a8", "SuspendedEVSE": "#6b21a8", "Finishing": "#0e7490",
                     "Reserved": "#0e7490", "Unavailable": "#6b7280", "Faulted": "#b00020"}

#: (button label, action, what it does, needs a tag, needs an error code)
CONNECTOR_ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("Plug in", "plug_in", "the EV's cable is plugged into the connector"),
    ("Present tag", "authorize", "a tag is swiped at the reader (a second swipe of the session's tag stops it)"),
    ("Start", "start_transaction", "plug in if needed, authorize the tag, start charging"),
    ("Stop", "stop_transaction", "stop the running transaction (reason Local)"),
    ("Unplug", "unplug", "the cable is pulled out"),
    ("Suspend EV", "suspend", "the EV stops taking energy (SuspendedEV)"),
    ("Resume", "resume", "the EV takes energy again"),
    ("Fault", "fault", "the connector reports the chosen error code (Faulted)"),
    ("Recover", "clear_fault", "the fault clears"),
)


#: Actions with controls of their own (or needing fields the card does not offer: a raw status, the generator's
#: settings).
_NOT_A_BUTTON = frozenset({"disconnect_network", "set_connector_status", "auto_transactions"})


#: Other names of actions that have a button already (the engine's typed actions name them both ways).
ALIASES = {"present_tag": "authorize", "recover": "clear_fault"}


def card_actions() -> list[tuple[str, str, str]]:
    """The connector buttons: :data:`CONNECTOR_ACTIONS`, then any other action the workbench's
    :data:`~ocppemu.workbench.interface.ActionName` offers (a new engine action gets a button by itself)."""
    known = {a for _l, a, _w in CONNECTOR_ACTIONS} | set(ALIASES)
    extra = [(a.replace("_", " ").capitalize(), a, a.replace("_", " ")) for a in get_args(ActionName)
             if a not in known and a not in _NOT_A_BUTTON]
    return [*CONNECTOR_ACTIONS, *extra]


def _ts(value: Any) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def duration_text(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "—"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def connectors_of(v: StationView) -> list[dict[str, Any]]:
    conns = v.snapshot.get("connectors") or v.snapshot.get("evses") or []
    return [c for c in conns if isinstance(c, dict) and c.get("id") != 0]  # 1.6's connector 0 is the station


def connector_rows(v: StationView, now: float) -> list[list[str]]:
    """One row per connector (1.6) or EVSE (2.x): id, status, power, energy, duration, transaction, tag."""
    rows = []
    for c in connectors_of(v):
        status = str(c.get("status") or "—")
        shown = status
        if c.get("charging_state") and c.get("transaction_id"):
            shown = f"{status} · {c['charging_state']}"
        colour = CONNECTOR_COLOURS.get(status, "#374151")
        if c.get("error_code") and c.get("error_code") != "NoError":
            shown += f" ({c['error_code']})"
        power = c.get("power_w")
        energy = c.get("energy_wh")
        start = c.get("meter_start_wh")
        session = (float(energy) - float(start)) if energy is not None and start is not None else None
        started = _ts(c.get("started_at"))
        rows.append([
            f"<b>#{render.esc(c.get('id'))}</b>",
            f"<span class='ocppemu-connector-status status-{render.esc(status)}' style='color:{colour};"
            f"font-weight:600'>{render.esc(shown)}</span>",
            f"<span class='ocppemu-power'>{float(power) / 1000:.2f} kW</span>" if power is not None else "—",
            (f"<span class='ocppemu-energy'>{session / 1000:.3f} kWh</span>" if session is not None else
             f"<span class='ocppemu-register' style='color:#6b7280'>{float(energy) / 1000:.2f} kWh reg.</span>"
             if energy is not None else "—"),
            f"<span class='ocppemu-duration'>{duration_text(now - started if started else None)}</span>",
            f"<code class='ocppemu-tx'>{render.esc(c.get('transaction_id') or '—')}</code>",
            render.esc(c.get("id_tag") or "—"),
        ])
    return rows


def heartbeat_text(v: StationView, now: float, connected_since: float | None) -> str:
    """The age of the last sign of life on the present connection (a Heartbeat, or the connection itself)."""
    if v.runtime.state != "connected":
        return "not connected"
    hb = _ts(v.runtime.last_heartbeat)
    marks = [t for t in (hb, connected_since) if t is not None]
    if not marks:
        return "connected"
    age = now - max(marks)
    what = "Heartbeat" if hb is not None and (connected_since is None or hb >= connected_since) else "connected"
    return f"{'last Heartbeat' if what == 'Heartbeat' else 'connected'} {max(age, 0):.0f}s ago"


def card_html(v: StationView, now: float, connected_since: float | None = None) -> str:
    """The live part of a station's card (pure)."""
    rt = v.runtime
    version = v.config.get("protocol_version", "")
    error = ""
    if rt.last_error and rt.state != "connected":
        error = (f"<div class='ocppemu-last-error' style='color:#b00020;font-size:12px;margin:2px 0'>"
                 f"last connection error: {render.esc(rt.last_error)}</div>")
    name = v.config.get("name") or ""
    head = (f"<div style='display:flex;justify-content:space-between;align-items:baseline;gap:8px'>"
            f"<span><b style='font-size:15px'>{render.esc(v.station_id)}</b> "
            f"<span style='color:#6b7280'>{render.esc(name)}</span></span>"
            f"<span>{render.badge(rt.state)} <span style='color:#6b7280;font-size:12px'>OCPP "
            f"{render.esc(version)}</span></span></div>"
            f"<div class='ocppemu-heartbeat' style='color:#6b7280;font-size:12px'>"
            f"{render.esc(heartbeat_text(v, now, connected_since))} · {render.esc(v.config.get('csms_url', ''))}"
            f"{' · queued ' + str(rt.queued_messages) if rt.queued_messages else ''}</div>{error}")
    rows = connector_rows(v, now)
    table = render.table(["", "status", "power", "energy", "duration", "transaction", "id tag"], rows,
                         css_class="ocppemu-connectors") if rows else "<i>no connectors</i>"
    return f"<div class='ocppemu-card-live' data-station='{render.esc(v.station_id)}'>{head}{table}</div>"


class StationCard(w.VBox):
    """One station's card: live HTML plus controls. Built by :class:`StationCards`."""

    def __init__(self, owner: StationCards, v: StationView) -> None:
        self.owner = owner
        self.station_id = v.station_id
        self.view = v
        self.connected_since: float | None = time.time() if v.runtime.state == "connected" else None
        self.live = w.HTML()
        self.result = w.HTML()
        self.result.add_class("ocppemu-card-result")
        ids = [int(c.get("id") or 1) for c in connectors_of(v)] or [1]
        self.connector = w.Dropdown(options=[(f"#{i}", i) for i in ids], value=ids[0], description="Connector",
                                    layout=w.Layout(width="160px"), style={"description_width": "76px"})
        self.connector.add_class("ocppemu-pick-connector")
        self.tag = w.Combobox(value=str(v.config.get("simulation", {}).get("default_id_tag") or ""),
                              options=owner.tag_options(v), placeholder="id tag (choose or type)",
                              description="Tag", ensure_option=False, layout=w.Layout(width="210px"),
                              style={"description_width": "30px"})
        self.tag.add_class("ocppemu-pick-tag")
        self.error_code = w.Dropdown(options=list(ERROR_CODES), value="OtherError", description="Error",
                                     layout=w.Layout(width="230px"), style={"description_width": "40px"})
        self.error_code.add_class("ocppemu-pick-error")
        buttons = []
        for label, action, what in card_actions():
            b = w.Button(description=label, tooltip=what, layout=w.Layout(width="auto"))
            b.add_class(f"ocppemu-act-{action}")
            b.on_click(lambda _b, a=action: self.act(a))
            buttons.append(b)
        self.run_button = w.Button(description="", layout=w.Layout(width="auto"))
        self.run_button.add_class("ocppemu-run-station")
        self.run_button.on_click(lambda _b: self.toggle_running())
        self.drop_seconds = w.BoundedIntText(value=30, min=1, max=3600, description="for s",
                                             layout=w.Layout(width="120px"), style={"description_width": "34px"})
        self.drop_button = w.Button(description="Drop network", tooltip="cut the connection for the given "
                                    "seconds (the station queues transaction messages meanwhile)",
                                    layout=w.Layout(width="auto"))
        self.drop_button.add_class("ocppemu-act-disconnect_network")
        self.drop_button.on_click(lambda _b: self.act("disconnect_network"))
        controls = w.VBox([
            w.HBox([self.connector, self.tag, self.error_code], layout=w.Layout(flex_flow="row wrap")),
            w.HBox(buttons, layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.run_button, self.drop_button, self.drop_seconds], layout=w.Layout(flex_flow="row wrap")),
        ])
        super().__init__([self.live, controls, self.result],
                         layout=w.Layout(border="1px solid #d1d5db", padding="8px", margin="4px",
                                         width="640px"))
        self.add_class("ocppemu-card")
        self.add_class(f"ocppemu-card-{v.station_id}")
        self.update(v, time.time())

    def update(self, v: StationView, now: float) -> None:
        was = self.view.runtime.state
        self.view = v
        if v.runtime.state == "connected" and (was != "connected" or self.connected_since is None):
            self.connected_since = now
        elif v.runtime.state != "connected":
            self.connected_since = None
        self.live.value = card_html(v, now, self.connected_since)
        running = v.runtime.running
        self.run_button.description = "Stop station" if running else "Start station"
        self.run_button.icon = "stop" if running else "play"
        self.drop_button.disabled = not running
        ids = [int(c.get("id") or 1) for c in connectors_of(v)] or [1]
        if [o[1] for o in self.connector.options] != ids:
            self.connector.options = [(f"#{i}", i) for i in ids]

    def request(self, action: str) -> ActionRequest:
        tag = (self.tag.value or "").strip() or None
        return ActionRequest(action=action, connector_id=int(self.connector.value or 1),  # type: ignore[arg-type]
                             id_tag=tag, error_code=str(self.error_code.value), seconds=float(self.drop_seconds.value))

    def act(self, action: str) -> None:
        try:
            req = self.request(action)
        except ValueError as exc:
            self._say(False, f"{action}: {exc}")
            return
        if req.id_tag:
            self.owner.remember_tag(req.id_tag)
        self.owner.tasks.spawn(self._act(req), f"{action} on {self.station_id}")

    async def _act(self, req: ActionRequest) -> None:
        where = f"connector #{req.connector_id}" if req.action != "disconnect_network" else f"{req.seconds:g} s"
        try:
            res = await self.owner.wb.station_action(self.station_id, req)
        except Exception as exc:
            self._say(False, f"{req.action} on {where}: {readable_error(exc)}")
            return
        detail = ", ".join(f"{k} {v}" for k, v in res.data.items() if v not in (None, "", False))
        self._say(res.ok, f"{req.action} on {where}: " + ("done" + (f" ({detail})" if detail else "")
                                                          if res.ok else str(res.error)))
        await self.owner.refresh_one(self.station_id)

    def toggle_running(self) -> None:
        call = self.owner.wb.stop_station if self.view.runtime.running else self.owner.wb.start_station
        verb = "stopped" if self.view.runtime.running else "started"

        async def run() -> None:
            try:
                v = await call(self.station_id)
            except Exception as exc:
                self._say(False, f"{verb[:-2]}: {readable_error(exc)}")
                return
            self._say(True, f"{verb} {v.station_id}")
            self.update(v, time.time())

        self.owner.tasks.spawn(run(), f"start/stop {self.station_id}")

    def _say(self, ok: bool, text: str) -> None:
        colour = "#1b7f3a" if ok else "#b00020"
        cls = "ocppemu-ok" if ok else "ocppemu-error"
        self.result.value = f"<span class='{cls}' style='color:{colour};font-size:12px'>{render.esc(text)}</span>"


class StationCards(w.VBox):
    """A card per station (optionally only ``stations``), live; :meth:`close` stops its background tasks."""

    def __init__(self, wb: WorkbenchAPI, *, interval: float = 1.0, live: bool = True,
                 stations: Iterable[str] | None = None) -> None:
        self.wb = wb
        self.tasks = TaskRunner()
        self.interval = interval
        self.only = set(stations) if stations is not None else None
        self.cards: dict[str, StationCard] = {}
        self._tags: list[str] = []
        self.summary = w.HTML()
        self.summary.add_class("ocppemu-summary")
        self.grid = w.Box(layout=w.Layout(display="flex", flex_flow="row wrap", align_items="flex-start"))
        self.grid.add_class("ocppemu-cards")
        self.empty = w.HTML("<p class='ocppemu-empty'><i>No stations yet: create one on the "
                            "<a href='stations.ipynb'>Stations</a> page (or from a template there).</i></p>")
        self._dirty = asyncio.Event()
        super().__init__([self.summary, self.tasks.status, self.grid])
        self.add_class("ocppemu-station-cards")
        self.refresh()
        if live:
            self.tasks.live(self._poll(), "live values")
            self.tasks.live(self._follow(), "events")

    # -- tags -----------------------------------------------------------------------------------------------

    def tag_options(self, v: StationView) -> list[str]:
        default = str(v.config.get("simulation", {}).get("default_id_tag") or "")
        return list(dict.fromkeys([t for t in [default, *self._tags] if t]))

    def remember_tag(self, tag: str) -> None:
        if tag not in self._tags:
            self._tags.append(tag)
            for card in self.cards.values():
                card.tag.options = self.tag_options(card.view)

    # -- data -----------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.tasks.spawn(self._refresh(), "refresh")

    async def _refresh(self) -> None:
        views = [v for v in (await self.wb.list_stations()).stations
                 if self.only is None or v.station_id in self.only]
        self._draw(views)

    async def refresh_one(self, station_id: str) -> None:
        with contextlib.suppress(Exception):
            v = await self.wb.get_station(station_id)
            if station_id in self.cards:
                self.cards[station_id].update(v, time.time())

    def _draw(self, views: list[StationView]) -> None:
        now = time.time()
        ids = [v.station_id for v in views]
        if list(self.cards) != ids or not self.grid.children:
            kept = {sid: self.cards[sid] for sid in ids if sid in self.cards}
            self.cards = {v.station_id: kept.get(v.station_id) or StationCard(self, v) for v in views}
            self.grid.children = list(self.cards.values()) if views else [self.empty]
        for v in views:
            self.cards[v.station_id].update(v, now)
        charging = sum(1 for v in views for c in connectors_of(v) if c.get("transaction_id"))
        power = sum(float(c.get("power_w") or 0) for v in views for c in connectors_of(v))
        connected = sum(v.runtime.state == "connected" for v in views)
        self.summary.value = (f"<b>{len(views)}</b> stations · <b>{connected}</b> connected · <b>{charging}</b> "
                              f"charging · <b>{power / 1000:.1f} kW</b> now · updated "
                              f"{datetime.fromtimestamp(now).strftime('%H:%M:%S')}")

    async def _poll(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), self.interval)
            self._dirty.clear()
            with contextlib.suppress(Exception):  # the daemon may be away: the connection bar says so
                await self._refresh()

    async def _follow(self) -> None:
        async for ev in follow_events(self.wb, kinds=["state", "event"], on_gap=self._dirty.set):
            if ev.kind == "state" or ev.data.get("kind") in ("status", "transaction", "connection", "authorize"):
                self._dirty.set()

    async def close(self) -> None:
        await self.tasks.close()
