"""Message crafter: pick a station and an action of its OCPP version, start from a schema template, edit the JSON
with live schema validation, send it validated or as a raw (possibly invalid) frame, now or on a schedule (after a
delay, at a time, repeated; see :mod:`ocppemu.widgets.send_schedule`), and see the response, CallError or timeout
beside the request; a history of sent messages and reusable saved templates, both labelled by the frame sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ipywidgets as w

from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.payload_templates import SchemaNotSupportedError, template_for
from ocppemu.ocpp.validation import validate
from ocppemu.ocpp.versions import Version
from ocppemu.widgets import render
from ocppemu.widgets.message_templates import MessageTemplate, MessageTemplates
from ocppemu.widgets.scenario_steps import crafted_step, scenario_text, station_part
from ocppemu.widgets.send_schedule import Plan, plan
from ocppemu.widgets.tasks import TaskRunner
from ocppemu.workbench.interface import SendMessageRequest, SendMessageResult, WorkbenchAPI


@dataclass(frozen=True, slots=True)
class Check:
    """Outcome of the live validation: ``ok`` (sendable as validated), and a sentence for the user."""

    ok: bool
    message: str


def actions_for(version: Version, station_only: bool = True) -> list[str]:
    """Actions a station of ``version`` can send (or every action of the version when not ``station_only``)."""
    cat = catalogue(version)
    return cat.station_initiated() if station_only else cat.names()


def template_text(version: Version, action: str, *, optional: bool = False, raw: bool = False) -> str:
    """The editor text for ``action``: a schema-valid payload (``[2, id, action, payload]`` when ``raw``)."""
    spec = catalogue(version).get(action)
    if spec is None:
        payload: dict[str, Any] = {}
    else:
        try:
            payload = template_for(spec.request_schema, optional=optional)
        except SchemaNotSupportedError:
            payload = {}
    if raw:
        kind = 6 if spec is not None and spec.send_only else 2
        return json.dumps([kind, str(uuid.uuid4()), action, payload], indent=2)
    return json.dumps(payload, indent=2)


def check_text(version: Version, action: str, text: str, mode: str) -> Check:
    """Live validation of the editor text: the JSON syntax error or the schema violation, as a sentence."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if mode == "raw":
            return Check(True, f"not JSON ({exc.msg} at line {exc.lineno}): it will be sent exactly as typed")
        return Check(False, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    if mode == "raw":
        if (isinstance(value, list) and len(value) == 4 and value[0] in (2, 6) and isinstance(value[2], str)):
            problem = validate(version, value[2], "request", value[3])
            return Check(True, f"raw frame; its payload breaks the schema: {problem}" if problem
                         else "raw frame; its payload is schema-valid")
        return Check(True, "raw text: not an OCPP CALL frame, sent as typed")
    if not isinstance(value, dict):
        return Check(False, "the payload must be a JSON object")
    problem = validate(version, action, "request", value)
    if problem is not None:
        return Check(False, f"{problem} (switch to raw to send it anyway)")
    return Check(True, f"valid {action} request for OCPP {version.value}")


def editor_schema(version: Version, action: str, *, raw: bool = False) -> dict[str, Any]:
    """The JSON schema the code editor completes and lints against: the request schema of ``action``, or in raw
    mode a ``[2 | 6, id, action, payload]`` frame around it (its ``$schema`` and ``definitions`` lifted to the root
    so the payload's local ``$ref``s still resolve). ``{}`` for an unknown action."""
    spec = catalogue(version).get(action)
    if spec is None:
        return {}
    payload = dict(spec.request_schema)
    if not raw:
        return payload
    # the draft (06 for every OCPP schema: tuple-form "items") and the definitions move up to the frame
    lifted: dict[str, Any] = {key: payload.pop(key) for key in ("$schema", "definitions", "$defs") if key in payload}
    payload.pop("$id", None)
    return {**lifted, "type": "array", "minItems": 4, "maxItems": 4,
            "items": [{"enum": [2, 6]}, {"type": "string"}, {"type": "string"}, payload]}


def make_editor() -> w.DOMWidget:
    """The crafter's JSON editor: the CodeMirror :class:`~ocppemu.widgets.json_editor.JsonEditor` when anywidget
    and the packaged bundle are there, else a plain text area (same ``value`` trait, no highlighting)."""
    try:
        from ocppemu.widgets.json_editor import JsonEditor
        editor: w.DOMWidget = JsonEditor(height="320px", layout=w.Layout(width="100%"))
    except (ImportError, OSError):
        editor = w.Textarea(rows=14, layout=w.Layout(width="100%"), continuous_update=True)
    editor.add_class("ocppemu-editor")
    return editor


def result_html(result: SendMessageResult) -> str:
    """What was sent beside what came back (result, CallError, timeout), with the round-trip time."""
    outcome_colour = {"result": "#1b7f3a", "error": "#b00020", "timeout": "#b45309", "no_response": "#6b7280"}
    head = (f"<div class='ocppemu-outcome outcome-{result.outcome}'>outcome <b style='color:"
            f"{outcome_colour[result.outcome]}'>{result.outcome}</b>"
            + (f" · round trip <b>{result.rtt_ms:.1f} ms</b>" if result.rtt_ms is not None else "")
            + (f" · CallError <b>{render.esc(result.error_code)}</b>: {render.esc(result.error_description)}"
               if result.error_code else "")
            + (f" · <span style='color:#b00020'>response validation: {render.esc(result.validation_error)}</span>"
               if result.validation_error else "") + "</div>")
    try:
        sent: Any = json.loads(result.sent)
    except json.JSONDecodeError:
        sent = result.sent
    back: Any = result.response_raw if result.response_raw is not None else {
        "timeout": "no answer within the timeout", "no_response": "nothing came back"}.get(result.outcome, "")
    with contextlib.suppress(json.JSONDecodeError):
        back = json.loads(back) if isinstance(back, str) else back
    return (head + "<div style='display:flex;gap:12px'>"
            f"<div style='flex:1;min-width:0'>{render.json_block(sent, title='Sent')}</div>"
            f"<div style='flex:1;min-width:0'>{render.json_block(back, title='Received')}</div></div>")


def sent_label(mode: str, action: str, body: str) -> str:
    """What a history entry or template is called: the action of the frame actually sent (a raw frame's own
    action, which may differ from the picker's), ``raw text`` for something that is not a CALL frame."""
    if mode != "raw":
        return action
    try:
        frame = json.loads(body)
    except json.JSONDecodeError:
        return "raw text"
    if isinstance(frame, list) and len(frame) >= 3 and frame[0] in (2, 6) and isinstance(frame[2], str):
        return f"{frame[2]} (raw)"
    return "raw frame"


@dataclass(frozen=True, slots=True)
class Sent:
    time: str
    station_id: str
    action: str
    mode: str
    body: str
    outcome: str


class MessageCrafter(w.VBox):
    """The crafter over any :class:`WorkbenchAPI`; saved templates go to ``templates_path`` (a JSON file)."""

    def __init__(self, wb: WorkbenchAPI, *, templates_path: str | Path | None = None, history: int = 50) -> None:
        self.wb = wb
        self.tasks = TaskRunner()
        self.versions: dict[str, Version] = {}
        self.history: deque[Sent] = deque(maxlen=history)
        self.templates = MessageTemplates(templates_path)
        self._templates_pinned = templates_path is not None
        self.last_result: SendMessageResult | None = None
        self.station = w.Dropdown(description="Station", options=[])
        self.station.add_class("ocppemu-craft-station")
        self.scope = w.ToggleButtons(options=[("station → CSMS", True), ("all actions", False)], value=True)
        self.action = w.Dropdown(description="Action", options=[])
        self.action.add_class("ocppemu-craft-action")
        self.mode = w.ToggleButtons(options=[("validated", "validated"), ("raw / invalid", "raw")], value="validated")
        self.mode.add_class("ocppemu-craft-mode")
        self.optional = w.Checkbox(description="fill optional fields", indent=False)
        self.template_button = w.Button(description="Template from schema", icon="file")
        self.editor = make_editor()
        self.check = w.HTML()
        self.check.add_class("ocppemu-live-check")
        self.timeout = w.FloatText(value=10.0, description="Timeout s", layout=w.Layout(width="180px"))
        self.send_button = w.Button(description="Send", icon="paper-plane", button_style="primary")
        self.send_button.add_class("ocppemu-send")
        self.result = w.HTML()
        self.result.add_class("ocppemu-result")
        # schedule
        self.when = w.Dropdown(options=[("now", "now"), ("after a delay", "delay"), ("at a time", "at")],
                               value="delay", description="Send", layout=w.Layout(width="220px"))
        self.when.add_class("ocppemu-schedule-when")
        self.delay = w.FloatText(value=5.0, description="after s", layout=w.Layout(width="160px"))
        self.delay.add_class("ocppemu-schedule-delay")
        self.at = w.Text(placeholder="14:30:00", description="at", layout=w.Layout(width="180px"))
        self.at.add_class("ocppemu-schedule-at")
        self.repeat = w.BoundedIntText(value=1, min=1, max=1000, description="times", layout=w.Layout(width="150px"))
        self.repeat.add_class("ocppemu-schedule-repeat")
        self.every = w.FloatText(value=10.0, description="every s", layout=w.Layout(width="160px"))
        self.every.add_class("ocppemu-schedule-every")
        self.schedule_button = w.Button(description="Schedule", icon="clock-o")
        self.schedule_button.add_class("ocppemu-schedule")
        self.cancel_button = w.Button(description="Cancel scheduled", icon="times")
        self.cancel_button.add_class("ocppemu-schedule-cancel")
        self.scheduled = w.HTML()
        self.scheduled.add_class("ocppemu-scheduled")
        self.schedules: list[tuple[str, Plan, asyncio.Task[None]]] = []
        self.schedule_button.on_click(lambda _b: self.schedule())
        self.cancel_button.on_click(lambda _b: self.cancel_scheduled())
        # scenario steps
        self.step_button = w.Button(description="Add as scenario step", icon="plus")
        self.step_button.add_class("ocppemu-add-step")
        self.step_button.on_click(lambda _b: self.add_step())
        self.clear_steps_button = w.Button(description="Clear steps", icon="eraser")
        self.clear_steps_button.on_click(lambda _b: self.clear_steps())
        self.scenario_name = w.Text(value="crafted", description="Scenario", layout=w.Layout(width="260px"))
        self.scenario_name.observe(lambda _c: self._show_scenario(), "value")
        self.scenario_box = w.HTML()
        self.scenario_box.add_class("ocppemu-scenario-steps")
        self.steps: list[dict[str, Any]] = []
        self.step_stations: dict[str, dict[str, Any]] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.history_pick = w.Select(description="History", options=[], rows=5, layout=w.Layout(width="100%"))
        self.template_name = w.Text(description="Name", placeholder="boot-pending-check")
        self.save_template_button = w.Button(description="Save as template", icon="save")
        self.template_pick = w.Dropdown(description="Saved", options=[])
        self.load_template_button = w.Button(description="Load", icon="folder-open")
        self.station.observe(lambda _c: self._fill_actions(), "value")
        self.scope.observe(lambda _c: self._fill_actions(), "value")
        self.action.observe(lambda _c: self.use_template(), "value")
        self.mode.observe(lambda _c: self.use_template(), "value")
        self.editor.observe(lambda _c: self.validate(), "value")
        self.template_button.on_click(lambda _b: self.use_template())
        self.send_button.on_click(lambda _b: self.send())
        self.history_pick.observe(lambda _c: self._restore(), "value")
        self.save_template_button.on_click(lambda _b: self.save_template())
        self.load_template_button.on_click(lambda _b: self.load_template())
        super().__init__([
            w.HTML("<h3>Craft a message</h3>"),
            w.HBox([self.station, self.action]), w.HBox([self.scope, self.mode]),
            w.HBox([self.template_button, self.optional]), self.editor, self.check,
            w.HBox([self.timeout, self.send_button]),
            w.HBox([self.when, self.delay, self.at, self.repeat, self.every, self.schedule_button,
                    self.cancel_button], layout=w.Layout(flex_flow="row wrap")), self.scheduled,
            self.tasks.status, self.result,
            w.HTML("<h4>Scenario steps</h4>"),
            w.HBox([self.scenario_name, self.step_button, self.clear_steps_button]), self.scenario_box,
            w.HTML("<h4>History</h4>"), self.history_pick,
            w.HTML("<h4>Templates</h4>"),
            w.HBox([self.template_name, self.save_template_button]),
            w.HBox([self.template_pick, self.load_template_button])])
        self.add_class("ocppemu-crafter")
        self._show_templates()
        self._show_scenario()
        self.refresh()

    def refresh(self) -> None:
        """Reload the station list (in the background)."""
        self.tasks.spawn(self._load_stations(), "stations")

    async def _load_stations(self) -> None:
        if not self._templates_pinned:
            with contextlib.suppress(Exception):
                data_dir = (await self.wb.status()).config.get("data_dir")
                if data_dir:  # the daemon's own data folder (else the user data folder, as the daemon's default)
                    self.templates = MessageTemplates(Path(str(data_dir)).expanduser() / "message-templates.json")
                    self._show_templates()
        stations = (await self.wb.list_stations()).stations
        self.versions = {v.station_id: Version.parse(str(v.config.get("protocol_version", "1.6")))
                         for v in stations}
        self.configs = {v.station_id: v.config for v in stations}
        current = self.station.value
        self.station.options = list(self.versions)
        self.station.value = current if current in self.versions else next(iter(self.versions), None)
        self._fill_actions()

    @property
    def version(self) -> Version:
        return self.versions.get(self.station.value or "", Version.V16)

    def _fill_actions(self) -> None:
        current = self.action.value
        names = actions_for(self.version, self.scope.value)
        self.action.options = names
        self.action.value = current if current in names else ("Heartbeat" if "Heartbeat" in names else names[0])
        self.use_template()

    def use_template(self) -> None:
        if not self.action.value:
            return
        if self.editor.has_trait("schema"):
            self.editor.schema = editor_schema(self.version, self.action.value, raw=self.mode.value == "raw")
        self.editor.value = template_text(self.version, self.action.value, optional=self.optional.value,
                                          raw=self.mode.value == "raw")
        self.validate()

    def validate(self) -> Check:
        result = check_text(self.version, self.action.value or "", self.editor.value, self.mode.value)
        colour = "#1b7f3a" if result.ok else "#b00020"
        self.check.value = f"<span style='color:{colour}'>{render.esc(result.message)}</span>"
        self.send_button.disabled = not result.ok
        if self.editor.has_trait("errors"):
            self.editor.errors = [] if result.ok else [result.message]
        return result

    def _request(self) -> tuple[str, SendMessageRequest, str] | None:
        """(station, request, label) of what the editor holds, or None after saying why it cannot be sent."""
        sid, action, mode, body = self.station.value, self.action.value, self.mode.value, self.editor.value
        if not sid:
            self.tasks.fail("send: choose a station (create one in the station manager)")
            return None
        verdict = self.validate()
        if not verdict.ok:
            self.tasks.fail(f"not sent: {verdict.message}")
            return None
        if mode == "raw":
            req = SendMessageRequest(mode="raw", raw=body, timeout=self.timeout.value)
        else:
            req = SendMessageRequest(mode="validated", action=action, payload=json.loads(body),
                                     timeout=self.timeout.value)
        return sid, req, sent_label(mode, action or "", body)

    def send(self) -> None:
        """Send the editor's message from the chosen station; refuses an invalid payload unless in raw mode."""
        got = self._request()
        if got is not None:
            self._send_now(*got)

    def schedule(self) -> None:
        """Send the editor's message as the schedule fields say (it runs while this page is open)."""
        got = self._request()
        if got is None:
            return
        now = time.time()
        p = plan(now, self.when.value, delay=float(self.delay.value or 0), at=self.at.value,
                 repeat=int(self.repeat.value), every=float(self.every.value or 0))
        if isinstance(p, str):
            self.tasks.fail(f"not scheduled: {p}")
            return
        sid, req, label = got
        what = f"{label} from {sid}, {p.describe(now)}"
        task = asyncio.get_running_loop().create_task(self._run_plan(p, sid, req, label),
                                                      name=f"ocppemu-ui-live: schedule {what}")
        self.schedules.append((what, p, task))
        task.add_done_callback(lambda _t: self._show_schedules())
        self._show_schedules()
        self.tasks.ok(f"scheduled {what}")

    async def _run_plan(self, p: Plan, sid: str, req: SendMessageRequest, label: str) -> None:
        for i, at in enumerate(p.times):
            await asyncio.sleep(max(at - time.time(), 0))
            self._send_now(sid, req, label + (f" #{i + 1}/{len(p.times)}" if len(p.times) > 1 else ""))

    def cancel_scheduled(self) -> None:
        pending = [t for _w, _p, t in self.schedules if not t.done()]
        for t in pending:
            t.cancel()
        self.tasks.ok(f"cancelled {len(pending)} scheduled send(s)")

    def _show_schedules(self) -> None:
        self.schedules = [s for s in self.schedules if not s[2].done()]
        self.scheduled.value = ("<ul style='margin:2px 0'>" + "".join(
            f"<li>{render.esc(what)}</li>" for what, _p, _t in self.schedules) + "</ul>") if self.schedules else ""

    def _send_now(self, sid: str, req: SendMessageRequest, label: str) -> None:
        mode = req.mode
        body = req.raw if req.mode == "raw" and req.raw is not None else json.dumps(req.payload, indent=2)
        self.last_result = None
        self.result.value = f"<i class='ocppemu-sending'>sending {render.esc(label)} from {render.esc(sid)}…</i>"

        async def run() -> None:
            try:
                result = await self.wb.send_message(sid, req)
            except Exception:
                self.result.value = ""  # the previous result must not pass for this one's
                raise
            self.last_result = result
            self.result.value = result_html(result)
            self.history.appendleft(Sent(datetime.now(UTC).strftime("%H:%M:%S"), sid, label, mode, body,
                                         result.outcome))
            self.history_pick.options = [(f"{h.time} {h.station_id} {h.action} → {h.outcome}", i)
                                         for i, h in enumerate(self.history)]
            self.tasks.ok(f"{label}: {result.outcome}")

        self.tasks.spawn(run(), f"send {label}")

    def add_step(self) -> None:
        """Append the editor's message to the scenario being built, as a step of the scenario format (checked by
        the scenario loader); it expects what the last send of the same message got."""
        sid, mode, body = self.station.value, self.mode.value, self.editor.value
        if not sid:
            self.tasks.fail("add step: choose a station")
            return
        verdict = self.validate()
        if not verdict.ok:
            self.tasks.fail(f"not added: {verdict.message}")
            return
        last = self.history[0] if self.history else None
        outcome = last.outcome if last is not None and last.body == body and last.station_id == sid else None
        step = crafted_step(mode, self.action.value or "", body, sid, outcome)
        stations = {**self.step_stations, sid: station_part(self.configs.get(sid, {}))}
        try:
            scenario_text(self.scenario_name.value, stations, [*self.steps, step])
        except ValueError as exc:
            self.tasks.fail(f"not added: {exc}")
            return
        self.steps.append(step)
        self.step_stations = stations
        self._show_scenario()
        self.tasks.ok(f"added step {len(self.steps)}: {sent_label(mode, self.action.value or '', body)}")

    def clear_steps(self) -> None:
        self.steps, self.step_stations = [], {}
        self._show_scenario()

    def scenario(self) -> str:
        """The scenario file (YAML) of the steps added so far."""
        return scenario_text(self.scenario_name.value, self.step_stations, self.steps)

    def _show_scenario(self) -> None:
        if not self.steps:
            self.scenario_box.value = ("<i>No steps yet: craft a message and add it; the steps make a scenario "
                                       "file to run with <code>ocppemu run</code>.</i>")
            return
        try:
            text = self.scenario()
        except ValueError as exc:
            self.scenario_box.value = f"<span style='color:#b00020'>{render.esc(exc)}</span>"
            return
        name = text.split("\nname: ", 1)[1].split("\n", 1)[0]
        self.scenario_box.value = (render.json_block(text, max_height="240px")
                                   + render.download_link(text, f"{name}.yaml", "application/yaml"))

    def _restore(self) -> None:
        idx = self.history_pick.value
        if idx is None or idx >= len(self.history):
            return
        h = self.history[idx]
        self._set(h.action.removesuffix(" (raw)") if h.mode == "raw" else h.action, h.mode, h.body, h.station_id)

    def _set(self, action: str, mode: str, body: str, station_id: str | None = None) -> None:
        if station_id in self.versions:
            self.station.value = station_id
        if action not in self.action.options:
            self.scope.value = False
        self.mode.value = mode
        if action in self.action.options:
            self.action.value = action
        self.editor.value = body
        self.validate()

    def save_template(self) -> None:
        name = self.template_name.value.strip()
        try:
            label = sent_label(self.mode.value, self.action.value or "", self.editor.value)
            self.templates.save(MessageTemplate(name, self.version.value, label.removesuffix(" (raw)"),
                                                self.mode.value, self.editor.value))
        except (ValueError, OSError) as exc:
            self.tasks.fail(f"save template: {exc}")
            return
        self._show_templates()
        self.template_pick.value = name
        self.tasks.ok(f"saved template {name!r} to {self.templates.path}")

    def _show_templates(self) -> None:
        names = sorted(self.templates.load())
        current = self.template_pick.value
        self.template_pick.options = names
        self.template_pick.value = current if current in names else (names[0] if names else None)

    def load_template(self) -> None:
        t = self.templates.load().get(self.template_pick.value or "")
        if t is None:
            self.tasks.fail("load template: choose a saved template")
            return
        self._set(t.action, t.mode, t.body)
        self.tasks.ok(f"loaded template {t.name!r}")

    async def close(self) -> None:
        for _w, _p, t in self.schedules:
            t.cancel()
        await self.tasks.close()
