"""The report of a load run: JSON-ready data, thresholds, and a self-contained HTML page with plotly charts.

:func:`build_report` turns the last merged metrics snapshot, the timeline sampled during the run and the shards'
summaries into one dict (the ``--json`` file); :func:`check_thresholds` says which limits were broken (exit code 1);
:func:`write_html` writes the charts (rates, latency, connections over time) with plotly's JavaScript inlined, so
the file opens anywhere offline.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ocppemu.load.histogram import Histogram
from ocppemu.load.metrics import latency_summary


def build_report(*, settings: dict[str, Any], final: dict[str, Any], timeline: list[dict[str, Any]],
                 shards: list[dict[str, Any]], duration_s: float, mv_due_60s: float) -> dict[str, Any]:
    recording = [s.get("recording", {}) for s in shards]
    all_latency = Histogram.merged(Histogram.from_doc(d) for d in final.get("latency", {}).values())
    received = int(final.get("meter_values_last_60s", 0))
    return {
        "settings": settings,
        "duration_s": round(duration_s, 3),
        "stations_requested": settings.get("stations"),
        "stations_booted": final.get("stations_booted", 0),
        "stations_connected_at_end": final.get("connected", 0),
        "frames_sent": final.get("frames_sent", 0),
        "frames_received": final.get("frames_received", 0),
        "frames_recorded": sum(int(r.get("frames_recorded", 0)) for r in recording),
        "frames_dropped": sum(int(r.get("frames_dropped", 0)) for r in recording),
        "frames_skipped_by_level": sum(int(r.get("frames_skipped_by_level", 0)) for r in recording),
        "recording_level": settings.get("record"),
        "call_errors_received": final.get("call_errors_received", 0),
        "call_errors_sent": final.get("call_errors_sent", 0),
        "connects": final.get("connects", 0),
        "disconnects": final.get("disconnects", 0),
        "reconnects": final.get("reconnects", 0),
        "connect_failures": final.get("connect_failures", 0),
        "meter_values": {"answered_last_60s": received, "due_last_60s": round(mv_due_60s, 1),
                         "ratio": round(received / mv_due_60s, 3) if mv_due_60s > 0 else None},
        "latency_ms": {"all": all_latency.summary(), **latency_summary(final)},
        "latency_histograms": final.get("latency", {}),
        "timeline": timeline,
        "shards": [{"name": s.get("name"), "stations": s.get("stations"), "state": s.get("state"),
                    "restarts": s.get("restarts", 0)} for s in shards],
    }


def check_thresholds(report: dict[str, Any], *, max_p95: float | None, max_errors: int | None) -> list[str]:
    """The broken limits, each as one sentence (empty: the run passed)."""
    broken: list[str] = []
    if max_p95 is not None:
        for action, summary in report["latency_ms"].items():
            p95 = summary.get("p95")
            if p95 is not None and p95 > max_p95:
                broken.append(f"p95 latency of {action} is {p95:.1f} ms, above --max-p95 {max_p95:g} ms")
    if max_errors is not None:
        errors = int(report["call_errors_received"]) + int(report["disconnects"]) + int(report["frames_dropped"])
        if errors > max_errors:
            broken.append(f"{errors} errors (CallErrors received {report['call_errors_received']}, disconnects "
                          f"{report['disconnects']}, frames dropped {report['frames_dropped']}), above "
                          f"--max-errors {max_errors}")
    return broken


def write_html(report: dict[str, Any], path: str | Path) -> None:
    """A self-contained HTML page: summary table and charts of rates, latency and connections over time.

    Raises ``ImportError`` with an installation hint when plotly is missing."""
    try:
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots
    except ImportError as exc:
        raise ImportError("the HTML report needs plotly: pip install 'ocppemu[load]'") from exc
    tl = report["timeline"]
    t = [p["t"] for p in tl]
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                        subplot_titles=("Frames per second", "CSMS latency (ms)", "Stations"))
    fig.add_trace(go.Scatter(x=t, y=[p["sent_per_s"] for p in tl], name="sent/s"), row=1, col=1)
    fig.add_trace(go.Scatter(x=t, y=[p["received_per_s"] for p in tl], name="received/s"), row=1, col=1)
    for q in ("p50", "p95", "p99"):
        fig.add_trace(go.Scatter(x=t, y=[p.get(q) for p in tl], name=q), row=2, col=1)
    fig.add_trace(go.Scatter(x=t, y=[p["connected"] for p in tl], name="connected"), row=3, col=1)
    fig.add_trace(go.Scatter(x=t, y=[p["booted"] for p in tl], name="booted"), row=3, col=1)
    fig.update_xaxes(title_text="seconds since start", row=3, col=1)
    fig.update_layout(height=900, margin={"t": 40, "l": 60, "r": 20, "b": 40})
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(report[k]))}</td></tr>"
        for k in ("stations_requested", "stations_booted", "frames_sent", "frames_received", "frames_recorded",
                  "frames_dropped", "call_errors_received", "disconnects", "reconnects", "duration_s"))
    lat = "".join(
        f"<tr><td>{html.escape(a)}</td><td>{s['count']}</td><td>{s['p50']}</td><td>{s['p95']}</td>"
        f"<td>{s['p99']}</td></tr>" for a, s in report["latency_ms"].items())
    verdict = "passed" if not report.get("broken") else "failed: " + "; ".join(report["broken"])
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>ocppemu load report</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 10px;text-align:right}}
td:first-child{{text-align:left}}table{{border-collapse:collapse;margin-bottom:1em}}</style></head><body>
<h1>ocppemu load report</h1><p>{html.escape(str(report['settings'].get('csms')))}: {html.escape(verdict)}</p>
<table>{rows}</table><table><tr><th>action</th><th>count</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th></tr>
{lat}</table>{fig.to_html(include_plotlyjs=True, full_html=False)}</body></html>"""
    Path(path).write_text(page, encoding="utf-8")
