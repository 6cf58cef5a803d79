from __future__ import annotations

import json

import pytest

from ocppemu.config.station import StationConfig
from ocppemu.widgets.station_form import FIELDS, MANAGED, StationForm
from ocppemu.widgets.station_manager import StationManager, parse_import
from ocppemu.workbench.interface import WorkbenchAPI

from .conftest import eventually


def _paths(model: type, prefix: str = "") -> set[str]:
    out: set[str] = set()
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        ann = info.annotation
        if isinstance(ann, type) and hasattr(ann, "model_fields") and name not in ("connectors",):
            out |= _paths(ann, f"{prefix}{name}.")
        else:
            out.add(prefix + name)
    return out


def test_the_form_has_an_input_for_every_configuration_field() -> None:
    wanted = {p for p in _paths(StationConfig) if p not in MANAGED}
    assert wanted == {f.path for f in FIELDS}


def test_the_form_refuses_an_invalid_configuration_with_reasons() -> None:
    form = StationForm()
    form.inputs["station_id"].value = "has space"
    form.inputs["csms_url"].value = "ftp://nowhere"
    assert form.check() is None
    assert "station_id" in form.errors.value and "csms_url" in form.errors.value


def test_the_form_round_trips_a_full_configuration() -> None:
    cfg = StationConfig(station_id="RT-1", name="round trip", tags=["a", "b"], protocol_version="1.6",
                        connectors=[{"id": 1, "type": "CCS2", "max_power": 50000, "current_type": "DC"},
                                    {"id": 2, "phases": 1}],
                        configuration_overrides={"HeartbeatInterval": "30"},
                        csms_auth={"type": "basic", "username": "u", "password": "pw"},
                        simulation={"ping_interval": None, "ev": {"start_soc": 35}})
    form = StationForm()
    form.load(cfg.export(include_secrets=True))
    doc = form.check()
    assert doc is not None
    again = StationConfig.model_validate(doc)
    assert again.export(include_secrets=True) == cfg.export(include_secrets=True)


async def test_create_from_the_form_then_start_stop_enable_disable_reset_delete(wb: WorkbenchAPI) -> None:
    m = StationManager(wb, live_interval=0.1)
    await m.tasks.idle()
    m.new()
    m.form.inputs["station_id"].value = "FORM-1"
    m.form.inputs["tags"].value = "lab, ac"
    m.form.connectors.add()
    m.save_button.click()
    await m.tasks.idle()
    assert m.tasks.errors == []
    v = await wb.get_station("FORM-1")
    assert v.config["tags"] == ["lab", "ac"] and len(v.config["connectors"]) == 2
    assert [o[1] for o in m.station_list.options] == ["FORM-1"]
    assert m.station_list.value == ("FORM-1",)
    m.start_button.click()
    await m.tasks.idle()
    await eventually(lambda: "state-connected" in m.list_html.value, what="the list shows it connected")
    assert "connected" in dict(m.station_list.options).__repr__()
    m.stop_button.click()
    await m.tasks.idle()
    assert (await wb.get_station("FORM-1")).runtime.running is False
    m.disable_button.click()
    await m.tasks.idle()
    assert (await wb.get_station("FORM-1")).config["enabled"] is False
    m.start_button.click()
    await m.tasks.idle()
    assert "disabled" in m.tasks.status.value  # refused with the workbench's reason
    m.enable_button.click()
    m.reset_button.click()
    await m.tasks.idle()
    assert (await wb.get_station("FORM-1")).config["enabled"] is True
    m.delete_button.click()
    assert m.confirm_box.layout.display == "flex"
    m.confirm_no.click()
    assert (await wb.list_stations()).stations  # cancelled: still there
    m.delete_button.click()
    m.confirm_yes.click()
    await m.tasks.idle()
    assert (await wb.list_stations()).stations == []
    assert m.station_list.options == ()
    await m.close()


async def test_invalid_form_is_not_sent(wb: WorkbenchAPI) -> None:
    m = StationManager(wb)
    m.new()
    m.form.inputs["station_id"].value = ""
    m.save_button.click()
    await m.tasks.idle()
    assert "form has errors" in m.tasks.status.value
    assert (await wb.list_stations()).stations == []


async def test_edit_clone_template_tags_and_bulk(wb: WorkbenchAPI) -> None:
    await wb.create_station({"station_id": "A", "tags": ["ac"]})
    m = StationManager(wb)
    await m.tasks.idle()
    m.station_list.value = ("A",)
    m.edit()
    m.form.inputs["name"].value = "renamed"
    m.save_button.click()
    await m.tasks.idle()
    assert (await wb.get_station("A")).config["name"] == "renamed"
    m.clone_id.value = "A-copy"
    m.clone_button.click()
    await m.tasks.idle()
    assert (await wb.get_station("A-copy")).config["name"] == "renamed"
    m.template_pick.value = "dc-50kw-ccs-chademo-1.6"
    m.template_id.value = "DC-1"
    m.template_button.click()
    await m.tasks.idle()
    assert (await wb.get_station("DC-1")).config["connectors"][1]["type"] == "CHAdeMO"
    m.tag_filter.value = "dc"
    assert [o[1] for o in m.station_list.options] == ["DC-1"]
    m.tag_filter.value = ""
    m.station_list.value = ("A", "DC-1")
    m.start_button.click()
    await m.tasks.idle()
    assert {v.station_id for v in (await wb.list_stations()).stations if v.runtime.running} == {"A", "DC-1"}
    m.stop_button.click()
    await m.tasks.idle()
    assert not any(v.runtime.running for v in (await wb.list_stations()).stations)
    m.station_list.value = ("A",)
    await m.tasks.idle()
    assert "Configuration keys" in m.detail.value and "connector" in m.detail.value


async def test_export_then_import_json(wb: WorkbenchAPI) -> None:
    await wb.create_station({"station_id": "EXP-1", "tags": ["x"]})
    m = StationManager(wb)
    m.export_button.click()
    await m.tasks.idle()
    assert "download=" in m.download.value and "data:application/json;base64," in m.download.value
    exported = json.loads(m.last_export)
    await wb.delete_station("EXP-1")
    exported["stations"][0]["station_id"] = "IMP-1"
    m.import_bytes(json.dumps(exported).encode())
    await m.tasks.idle()
    assert (await wb.get_station("IMP-1")).config["tags"] == ["x"]
    assert "imported IMP-1" in m.tasks.status.value
    m.import_bytes(b"not json")
    await m.tasks.idle()
    assert "not JSON" in m.tasks.status.value


def test_parse_import_accepts_an_export_or_a_list() -> None:
    assert parse_import(b'{"stations": [{"station_id": "a"}]}') == [{"station_id": "a"}]
    assert parse_import(b'[{"station_id": "b"}]') == [{"station_id": "b"}]
    with pytest.raises(Exception, match="no 'stations'"):
        parse_import(b'{"x": 1}')
