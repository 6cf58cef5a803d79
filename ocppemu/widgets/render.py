"""Pure HTML rendering for the widgets: syntax-highlighted JSON, frame colours, state badges, tables.

Everything here is a function of its arguments (no widgets, no I/O), returns HTML text with inline styles (so a
dashboard needs no stylesheet and no CDN) and escapes every value that came from a peer.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from ocppemu.workbench.interface import MessageOut

DIRECTION_COLOURS = {"sent": "#1f5fbf", "received": "#1b7f3a"}
TYPE_COLOURS = {"Call": "#1f2937", "CallResult": "#1b7f3a", "CallError": "#b00020", "CallResultError": "#b00020",
                "Send": "#6b21a8", "Invalid": "#b45309"}
STATE_COLOURS = {"connected": "#1b7f3a", "connecting": "#b45309", "waiting": "#b45309", "offline": "#b00020",
                 "stopped": "#6b7280", "error": "#b00020", "disconnected": "#6b7280"}

_TOKEN = re.compile(r'("(?:\\.|[^"\\])*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b')
_JSON_COLOURS = {"key": "#7c2d12", "string": "#0f5132", "number": "#1d4ed8", "literal": "#7e22ce"}


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def pretty_json(value: Any) -> str:
    """``value`` as indented JSON text (non-JSON values via ``str``)."""
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
    except (TypeError, ValueError):
        return str(value)


def highlight_json_text(text: str) -> str:
    """JSON text as HTML with keys, strings, numbers and literals coloured; any text is accepted (escaped)."""
    out: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        if m.group(1) is not None:
            kind = "key" if m.group(2) else "string"
            colour = _JSON_COLOURS[kind]
            out.append(f'<span class="json-{kind}" style="color:{colour}">{html.escape(m.group(1))}</span>')
            if m.group(2):
                out.append(html.escape(m.group(2)))
        elif m.group(3) is not None:
            out.append(f'<span class="json-number" style="color:{_JSON_COLOURS["number"]}">{m.group(3)}</span>')
        else:
            out.append(f'<span class="json-literal" style="color:{_JSON_COLOURS["literal"]}">{m.group(4)}</span>')
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def json_block(value: Any, *, title: str = "", max_height: str = "360px") -> str:
    """A highlighted, scrollable ``<pre>`` of ``value`` (a JSON value, or a string shown as it is)."""
    text = value if isinstance(value, str) else pretty_json(value)
    head = f"<div style='font-weight:600;margin-bottom:2px'>{esc(title)}</div>" if title else ""
    return (f"{head}<pre class='ocppemu-json' style='margin:0;padding:6px;background:#f8fafc;border:1px solid #e5e7eb;"
            f"max-height:{max_height};overflow:auto;font-size:12px;line-height:1.35;white-space:pre-wrap'>"
            f"{highlight_json_text(text)}</pre>")


def badge(state: str, text: str | None = None) -> str:
    colour = STATE_COLOURS.get(state, "#374151")
    return (f"<span class='ocppemu-badge state-{esc(state)}' style='background:{colour};color:white;"
            f"border-radius:8px;padding:1px 8px;font-size:12px'>{esc(text or state)}</span>")


def dot(colour: str, title: str) -> str:
    return (f"<span title='{esc(title)}' style='display:inline-block;width:10px;height:10px;border-radius:5px;"
            f"background:{colour}'></span>")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, css_class: str = "") -> str:
    """An HTML table; cells are HTML already (escape values with :func:`esc`)."""
    th = "".join(f"<th style='text-align:left;padding:2px 8px;border-bottom:1px solid #d1d5db'>{h}</th>"
                 for h in headers)
    td = "<td style='padding:2px 8px;vertical-align:top;white-space:nowrap'>"
    body = "".join("<tr>" + "".join(f"{td}{c}</td>" for c in r) + "</tr>" for r in rows)
    return (f"<table class='{css_class}' style='border-collapse:collapse;font-size:13px'>"
            f"<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")


def frame_summary(payload: Any, limit: int = 80) -> str:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False) if payload is not None else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def frame_row(m: MessageOut) -> list[str]:
    """One feed row: time, station, direction arrow, type, action, message id, payload summary (coloured)."""
    dcol = DIRECTION_COLOURS.get(m.direction, "#374151")
    tcol = TYPE_COLOURS.get(m.message_type, "#374151")
    arrow = "→ CSMS" if m.direction == "sent" else "← CSMS"
    problem = m.error_code or m.validation_error
    return [esc(m.timestamp[11:23]), esc(m.station_id),
            f"<span style='color:{dcol};font-weight:600'>{arrow}</span>",
            f"<span class='type-{esc(m.message_type)}' style='color:{tcol};font-weight:600'>"
            f"{esc(m.message_type)}</span>",
            esc(m.action or ""), f"<code>{esc(m.message_id or '')}</code>",
            f"<code style='color:#475569'>{esc(frame_summary(m.payload))}</code>"
            + (f" <span style='color:#b00020'>{esc(problem)}</span>" if problem else "")]


FEED_HEADERS = ["time", "station", "dir", "type", "action", "id", "payload"]


def feed_table(messages: Iterable[MessageOut]) -> str:
    return table(FEED_HEADERS, (frame_row(m) for m in messages), css_class="ocppemu-feed")


def download_link(data: bytes | str, filename: str, mime: str, label: str | None = None) -> str:
    """An ``<a download>`` with the content inline as a data: URL (works offline, in Voila and in JupyterLab)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    b64 = base64.b64encode(raw).decode("ascii")
    return (f"<a class='ocppemu-download' download='{esc(filename)}' href='data:{mime};base64,{b64}'>"
            f"{esc(label or 'Download ' + filename)}</a> ({len(raw)} bytes)")
