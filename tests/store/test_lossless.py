"""Property: any frame, whatever its text holds, is stored and read back byte-identical on SQLite and MongoDB.

Random frames (Hypothesis) carry lone surrogates (legal JSON escapes such as ``"\\ud800"`` decode to them), emoji,
NUL characters, integers beyond 64 bits, floats and deep nesting in every text field and in the payload, whose
keys may be odd too (``$``-prefixed, dotted, empty). Each is written through the repository and read back: the raw
text, every text field and the payload's JSON text are identical to what was written. Huge frames just under the
store's size limit round-trip as well; a frame over it is refused with a reason (and counted by the buffer), and
a frame with surrogates never stalls a batch: every other frame of it is stored.
"""

from __future__ import annotations

import itertools
import json
import os
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocppemu.ocpp.records import FrameRecord
from ocppemu.store import MessageBuffer, MessageFilter, Repository
from tests.store.helpers import call

_ids = itertools.count()
ODD = ["\ud800", "\udfff", "a\udc00b", "\x00", "😀", "€", "\u2028", '"\\', "\ud83d"]
text = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=30),
    st.sampled_from(ODD),
    st.lists(st.sampled_from(ODD), max_size=4).map("".join),
)
keys = st.one_of(text, st.sampled_from(["$set", "a.b", "", "_id", "$"]))
scalars = st.one_of(
    st.none(), st.booleans(), text,
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
)
payloads = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=20)


def frame(payload: Any, texts: list[str | None], ascii_raw: bool, seq: int) -> FrameRecord:
    mid, action, desc, verr = texts
    return FrameRecord(
        timestamp=datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=UTC), station_id=f"LOSSLESS{next(_ids)}",
        direction="received", message_type="Call", message_id=mid, action=action, protocol_version="1.6",
        payload=payload, raw=json.dumps([2, mid, action, payload], ensure_ascii=ascii_raw),
        correlation_id=mid, error_description=desc, validation_error=verr, seq=seq,
    )


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, sort_keys=False)


async def read_back(repo: Repository, station_id: str) -> FrameRecord:
    rows = [m async for m in repo.iter_messages(MessageFilter(station_id=station_id))]
    assert len(rows) == 1
    return rows[0].record


EXAMPLES = int(os.environ.get("OCPPEMU_TEST_EXAMPLES", "60"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=payloads, texts=st.lists(st.one_of(st.none(), text), min_size=4, max_size=4), ascii_raw=st.booleans())
async def test_random_frames_read_back_byte_identical(
    repo: Repository, payload: Any, texts: list[str | None], ascii_raw: bool
) -> None:
    rec = frame(payload, texts, ascii_raw, 1)
    res = await repo.add_messages([rec])
    assert (res.inserted, res.duplicates, res.rejected) == (1, 0, [])
    got = await read_back(repo, rec.station_id)
    assert got.raw.encode("utf-8", "surrogatepass") == rec.raw.encode("utf-8", "surrogatepass")
    assert as_json(got.payload) == as_json(rec.payload)
    for name in ("message_id", "action", "error_description", "validation_error", "correlation_id"):
        assert getattr(got, name) == getattr(rec, name), name
    got.payload = rec.payload
    assert got == rec


async def test_huge_frames_round_trip_and_oversize_is_refused_with_a_reason(repo: Repository) -> None:
    limit = repo.max_document_bytes
    big = {"data": "x\ud800" * ((limit // 2 - 200) // 10), "n": 2**70}  # raw + payload just under the limit
    rec = frame(big, ["m1", "DataTransfer", None, None], True, 1)
    res = await repo.add_messages([rec])
    assert (res.inserted, res.rejected) == (1, [])
    got = await read_back(repo, rec.station_id)
    assert got.raw == rec.raw and as_json(got.payload) == as_json(big)
    over = frame({"data": "y" * limit}, ["m2", "DataTransfer", None, None], True, 2)
    res = await repo.add_messages([over])
    assert res.inserted == 0 and len(res.rejected) == 1 and "more than the limit" in res.rejected[0][1]
    assert await repo.count_messages(MessageFilter(station_id=over.station_id)) == 0


async def test_a_surrogate_frame_does_not_stall_the_writer(repo: Repository) -> None:
    """The issue's case: a DataTransfer with ``"\\ud800"`` among ordinary traffic. Every frame is stored, at once,
    and the buffer reports no failure, no rejection, no drop."""
    buf = MessageBuffer(repo, max_size=1000, interval=0.01)
    frames = [call(i, "SURR") for i in range(200)]
    odd = json.loads('[2, "dt-1", "DataTransfer", {"vendorId": "X", "data": "\\ud800"}]')
    frames[100] = FrameRecord(
        timestamp=frames[100].timestamp, station_id="SURR", direction="received", message_type="Call",
        message_id="dt-1", action="DataTransfer", protocol_version="1.6", payload=odd[3],
        raw='[2, "dt-1", "DataTransfer", {"vendorId": "X", "data": "\\ud800"}]', correlation_id="dt-1", seq=100)
    for f in frames:
        assert buf.add(f)
    await buf.aclose(timeout=30)
    stats = buf.stats()
    assert (stats.written, stats.rejected, stats.dropped, stats.failures) == (200, 0, 0, 0)
    stored = [m.record async for m in repo.iter_messages(MessageFilter(station_id="SURR"))]
    assert sorted(r.seq for r in stored) == list(range(200))
    dt = next(r for r in stored if r.message_id == "dt-1")
    assert dt.payload == {"vendorId": "X", "data": "\ud800"} and dt.raw == frames[100].raw
