"""The dashboards in a real browser: the daemon (``ocppemu serve`` with the demo CSMS, a temporary SQLite store)
and Voila serving dashboards/ attached to it; each view is opened in headless Chromium, must render real content
(no error, no endless "Loading", nothing fetched beyond 127.0.0.1, no console errors) and takes one real
interaction. Screenshots of every view are written to docs/screenshots/."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.daemon import Daemon, ensure_connected, spawn_daemon
from tests.browser.harness import (
    VoilaServer,
    describe,
    offline_violations,
    require_browser_parts,
    run_browser,
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


@pytest.fixture
def voila(daemon: Daemon) -> Iterator[VoilaServer]:
    with ui_server(DASHBOARDS, env=daemon.env()) as (server, _proc):
        yield server


def check(result: dict[str, Any], server: VoilaServer) -> str:
    """Assert a clean page and return its text."""
    assert result["ok"], describe(result) + "\n--- voila log ---\n" + server.log_tail()
    page = result["texts"].get("page", "")
    for marker in ("Loading", "Traceback", "There was an error", "Kernel Error", "ModuleNotFoundError"):
        assert marker not in page, page[:3000]
    assert offline_violations(result) == [], describe(result)
    assert result["console_errors"] == [], describe(result)
    assert result["page_errors"] == [], describe(result)
    assert result["http_errors"] == [], describe(result)
    return str(page)


def shot(name: str) -> dict[str, Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return {"action": "screenshot", "path": str(SHOTS / f"{name}.png")}


def test_stations_create_in_the_form_then_start_and_see_it_connected(voila: VoilaServer, daemon: Daemon) -> None:
    result = run_browser({"url": voila.render_url("stations.ipynb"), "timeout_ms": 60000, "steps": [
        {"action": "wait", "selector": ".ocppemu-station-manager"},
        {"action": "wait", "selector": ".ocppemu-field-station-id input"},
        {"action": "fill", "selector": ".ocppemu-field-station-id input", "value": "BR-FORM"},
        {"action": "fill", "selector": ".ocppemu-field-name input", "value": "made in the browser"},
        {"action": "fill", "selector": ".ocppemu-field-tags input", "value": "browser, ac"},
        {"action": "click", "selector": ".ocppemu-save-station"},
        {"action": "wait", "selector": ".ocppemu-station-table", "text": "BR-FORM"},
        {"action": "wait", "selector": ".ocppemu-status", "text": "created BR-FORM"},
        {"action": "click", "selector": ".ocppemu-start"},
        {"action": "wait", "selector": ".ocppemu-station-table .state-connected", "timeout_ms": 30000},
        {"action": "read", "selector": ".ocppemu-station-table", "name": "table"},
        {"action": "read", "selector": "body", "name": "page"},
        shot("stations"),
    ]})
    check(result, voila)
    assert "BR-FORM" in result["texts"]["table"] and "connected" in result["texts"]["table"]
    view = daemon.call(lambda wb: wb.get_station("BR-FORM"))
    assert view.config["name"] == "made in the browser" and view.config["tags"] == ["browser", "ac"]
    assert view.runtime.state == "connected"


def test_dashboard_quick_start_turns_a_station_connected(voila: VoilaServer, daemon: Daemon) -> None:
    ensure_connected(daemon, "BR-DASH-1")
    daemon.call(lambda wb: _create_stopped(wb, "BR-DASH-2"))
    result = run_browser({"url": voila.render_url("dashboard.ipynb"), "timeout_ms": 60000, "steps": [
        {"action": "wait", "selector": ".ocppemu-row[data-station='BR-DASH-2'] .state-stopped"},
        {"action": "click",
         "selector": ".widget-hbox:has(.ocppemu-row[data-station='BR-DASH-2']) .ocppemu-quick-start"},
        {"action": "wait", "selector": ".ocppemu-row[data-station='BR-DASH-2'] .state-connected", "timeout_ms": 30000},
        {"action": "wait", "selector": ".ocppemu-dashboard .ocppemu-rate-chart svg"},
        {"action": "read", "selector": ".ocppemu-summary", "name": "summary"},
        {"action": "read", "selector": "body", "name": "page"},
        shot("dashboard"),
    ]})
    check(result, voila)
    assert "connected" in result["texts"]["summary"]
    assert daemon.call(lambda wb: wb.get_station("BR-DASH-2")).runtime.state == "connected"


async def _create_stopped(wb: Any, sid: str) -> None:
    ids = {v.station_id for v in (await wb.list_stations()).stations}
    if sid not in ids:
        await wb.create_station({"station_id": sid})


def test_inspector_filter_shows_only_matching_frames(voila: VoilaServer, daemon: Daemon) -> None:
    ensure_connected(daemon, "BR-MSG")
    result = run_browser({"url": voila.render_url("messages.ipynb"), "timeout_ms": 60000, "steps": [
        {"action": "wait", "selector": ".ocppemu-feed", "text": "StatusNotification"},
        {"action": "fill", "selector": ".ocppemu-filter-action input", "value": "BootNotification"},
        {"action": "click", "selector": ".ocppemu-apply"},
        {"action": "wait", "selector": ".ocppemu-status", "text": "match action=BootNotification"},
        {"action": "read", "selector": ".ocppemu-feed", "name": "feed"},
        {"action": "read", "selector": "body", "name": "page"},
        shot("messages"),
    ]})
    check(result, voila)
    rows = [r for r in result["texts"]["feed"].splitlines()[1:] if r.strip()]
    assert rows, result["texts"]["feed"]
    assert all("BootNotification" in r for r in rows), rows
    assert not any("StatusNotification" in r or "Heartbeat" in r for r in rows), rows


def test_crafter_sends_a_heartbeat_and_shows_the_response(voila: VoilaServer, daemon: Daemon) -> None:
    ensure_connected(daemon, "BR-CRAFT")
    editor = ".ocppemu-editor .cm-content"
    result = run_browser({"url": voila.render_url("crafter.ipynb"), "timeout_ms": 60000, "steps": [
        {"action": "wait", "selector": ".ocppemu-editor .cm-editor"},
        {"action": "wait", "selector": ".ocppemu-live-check", "text": "valid Heartbeat request"},
        # schema-driven completion: property names of BootNotification offered in an empty key slot
        {"action": "press", "selector": ".ocppemu-craft-action select", "key": "b"},
        {"action": "wait", "selector": ".ocppemu-live-check", "text": "valid BootNotification request"},
        {"action": "click", "selector": editor},
        {"action": "press", "selector": editor, "key": "Control+a"},
        {"action": "fill", "selector": editor, "value": '{\n  "chargePointModel": "m",\n  '},
        {"action": "press", "selector": editor, "key": "Control+Space"},
        {"action": "wait", "selector": ".cm-tooltip-autocomplete", "text": "chargePointVendor"},
        {"action": "read", "selector": ".cm-tooltip-autocomplete", "name": "completions"},
        {"action": "press", "selector": editor, "key": "Escape"},
        # typing reaches Python: its validation error and the editor's own schema lint both show
        {"action": "press", "selector": ".ocppemu-craft-action select", "key": "h"},
        {"action": "wait", "selector": ".ocppemu-live-check", "text": "valid Heartbeat request"},
        {"action": "click", "selector": editor},
        {"action": "press", "selector": editor, "key": "Control+a"},
        {"action": "fill", "selector": editor, "value": '{"unexpected": 1}'},
        {"action": "wait", "selector": ".ocppemu-live-check", "text": "switch to raw"},
        {"action": "wait", "selector": ".ocppemu-editor .cm-lint-marker-error"},
        {"action": "press", "selector": editor, "key": "Control+Shift+M"},
        {"action": "wait", "selector": ".ocppemu-editor .cm-panel-lint", "text": "unknown property unexpected"},
        {"action": "read", "selector": ".ocppemu-editor .cm-panel-lint", "name": "diagnostics"},
        {"action": "press", "selector": ".ocppemu-editor .cm-panel-lint ul", "key": "Escape"},
        {"action": "press", "selector": editor, "key": "Control+a"},
        {"action": "fill", "selector": editor, "value": "{ }"},
        {"action": "wait", "selector": ".ocppemu-live-check", "text": "valid Heartbeat request"},
        {"action": "read", "selector": editor, "name": "typed"},
        {"action": "click", "selector": ".ocppemu-send"},
        {"action": "wait", "selector": ".ocppemu-outcome", "text": "result", "timeout_ms": 30000},
        {"action": "read", "selector": ".ocppemu-result", "name": "result"},
        {"action": "read", "selector": "body", "name": "page"},
        shot("crafter"),
    ]})
    check(result, voila)
    assert "currentTime" in result["texts"]["result"] and "Heartbeat" in result["texts"]["result"]
    assert "round trip" in result["texts"]["result"]
    assert '"chargePointVendor"' in result["texts"]["completions"]
    assert '"chargePointModel"' not in result["texts"]["completions"]  # already present
    # Python's validation (authoritative) and the editor's schema lint (advisory), listed in the lint panel
    assert "must not contain" in result["texts"]["diagnostics"]
    assert result["texts"]["typed"].strip() == "{ }" and result["external_requests"] == []


@pytest.mark.parametrize(("notebook", "selector", "text"), [
    ("overview.ipynb", ".ocppemu-summary", "stations"),
    ("scenarios.ipynb", ".ocppemu-scenarios", "charging-session"),
    ("system.ipynb", ".ocppemu-system-box", "store"),
])
def test_other_views_render(voila: VoilaServer, daemon: Daemon, notebook: str, selector: str, text: str) -> None:
    ensure_connected(daemon, "BR-VIEW")
    steps: list[dict[str, Any]] = [{"action": "wait", "selector": selector, "text": text}]
    if notebook == "system.ipynb":
        steps += [{"action": "click", "selector": ".ocppemu-config-panel button", "text": "Refresh"},
                  {"action": "wait", "selector": ".ocppemu-system-box", "text": "healthy"}]
    steps += [{"action": "read", "selector": "body", "name": "page"}, shot(notebook.removesuffix(".ipynb"))]
    result = run_browser({"url": voila.render_url(notebook), "timeout_ms": 60000, "steps": steps})
    page = check(result, voila)
    assert text in page


def test_ocppemu_ui_serves_the_dashboards_offline_attached_to_the_daemon(daemon: Daemon, tmp_path: Path) -> None:
    """``ocppemu ui`` itself (its packaged offline template, URL and token handed to the kernels)."""
    from tests.browser.harness import _stop, _wait_until_answering, free_port

    ensure_connected(daemon, "BR-UI")
    port = free_port()
    code = ("import argparse, sys; from ocppemu.ui import add_ui_arguments, run_ui; p = argparse.ArgumentParser(); "
            "add_ui_arguments(p); sys.exit(run_ui(p.parse_args(sys.argv[1:])))")
    env = dict(os.environ, PYTHONPATH=str(ROOT), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"), JUPYTER_PLATFORM_DIRS="1")
    log = (tmp_path / "ui.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-c", code, "--url", daemon.url, "--token", daemon.token, "--port",
                             str(port), "--no-browser", "--dashboards", str(DASHBOARDS)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        problem = _wait_until_answering(f"http://127.0.0.1:{port}/", proc, time.monotonic() + 90)  # type: ignore[arg-type]
        assert problem is None, problem + (tmp_path / "ui.log").read_text()
        server = VoilaServer(f"http://127.0.0.1:{port}/", port, tmp_path / "ui.log")
        result = run_browser({"url": server.render_url("overview.ipynb"), "timeout_ms": 60000, "steps": [
            {"action": "wait", "selector": ".ocppemu-card-BR-UI .state-connected"},
            {"action": "read", "selector": "body", "name": "page"},
        ]})
        check(result, server)
    finally:
        _stop(proc)  # type: ignore[arg-type]
        log.close()
