"""The browser harness itself: Voila serves a widget page offline, Chromium renders it, clicks reach the kernel.

Also proves the harness notices a page that reaches beyond 127.0.0.1, so the dashboards' tests can rely on
``offline_violations`` to catch a CDN dependency.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.browser.harness import VoilaServer, describe, offline_violations, require_browser_parts, run_browser

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_voila_widgets_render_offline_and_clicks_reach_the_kernel(
    start_voila: Callable[..., VoilaServer], tmp_path: Path
) -> None:
    server = start_voila(FIXTURES)
    shot = tmp_path / "smoke.png"
    result = run_browser(
        {
            "url": server.render_url("smoke.ipynb"),
            "steps": [
                # the label exists only once the kernel ran the cell and the widget manager rendered its view
                {"action": "wait", "selector": ".smoke-label", "text": "clicks: 0"},
                {"action": "read", "selector": ".smoke-label", "name": "before"},
                {"action": "click", "selector": ".smoke-button"},
                # the new text comes from the kernel's on_click handler
                {"action": "wait", "selector": ".smoke-label", "text": "clicks: 1"},
                {"action": "read", "selector": ".smoke-label", "name": "after"},
                {"action": "read", "selector": "body", "name": "page"},
                {"action": "screenshot", "path": str(shot)},
            ],
        }
    )
    assert result["ok"], describe(result) + "\n--- voila log ---\n" + server.log_tail()
    assert result["texts"]["before"] == "clicks: 0"
    assert result["texts"]["after"] == "clicks: 1"
    page = result["texts"]["page"]
    assert "Harness smoke" in page
    assert "Loading" not in page
    assert shot.read_bytes()[:8] == PNG_MAGIC
    assert result["screenshots"] == [str(shot)]
    assert offline_violations(result) == [], describe(result)
    assert result["console_errors"] == [], describe(result)
    assert result["page_errors"] == [], describe(result)
    assert result["http_errors"] == [], describe(result)


@pytest.fixture
def page_with_cdn_links(tmp_path: Path) -> Iterator[str]:
    """A page on 127.0.0.1 that links a stylesheet and a script from hosts that are not there."""
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><head>"
        '<link rel="stylesheet" href="https://cdn.invalid/font.css">'
        '<script src="https://cdn.invalid/lib.js"></script>'
        "</head><body><p id='here'>local content</p></body></html>"
    )
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_harness_reports_requests_beyond_loopback(page_with_cdn_links: str) -> None:
    require_browser_parts()
    result = run_browser(
        {"url": page_with_cdn_links, "steps": [{"action": "wait", "selector": "#here", "text": "local content"}]}
    )
    assert result["ok"], describe(result)
    assert sorted(result["external_requests"]) == ["https://cdn.invalid/font.css", "https://cdn.invalid/lib.js"]
    violations = offline_violations(result)
    assert any("https://cdn.invalid/lib.js" in v for v in violations), violations
    assert any(v.startswith("console error:") for v in violations), violations


def test_harness_reports_the_failing_step(page_with_cdn_links: str) -> None:
    require_browser_parts()
    result = run_browser(
        {
            "url": page_with_cdn_links,
            "steps": [
                {"action": "wait", "selector": "#here"},
                {"action": "wait", "selector": "#never-there", "timeout_ms": 500},
                {"action": "click", "selector": "#here"},
            ],
        }
    )
    assert result["ok"] is False
    assert result["failed_step"] == 1
    assert result["steps_done"] == 1
    assert "#never-there" in result["error"]
    assert "local content" in result["texts"]["__body__"]
