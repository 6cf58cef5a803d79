"""Station templates on a page: pick one to see it, save the selected station (or edited JSON) as a template,
replace a user template, delete it (with a confirmation). Built-in templates are read-only: the workbench refuses
to change them and the panel says why."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ocppemu.widgets import render
from ocppemu.widgets.tasks import TaskRunner
from ocppemu.workbench.interface import TemplateCreate, TemplateUpdate, TemplateView, WorkbenchAPI

#: Keys of a station's configuration that are the station itself, not what a template describes.
PER_STATION_KEYS = ("station_id", "name", "tags", "enabled", "auto_start")


def template_from_config(config: dict[str, Any]) -> dict[str, Any]:
    """The template part of a station's configuration (its identity and switches removed)."""
    return {k: v for k, v in config.items() if k not in PER_STATION_KEYS}


class TemplatePanel(w.VBox):
    """Create, edit and delete user station templates. ``selected()`` gives the station ids picked elsewhere and
    ``station_config(id)`` their configuration (the station manager passes its own)."""

    def __init__(self, wb: WorkbenchAPI, tasks: TaskRunner, *, on_change: Callable[[], None] | None = None,
                 station_config: Callable[[str], dict[str, Any] | None] | None = None,
                 selected: Callable[[], list[str]] | None = None) -> None:
        self.wb, self.tasks = wb, tasks
        self.on_change = on_change
        self.station_config = station_config or (lambda _sid: None)
        self.selected = selected or list
        self.templates: dict[str, TemplateView] = {}
        self.pick = w.Dropdown(description="Template", options=[], layout=w.Layout(width="360px"))
        self.pick.add_class("ocppemu-template-pick")
        self.pick.observe(lambda _c: self._show(), "value")
        self.name = w.Text(description="Name", placeholder="letters, digits, . _ -")
        self.name.add_class("ocppemu-template-name")
        self.description = w.Text(description="About", placeholder="what this template is for",
                                  layout=w.Layout(width="480px"))
        self.description.add_class("ocppemu-template-description")
        self.doc = w.Textarea(placeholder='{"protocol_version": "1.6", "connectors": [{"id": 1}]}',
                              layout=w.Layout(width="640px", height="180px"))
        self.doc.add_class("ocppemu-template-doc")
        self.from_station = self._button("From selected station", "clone", self.fill_from_station)
        self.save_button = self._button("Save as new", "save", self.save_new)
        self.save_button.add_class("ocppemu-template-save")
        self.update_button = self._button("Save changes", "pencil", self.save_changes)
        self.update_button.add_class("ocppemu-template-update")
        self.delete_button = self._button("Delete", "trash", self.ask_delete)
        self.delete_button.add_class("ocppemu-template-delete")
        self.confirm = self._button("Yes, delete it", "trash", self.confirm_delete)
        self.confirm.button_style = "danger"
        self.confirm.add_class("ocppemu-template-confirm")
        self.confirm.layout.display = "none"
        self.note = w.HTML()
        super().__init__([self.pick, self.note, w.HBox([self.name, self.description]), self.doc,
                          w.HBox([self.from_station, self.save_button, self.update_button, self.delete_button,
                                  self.confirm], layout=w.Layout(flex_flow="row wrap"))])
        self.add_class("ocppemu-template-panel")

    @staticmethod
    def _button(text: str, icon: str, fn: Callable[[], object]) -> w.Button:
        b = w.Button(description=text, icon=icon, layout=w.Layout(width="auto"))
        b.on_click(lambda _b: fn())
        return b

    def show(self, templates: list[TemplateView]) -> None:
        """Show this list (the station manager loads it with its own refresh)."""
        self.templates = {t.name: t for t in templates}
        current = self.pick.value
        self.pick.options = [(f"{t.name}{' (built-in)' if t.builtin else ''}", t.name) for t in templates]
        self.pick.value = current if current in self.templates else (templates[0].name if templates else None)
        self._show()

    def _show(self) -> None:
        t = self.templates.get(self.pick.value or "")
        self.confirm.layout.display = "none"
        if t is None:
            self.note.value = "<i>No templates.</i>"
            return
        self.name.value, self.description.value = t.name, t.description
        self.doc.value = json.dumps(t.station, indent=2)
        self.update_button.disabled = self.delete_button.disabled = t.builtin
        self.note.value = (f"<span style='color:#6b7280'>{render.esc(t.description)}"
                           + (" · built-in: read-only, save a copy under a new name to change it" if t.builtin
                              else " · yours: editable") + "</span>")

    def fill_from_station(self) -> None:
        ids = self.selected()
        config = self.station_config(ids[0]) if len(ids) == 1 else None
        if config is None:
            self.tasks.fail("template from a station: select exactly one station")
            return
        self.doc.value = json.dumps(template_from_config(config), indent=2)
        self.name.value = f"{ids[0].lower()}-template"
        self.description.value = f"made from station {ids[0]}"

    def _station_doc(self) -> dict[str, Any] | None:
        try:
            doc = json.loads(self.doc.value or "{}")
        except json.JSONDecodeError as exc:
            self.tasks.fail(f"the template is not JSON: {exc.msg} at line {exc.lineno}")
            return None
        if not isinstance(doc, dict):
            self.tasks.fail("the template must be a JSON object of station settings")
            return None
        return doc

    def save_new(self) -> None:
        doc = self._station_doc()
        if doc is None:
            return
        try:
            req = TemplateCreate(name=self.name.value.strip(), description=self.description.value, station=doc)
        except ValueError:
            self.tasks.fail("template name: 1 to 100 letters, digits, '.', '_' or '-'")
            return
        if req.name in self.templates:
            self.tasks.fail(f"a template {req.name!r} exists: pick it and use 'Save changes', or choose a new name")
            return
        self.tasks.spawn(self._done(self.wb.save_template(req), "saved template"), "save template")

    def save_changes(self) -> None:
        doc = self._station_doc()
        name = self.pick.value
        if doc is None or not name:
            return
        req = TemplateUpdate(description=self.description.value, station=doc)
        self.tasks.spawn(self._done(self.wb.update_template(name, req), "updated template"), "update template")

    def ask_delete(self) -> None:
        if self.pick.value:
            self.confirm.description = f"Yes, delete {self.pick.value}"
            self.confirm.layout.display = "flex"

    def confirm_delete(self) -> None:
        name = self.pick.value
        self.confirm.layout.display = "none"
        if name:
            self.tasks.spawn(self._done(self.wb.delete_template(name), "deleted template"), "delete template")

    async def _done(self, call: Any, verb: str) -> None:
        result = await call
        self.tasks.ok(f"{verb} {result.name}")
        if self.on_change is not None:
            self.on_change()
