"""The ordered queue of transaction-related messages a station must deliver exactly once, in order.

Transaction messages (1.6 StartTransaction / MeterValues / StopTransaction, 2.x TransactionEvent) enter here,
whether the station is online or not. The head is sent when the station is connected and registered, and leaves
the queue only when the CSMS answered it. Entries produced before the CSMS assigned a transaction id refer to the
station's local transaction key; the id is filled in when the entry is sent.

A :class:`QueueSink` (the store, in the runtime) mirrors every push and removal so the queue survives a restart.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class QueuedMessage:
    """One queued CALL. ``key`` is unique per station and orders entries; ``local_tx`` names the transaction."""

    key: int
    action: str
    payload: dict[str, Any]
    local_tx: str | None = None
    message_id: str | None = None
    attempts: int = 0
    offline: bool = False

    def to_doc(self) -> dict[str, Any]:
        return {"key": self.key, "action": self.action, "payload": self.payload, "local_tx": self.local_tx,
                "message_id": self.message_id, "attempts": self.attempts, "offline": self.offline}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> QueuedMessage:
        return cls(int(doc["key"]), str(doc["action"]), dict(doc["payload"]), doc.get("local_tx"),
                   doc.get("message_id"), int(doc.get("attempts", 0)), bool(doc.get("offline", False)))


class QueueSink(Protocol):
    def pushed(self, entry: QueuedMessage) -> None: ...

    def removed(self, entry: QueuedMessage) -> None: ...


@dataclass(slots=True)
class OfflineQueue:
    """FIFO of :class:`QueuedMessage`, bounded by ``max_length`` (oldest MeterValues dropped first when full)."""

    max_length: int = 10000
    sink: QueueSink | None = None
    _items: deque[QueuedMessage] = field(default_factory=deque)
    _next_key: int = 1
    dropped: int = 0

    def push(self, action: str, payload: dict[str, Any], *, local_tx: str | None = None,
             offline: bool = False) -> QueuedMessage:
        if len(self._items) >= self.max_length:
            self._drop_one()
        entry = QueuedMessage(self._next_key, action, payload, local_tx, offline=offline)
        self._next_key += 1
        self._items.append(entry)
        if self.sink is not None:
            self.sink.pushed(entry)
        return entry

    def _drop_one(self) -> None:
        for entry in self._items:
            if entry.action == "MeterValues":
                self._items.remove(entry)
                self.dropped += 1
                if self.sink is not None:
                    self.sink.removed(entry)
                return
        entry = self._items.popleft()
        self.dropped += 1
        if self.sink is not None:
            self.sink.removed(entry)

    def head(self) -> QueuedMessage | None:
        return self._items[0] if self._items else None

    def pop_head(self, entry: QueuedMessage) -> None:
        """Remove ``entry`` once answered (it must be the head)."""
        if self._items and self._items[0] is entry:
            self._items.popleft()
            if self.sink is not None:
                self.sink.removed(entry)

    def restore(self, entries: list[QueuedMessage]) -> None:
        """Load entries saved by a previous run (already in the sink), keeping their order and keys."""
        for entry in sorted(entries, key=lambda e: e.key):
            self._items.append(entry)
            self._next_key = max(self._next_key, entry.key + 1)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[QueuedMessage]:
        return iter(self._items)
