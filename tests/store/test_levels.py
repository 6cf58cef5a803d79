"""Recording levels: exact counts of what the store keeps, per level, through a real SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ocppemu.config.app import AppConfig
from ocppemu.ocpp.records import FrameRecord, MessageKind
from ocppemu.store.levels import RecordingLevelError, RecordingPolicy, parse_level
from ocppemu.store.sqlite import SqliteRepository
from ocppemu.workbench.recording import Recorder

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _frame(station: str, kind: MessageKind, mid: str, direction: str = "sent",
           validation_error: str | None = None) -> FrameRecord:
    return FrameRecord(T0, station, direction, kind, mid, "Heartbeat", "1.6", {}, "[]",  # type: ignore[arg-type]
                       correlation_id=mid, validation_error=validation_error)


def _traffic(stations: int = 2, calls: int = 40) -> list[FrameRecord]:
    """Per station: ``calls`` sent calls, each answered (every 10th by a CallError), plus one invalid frame."""
    out: list[FrameRecord] = []
    for s in range(stations):
        sid = f"S{s}"
        for i in range(calls):
            mid = f"{sid}-{i}"
            out.append(_frame(sid, "Call", mid))
            out.append(_frame(sid, "CallError" if i % 10 == 9 else "CallResult", mid, "received"))
        out.append(_frame(sid, "Invalid", f"{sid}-bad", "received", validation_error="not JSON"))
    return out


@pytest.mark.parametrize(("level", "expected"), [
    ("all", 2 * 81), ("none", 0), ("calls", 2 * 40), ("errors", 2 * (4 + 1)),
    # sample: exactly floor(40 * F) exchanges (call + answer) per station, plus every error frame not in them
    ("sample:0.25", 2 * (2 * 10 + 2 + 1)), ("sample:1", 2 * 81), ("sample:0", 2 * (4 + 1)),
])
async def test_levels_keep_exact_counts(tmp_path: Path, level: str, expected: int) -> None:
    repo = SqliteRepository(tmp_path / "levels.db")
    await repo.init()
    rec = Recorder(repo, batch_interval=0.01, level=level)
    await rec.start()
    frames = _traffic()
    for f in frames:
        rec.frame(f)
    await rec.flush()
    stats = rec.stats()
    assert await repo.count_messages() == expected
    assert stats["frames_recorded"] == expected
    assert stats["frames_seen"] == len(frames) and stats["frames_skipped_by_level"] == len(frames) - expected
    assert stats["frames_dropped"] == 0
    await rec.aclose()
    await repo.close()


def test_sample_keeps_a_call_and_its_answer_together() -> None:
    policy = RecordingPolicy("sample:0.5")
    kept = [f for f in _traffic(stations=1, calls=20) if policy.keep(f)]
    calls = {f.correlation_id for f in kept if f.message_type == "Call"}
    answers = {f.correlation_id for f in kept if f.message_type in ("CallResult", "CallError")}
    assert len(calls) == 10 and calls <= answers


def test_bad_levels_are_one_sentence() -> None:
    assert parse_level("SAMPLE:0.1") == ("sample", 0.1)
    for bad in ("most", "sample:2", "sample:x", "sample:"):
        with pytest.raises(RecordingLevelError, match="recording level"):
            parse_level(bad)
    assert AppConfig.model_validate({"store": {"record": "Calls"}}).store.record == "calls"
    with pytest.raises(ValueError, match="sample:F"):
        AppConfig.model_validate({"store": {"record": "sample:1.5"}})


async def test_hard_limit_drops_are_counted_per_station_and_logged_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    repo = SqliteRepository(tmp_path / "limit.db")
    await repo.init()
    rec = Recorder(repo, buffer_size=10, batch_interval=3600, high_water=10)
    for i in range(15):
        rec.frame(_frame("A", "Call", f"a{i}"))
    for i in range(3):
        rec.frame(_frame("B", "Call", f"b{i}"))
    assert rec.buffer is not None
    assert rec.buffer.dropped_by_station() == {"A": 5, "B": 3}
    assert caplog.text.count("message buffer full") == 1
    stats = rec.stats()
    assert (stats["frames_dropped"], stats["stations_with_dropped_frames"]) == (8, 2)
    assert stats["frames_dropped_by_station"] == {"A": 5, "B": 3}
    await rec.start()
    await rec.flush()
    assert await repo.count_messages() == 10
    await rec.aclose()
    await repo.close()


async def test_a_slow_store_pushes_back_instead_of_dropping(tmp_path: Path) -> None:
    repo = SqliteRepository(tmp_path / "bp.db")
    await repo.init()
    rec = Recorder(repo, buffer_size=1000, batch_interval=3600, high_water=20)
    assert rec.pressure() is None
    for i in range(25):
        rec.frame(_frame("A", "Call", f"a{i}"))
    held = rec.pressure()
    assert held is not None and not held.is_set()
    await rec.start()
    await held.wait()  # the writer drains the buffer below the high-water mark and releases the stations
    await rec.flush()
    assert rec.pressure() is None and rec.stats()["frames_dropped"] == 0
    assert await repo.count_messages() == 25
    await rec.aclose()
    await repo.close()
