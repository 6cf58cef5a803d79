"""Conversions shared by the backends: timestamps, JSON text, document sizes, record ids and cursors.

Timestamps are kept at millisecond precision on every backend (MongoDB's BSON dates hold milliseconds), so a
value read back is the written one truncated to the millisecond, tz-aware UTC, whichever backend is in use.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

from ocppemu.ocpp.framing import dumps as dumps
from ocppemu.ocpp.framing import loads as framing_loads
from ocppemu.ocpp.records import FrameRecord
from ocppemu.store.errors import InvalidCursorError, PayloadTooLargeError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(dt: datetime) -> int:
    """Milliseconds since the epoch; a naive ``dt`` is taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_ms(ms: int) -> datetime:
    """The tz-aware UTC datetime of ``ms`` milliseconds since the epoch."""
    return _EPOCH + timedelta(milliseconds=ms)


def trunc_ms(dt: datetime) -> datetime:
    """``dt`` as tz-aware UTC, truncated to the millisecond (what every backend stores)."""
    return from_ms(to_ms(dt))


def opt_ms(dt: datetime | None) -> int | None:
    return None if dt is None else to_ms(dt)


def opt_from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else from_ms(ms)


def utc(dt: datetime | None) -> datetime | None:
    """A datetime read from a driver, made tz-aware UTC (drivers may hand back naive UTC values)."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


_LONG_NUMBER = re.compile(r"\d{19}")
_LONG_NUMBER_B = re.compile(rb"\d{19}")


def loads(text: str | bytes | None) -> Any:
    """JSON text read back from the store (``None`` stays ``None``). Text holding a number of 19 digits or more
    is decoded by the standard library, which keeps integers beyond 64 bits exact (orjson turns some into
    floats)."""
    if text is None:
        return None
    if (_LONG_NUMBER.search(text) if isinstance(text, str) else _LONG_NUMBER_B.search(text)):
        return json.loads(text)
    return framing_loads(text)


def json_ready(doc: Mapping[str, Any]) -> dict[str, Any]:
    """``doc`` normalised through JSON (datetimes become ISO text) so both backends read back the same value."""
    out = loads(dumps(_iso_dates(dict(doc))))
    if not isinstance(out, dict):  # pragma: no cover - a mapping always encodes to an object
        raise TypeError("document must be a JSON object")
    return out


def _iso_dates(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, dict):
        return {str(k): _iso_dates(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_iso_dates(v) for v in obj]
    return obj


def check_size(what: str, size: int, limit: int) -> None:
    """Raise :class:`PayloadTooLargeError` naming ``what`` when ``size`` bytes exceed ``limit``."""
    if size > limit:
        raise PayloadTooLargeError(f"{what} is {size} bytes, more than the store's limit of {limit} bytes")


def doc_size(doc: Any) -> int:
    """Encoded JSON size of ``doc`` in bytes (a close, cheap stand-in for its stored size)."""
    return text_size(dumps(doc))


def new_record_id() -> str:
    """A new 24-hex-digit record id, unique across processes, ordered by creation within one process."""
    return str(ObjectId())


def is_record_id(text: str) -> bool:
    return ObjectId.is_valid(text)


def encode_cursor(ts_ms: int, record_id: str) -> str:
    """Opaque page cursor: the sort key of the last row of a page."""
    return base64.urlsafe_b64encode(f"{ts_ms}:{record_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """Inverse of :func:`encode_cursor`; raises :class:`InvalidCursorError` for text it did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ts_text, record_id = raw.split(":", 1)
        ts = int(ts_text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursorError(f"not a page cursor of this store: {cursor!r}") from exc
    if not is_record_id(record_id):
        raise InvalidCursorError(f"not a page cursor of this store: {cursor!r}")
    return ts, record_id


TX_DATES = ("start_timestamp", "stop_timestamp", "created_at", "updated_at")
SESSION_DATES = ("connected_at", "disconnected_at", "last_message_at")


def dates_to_ms(doc: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """``doc`` with the named datetime fields replaced by epoch milliseconds (in place, returned)."""
    for name in fields:
        value = doc.get(name)
        if isinstance(value, datetime):
            doc[name] = to_ms(value)
    return doc


def dates_from_ms(doc: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Inverse of :func:`dates_to_ms` (in place, returned)."""
    for name in fields:
        value = doc.get(name)
        if isinstance(value, int):
            doc[name] = from_ms(value)
    return doc


def dates_trunc(doc: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The named datetime fields truncated to the millisecond, tz-aware UTC (in place, returned)."""
    for name in fields:
        value = doc.get(name)
        if isinstance(value, datetime):
            doc[name] = trunc_ms(value)
    return doc


def dates_utc(doc: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The named datetime fields made tz-aware UTC (driver values; in place, returned)."""
    for name in fields:
        value = doc.get(name)
        if isinstance(value, datetime):
            doc[name] = utc(value)
    return doc


def text_size(text: str) -> int:
    """UTF-8 bytes of ``text``, a lone surrogate counted as the three bytes it is kept as."""
    return len(text.encode("utf-8", "surrogatepass"))


def frame_size(record: FrameRecord) -> int:
    """Bytes a frame occupies: its raw text plus its payload as JSON."""
    return text_size(record.raw) + doc_size(record.payload)


def keep_text(text: str | None) -> str | bytes | None:
    """``text`` as a store can hold it, losslessly: itself when it is valid Unicode; otherwise (a lone surrogate
    such as a peer's ``"\\ud800"`` escape decodes to) its UTF-8 bytes with the surrogates encoded as they are.
    SQLite keeps those bytes as a BLOB and MongoDB as BSON binary; :func:`read_text` turns them back."""
    if text is None or text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
    return text


def read_text(value: Any) -> Any:
    """Inverse of :func:`keep_text` (anything that is not bytes is returned as it is)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "surrogatepass")
    return value
