from __future__ import annotations

from ocppemu.widgets.config_panel import ConfigPanel, mask_secrets
from ocppemu.widgets.dashboard import Dashboard
from ocppemu.widgets.live import RateWindow
from ocppemu.workbench.interface import WorkbenchAPI

from .conftest import connected_station, eventually


def test_rate_window_counts_per_second_and_forgets_old_seconds() -> None:
    r = RateWindow(seconds=5)
    for t in (100.1, 100.5, 103.0, 90.0):
        r.add("A", t)
    xs, ys = r.series(104.9)["A"]
    assert xs == [-4, -3, -2, -1, 0] and ys == [2, 0, 0, 1, 0]
    assert 90 not in r._counts["A"]


async def test_dashboard_lists_stations_live_and_quick_start_stop(wb: WorkbenchAPI) -> None:
    await connected_station(wb, "D-1")
    await wb.create_station({"station_id": "D-2"})
    d = Dashboard(wb, refresh_interval=0.1)
    await d.tasks.idle()
    assert list(d.buttons) == ["D-1", "D-2"]
    assert "state-connected" in d.buttons["D-1"][2].value and "state-stopped" in d.buttons["D-2"][2].value
    assert d.buttons["D-1"][0].disabled and not d.buttons["D-2"][0].disabled
    d.buttons["D-2"][0].click()  # quick start
    await eventually(lambda: "state-connected" in d.buttons["D-2"][2].value, what="D-2 connected on the dashboard")
    assert "2</b> connected" in d.summary.value
    await eventually(lambda: d.frames_seen > 0 and "<polyline" in d.chart.value, what="frames in the chart")
    assert "<title>D-2</title>" in d.chart.value  # a line of the chart per station
    d.buttons["D-1"][1].click()  # quick stop
    await eventually(lambda: "state-stopped" in d.buttons["D-1"][2].value, what="D-1 stopped")
    await d.close()


async def test_config_panel_shows_status_and_masks_secrets(wb: WorkbenchAPI) -> None:
    await wb.create_station({"station_id": "C-1", "csms_auth": {"type": "basic", "username": "u",
                                                                 "password": "hunter2"}})
    p = ConfigPanel(wb)
    await p.tasks.idle()
    assert p.last is not None and p.last.stations == 1
    assert "healthy" in p.status_box.value and "sqlite" in p.status_box.value
    assert "MiB" in p.status_box.value and p.last.version in p.status_box.value
    assert "hunter2" not in p.config_box.value and "**********" in p.config_box.value
    assert "max_stations" in p.config_box.value
    assert mask_secrets({"a": {"token": "t", "password": None}, "b": [{"api_key": "k"}]}) == {
        "a": {"token": "**********", "password": None}, "b": [{"api_key": "**********"}]}
