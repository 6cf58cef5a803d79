"""Line charts as inline SVG text (pure): what the live views draw instead of plotly figure widgets.

A plotly ``FigureWidget`` ships its ~5 MB JavaScript bundle through the kernel's comm channel to every page that
holds one, and builds a figure in ~1.5 s of kernel time: on a small machine that alone made the chart pages take
over 10 s to show. These charts are a few kilobytes of SVG in an HTML widget, redrawn by replacing the text. Use
plotly in notebooks for analysis (``ocppemu.analysis``), where its interactivity is worth it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

PALETTE = ("#1f5fbf", "#1b7f3a", "#b45309", "#b00020", "#6b21a8", "#0e7490", "#be185d", "#4d7c0f", "#7c2d12",
           "#374151")

Series = tuple[Sequence[float], Sequence[float]]


def nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    """Round tick values covering ``lo``..``hi`` (about ``count`` of them)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = [round(start, 10)]
    while ticks[-1] < hi - step * 1e-9:  # the last tick covers hi
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _fmt(v: float) -> str:
    if abs(v) >= 10000:
        return f"{v / 1000:.0f}k"
    if abs(v) >= 1000:
        return f"{v / 1000:.1f}k"
    return f"{v:g}"


def line_chart(series: Mapping[str, Series], *, width: int = 640, height: int = 220, x_label: str = "",
               y_label: str = "", empty: str = "no data yet", css_class: str = "ocppemu-chart") -> str:
    """An SVG line chart of ``series`` (name -> (xs, ys)), one colour per series, with axes and a legend.

    Values must be numbers (x as numbers too: seconds, an index). Non-finite points are skipped. An empty
    chart says ``empty`` in its middle. Every name is escaped.
    """
    pts = {name: [(float(x), float(y)) for x, y in zip(xs, ys, strict=False)
                  if math.isfinite(float(x)) and math.isfinite(float(y))]
           for name, (xs, ys) in series.items()}
    pts = {k: v for k, v in pts.items() if v}
    left, right, top, bottom = 48, 12, 10, 34
    pw, ph = width - left - right, height - top - bottom
    out = [f"<svg class='{html.escape(css_class)}' xmlns='http://www.w3.org/2000/svg' width='{width}' "
           f"height='{height}' viewBox='0 0 {width} {height}' style='font:11px system-ui,sans-serif'>",
           f"<rect x='{left}' y='{top}' width='{pw}' height='{ph}' fill='#fbfdff' stroke='#e5e7eb'/>"]
    if not pts:
        out.append(f"<text x='{left + pw / 2}' y='{top + ph / 2}' text-anchor='middle' fill='#6b7280'>"
                   f"{html.escape(empty)}</text></svg>")
        return "".join(out)
    xs_all = [x for v in pts.values() for x, _ in v]
    ys_all = [y for v in pts.values() for _, y in v]
    x0, x1 = min(xs_all), max(xs_all)
    if x1 <= x0:
        x1 = x0 + 1.0
    yticks = nice_ticks(min(0.0, min(ys_all)), max(ys_all) if max(ys_all) > 0 else 1.0)
    y0, y1 = yticks[0], yticks[-1]
    if y1 <= y0:
        y1 = y0 + 1.0

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + ph - (y - y0) / (y1 - y0) * ph

    for t in yticks:
        out.append(f"<line x1='{left}' x2='{left + pw}' y1='{sy(t):.1f}' y2='{sy(t):.1f}' stroke='#eef2f7'/>"
                   f"<text x='{left - 4}' y='{sy(t) + 4:.1f}' text-anchor='end' fill='#4b5563'>{_fmt(t)}</text>")
    for t in nice_ticks(x0, x1, 5):
        if x0 <= t <= x1:
            out.append(f"<text x='{sx(t):.1f}' y='{top + ph + 14}' text-anchor='middle' fill='#4b5563'>"
                       f"{_fmt(t)}</text>")
    for i, (name, v) in enumerate(sorted(pts.items())):
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in v)
        out.append(f"<polyline fill='none' stroke='{colour}' stroke-width='1.6' points='{path}'>"
                   f"<title>{html.escape(name)}</title></polyline>")
        if len(v) == 1:
            out.append(f"<circle cx='{sx(v[0][0]):.1f}' cy='{sy(v[0][1]):.1f}' r='2.5' fill='{colour}'/>")
    if x_label:
        out.append(f"<text x='{left + pw / 2}' y='{height - 4}' text-anchor='middle' fill='#374151'>"
                   f"{html.escape(x_label)}</text>")
    if y_label:
        out.append(f"<text x='12' y='{top + ph / 2}' text-anchor='middle' fill='#374151' "
                   f"transform='rotate(-90 12 {top + ph / 2})'>{html.escape(y_label)}</text>")
    out.append("</svg>")
    legend = "".join(f"<span style='margin-right:10px;white-space:nowrap'><span style='display:inline-block;"
                     f"width:10px;height:3px;background:{PALETTE[i % len(PALETTE)]};vertical-align:middle'></span> "
                     f"{html.escape(name)}</span>" for i, name in enumerate(sorted(pts)))
    return "".join(out) + f"<div class='ocppemu-legend' style='font-size:11px;color:#374151'>{legend}</div>"
