"""Station manager: list with status and tag filter, create/edit form, delete with confirmation, start / stop /
enable / disable / reset, clone, create from template, bulk actions on a selection, JSON import and export, and a
detail view (the station's card with its per-connector controls, live state, configuration keys, the current
transaction's energy curve), refreshed while it is open.

Every button schedules a workbench call through :class:`~ocppemu.widgets.tasks.TaskRunner`; nothing blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import ipywidgets as w

from ocppemu.widgets import charts, render
from ocppemu.widgets.station_cards import StationCards
from ocppemu.widgets.station_form import StationForm
from ocppemu.widgets.tasks import TaskRunner
from ocppemu.widgets.template_panel import TemplatePanel
from ocppemu.workbench.interface import (
    CloneRequest,
    FromTemplateRequest,
    ImportRequest,
    InvalidRequest,
    StationView,
    WorkbenchAPI,
)


def station_label(v: StationView) -> str:
    tags = ", ".join(v.config.get("tags") or [])
    text = f"{v.station_id} · {v.runtime.state} · OCPP {v.config.get('protocol_version')}"
    return text + (f" · {tags}" if tags else "")


def matches_tags(v: StationView, wanted: str) -> bool:
    """True when the station carries every comma-separated tag of ``wanted`` (case-insensitive)."""
    need = {t.strip().lower() for t in wanted.split(",") if t.strip()}
    have = {str(t).lower() for t in v.config.get("tags") or []}
    return need <= have


def parse_import(content: bytes) -> list[Any]:
    """The station objects of an export file (``{"stations": [...]}``) or a bare list; raises InvalidRequest."""
    try:
        doc = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest(f"the file is not JSON: {exc}") from None
    stations = doc.get("stations") if isinstance(doc, dict) else doc
    if not isinstance(stations, list):
        raise InvalidRequest("the file holds no 'stations' list")
    return stations


class StationManager(w.VBox):
    """The station manager over any :class:`WorkbenchAPI` (local or a daemon)."""

    def __init__(self, wb: WorkbenchAPI, *, live_interval: float | None = 2.0) -> None:
        self.wb = wb
        self.tasks = TaskRunner()
        self.views: dict[str, StationView] = {}
        self.editing: str | None = None  # station id being edited, None when creating
        # list and filter
        self.tag_filter = w.Text(description="Tags", placeholder="ac, 22kW", continuous_update=False)
        self.tag_filter.add_class("ocppemu-tag-filter")
        self.tag_filter.observe(lambda _c: self._show_list(), "value")
        self.station_list = w.SelectMultiple(options=[], rows=8, layout=w.Layout(width="560px"))
        self.station_list.add_class("ocppemu-station-list")
        self.station_list.observe(lambda _c: self._on_select(), "value")
        self.list_html = w.HTML()
        self.list_html.add_class("ocppemu-station-table")
        # buttons
        b = self._button
        self.refresh_button = b("Refresh", "refresh", lambda: self.refresh())
        self.new_button = b("New", "plus", self.new)
        self.edit_button = b("Edit", "pencil", self.edit)
        self.start_button = b("Start", "play", lambda: self._each(self.wb.start_station, "start"))
        self.stop_button = b("Stop", "stop", lambda: self._each(self.wb.stop_station, "stop"))
        self.enable_button = b("Enable", "check", lambda: self._each(lambda s: self._set_enabled(s, True), "enable"))
        self.disable_button = b("Disable", "ban", lambda: self._each(lambda s: self._set_enabled(s, False), "disable"))
        self.reset_button = b("Reset", "undo", lambda: self._each(self.wb.reset_station, "reset"))
        self.delete_button = b("Delete", "trash", self.ask_delete)
        self.delete_button.button_style = "danger"
        self.confirm_yes = b("Yes, delete", "trash", self.confirm_delete)
        self.confirm_yes.button_style = "danger"
        self.confirm_no = b("Cancel", "times", self.cancel_delete)
        self.confirm_text = w.HTML()
        self.confirm_box = w.HBox([self.confirm_text, self.confirm_yes, self.confirm_no],
                                  layout=w.Layout(display="none"))
        # clone / template
        self.clone_id = w.Text(description="New id", placeholder="station id of the copy")
        self.clone_button = b("Clone", "copy", self.clone)
        self.template_pick = w.Dropdown(description="Template", options=[])
        self.template_id = w.Text(description="New id", placeholder="station id")
        self.template_button = b("Create from template", "magic", self.from_template)
        self.template_panel = TemplatePanel(
            wb, self.tasks, on_change=self.refresh, selected=self.selected,
            station_config=lambda sid: self.views[sid].config if sid in self.views else None)
        # import / export
        self.upload = w.FileUpload(accept=".json,application/json", multiple=False, description="Import JSON")
        self.replace = w.Checkbox(description="replace existing", indent=False)
        self.import_button = b("Import", "upload", self.import_file)
        self.export_button = b("Export JSON", "download", self.export)
        self.export_secrets = w.Checkbox(description="include secrets", indent=False)
        self.download = w.HTML()
        self.download.add_class("ocppemu-download-box")
        # form and detail
        self.form = StationForm()
        self.save_button = b("Save station", "save", self.save)
        self.save_button.add_class("ocppemu-save-station")
        self.save_button.button_style = "primary"
        self.form_title = w.HTML("<h4>New station</h4>")
        self.form_box = w.VBox([self.form_title, self.form, self.save_button])
        self.detail = w.HTML()
        self.detail.add_class("ocppemu-station-detail")
        self.curve = w.HTML()
        self.curve.add_class("ocppemu-meter-curve")
        self.cards = StationCards(wb, live=False, stations=[])
        for btn in (self.start_button, self.stop_button, self.new_button, self.edit_button):
            btn.add_class("ocppemu-" + btn.description.lower())
        actions = w.HBox([self.refresh_button, self.new_button, self.edit_button, self.start_button, self.stop_button,
                          self.enable_button, self.disable_button, self.reset_button, self.delete_button],
                         layout=w.Layout(flex_flow="row wrap"))
        self.more = w.Accordion(children=[
            w.VBox([w.HBox([self.clone_id, self.clone_button]),
                    w.HBox([self.template_pick, self.template_id, self.template_button])]),
            w.VBox([w.HBox([self.upload, self.replace, self.import_button]),
                    w.HBox([self.export_button, self.export_secrets]), self.download]),
            self.form_box,
            w.VBox([self.cards, self.detail, self.curve]),
            self.template_panel,
        ], titles=["Clone / template", "Import / export", "Create / edit", "Detail", "Templates"])
        self.more.selected_index = 2
        super().__init__([w.HTML("<h3>Stations</h3>"), w.HBox([self.tag_filter]), self.station_list,
                          self.list_html, actions, self.confirm_box, self.tasks.status, self.more])
        self.add_class("ocppemu-station-manager")
        self.refresh()
        if live_interval:
            self.tasks.live(self._poll(live_interval), "live states")

    async def _poll(self, interval: float) -> None:
        """Keep states in the list current (a cheap list call; the detail is refreshed for one station)."""
        while True:
            await asyncio.sleep(interval)
            try:
                listing = await self.wb.list_stations()
            except Exception:  # the daemon may be restarting: try again next round
                continue
            self.views = {v.station_id: v for v in listing.stations}
            self._show_list()
            if self.more.selected_index == 3:  # the detail is open: keep it live too
                with contextlib.suppress(Exception):
                    await self._show_detail()

    async def close(self) -> None:
        await self.tasks.close()

    @staticmethod
    def _button(text: str, icon: str, fn: Callable[[], object]) -> w.Button:
        btn = w.Button(description=text, icon=icon)
        btn.on_click(lambda _b: fn())
        return btn

    # -- reading ------------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload stations and templates (in the background)."""
        self.tasks.spawn(self._refresh(), "refresh")

    async def _refresh(self) -> None:
        listing = await self.wb.list_stations()
        self.views = {v.station_id: v for v in listing.stations}
        templates = await self.wb.list_templates()
        names = [t.name for t in templates.templates]
        current = self.template_pick.value
        self.template_pick.options = names
        self.template_pick.value = current if current in names else (names[0] if names else None)
        self.template_panel.show(templates.templates)
        self._show_list()
        await self._show_detail()

    def visible(self) -> list[StationView]:
        return [v for v in self.views.values() if matches_tags(v, self.tag_filter.value)]

    def _show_list(self) -> None:
        shown = self.visible()
        selected = tuple(s for s in self.station_list.value if s in {v.station_id for v in shown})
        options = tuple((station_label(v), v.station_id) for v in shown)
        if options != tuple(self.station_list.options):
            # one state message, selection cleared first: the page never applies a selection of a row that is gone
            # ("Error setting state: Cannot set properties of undefined" in the console, from the tag filter)
            with self.station_list.hold_sync():
                self.station_list.value = ()
                self.station_list.options = options
                self.station_list.value = selected
        rows = [[render.esc(v.station_id), render.badge(v.runtime.state),
                 render.esc(v.config.get("protocol_version")), render.esc(", ".join(v.config.get("tags") or [])),
                 "yes" if v.config.get("enabled") else "<span style='color:#b00020'>disabled</span>",
                 render.esc(", ".join(v.runtime.active_transactions.values())),
                 f"<span class='ocppemu-last-error' style='color:#b00020'>{render.esc(v.runtime.last_error)}</span>"
                 if v.runtime.last_error and v.runtime.state != "connected" else ""] for v in shown]
        self.list_html.value = (render.table(["station", "state", "OCPP", "tags", "enabled", "transactions",
                                              "last connection error"], rows)
                                if shown else "<p class='ocppemu-empty'><i>" + (
                                    "No stations yet: fill in the form below (or create one from a template) and "
                                    "save." if not self.views else "No station carries these tags.") + "</i></p>")

    def selected(self) -> list[str]:
        return list(self.station_list.value)

    def _on_select(self) -> None:
        self.tasks.spawn(self._show_detail(), "detail")

    async def _show_detail(self) -> None:
        ids = self.selected()
        self.cards.only = set(ids[:1])
        if len(ids) != 1:
            self.detail.value = "<i>Select one station to see its detail.</i>"
            self.curve.value = ""
            self.cards._draw([])
            self.cards.grid.children = []
            return
        v = await self.wb.get_station(ids[0])
        self.views[v.station_id] = v
        self.cards._draw([v])
        self.detail.value = detail_html(v)
        tx = next(iter(v.runtime.active_transactions.values()), None)
        samples = []
        if tx is not None:
            mv = await self.wb.meter_values(v.station_id, tx, "Energy.Active.Import.Register")
            samples = mv.samples
        t0 = _epoch(samples[0].timestamp) if samples else 0.0
        title = f"Transaction {render.esc(tx)}: energy register" if tx else "No transaction"
        self.curve.value = (f"<div style='font-weight:600'>{title}</div>"
                            + charts.line_chart({"Energy (Wh)": ([_epoch(s.timestamp) - t0 for s in samples],
                                                                 [s.value for s in samples])},
                                                width=560, height=220, x_label="seconds into the transaction",
                                                y_label="Wh", empty="no meter samples yet"))

    # -- acting -------------------------------------------------------------------------------------------------

    def _each(self, fn: Callable[[str], Awaitable[object]], what: str) -> None:
        """Apply ``fn`` to every selected station (this is the bulk action too)."""
        ids = self.selected()
        if not ids:
            self.tasks.fail(f"{what}: select at least one station")
            return

        async def run() -> None:
            failed: list[str] = []
            for sid in ids:
                try:
                    await fn(sid)
                except Exception as exc:
                    failed.append(f"{sid}: {getattr(exc, 'message', exc)}")
            await self._refresh()
            if failed:
                self.tasks.fail(f"{what}: " + "; ".join(failed))
            else:
                self.tasks.ok(f"{what}: {', '.join(ids)}")

        self.tasks.spawn(run(), what)

    async def _set_enabled(self, station_id: str, enabled: bool) -> None:
        v = await self.wb.get_station(station_id)
        await self.wb.update_station(station_id, {**v.config, "enabled": enabled})

    def new(self) -> None:
        self.editing = None
        self.form.clear()
        self.form.inputs["station_id"].disabled = False
        self.form_title.value = "<h4>New station</h4>"
        self.more.selected_index = 2

    def edit(self) -> None:
        ids = self.selected()
        if len(ids) != 1:
            self.tasks.fail("edit: select exactly one station")
            return
        self.editing = ids[0]
        self.form.load(self.views[ids[0]].config)
        self.form.inputs["station_id"].disabled = True
        self.form_title.value = f"<h4>Edit {render.esc(ids[0])}</h4>"
        self.more.selected_index = 2

    def save(self) -> None:
        """Validate the form, then create (or update the station being edited)."""
        doc = self.form.check()
        if doc is None:
            self.tasks.fail("the form has errors (see above)")
            return
        editing = self.editing

        async def run() -> None:
            if editing is None:
                v = await self.wb.create_station(doc)
                self.tasks.ok(f"created {v.station_id}")
            else:
                v = await self.wb.update_station(editing, doc)
                self.tasks.ok(f"saved {v.station_id}")
            self.editing = v.station_id
            self.form.inputs["station_id"].disabled = True
            await self._refresh()
            self.station_list.value = (v.station_id,)

        self.tasks.spawn(run(), "save")

    def ask_delete(self) -> None:
        ids = self.selected()
        if not ids:
            self.tasks.fail("delete: select at least one station")
            return
        self.confirm_text.value = f"<b>Delete {render.esc(', '.join(ids))}?</b> Its history stays in the store."
        self.confirm_box.layout.display = "flex"

    def cancel_delete(self) -> None:
        self.confirm_box.layout.display = "none"

    def confirm_delete(self) -> None:
        self.confirm_box.layout.display = "none"
        self._each(self.wb.delete_station, "delete")

    def clone(self) -> None:
        ids = self.selected()
        new_id = self.clone_id.value.strip()
        if len(ids) != 1 or not new_id:
            self.tasks.fail("clone: select one station and type the new id")
            return
        self.tasks.spawn(self._after(self.wb.clone_station(ids[0], CloneRequest(station_id=new_id)), "cloned"),
                         "clone")

    def from_template(self) -> None:
        new_id = self.template_id.value.strip()
        if not new_id or not self.template_pick.value:
            self.tasks.fail("create from template: pick a template and type the new id")
            return
        coro = self.wb.create_from_template(self.template_pick.value, FromTemplateRequest(station_id=new_id))
        self.tasks.spawn(self._after(coro, "created"), "create from template")

    async def _after(self, call: Awaitable[StationView], verb: str) -> None:
        v = await call
        await self._refresh()
        self.station_list.value = (v.station_id,)
        self.tasks.ok(f"{verb} {v.station_id}")

    def import_file(self) -> None:
        if not self.upload.value:
            self.tasks.fail("import: choose a JSON file first")
            return
        content = bytes(self.upload.value[0]["content"])
        self.import_bytes(content)

    def import_bytes(self, content: bytes) -> None:
        """Import an export file's bytes (what the upload button does with the chosen file)."""

        async def run() -> None:
            stations = parse_import(content)
            result = await self.wb.import_stations(ImportRequest(stations=stations, replace=self.replace.value))
            await self._refresh()
            if result.rejected:
                self.tasks.fail("import: accepted " + (", ".join(result.accepted) or "none") + "; rejected " +
                                "; ".join(f"{r.station_id or r.index}: {r.reason}" for r in result.rejected))
            else:
                self.tasks.ok(f"imported {', '.join(result.accepted)}")

        self.tasks.spawn(run(), "import")

    def export(self) -> None:
        async def run() -> None:
            doc = await self.wb.export_stations(include_secrets=self.export_secrets.value)
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            self.last_export = doc.model_dump_json(indent=2)
            self.download.value = render.download_link(self.last_export, f"ocppemu-stations-{stamp}.json",
                                                       "application/json")
            self.tasks.ok(f"exported {len(doc.stations)} station(s)")

        self.tasks.spawn(run(), "export")


def detail_html(v: StationView) -> str:
    """Connectors, live state and configuration keys of one station."""
    snap = v.snapshot
    rt = v.runtime
    conns = snap.get("connectors") or snap.get("evses") or []
    conn_rows = [[render.esc(c.get("id")), render.esc(c.get("status")), render.esc(c.get("error_code")),
                  "yes" if c.get("plugged") else "no", render.esc(c.get("transaction_id") or ""),
                  render.esc(c.get("power_w")), render.esc(c.get("energy_wh")), render.esc(c.get("soc"))]
                 for c in conns]
    key_rows = _key_rows(snap, v.config)
    return (f"<h4>{render.esc(v.station_id)} {render.badge(rt.state)}</h4>"
            f"<p>registration <b>{render.esc(rt.registration_status)}</b> · last heartbeat "
            f"{render.esc(rt.last_heartbeat or '—')} · queued {rt.queued_messages}"
            + (f" · <span style='color:#b00020'>{render.esc(rt.last_error)}</span>" if rt.last_error else "")
            + "</p>"
            + render.table(["connector", "status", "error", "plugged", "transaction", "power W", "energy Wh", "SoC"],
                           conn_rows)
            + ("<h5>Device model variables</h5>" if snap.get("variables") else "<h5>Configuration keys</h5>")
            + (render.table(["key", "value", "access"], key_rows) if key_rows else "<i>none set</i>"))


def _key_rows(snap: dict[str, Any], config: dict[str, Any]) -> list[list[str]]:
    """Rows of the live configuration: 1.6 keys, 2.x device-model variables, else the configured presets."""
    if snap.get("configuration"):
        return [[render.esc(k.get("key")), render.esc(k.get("value", "")),
                 "read-only" if k.get("readonly") else "read-write"] for k in snap["configuration"]]
    if snap.get("variables"):
        rows = []
        for var in snap["variables"]:
            where = var.get("component", "") + (f"[{var['instance']}]" if var.get("instance") else "")
            where += f"@{var['evse']}" if var.get("evse") else ""
            rows.append([render.esc(f"{where}.{var.get('variable')}"), render.esc(var.get("value", "")),
                         render.esc(var.get("mutability", ""))])
        return rows
    presets = config.get("configuration_overrides") or {}
    return [[render.esc(k), render.esc(val), "preset"] for k, val in sorted(presets.items())]



def _epoch(ts: str) -> float:
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
