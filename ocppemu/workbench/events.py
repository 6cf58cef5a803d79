"""The workbench's event bus: frames, station events and state changes for any number of live subscribers.

Publishing never waits and never fails: each subscriber has its own bounded queue, and when a slow subscriber's
queue is full its *oldest* event is dropped and counted (:attr:`Subscription.dropped`), so a stalled dashboard
cannot slow a station down or grow memory without bound. Every event gets a monotonically increasing ``seq``;
the last ``history`` events are kept so a subscriber can resume after a cursor (``seq``) it saw. A resume from a
cursor older than the history starts with a ``gap`` event saying how many events were lost.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from typing import Any

from ocppemu.ocpp.records import FrameRecord

#: Kinds of events: ``frame`` (an OCPP frame), ``event`` (a station event: status, transaction, connection ...),
#: ``state`` (runtime state of a station changed), ``error`` (a station error), ``gap`` (events were lost).
KINDS = ("frame", "event", "state", "error", "gap", "scenario")


class BusEvent:
    """One event. A frame event keeps its :class:`FrameRecord` and builds the JSON document only when a
    subscriber (or a resume) reads ``data``: publishing a frame costs no copy when nobody watches."""

    __slots__ = ("_data", "_frame", "kind", "seq", "station_id", "timestamp")

    def __init__(self, seq: int, kind: str, station_id: str | None, timestamp: float,
                 data: dict[str, Any] | None = None, frame: FrameRecord | None = None) -> None:
        self.seq, self.kind, self.station_id, self.timestamp = seq, kind, station_id, timestamp
        self._data, self._frame = data, frame

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            frame = self._frame
            doc = frame.to_doc() if frame is not None else {}
            if frame is not None:
                doc["timestamp"] = frame.timestamp.isoformat()
            self._data, self._frame = doc, None
        return self._data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BusEvent) and (self.seq, self.kind, self.station_id, self.timestamp, self.data) == (
            other.seq, other.kind, other.station_id, other.timestamp, other.data)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"BusEvent(seq={self.seq}, kind={self.kind!r}, station_id={self.station_id!r})"

    def to_doc(self) -> dict[str, Any]:
        return {"seq": self.seq, "cursor": str(self.seq), "kind": self.kind, "station_id": self.station_id,
                "timestamp": self.timestamp, "data": self.data}


@dataclass(slots=True)
class Subscription:
    """One subscriber's view of the bus. Iterate with ``async for`` or :meth:`get`; :meth:`close` when done."""

    bus: EventBus
    stations: frozenset[str] | None
    kinds: frozenset[str] | None
    maxsize: int
    dropped: int = 0
    _items: deque[BusEvent] = field(default_factory=deque)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    def wants(self, event: BusEvent) -> bool:
        if event.kind == "gap":
            return True
        if self.kinds is not None and event.kind not in self.kinds:
            return False
        return self.stations is None or event.station_id in self.stations

    def offer(self, event: BusEvent) -> None:
        if len(self._items) >= self.maxsize:
            self._items.popleft()
            self.dropped += 1
        self._items.append(event)
        self._ready.set()

    async def get(self, timeout: float | None = None) -> BusEvent | None:
        """The next event; None when closed or after ``timeout`` seconds without one."""
        while not self._items:
            if self.closed:
                return None
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return None
        return self._items.popleft()

    def pending(self) -> int:
        return len(self._items)

    def close(self) -> None:
        self.closed = True
        self.bus.unsubscribe(self)
        self._ready.set()

    def __aiter__(self) -> AsyncIterator[BusEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[BusEvent]:
        while True:
            event = await self.get()
            if event is None:
                return
            yield event


class EventBus:
    """Fan-out of :class:`BusEvent` with per-subscriber back-pressure (drop-oldest) and a resume history."""

    def __init__(self, *, queue_size: int = 10000, history: int = 10000) -> None:
        self.queue_size = queue_size
        self._history: deque[BusEvent] = deque(maxlen=history) if history > 0 else deque(maxlen=1)
        self._subs: list[Subscription] = []
        self._seq = itertools.count(1)
        self.last_seq = 0
        self.published = 0

    def publish(self, kind: str, station_id: str | None, timestamp: float, data: dict[str, Any]) -> BusEvent:
        """Hand an event to every interested subscriber; returns at once."""
        return self._publish(BusEvent(next(self._seq), kind, station_id, timestamp, data))

    def publish_frame(self, record: FrameRecord) -> BusEvent:
        """Publish a frame; its document is built later, and only if someone reads it."""
        return self._publish(BusEvent(next(self._seq), "frame", record.station_id, record.timestamp.timestamp(),
                                      None, record))

    def _publish(self, event: BusEvent) -> BusEvent:
        self.last_seq = event.seq
        self.published += 1
        self._history.append(event)
        for sub in self._subs:
            if sub.wants(event):
                sub.offer(event)
        return event

    def subscribe(self, stations: Collection[str] | None = None, kinds: Collection[str] | None = None, *,
                  cursor: str | int | None = None, queue_size: int | None = None) -> Subscription:
        """A new subscription; with ``cursor`` the retained events after it are delivered first.

        Raises ``ValueError`` for an unknown kind or a cursor that is not a number.
        """
        if kinds is not None:
            unknown = set(kinds) - set(KINDS)
            if unknown:
                raise ValueError(f"unknown event kind(s) {sorted(unknown)}; use {', '.join(KINDS)}")
        sub = Subscription(self, frozenset(stations) if stations else None, frozenset(kinds) if kinds else None,
                           queue_size or self.queue_size)
        if cursor is not None and str(cursor) != "":
            try:
                after = int(cursor)
            except ValueError:
                raise ValueError(f"invalid cursor {cursor!r}: use the 'cursor' of an event received") from None
            oldest = self._history[0].seq if self._history else self.last_seq + 1
            if after + 1 < oldest and after < self.last_seq:
                lost = oldest - after - 1
                sub.offer(BusEvent(0, "gap", None, 0.0, {"lost": lost, "after": after}))
            for event in self._history:
                if event.seq > after and sub.wants(event):
                    sub.offer(event)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def dropped(self) -> int:
        return sum(s.dropped for s in self._subs)
