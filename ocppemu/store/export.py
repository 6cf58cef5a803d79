"""Streaming export of messages as JSON lines, CSV or readable text.

:func:`export_messages` is an async iterator of text chunks of at most ``chunk_rows`` messages each, read from the
store in keyset-paginated batches, so memory stays constant whatever the number of messages.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

from ocppemu.store import codec
from ocppemu.store.base import MessageFilter, Repository, StoredMessage

ExportFormat = Literal["jsonl", "csv", "text"]

#: CSV columns, in order. ``payload`` is the payload as compact JSON; timestamps are ISO 8601 UTC.
CSV_COLUMNS = (
    "id", "timestamp", "station_id", "direction", "message_type", "action", "message_id", "correlation_id",
    "protocol_version", "rtt_ms", "error_code", "error_description", "validation_error", "payload",
)


def _iso(m: StoredMessage) -> str:
    return m.record.timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def jsonl_line(m: StoredMessage) -> str:
    """One message as a JSON object on one line (all fields, timestamp ISO 8601 UTC)."""
    doc = m.to_doc()
    doc["timestamp"] = _iso(m)
    return codec.dumps(doc) + "\n"


def text_line(m: StoredMessage) -> str:
    """One message for people: time, station, arrow (station -> CSMS is ``>>``), type, action, id, raw frame."""
    r = m.record
    arrow = ">>" if r.direction == "sent" else "<<"
    return f"{_iso(m)} {r.station_id} {arrow} {r.message_type} {r.action or '-'} [{r.message_id or '-'}] {r.raw}\n"


def _csv_rows(rows: list[StoredMessage], header: bool) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    if header:
        w.writerow(CSV_COLUMNS)
    for m in rows:
        r = m.record
        w.writerow([
            m.id, _iso(m), r.station_id, r.direction, r.message_type, r.action or "", r.message_id or "",
            r.correlation_id or "", r.protocol_version, "" if r.rtt_ms is None else r.rtt_ms, r.error_code or "",
            r.error_description or "", r.validation_error or "", codec.dumps(r.payload),
        ])
    return out.getvalue()


async def export_messages(
    repo: Repository,
    flt: MessageFilter | None = None,
    fmt: ExportFormat = "jsonl",
    *,
    chunk_rows: int = 1000,
) -> AsyncIterator[str]:
    """Matching messages, oldest first, as chunks of text in ``fmt``. The CSV header is in the first chunk
    (alone when there are no messages). Raises ``ValueError`` for an unknown format."""
    if fmt not in ("jsonl", "csv", "text"):
        raise ValueError(f"unknown export format {fmt!r}: use jsonl, csv or text")
    batch: list[StoredMessage] = []
    header = fmt == "csv"
    async for m in repo.iter_messages(flt, ascending=True, batch_size=chunk_rows):
        batch.append(m)
        if len(batch) >= chunk_rows:
            yield _render(batch, fmt, header)
            header = False
            batch = []
    if batch or header:
        yield _render(batch, fmt, header)


def _render(batch: list[StoredMessage], fmt: ExportFormat, header: bool) -> str:
    if fmt == "csv":
        return _csv_rows(batch, header)
    line = jsonl_line if fmt == "jsonl" else text_line
    return "".join(line(m) for m in batch)


async def export_messages_to_file(
    repo: Repository, path: str | Path, flt: MessageFilter | None = None, fmt: ExportFormat = "jsonl"
) -> int:
    """Write the export to ``path`` (UTF-8) without blocking the loop; returns the bytes written."""
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        async for chunk in export_messages(repo, flt, fmt):
            written += await asyncio.to_thread(fh.write, chunk)
    return written
