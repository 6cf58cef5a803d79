"""The event bus: filters, drop-oldest back-pressure that never blocks the publisher, resume from a cursor."""

from __future__ import annotations

import pytest

from ocppemu.workbench.events import EventBus


async def test_slow_subscriber_loses_oldest_events_and_counts_them() -> None:
    bus = EventBus(queue_size=3, history=100)
    slow = bus.subscribe()
    for i in range(10):
        bus.publish("frame", "A", float(i), {"i": i})  # returns at once even though nobody reads
    assert slow.dropped == 7 and bus.dropped() == 7
    got = [await slow.get(timeout=0) for _ in range(3)]
    assert [e.data["i"] for e in got if e] == [7, 8, 9]
    assert await slow.get(timeout=0.01) is None


async def test_filters_by_station_and_kind() -> None:
    bus = EventBus()
    sub = bus.subscribe(stations=["A"], kinds=["event"])
    bus.publish("frame", "A", 0.0, {})
    bus.publish("event", "B", 0.0, {})
    bus.publish("event", "A", 0.0, {"x": 1})
    assert sub.pending() == 1 and (await sub.get()).data == {"x": 1}  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown event kind"):
        bus.subscribe(kinds=["nope"])


async def test_resume_from_cursor_and_gap_when_history_is_gone() -> None:
    bus = EventBus(history=5)
    for i in range(8):
        bus.publish("frame", "A", 0.0, {"i": i})
    resumed = bus.subscribe(cursor="5")
    assert [e.data["i"] for e in [await resumed.get(timeout=0) for _ in range(3)] if e] == [5, 6, 7]
    late = bus.subscribe(cursor="1")
    first = await late.get(timeout=0)
    assert first is not None and first.kind == "gap" and first.data["lost"] == 2
    with pytest.raises(ValueError, match="cursor"):
        bus.subscribe(cursor="abc")
    sub = bus.subscribe()
    sub.close()
    assert await sub.get() is None and bus.subscribers == 2
