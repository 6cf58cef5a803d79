"""What a tester does all day, end to end in headless Chromium against ``ocppemu serve`` with the demo CSMS and the
dashboards served as ``ocppemu ui`` serves them: a charging session driven from a station card; the daemon killed
and restarted under open pages; 30 pages opened and closed without leaking kernels; ten charging stations with
every value moving; a page opened while the daemon is down."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.daemon import Daemon, ensure_connected, spawn_daemon
from tests.browser.harness import (
    VoilaServer,
    describe,
    free_port,
    kernel_pids,
    require_browser_parts,
    rss_bytes,
    run_browser,
    run_pages,
    ui_server,
)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    require_browser_parts()
    d = spawn_daemon(tmp_path_factory.mktemp("daemon"))
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def voila(daemon: Daemon) -> Iterator[VoilaServer]:
    with ui_server(DASHBOARDS, env=daemon.env()) as (server, _proc):
        yield server


def ok(result: dict[str, Any], server: VoilaServer) -> dict[str, str]:
    assert result["ok"], describe(result) + "\n--- voila log ---\n" + server.log_tail()
    assert result["page_errors"] == [], describe(result)
    assert result["external_requests"] == [], describe(result)
    return result["texts"]  # type: ignore[no-any-return]


def kwh(text: str) -> float:
    m = re.search(r"(\d+\.\d+) kWh", text)
    assert m, text
    return float(m.group(1))


def test_a_charging_session_driven_from_a_station_card(voila: VoilaServer, daemon: Daemon) -> None:
    ensure_connected(daemon, "BR-CARD", name="card session")
    card = ".ocppemu-card-BR-CARD"
    status = f"{card} .ocppemu-connector-status"
    result = run_browser({"url": voila.render_url("overview.ipynb"), "timeout_ms": 60000, "steps": [
        {"action": "wait", "selector": status, "text": "Available"},
        {"action": "click", "selector": f"{card} .ocppemu-act-plug_in"},
        {"action": "wait", "selector": status, "text": "Preparing", "timeout_ms": 15000},
        {"action": "fill", "selector": f"{card} .ocppemu-pick-tag input", "value": "BROWSER-TAG-1"},
        {"action": "click", "selector": f"{card} .ocppemu-act-authorize"},
        {"action": "wait", "selector": status, "text": "Charging", "timeout_ms": 15000},
        {"action": "wait", "selector": f"{card} .ocppemu-tx", "text": "1"},
        {"action": "read", "selector": f"{card} .ocppemu-energy", "name": "energy_1"},
        {"action": "sleep", "ms": 3000},
        {"action": "read", "selector": f"{card} .ocppemu-energy", "name": "energy_2"},
        {"action": "read", "selector": f"{card} .ocppemu-card-live", "name": "charging"},
        {"action": "screenshot", "path": str(SHOTS / "overview.png")},
        {"action": "click", "selector": f"{card} .ocppemu-act-stop_transaction"},
        {"action": "wait", "selector": status, "text": "Finishing", "timeout_ms": 15000},
        {"action": "click", "selector": f"{card} .ocppemu-act-fault"},
        {"action": "wait", "selector": status, "text": "Faulted (OtherError)", "timeout_ms": 15000},
        {"action": "click", "selector": f"{card} .ocppemu-act-clear_fault"},
        {"action": "wait", "selector": f"{card} .ocppemu-card-result", "text": "clear_fault on connector #1: done"},
        {"action": "click", "selector": f"{card} .ocppemu-act-unplug"},
        {"action": "wait", "selector": status, "text": "Available", "timeout_ms": 15000},
    ]})
    texts = ok(result, voila)
    assert kwh(texts["energy_2"]) > kwh(texts["energy_1"]), texts  # energy rises between MeterValues samples
    assert "BROWSER-TAG-1" in texts["charging"] and "kW" in texts["charging"]
    # the whole session as frames, in the inspector
    result = run_browser({"url": voila.render_url("messages.ipynb"), "timeout_ms": 60000, "steps": [
        {"action": "wait", "selector": ".ocppemu-feed", "text": "StatusNotification"},
        {"action": "select", "selector": ".ocppemu-filter-station select", "value": "BR-CARD"},
        {"action": "click", "selector": ".ocppemu-apply"},
        {"action": "wait", "selector": ".ocppemu-status", "text": "match station_id=BR-CARD"},
        {"action": "wait", "selector": ".ocppemu-feed", "text": "StopTransaction"},
        {"action": "read", "selector": ".ocppemu-feed", "name": "feed"},
    ]})
    feed = ok(result, voila)["feed"]
    for action in ("Authorize", "StartTransaction", "StopTransaction", "StatusNotification"):
        assert action in feed, feed
    assert "OtherError" in feed and "BROWSER-TAG-1" in feed


def test_pages_say_when_the_daemon_is_gone_and_recover_when_it_is_back(tmp_path: Path) -> None:
    require_browser_parts()
    port = free_port()
    first = spawn_daemon(tmp_path / "data", port)
    marker = tmp_path / "pages-up"
    with ui_server(DASHBOARDS, env=first.env()) as (server, _proc):
        ensure_connected(first, "BR-RESTART")
        import subprocess
        import sys

        job = {"url": server.render_url("messages.ipynb"), "timeout_ms": 90000, "steps": [
            {"action": "wait", "selector": ".daemon-up"},
            {"action": "wait", "selector": ".ocppemu-feed", "text": "BR-RESTART"},
            {"action": "touch", "path": str(marker)},
            {"action": "wait", "selector": ".daemon-down", "text": "not answering"},
            {"action": "wait", "selector": ".ocppemu-view.ocppemu-stale", "state": "attached"},
            {"action": "read", "selector": ".ocppemu-connection", "name": "down"},
            {"action": "screenshot", "path": str(SHOTS / "daemon-down.png")},
            {"action": "wait", "selector": ".daemon-up", "timeout_ms": 90000},
            # the live feed resumed by itself: a frame sent after the restart shows up
            {"action": "wait", "selector": ".ocppemu-feed", "text": "BR-AFTER", "timeout_ms": 90000},
            {"action": "read", "selector": ".ocppemu-connection", "name": "up"},
        ]}
        import json

        from tests.browser.harness import DRIVER, HERE

        browser = subprocess.Popen(["node", str(DRIVER), json.dumps(job)], stdout=subprocess.PIPE, text=True,
                                   cwd=HERE)
        deadline = time.monotonic() + 120
        while not marker.exists() and browser.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert marker.exists(), browser.communicate(timeout=30)[0]
        first.kill()
        time.sleep(6)  # the pages notice (the bar checks every 2 s)
        second = spawn_daemon(tmp_path / "data", port)
        try:
            ensure_connected(second, "BR-AFTER")
            out, _ = browser.communicate(timeout=150)
        finally:
            second.stop()
        result = json.loads(out.strip().splitlines()[-1])
        assert sys.executable  # (kept: the browser ran under the same interpreter's environment)
        texts = ok(result, server)
        assert "not answering since" in texts["down"] and "reconnecting by itself" in texts["down"], texts
        assert "Errno" not in texts["down"]
        assert "live" in texts["up"]


def test_thirty_pages_opened_and_closed_leave_no_kernel_behind(daemon: Daemon) -> None:
    # half closed as a user closes a tab (the page asks for its kernel's shutdown), half killed without unloading
    # (the orphan culler ends those): after both, no kernel is left and memory is back where it was
    with ui_server(DASHBOARDS, env=daemon.env(), orphan_timeout=8) as (server, proc):
        page = {"url": server.render_url("system.ipynb"), "selector": ".ocppemu-system-box", "text": "store"}
        warm = run_pages({"pages": [page]})
        assert warm["ok"], warm
        _settle(proc, 0, 60)
        baseline = rss_bytes(proc.pid)
        closed = run_pages({"pages": [page], "repeat": 15, "unload": "beforeunload"})
        assert closed["ok"], closed
        left_by_closing = len(kernel_pids(proc))
        killed = run_pages({"pages": [page], "repeat": 15, "unload": "kill"})
        assert killed["ok"], killed
        assert _settle(proc, 0, 90) == 0, f"kernels left: {kernel_pids(proc)}\n{server.log_tail()}"
        grown = rss_bytes(proc.pid) - baseline
        assert left_by_closing <= 1, "closing a page must end its kernel at once"
        assert grown < 64 * 2**20, f"Voila grew by {grown / 2**20:.0f} MiB over 30 pages"
        log = server.log_path.read_text()
        assert "'_xsrf' argument missing" not in log
        assert log.count("no page connected") >= 14, "the killed pages' kernels were culled"


def _settle(proc: Any, want: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while len(kernel_pids(proc)) > want and time.monotonic() < deadline:
        time.sleep(0.5)
    return len(kernel_pids(proc))


def test_ten_charging_stations_on_the_overview_all_values_moving(voila: VoilaServer, daemon: Daemon) -> None:
    ids = [f"BR-TEN-{i:02d}" for i in range(10)]

    async def setup(wb: Any) -> None:
        from ocppemu.widgets.session import wait_for_state
        from ocppemu.workbench.interface import ActionRequest

        have = {v.station_id for v in (await wb.list_stations()).stations}
        for sid in have - set(ids):  # the daemon holds 10 stations at most
            await wb.delete_station(sid)
        for sid in ids:
            if sid not in have:
                await wb.create_station({"station_id": sid})
            await wb.start_station(sid)
        for sid in ids:
            await wait_for_state(wb, sid, "connected")
            res = await wb.station_action(sid, ActionRequest(action="start_transaction", connector_id=1))
            assert res.ok, res

    daemon.call(setup)
    energy = ".ocppemu-card[class*='ocppemu-card-BR-TEN-'] .ocppemu-energy"
    duration = ".ocppemu-card[class*='ocppemu-card-BR-TEN-'] .ocppemu-duration"
    steps: list[dict[str, Any]] = [{"action": "wait", "selector": f".ocppemu-card-{sid} .ocppemu-energy"}
                                   for sid in ids]
    steps += [{"action": "read_all", "selector": energy, "name": "e1"},
              {"action": "read_all", "selector": duration, "name": "d1"},
              {"action": "sleep", "ms": 4000},
              {"action": "read_all", "selector": energy, "name": "e2"},
              {"action": "read_all", "selector": duration, "name": "d2"},
              {"action": "read", "selector": ".ocppemu-summary", "name": "summary"}]
    texts = ok(run_browser({"url": voila.render_url("overview.ipynb"), "timeout_ms": 90000, "steps": steps}), voila)
    assert len(texts["e1"]) == len(texts["e2"]) == 10, texts
    assert all(kwh(b) > kwh(a) for a, b in zip(texts["e1"], texts["e2"], strict=True)), texts
    running = [(a, b) for a, b in zip(texts["d1"], texts["d2"], strict=True) if a != "—"]  # the idle connectors
    assert len(running) == 10 and all(b != a for a, b in running), texts  # every session's duration ticks
    assert re.search(r"\b1[0-9] charging", texts["summary"]), texts["summary"]


def test_a_page_opened_with_the_daemon_down_says_so_in_a_sentence() -> None:
    require_browser_parts()
    dead = f"http://127.0.0.1:{free_port()}"
    with ui_server(DASHBOARDS, env={"OCPPEMU_URL": dead, "PYTHONPATH": str(ROOT)}) as (server, _proc):
        for view in ("overview", "stations"):
            result = run_browser({"url": server.render_url(f"{view}.ipynb"), "timeout_ms": 60000, "steps": [
                {"action": "wait", "selector": ".daemon-down", "text": "not reachable"},
                {"action": "read", "selector": "body", "name": "page"},
            ]})
            page = ok(result, server)["page"]
            assert f"The workbench daemon at {dead} is not reachable" in page, page
            assert "connection refused" in page and "ocppemu serve" in page
            for bad in ("Errno", "Traceback", "There was an error", "Error"):
                assert bad not in page, page


def test_the_tag_filter_hides_a_selected_station_without_a_console_error(voila: VoilaServer, daemon: Daemon) -> None:
    async def make_room(wb: Any) -> None:  # the daemon holds 10 stations at most
        stations = (await wb.list_stations()).stations
        if len(stations) >= 10:
            await wb.delete_station(stations[-1].station_id)

    daemon.call(make_room)
    ensure_connected(daemon, "BR-TAGS", tags=["lab"])
    result = run_browser({"url": voila.render_url("stations.ipynb"), "timeout_ms": 60000, "steps": [
        {"action": "wait", "selector": ".ocppemu-station-table", "text": "BR-TAGS"},
        {"action": "click", "selector": ".ocppemu-station-list option", "text": "BR-TAGS"},
        {"action": "sleep", "ms": 800},
        {"action": "fill", "selector": ".ocppemu-tag-filter input", "value": "no-such-tag"},
        {"action": "press", "selector": ".ocppemu-tag-filter input", "key": "Enter"},
        {"action": "wait", "selector": ".ocppemu-station-table", "text": "No station carries these tags"},
        {"action": "fill", "selector": ".ocppemu-tag-filter input", "value": "lab"},
        {"action": "press", "selector": ".ocppemu-tag-filter input", "key": "Enter"},
        {"action": "wait", "selector": ".ocppemu-station-table", "text": "BR-TAGS"},
        {"action": "sleep", "ms": 1500},
        {"action": "read", "selector": ".ocppemu-station-table", "name": "table"},
    ]})
    texts = ok(result, voila)
    assert result["console_errors"] == [], describe(result)
    assert "BR-TAGS" in texts["table"]


def test_the_landing_page_is_the_app_offline_and_the_bar_moves_between_views(voila: VoilaServer) -> None:
    result = run_browser({"url": voila.base_url, "timeout_ms": 60000, "steps": [
        {"action": "wait", "selector": ".ocppemu-landing", "text": "Overview"},
        {"action": "read", "selector": "body", "name": "landing"},
        {"action": "click", "selector": ".ocppemu-nav-link", "text": "System"},
        {"action": "wait", "selector": ".ocppemu-system-box", "text": "store"},
        {"action": "wait", "selector": ".ocppemu-nav-link[aria-current='page']", "text": "System"},
    ]})
    texts = ok(result, voila)
    assert result["console_errors"] == [] and result["failed_requests"] == [], describe(result)
    for view in ("Overview", "Stations", "Messages", "Crafter", "Scenarios", "Charts", "System"):
        assert view in texts["landing"]
    assert "Select items to open" not in texts["landing"]  # not Voila's bare file list
