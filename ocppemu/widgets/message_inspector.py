"""Message inspector: a bounded live feed of frames (newest first), coloured by direction and type, filters served
by the store's queries, a detail panel with a request beside its response, and export of the filtered set.

The feed holds at most ``max_rows`` frames whatever the traffic; live frames are matched against the filter in
memory (:func:`frame_matches`, the same rules as the store's query) and the table is redrawn at most every
``redraw_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime

import ipywidgets as w

from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.versions import Version
from ocppemu.widgets import render
from ocppemu.widgets.connection import follow_events
from ocppemu.widgets.tasks import TaskRunner
from ocppemu.workbench.interface import (
    ExportFormat,
    FindingOut,
    MessageOut,
    MessageQuery,
    WorkbenchAPI,
    WorkbenchEvent,
)

EXPORT_TYPES: dict[str, tuple[str, str]] = {"jsonl": ("application/x-ndjson", "jsonl"),
                                            "csv": ("text/csv", "csv"), "text": ("text/plain", "txt")}


MESSAGE_TYPES = ("Call", "CallResult", "CallError", "CallResultError", "Send", "Invalid")


def all_actions() -> list[str]:
    return sorted({a for v in Version for a in catalogue(v).names()})


def frame_matches(q: MessageQuery, m: MessageOut) -> bool:
    """Whether a live frame belongs to the filtered set of ``q`` (station, action, direction, type, time, text)."""
    if q.station_id and m.station_id != q.station_id:
        return False
    if q.action and m.action != q.action:
        return False
    if q.direction and m.direction != q.direction:
        return False
    if q.message_type and m.message_type != q.message_type:
        return False
    if q.correlation_id and m.correlation_id != q.correlation_id:
        return False
    ts = m.timestamp.replace("Z", "+00:00")
    for bound, ok in ((q.since, lambda a, b: a >= b), (q.until, lambda a, b: a < b)):
        if bound:
            try:
                if not ok(datetime.fromisoformat(ts), datetime.fromisoformat(bound.replace("Z", "+00:00"))):
                    return False
            except (ValueError, TypeError):
                return False
    if q.text:
        hay = " ".join(str(x) for x in (m.raw, m.action, m.error_description, m.validation_error) if x).lower()
        if not all(term.lower() in hay for term in q.text.split()):
            return False
    return True


def describe_query(q: MessageQuery) -> str:
    """The active filter in words, e.g. ``station=CP-1 action=Heartbeat`` (``all frames`` when none)."""
    parts = [f"{k}={v}" for k, v in q.model_dump(exclude={"limit", "cursor"}).items() if v]
    return " ".join(parts) if parts else "(all frames)"


def live_message(ev: WorkbenchEvent) -> MessageOut | None:
    """The frame of a ``frame`` event as a :class:`MessageOut` (id ``live-<seq>``), None if it is not one."""
    data = dict(ev.data)
    data.setdefault("id", f"live-{ev.seq}")
    if isinstance(data.get("timestamp"), (int, float)):
        data["timestamp"] = datetime.fromtimestamp(data["timestamp"], UTC).isoformat()
    try:
        return MessageOut.model_validate({k: v for k, v in data.items() if k in MessageOut.model_fields})
    except ValueError:
        return None


_XML_TOKEN = re.compile(r"(<!--.*?-->)|(</?)([\w.:-]+)|([\w.:-]+)(=)(\"[^\"]*\"|'[^']*')|(/?>)", re.S)
_XML_COLOURS = {"tag": "#7c2d12", "attr": "#1d4ed8", "value": "#0f5132", "comment": "#6b7280"}


def highlight_xml_text(text: str) -> str:
    """XML text as HTML with tag names, attributes, values and comments coloured (any text is escaped)."""
    out: list[str] = []
    pos, inside = 0, False
    for m in _XML_TOKEN.finditer(text):
        if not inside and m.group(2) is None and m.group(1) is None:
            continue  # attribute-like words or '>' in element text: plain text
        out.append(html.escape(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append(f"<span style='color:{_XML_COLOURS['comment']}'>{html.escape(m.group(1))}</span>")
        elif m.group(2) is not None:
            inside = True
            out.append(f"<span class='xml-tag' style='color:{_XML_COLOURS['tag']}'>{html.escape(m.group(2))}"
                       f"{html.escape(m.group(3))}</span>")
        elif m.group(4) is not None:
            out.append(f"<span style='color:{_XML_COLOURS['attr']}'>{html.escape(m.group(4))}</span>="
                       f"<span style='color:{_XML_COLOURS['value']}'>{html.escape(m.group(6))}</span>")
        else:
            inside = False
            out.append(f"<span style='color:{_XML_COLOURS['tag']}'>{html.escape(m.group(7))}</span>")
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def pretty_xml(text: str) -> str:
    """Indented XML when ``text`` parses (entities are not resolved), else ``text`` unchanged."""
    try:
        from lxml import etree

        parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
        return str(etree.tostring(etree.fromstring(text.encode(), parser), pretty_print=True, encoding="unicode"))
    except Exception:
        return text


def wire_block(m: MessageOut, title: str) -> str:
    """The JSON view of a frame; for a SOAP frame (XML on the wire) the envelope beside it, both highlighted."""
    if not m.raw.lstrip().startswith("<"):
        return render.json_block(m.payload, title=title)
    xml = (f"<div style='font-weight:600;margin-bottom:2px'>SOAP envelope</div><pre class='ocppemu-xml' "
           f"style='margin:0;padding:6px;background:#f8fafc;border:1px solid #e5e7eb;max-height:360px;overflow:auto;"
           f"font-size:12px;line-height:1.35;white-space:pre-wrap'>{highlight_xml_text(pretty_xml(m.raw))}</pre>")
    return (f"<div style='font-weight:600'>{render.esc(title)}</div><div style='display:flex;gap:8px'>"
            f"<div style='flex:1;min-width:0'>{xml}</div><div style='flex:1;min-width:0'>"
            f"{render.json_block(m.payload, title='JSON view')}</div></div>")


def exchange_html(request: MessageOut | None, response: MessageOut | None,
                  findings: Sequence[FindingOut] = ()) -> str:
    """Request and response side by side, with round-trip time, CallError and validation errors, and the
    compliance findings about these frames beside them."""

    def side(m: MessageOut | None, title: str) -> str:
        if m is None:
            return f"<div style='flex:1'><b>{title}</b><br><i>not seen</i></div>"
        notes = []
        if m.error_code:
            notes.append(f"CallError <b>{render.esc(m.error_code)}</b>: {render.esc(m.error_description)}")
        if m.validation_error:
            notes.append(f"validation error: {render.esc(m.validation_error)}")
        note = "".join(f"<div style='color:#b00020'>{n}</div>" for n in notes)
        head = (f"{title}: {render.esc(m.message_type)} {render.esc(m.action or '')} · {render.esc(m.station_id)} · "
                f"{render.esc(m.timestamp)}")
        return f"<div style='flex:1;min-width:0'>{wire_block(m, head)}{note}</div>"

    rtt = next((m.rtt_ms for m in (response, request) if m is not None and m.rtt_ms is not None), None)
    rtt_text = f"round trip <b>{rtt:.1f} ms</b>" if rtt is not None else "round trip unknown"
    found = "".join(
        f"<div class='ocppemu-finding' style='color:{'#b00020' if f.severity == 'error' else '#8a6d00'}'>"
        f"<b>{render.esc(f.severity)} {render.esc(f.rule)}</b>: {render.esc(f.description)} "
        f"<i>({render.esc(f.reference)})</i></div>" for f in findings)
    return (f"<div class='ocppemu-exchange'><div>{rtt_text}</div><div style='display:flex;gap:12px'>"
            f"{side(request, 'Request')}{side(response, 'Response')}</div>{found}</div>")


class MessageInspector(w.VBox):
    """The inspector over any :class:`WorkbenchAPI`; :meth:`apply` runs the filter, live frames follow it."""

    def __init__(self, wb: WorkbenchAPI, *, max_rows: int = 200, redraw_interval: float = 0.5,
                 live: bool = True) -> None:
        self.wb = wb
        self.tasks = TaskRunner()
        self.max_rows = max_rows
        self.redraw_interval = redraw_interval
        self.feed: deque[MessageOut] = deque(maxlen=max_rows)
        self.query = MessageQuery(limit=max_rows)
        self._dirty = False
        lay = w.Layout(width="260px")
        self.station = w.Dropdown(description="Station", options=[("any", "")], layout=lay)
        self.action = w.Combobox(description="Action", options=all_actions(), placeholder="any", layout=lay,
                                 ensure_option=False)
        self.direction = w.Dropdown(description="Direction", options=[("any", ""), ("sent (→ CSMS)", "sent"),
                                                                      ("received (← CSMS)", "received")], layout=lay)
        self.message_type = w.Dropdown(description="Type", options=[("any", ""), *[(t, t) for t in MESSAGE_TYPES]],
                                        layout=lay)
        self.since = w.Text(description="Since", placeholder="2025-01-01T00:00:00Z", layout=lay)
        self.until = w.Text(description="Until", placeholder="ISO 8601, exclusive", layout=lay)
        self.text = w.Text(description="Text", placeholder="words in the frame", layout=lay)
        for name in ("station", "action", "direction", "message_type", "since", "until", "text"):
            getattr(self, name).add_class(f"ocppemu-filter-{name.replace('_', '-')}")
        self.apply_button = w.Button(description="Apply filter", icon="filter", button_style="primary")
        self.apply_button.add_class("ocppemu-apply")
        self.apply_button.on_click(lambda _b: self.apply())
        self.live_toggle = w.Checkbox(value=live, description="live", indent=False)
        self.count = w.HTML()
        self.count.add_class("ocppemu-feed-count")
        self.table = w.HTML()
        self.table.add_class("ocppemu-feed-box")
        self.pick = w.Dropdown(description="Detail", options=[], layout=w.Layout(width="640px"))
        self.pick.add_class("ocppemu-pick")
        self.pick.observe(lambda _c: self.show_detail(), "value")
        self.detail = w.HTML()
        self.detail.add_class("ocppemu-detail")
        self.export_format = w.Dropdown(description="Export", options=list(EXPORT_TYPES),
                                        layout=w.Layout(width="200px"))
        self.export_button = w.Button(description="Export filtered", icon="download")
        self.export_button.on_click(lambda _b: self.export())
        self.download = w.HTML()
        filters = w.GridBox([self.station, self.action, self.direction, self.message_type, self.since, self.until,
                             self.text], layout=w.Layout(grid_template_columns="repeat(3, 270px)"))
        super().__init__([w.HTML("<h3>Messages</h3>"), filters,
                          w.HBox([self.apply_button, self.live_toggle, self.count]), self.tasks.status,
                          w.HBox([self.export_format, self.export_button, self.download]),
                          w.Box([self.table], layout=w.Layout(max_height="480px", overflow="auto")),
                          self.pick, self.detail])
        self.add_class("ocppemu-inspector")
        self.tasks.spawn(self._load_stations(), "stations")
        self.apply()
        if live:
            self.tasks.live(self._follow(), "live feed")
            self.tasks.live(self._redraw_loop(), "redraw")

    def current_query(self) -> MessageQuery:
        """The filter the inputs describe."""
        return MessageQuery(station_id=self.station.value or None, action=self.action.value.strip() or None,
                            direction=self.direction.value or None, message_type=self.message_type.value or None,
                            since=self.since.value.strip() or None, until=self.until.value.strip() or None,
                            text=self.text.value.strip() or None, limit=self.max_rows)

    async def _load_stations(self) -> None:
        stations = (await self.wb.list_stations()).stations
        current = self.station.value
        self.station.options = [("any", ""), *[(v.station_id, v.station_id) for v in stations]]
        self.station.value = current if current in [v.station_id for v in stations] else ""

    def refresh(self) -> None:
        """Reload the filtered set (after the daemon came back: frames may have been missed)."""
        self.apply()

    def apply(self) -> None:
        """Run the filter against the store (newest ``max_rows``) and show the result."""
        self.tasks.spawn(self._apply(self.current_query()), "filter")

    async def _apply(self, q: MessageQuery) -> None:
        await self._load_stations()
        page = await self.wb.query_messages(q)
        self.query = q
        self.feed.clear()
        self.feed.extend(page.items)
        self.draw()
        self.tasks.ok(f"{len(page.items)} frame(s) match {describe_query(q)}"
                      + (" (newest shown)" if page.next_cursor else ""))

    def add_live(self, m: MessageOut) -> bool:
        """Put a live frame at the top of the feed when it matches the current filter."""
        if not frame_matches(self.query, m):
            return False
        self.feed.appendleft(m)
        self._dirty = True
        return True

    def draw(self) -> None:
        self._dirty = False
        rows = list(self.feed)
        self.table.value = render.feed_table(rows)
        self.count.value = f"<span>{len(rows)} shown (max {self.max_rows})</span>"
        options = [(f"{m.timestamp[11:23]} {m.station_id} {m.message_type} {m.action or ''} {m.message_id or ''}",
                    m.id) for m in rows]
        keep = self.pick.value if self.pick.value in {m.id for m in rows} else None
        self.pick.options = options
        self.pick.value = keep

    def show_detail(self) -> None:
        chosen = next((m for m in self.feed if m.id == self.pick.value), None)
        if chosen is None:
            self.detail.value = ""
            return
        self.tasks.spawn(self._detail(chosen), "detail")

    async def _detail(self, m: MessageOut) -> None:
        request: MessageOut | None = m if m.message_type == "Call" else None
        response: MessageOut | None = m if m.message_type != "Call" else None
        if m.correlation_id:
            page = await self.wb.query_messages(MessageQuery(station_id=m.station_id, correlation_id=m.correlation_id,
                                                             limit=20))
            calls = [x for x in page.items if x.message_type == "Call"]
            answers = [x for x in page.items if x.message_type != "Call"]
            request = request or (calls[0] if calls else None)
            response = response or (answers[-1] if answers else None)
        ids = {x.message_id for x in (request, response) if x is not None and x.message_id}
        try:
            findings = [f for f in (await self.wb.findings(m.station_id)).items if f.message_id in ids]
        except Exception:  # an older daemon without /api/findings: show the frames alone
            findings = []
        self.detail.value = exchange_html(request, response, findings)

    def export(self) -> None:
        fmt: ExportFormat = self.export_format.value

        async def run() -> None:
            chunks = [c async for c in self.wb.export_messages(self.current_query().model_copy(update={"limit": 100}),
                                                                fmt)]
            data = "".join(chunks)
            self.last_export = data
            mime, ext = EXPORT_TYPES[fmt]
            self.download.value = render.download_link(data, f"ocppemu-messages.{ext}", mime)
            self.tasks.ok(f"exported {data.count(chr(10))} line(s) as {fmt}")

        self.tasks.spawn(run(), "export")

    async def _follow(self) -> None:
        async for ev in follow_events(self.wb, kinds=["frame"], on_gap=self.apply):
            if not self.live_toggle.value:
                continue
            m = live_message(ev)
            if m is not None:
                self.add_live(m)

    async def _redraw_loop(self) -> None:
        while True:
            await asyncio.sleep(self.redraw_interval)
            if self._dirty:
                self.draw()

    async def close(self) -> None:
        await self.tasks.close()


