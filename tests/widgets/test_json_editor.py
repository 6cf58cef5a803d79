from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import ipywidgets as w
import jsonschema
import pytest

pytest.importorskip("anywidget")

from ocppemu.ocpp.versions import Version
from ocppemu.widgets.json_editor import JsonEditor, bundle_source
from ocppemu.widgets.message_crafter import MessageCrafter, actions_for, editor_schema, make_editor, template_text
from ocppemu.workbench.interface import WorkbenchAPI

ROOT = Path(__file__).resolve().parents[2]


def test_the_packaged_bundle_is_a_self_contained_es_module() -> None:
    source = bundle_source()
    assert "export" in source and len(source) > 50_000
    # nothing fetched at run time: no import of a URL, no URL but the SVG namespace
    assert not re.search(r"""import\s*\(?\s*["'](https?:)?//""", source)
    assert set(re.findall(r"https?://[\w.-]+", source)) <= {"http://www.w3.org"}
    assert (ROOT / "ocppemu" / "widgets" / "static" / "json_editor.js").read_text(encoding="utf-8") in source


def test_traits_are_synced_and_front_end_edits_reach_python() -> None:
    ed = JsonEditor('{"a": 1}', schema={"type": "object"}, height="200px")
    state = ed.get_state()
    assert state["value"] == '{"a": 1}' and state["schema"] == {"type": "object"}
    assert state["errors"] == [] and state["height"] == "200px" and state["read_only"] is False
    assert state["_esm"] == bundle_source()
    seen: list[str] = []
    ed.observe(lambda change: seen.append(change["new"]), "value")
    ed.set_state({"value": '{"a": 2}'})  # what a comm message from the browser does
    assert ed.value == '{"a": 2}' and seen == ['{"a": 2}']
    ed.read_only = True
    assert ed.get_state()["read_only"] is True


def test_frame_schema_wraps_the_payload_schema_and_keeps_refs_resolvable() -> None:
    for version in (Version.V16, Version.V201, Version.V21):
        for action in actions_for(version):
            frame = editor_schema(version, action, raw=True)
            jsonschema.validate(json.loads(template_text(version, action, raw=True)), frame)
            payload = editor_schema(version, action)
            jsonschema.validate(json.loads(template_text(version, action)), payload)
    frame = editor_schema(Version.V201, "TransactionEvent", raw=True)
    assert "definitions" in frame and "definitions" not in frame["items"][3]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([2, "1", "TransactionEvent", {"eventType": "Sideways"}], frame)
    assert editor_schema(Version.V16, "NoSuchAction") == {}


async def test_crafter_drives_the_code_editor(wb: WorkbenchAPI, tmp_path: Path) -> None:
    await wb.create_station({"station_id": "JE-1", "protocol_version": "2.0.1"})
    c = MessageCrafter(wb, templates_path=tmp_path / "t.json")
    await c.tasks.idle()
    ed = c.editor
    assert isinstance(ed, JsonEditor) and "ocppemu-editor" in ed._dom_classes
    assert c.action.value == "Heartbeat" and ed.errors == []
    c.action.value = "BootNotification"
    assert ed.schema == editor_schema(Version.V201, "BootNotification")
    assert "chargingStation" in ed.schema["properties"]
    ed.set_state({"value": '{"reason": "Nope"}'})
    assert c.send_button.disabled and len(ed.errors) == 1 and "chargingStation" in ed.errors[0]
    assert "chargingStation" in c.check.value
    ed.set_state({"value": '{"reason": "PowerUp", "chargingStation": {"model": "m", "vendorName": "v"}}'})
    assert ed.errors == [] and not c.send_button.disabled
    ed.set_state({"value": "{oops"})
    assert "line 1 column 2" in ed.errors[0]
    c.mode.value = "raw"
    frame: dict[str, Any] = ed.schema
    assert frame["type"] == "array" and frame["items"][3]["properties"].keys() >= {"reason", "chargingStation"}
    assert json.loads(ed.value)[2] == "BootNotification" and ed.errors == []


async def test_crafter_falls_back_to_a_text_area_without_anywidget(
        wb: WorkbenchAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ocppemu.widgets.json_editor", None)  # import now raises ImportError
    assert isinstance(make_editor(), w.Textarea)
    await wb.create_station({"station_id": "JE-2"})
    c = MessageCrafter(wb, templates_path=tmp_path / "t.json")
    await c.tasks.idle()
    assert isinstance(c.editor, w.Textarea) and json.loads(c.editor.value) == {}
    c.editor.value = "[1]"
    assert c.send_button.disabled and "JSON object" in c.check.value
    c.editor.value = "{}"
    assert not c.send_button.disabled and "valid Heartbeat" in c.check.value
