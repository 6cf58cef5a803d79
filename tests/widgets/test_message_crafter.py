from __future__ import annotations

import json
from pathlib import Path

from ocppemu.ocpp.versions import Version
from ocppemu.widgets.message_crafter import MessageCrafter, actions_for, check_text, template_text
from ocppemu.workbench.interface import WorkbenchAPI

from .conftest import connected_station


def test_templates_validate_for_every_station_initiated_action() -> None:
    for version in (Version.V16, Version.V201, Version.V21):
        for action in actions_for(version):
            text = template_text(version, action)
            assert check_text(version, action, text, "validated").ok, (version, action, text)


def test_live_validation_names_the_problem() -> None:
    bad = check_text(Version.V16, "BootNotification", '{"chargePointVendor": 1}', "validated")
    assert (not bad.ok and "chargePointModel" in bad.message) or "chargePointVendor" in bad.message
    assert not check_text(Version.V16, "Heartbeat", "{oops", "validated").ok
    raw = check_text(Version.V16, "Heartbeat", "{oops", "raw")
    assert raw.ok and "sent exactly as typed" in raw.message
    frame = check_text(Version.V16, "Heartbeat", '[2, "1", "BootNotification", {}]', "raw")
    assert frame.ok and "breaks the schema" in frame.message
    assert len(actions_for(Version.V16, station_only=False)) > len(actions_for(Version.V16))


async def test_send_a_heartbeat_and_see_the_response(wb: WorkbenchAPI, tmp_path: Path) -> None:
    await connected_station(wb, "CR-1")
    c = MessageCrafter(wb, templates_path=tmp_path / "t.json")
    await c.tasks.idle()
    assert c.station.value == "CR-1" and c.action.value == "Heartbeat"
    assert json.loads(c.editor.value) == {}
    c.send_button.click()
    await c.tasks.idle()
    assert c.last_result is not None and c.last_result.outcome == "result"
    assert "currentTime" in c.result.value and "round trip" in c.result.value
    assert "Heartbeat" in c.history_pick.options[0][0]


async def test_invalid_payload_blocked_unless_raw_and_callerror_shown(wb: WorkbenchAPI, tmp_path: Path) -> None:
    await connected_station(wb, "CR-2")
    c = MessageCrafter(wb, templates_path=tmp_path / "t.json")
    await c.tasks.idle()
    c.action.value = "BootNotification"
    c.editor.value = '{"chargePointVendor": "x"}'
    assert c.send_button.disabled and "chargePointModel" in c.check.value
    c.send()
    await c.tasks.idle()
    assert "not sent" in c.tasks.status.value and c.last_result is None
    c.scope.value = False
    c.mode.value = "raw"
    c.editor.value = '[2, "raw-1", "NoSuchAction", {}]'
    assert not c.send_button.disabled
    c.timeout.value = 3
    c.send_button.click()
    await c.tasks.idle()
    assert c.last_result is not None and c.last_result.outcome == "error"
    assert c.last_result.error_code == "NotImplemented"
    assert "NotImplemented" in c.result.value


async def test_save_and_load_a_template(wb: WorkbenchAPI, tmp_path: Path) -> None:
    await wb.create_station({"station_id": "CR-3"})
    path = tmp_path / "templates.json"
    c = MessageCrafter(wb, templates_path=path)
    await c.tasks.idle()
    c.action.value = "DataTransfer"
    c.editor.value = '{"vendorId": "acme", "data": "hi"}'
    c.template_name.value = "acme hello"
    c.save_template_button.click()
    assert "acme hello" in json.loads(path.read_text())["templates"][0]["name"]
    c.action.value = "Heartbeat"
    c.template_pick.value = "acme hello"
    c.load_template_button.click()
    assert c.action.value == "DataTransfer" and json.loads(c.editor.value)["vendorId"] == "acme"
    c2 = MessageCrafter(wb, templates_path=path)
    assert c2.template_pick.options == ("acme hello",)
    c.template_name.value = "bad/name"
    c.save_template_button.click()
    assert "template name" in c.tasks.status.value


def test_a_send_plan_from_what_the_user_typed() -> None:
    from datetime import datetime

    from ocppemu.widgets.send_schedule import Plan, plan

    now = datetime(2026, 5, 1, 12, 0, 0).timestamp()
    assert plan(now, "now") == Plan((now,))
    assert plan(now, "delay", delay=30, repeat=3, every=10) == Plan((now + 30, now + 40, now + 50))
    at = plan(now, "at", at="12:30")
    assert isinstance(at, Plan) and at.times == (now + 1800,)
    tomorrow = plan(now, "at", at="11:00")
    assert isinstance(tomorrow, Plan) and tomorrow.times[0] == now + 23 * 3600
    assert "not a time" in str(plan(now, "at", at="soon"))
    assert "in the past" in str(plan(now, "at", at="2020-01-01T00:00:00"))
    assert "interval" in str(plan(now, "now", repeat=2, every=0))
    assert "repeat" in str(plan(now, "now", repeat=0))
    assert Plan((now, now + 5, now + 10)).describe(now) == "3 times every 5 s, starting now"


async def test_scheduled_repeated_sends_and_labels_of_what_was_sent(wb: WorkbenchAPI, tmp_path: Path) -> None:
    import asyncio

    from .conftest import eventually

    await connected_station(wb, "CR-S")
    c = MessageCrafter(wb, templates_path=tmp_path / "t.json")
    await c.tasks.idle()
    c.when.value, c.delay.value, c.repeat.value, c.every.value = "delay", 0.2, 2, 0.3
    c.schedule()
    assert "Heartbeat from CR-S, 2 times every 0.3 s" in c.scheduled.value
    await eventually(lambda: len(c.history) == 2, what="two scheduled sends")
    await c.tasks.idle()
    assert [h.action for h in c.history] == ["Heartbeat #2/2", "Heartbeat #1/2"]
    await eventually(lambda: c.scheduled.value == "", what="the schedule done")
    # a raw frame is named by its own action, not the picker's
    c.mode.value = "raw"
    c.editor.value = '[2, "raw-s", "StatusNotification", {}]'
    c.send()
    await c.tasks.idle()
    assert c.history[0].action == "StatusNotification (raw)"
    c.template_name.value = "raw-status"
    c.save_template()
    assert c.templates.load()["raw-status"].action == "StatusNotification"
    # a send that fails leaves no earlier result on the page
    assert c.result.value
    await wb.stop_station("CR-S")
    c.mode.value = "validated"
    c.action.value = "Heartbeat"
    c.send()
    await c.tasks.idle()
    assert c.result.value == "" and "not connected" in c.tasks.status.value
    c.when.value, c.delay.value, c.repeat.value = "delay", 60, 1
    c.schedule()
    c.cancel_scheduled()
    await asyncio.sleep(0)
    await eventually(lambda: c.scheduled.value == "", what="the schedule cancelled")
    await c.close()


async def test_crafted_messages_become_steps_of_a_scenario_the_loader_accepts(wb: WorkbenchAPI,
                                                                              tmp_path: Path) -> None:
    import yaml

    from ocppemu.scenarios.loader import loads

    await connected_station(wb, "CR-SC")
    c = MessageCrafter(wb, templates_path=tmp_path / "t.json")
    await c.tasks.idle()
    assert "No steps yet" in c.scenario_box.value
    c.send()
    await c.tasks.idle()
    c.add_step()  # the Heartbeat just sent: it got a result, which is the format's default expectation
    c.scope.value = False
    c.mode.value = "raw"
    c.editor.value = '[2, "raw-sc", "NoSuchAction", {}]'
    c.timeout.value = 3
    c.send()
    await c.tasks.idle()
    c.add_step()  # answered with a CallError: the step expects one
    c.scenario_name.value = "crafted heartbeat"
    text = c.scenario()
    doc = yaml.safe_load(text)
    assert doc["name"] == "crafted-heartbeat" and [s["id"] for s in doc["stations"]] == ["CR-SC"]
    assert doc["stations"][0]["config"]["protocol_version"] == "1.6"
    assert "csms_url" not in doc["stations"][0]["config"]  # the run decides where it connects
    assert doc["steps"][0] == "connect"
    assert doc["steps"][1] == {"send": {"action": "Heartbeat", "payload": {}, "on": ["CR-SC"]}}
    assert doc["steps"][2] == {"send_raw": {"raw": '[2, "raw-sc", "NoSuchAction", {}]', "on": ["CR-SC"],
                                            "expect": "error"}}
    scenario = loads(text)
    assert [s.kind for s in scenario.model.steps] == ["connect", "send", "send_raw"]
    assert "crafted-heartbeat.yaml" in c.scenario_box.value
    c.clear_steps()
    assert c.steps == [] and "No steps yet" in c.scenario_box.value
    await c.close()
