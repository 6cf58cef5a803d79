"""Reports of scenario runs: JSON, JUnit XML (for CI) and a self-contained HTML page.

JUnit: one ``<testsuite>`` per run, one ``<testcase>`` per step per station (``classname`` is
``scenario.station``), a failure's message naming the rule and the OCPP action; findings are a testcase of their own
per station so a CI server shows them as failures too. HTML: one file, no network needed to open it (styles
inline; the plotly charts of latency and meter values are included with plotly.js inline when plotly is
installed, else left out with a note).
"""

from __future__ import annotations

import html
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from ocppemu.scenarios.results import RunReport


def to_json(reports: Sequence[RunReport]) -> str:
    """``{"runs": [...]}``: every run's full report."""
    return json.dumps({"format": "ocppemu-scenario-report", "version": 1,
                       "runs": [r.model_dump(mode="json") for r in reports]}, indent=1)


def _iso(t: float | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t or 0))


def to_junit(reports: Sequence[RunReport]) -> str:
    """JUnit XML (the schema most CI servers read; ``tests/scenarios/junit.xsd`` is what a test checks)."""
    root = ET.Element("testsuites", name="ocppemu")
    total = failures = errors = skipped = 0
    for r in reports:
        suite = ET.SubElement(root, "testsuite", name=r.scenario, timestamp=_iso(r.started_at),
                              hostname="ocppemu", id=r.run_id)
        props = ET.SubElement(suite, "properties")
        for name, value in (("csms_url", r.csms_url), ("seed", str(r.seed)), ("ocpp", ",".join(r.ocpp)),
                            ("oca", ",".join(r.oca)), ("verdict", str(r.verdict)), ("file", r.file)):
            ET.SubElement(props, "property", name=name, value=value)
        n = f = e = s = 0
        for step in r.steps:
            n += 1
            case = ET.SubElement(suite, "testcase", classname=f"{r.scenario}.{step.station_id}",
                                 name=f"{step.key} {step.title}", time=f"{step.duration_s or 0:.3f}")
            if step.status == "failed":
                f += 1
                rule = step.rule or "step"
                msg = f"[{rule}]" + (f" {step.action}:" if step.action else "") + f" {step.message}"
                failure = ET.SubElement(case, "failure", message=msg[:1000], type=rule)
                failure.text = f"{msg}\nstep {step.key} ({step.kind}) at line {step.line} of {r.file}"
            elif step.status in ("skipped", "stopped", "pending"):
                s += 1
                ET.SubElement(case, "skipped", message=step.message or step.status)
        by_station: dict[str, list[str]] = {}
        for finding in r.findings:
            if finding.severity == "error":
                by_station.setdefault(finding.station_id, []).append(
                    f"[{finding.rule}]" + (f" {finding.action}:" if finding.action else "") + f" {finding.description}"
                    + (f" ({finding.reference})" if finding.reference else ""))
        for station in sorted(by_station):
            n += 1
            f += 1
            case = ET.SubElement(suite, "testcase", classname=f"{r.scenario}.{station}", name="compliance findings",
                                 time="0.000")
            lines = by_station[station]
            failure = ET.SubElement(case, "failure", message=lines[0][:1000], type="compliance")
            failure.text = "\n".join(lines)
        if r.error:
            e += 1
            n += 1
            case = ET.SubElement(suite, "testcase", classname=f"{r.scenario}.run", name="run", time="0.000")
            ET.SubElement(case, "error", message=r.error[:1000], type="run")
        suite.set("tests", str(n))
        suite.set("failures", str(f))
        suite.set("errors", str(e))
        suite.set("skipped", str(s))
        suite.set("time", f"{r.duration_s or 0:.3f}")
        total, failures, errors, skipped = total + n, failures + f, errors + e, skipped + s
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    root.set("skipped", str(skipped))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1f24}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.passed{color:#1a7f37}.failed{color:#cf222e;font-weight:600}.skipped,.stopped{color:#6e7781}
.verdict{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;color:#fff}
.v-passed{background:#1a7f37}.v-failed,.v-error{background:#cf222e}.v-stopped{background:#6e7781}
code{font-size:.85rem}.meta td{border:none;padding:.1rem .5rem}
"""


def _charts(r: RunReport) -> str:
    try:
        import plotly.graph_objects as go
        from plotly.io import to_html
    except ImportError:
        return "<p>Charts need plotly (pip install ocppemu[ui]).</p>"
    parts: list[str] = []
    first = True
    if r.latency_points:
        fig = go.Figure()
        for action in sorted({p.action for p in r.latency_points}):
            pts = [p for p in r.latency_points if p.action == action]
            fig.add_trace(go.Scatter(x=[p.t - (r.started_at or 0) for p in pts], y=[p.rtt_ms for p in pts],
                                     mode="markers", name=action))
        fig.update_layout(title="CSMS response time", xaxis_title="s since start", yaxis_title="ms", height=360)
        parts.append(to_html(fig, full_html=False, include_plotlyjs="inline" if first else False))
        first = False
    if r.meter_points:
        fig = go.Figure()
        for key in sorted({(m.station_id, m.connector) for m in r.meter_points}):
            mps = [m for m in r.meter_points if (m.station_id, m.connector) == key]
            fig.add_trace(go.Scatter(x=[m.t - (r.started_at or 0) for m in mps], y=[m.wh for m in mps],
                                     mode="lines+markers", name=f"{key[0]} #{key[1]}"))
        fig.update_layout(title="Energy register (meter values sent)", xaxis_title="s since start",
                          yaxis_title="Wh", height=360)
        parts.append(to_html(fig, full_html=False, include_plotlyjs="inline" if first else False))
    return "\n".join(parts) or "<p>No latency or meter data.</p>"


def _run_html(r: RunReport, charts: bool) -> str:
    e = html.escape
    counts = r.counts()
    rows = "\n".join(
        f"<tr class='step'><td>{e(s.key)}</td><td>{e(s.station_id)}</td><td>{e(s.title)}</td>"
        f"<td class='{e(s.status)}'>{e(s.status)}</td><td>{(s.duration_s or 0):.3f}</td><td>{s.line}</td>"
        f"<td>{e(s.rule or '')}</td><td>{e(s.action or '')}</td><td>{e(s.message)}</td></tr>" for s in r.steps)
    findings = "\n".join(
        f"<tr class='finding'><td>{e(f.station_id)}</td><td>{e(f.severity)}</td><td>{e(f.rule)}</td>"
        f"<td>{e(f.action or '')}</td><td>{e(f.description)}</td><td>{e(f.reference or '')}</td></tr>"
        for f in r.findings) or "<tr><td colspan='6'>No findings.</td></tr>"
    lat = "\n".join(
        f"<tr><td>{e(x.action)}</td><td>{x.count}</td><td>{x.errors}</td><td>{x.p50_ms}</td><td>{x.p90_ms}</td>"
        f"<td>{x.p95_ms}</td><td>{x.p99_ms}</td><td>{x.max_ms}</td></tr>" for x in r.latency)
    verdict = r.verdict or r.state
    return f"""
<section class="run" id="run-{e(r.run_id)}">
<h1>{e(r.scenario)} <span class="verdict v-{e(verdict)}">{e(verdict)}</span></h1>
<p>{e(r.description)}</p>
<table class="meta">
<tr><td>CSMS</td><td><code>{e(r.csms_url)}</code></td></tr>
<tr><td>OCPP</td><td>{e(", ".join(r.ocpp))}</td></tr>
<tr><td>OCA test cases</td><td>{e(", ".join(r.oca) or "-")}</td></tr>
<tr><td>Stations</td><td>{len(r.stations)}</td></tr>
<tr><td>Started</td><td>{_iso(r.started_at)} UTC, {r.duration_s or 0:.1f} s, seed {r.seed}</td></tr>
<tr><td>Steps</td><td>{e(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))}</td></tr>
{f"<tr><td>Error</td><td>{e(r.error)}</td></tr>" if r.error else ""}
</table>
<h2>Steps</h2>
<table><tr><th>step</th><th>station</th><th>title</th><th>status</th><th>s</th><th>line</th><th>rule</th>
<th>action</th><th>message</th></tr>
{rows}
</table>
<h2>Findings</h2>
<table><tr><th>station</th><th>severity</th><th>rule</th><th>action</th><th>description</th><th>reference</th></tr>
{findings}
</table>
<h2>CSMS response times (ms)</h2>
<table><tr><th>action</th><th>count</th><th>errors</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th></tr>
{lat}
</table>
{_charts(r) if charts else ""}
</section>"""


def to_html(reports: Sequence[RunReport], *, charts: bool = True) -> str:
    """One self-contained page for ``reports``."""
    title = ", ".join(r.scenario for r in reports) or "no runs"
    body = "\n".join(_run_html(r, charts) for r in reports)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>ocppemu: {html.escape(title)}"
            f"</title><style>{_CSS}</style></head><body>{body}</body></html>\n")
