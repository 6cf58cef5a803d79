"""Import and export of station configurations as JSON, with a report of what was rejected and why.

The export format is ``{"format": "ocppemu-stations", "version": 1, "stations": [...]}``; import also accepts a
bare list of station objects. Import validates every entry with :class:`StationConfig` before touching the store;
an entry that fails (bad JSON, invalid field, station id repeated in the file, id already stored when not
replacing, oversize document, masked secret with nothing to keep) is reported and changes nothing. Runtime state
is never exported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from ocppemu.config.masking import MASK
from ocppemu.config.station import StationConfig
from ocppemu.store import codec
from ocppemu.store.base import Repository
from ocppemu.store.errors import DuplicateStationError, PayloadTooLargeError

FORMAT = "ocppemu-stations"
FORMAT_VERSION = 1


@dataclass(slots=True)
class Rejection:
    """Why one entry was not imported. ``index`` is its position in the file (None for the whole file)."""

    index: int | None
    station_id: str | None
    reason: str

    def __str__(self) -> str:
        where = "file" if self.index is None else f"entry {self.index}"
        who = f" (station {self.station_id!r})" if self.station_id else ""
        return f"{where}{who}: {self.reason}"


@dataclass(slots=True)
class ImportReport:
    """``accepted`` station ids were written (or would be, when ``dry_run``); ``rejected`` explains the rest."""

    accepted: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        lines = [f"{verb} {len(self.accepted)} station(s), rejected {len(self.rejected)}"]
        lines += [f"  - {r}" for r in self.rejected]
        return "\n".join(lines)


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(station)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def parse_stations(source: str | bytes) -> tuple[list[tuple[int, dict[str, Any]]], list[Rejection]]:
    """Parse the file into ``(index, raw entry)`` pairs and file-level or entry-shape rejections (pure)."""
    try:
        data = orjson.loads(source)
    except orjson.JSONDecodeError as exc:
        return [], [Rejection(None, None, f"not valid JSON: {exc}")]
    if isinstance(data, dict):
        if data.get("format") not in (None, FORMAT):
            return [], [Rejection(None, None, f"unknown format {data.get('format')!r}, expected {FORMAT!r}")]
        data = data.get("stations")
    if not isinstance(data, list):
        return [], [Rejection(None, None, "expected a list of stations or an object with a 'stations' list")]
    entries: list[tuple[int, dict[str, Any]]] = []
    rejected: list[Rejection] = []
    for i, item in enumerate(data):
        if isinstance(item, dict):
            entries.append((i, item))
        else:
            rejected.append(Rejection(i, None, f"a station must be a JSON object, not {type(item).__name__}"))
    return entries, rejected


def validate_stations(source: str | bytes) -> tuple[list[tuple[int, dict[str, Any]]], list[Rejection]]:
    """Entries that validate as :class:`StationConfig` (still raw, secrets may be masked) and rejections.

    A station id appearing more than once in the file rejects every occurrence (the file is ambiguous).
    """
    entries, rejected = parse_stations(source)
    valid: list[tuple[int, dict[str, Any]]] = []
    for i, raw in entries:
        sid = raw.get("station_id") if isinstance(raw.get("station_id"), str) else None
        try:
            StationConfig.model_validate(raw)
        except ValidationError as exc:
            rejected.append(Rejection(i, sid, _explain(exc)))
            continue
        valid.append((i, raw))
    counts = Counter(raw["station_id"] for _, raw in valid)
    out: list[tuple[int, dict[str, Any]]] = []
    for i, raw in valid:
        if counts[raw["station_id"]] > 1:
            rejected.append(Rejection(i, raw["station_id"], "station_id appears more than once in the file"))
        else:
            out.append((i, raw))
    rejected.sort(key=lambda r: -1 if r.index is None else r.index)
    return out, rejected


def _unmask(raw: dict[str, Any], existing: StationConfig | None) -> tuple[dict[str, Any] | None, str | None]:
    """Replace masked secrets with the stored ones; a masked secret with nothing stored is an error."""
    data = dict(raw)
    auth = data.get("csms_auth")
    if isinstance(auth, dict) and auth.get("password") == MASK:
        old = existing.csms_auth.password if existing else None
        if old is None:
            return None, "csms_auth.password is masked (an export without secrets) and no stored password to keep"
        data["csms_auth"] = {**auth, "password": old.get_secret_value()}
    tls = data.get("tls")
    if isinstance(tls, dict) and tls.get("client_key") == MASK:
        old_key = existing.tls.client_key if existing else None
        if old_key is None:
            return None, "tls.client_key is masked (an export without secrets) and no stored key to keep"
        data["tls"] = {**tls, "client_key": old_key}
    data.pop("created_at", None)
    data.pop("updated_at", None)
    return data, None


async def import_stations(
    repo: Repository, source: str | bytes, *, replace: bool = False, dry_run: bool = False
) -> ImportReport:
    """Import stations from JSON text. Without ``replace`` an id already in the store is rejected; with it the
    stored configuration is replaced (runtime state kept). ``dry_run`` validates and reports without writing."""
    report = ImportReport(dry_run=dry_run)
    valid, report.rejected = validate_stations(source)
    for i, raw in valid:
        sid = raw["station_id"]
        existing = await repo.get_station(sid)
        if existing is not None and not replace:
            report.rejected.append(Rejection(i, sid, "a station with this id already exists in the store "
                                                     "(import with replace to overwrite it)"))
            continue
        data, problem = _unmask(raw, existing)
        if data is None:
            report.rejected.append(Rejection(i, sid, problem or "invalid"))
            continue
        config = StationConfig.model_validate(data)
        size = codec.doc_size(config.export(include_secrets=True))
        if size > repo.max_document_bytes:
            report.rejected.append(Rejection(i, sid, f"configuration is {size} bytes, more than the store's limit"))
            continue
        if dry_run:
            report.accepted.append(sid)
            continue
        try:
            if replace:
                await repo.upsert_station(config)
            else:
                await repo.create_station(config)
        except (DuplicateStationError, PayloadTooLargeError) as exc:
            report.rejected.append(Rejection(i, sid, str(exc)))
            continue
        report.accepted.append(sid)
    report.rejected.sort(key=lambda r: -1 if r.index is None else r.index)
    return report


async def export_stations(
    repo: Repository, station_ids: Sequence[str] | None = None, *, include_secrets: bool = False
) -> str:
    """JSON text of the chosen stations (all when None), secrets masked unless ``include_secrets``."""
    stations = await repo.list_stations()
    if station_ids is not None:
        wanted = set(station_ids)
        stations = [s for s in stations if s.station_id in wanted]
    doc = {"format": FORMAT, "version": FORMAT_VERSION,
           "stations": [s.export(include_secrets=include_secrets) for s in stations]}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
