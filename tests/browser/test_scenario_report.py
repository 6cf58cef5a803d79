"""The HTML report of a scenario run opens in headless Chromium with no network and shows steps and findings."""

from __future__ import annotations

import http.server
import threading
from functools import partial
from pathlib import Path

from ocppemu.scenarios.reports import to_html
from tests.browser.harness import describe, offline_violations, require_browser_parts, run_browser
from tests.scenarios.reports_fixture import sample_report


def test_html_report_opens_offline_with_steps_findings_and_charts(tmp_path: Path) -> None:
    require_browser_parts()
    (tmp_path / "report.html").write_text(to_html([sample_report()]), encoding="utf-8")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        result = run_browser({"url": f"http://127.0.0.1:{httpd.server_address[1]}/report.html", "steps": [
            {"action": "wait", "selector": "tr.step", "text": "Authorize <bad> tag"},
            {"action": "read", "selector": "table:nth-of-type(2)", "name": "steps"},
            {"action": "wait", "selector": "tr.finding", "text": "idTagInfo is a required property"},
            {"action": "wait", "selector": ".js-plotly-plot"},
            {"action": "read", "selector": "h1", "name": "title"},
        ]})
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
    assert result["ok"], describe(result)
    assert result["texts"]["title"].startswith("report-sample")
    assert "failed" in result["texts"]["steps"] and "Authorize status is 'Invalid'" in result["texts"]["steps"]
    assert offline_violations(result) == [], describe(result)
    assert result["page_errors"] == [], describe(result)
