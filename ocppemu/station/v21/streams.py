"""OCPP 2.1 periodic event streams: the values of a periodic monitor sent as unconfirmed SEND messages.

A stream belongs to a ``Periodic`` / ``PeriodicClockAligned`` variable monitor. The station opens it
(OpenPeriodicEventStream, station→CSMS) when the CSMS sets such a monitor with ``periodicEventStream`` parameters,
or when the user asks (:meth:`~ocppemu.station.v21.station.Station21.open_event_stream`). Once the CSMS accepts,
the monitored value is sampled every monitor period and buffered; the buffer goes out as NotifyPeriodicEventStream
(SEND ``[6, id, action, payload]``, no answer) when it holds ``values`` items (``values`` > 0) or ``interval``
seconds passed since the last message (``interval`` > 0; with both 0 every sample is sent at once). ``basetime`` is
the time of the first item of a message and each item's ``t`` the offset from it in seconds; ``pending`` counts the
items left for later messages (at most :data:`MAX_ITEMS_PER_MESSAGE` go in one). While a stream has a monitor, that
monitor's NotifyEvent is replaced by the stream. A stream closes (ClosePeriodicEventStream) when its monitor is
cleared or the user closes it; while offline at most :data:`MAX_BUFFER` items are kept (oldest dropped).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from ocppemu.ocpp.framing import Call
from ocppemu.ocpp.rpc import PendingCall
from ocppemu.station.core import ActionResult
from ocppemu.station.tags import StreamOpenTag
from ocppemu.station.v21.registry import HANDLERS
from ocppemu.station.v201 import device_glue

if TYPE_CHECKING:
    from ocppemu.station.v21.station import Station21

JSON = dict[str, Any]
MAX_ITEMS_PER_MESSAGE = 100
MAX_BUFFER = 1000
_PERIODIC = ("Periodic", "PeriodicClockAligned")


@dataclass(slots=True)
class EventStream:
    """One stream: its parameters, its monitor and the samples waiting to go out."""

    id: int
    monitor_id: int
    interval: int = 0
    values: int = 0
    open: bool = False
    last_sent: float = 0.0
    buffer: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=MAX_BUFFER))

    def params(self) -> JSON:
        return {"interval": self.interval, "values": self.values}

    def constant_data(self) -> JSON:
        return {"id": self.id, "params": self.params(), "variableMonitoringId": self.monitor_id}

    def due(self, now: float) -> bool:
        """Whether the buffer should go out now (see the module docstring)."""
        if not self.buffer:
            return False
        if self.values <= 0 and self.interval <= 0:
            return True
        return (self.values > 0 and len(self.buffer) >= self.values) or (
            self.interval > 0 and now - self.last_sent >= self.interval)

    def take_message(self, to_csms_time: Callable[[float], str]) -> JSON:
        """The next NotifyPeriodicEventStream payload (removes its items from the buffer)."""
        items = [self.buffer.popleft() for _ in range(min(len(self.buffer), MAX_ITEMS_PER_MESSAGE))]
        base = items[0][0]
        return {"id": self.id, "pending": len(self.buffer), "basetime": to_csms_time(base),
                "data": [{"t": round(at - base, 3), "v": value[:2500]} for at, value in items]}


# -- station side ------------------------------------------------------------------------------------------


def open_stream(self: Station21, monitor_id: int, interval: int, values: int, now: float) -> ActionResult:
    """Ask the CSMS to open a stream for periodic monitor ``monitor_id``."""
    monitor = self.monitoring.monitor(monitor_id)
    if monitor is None or monitor.type not in _PERIODIC:
        return ActionResult.fail(f"monitor {monitor_id} is not a periodic monitor")
    if any(s.monitor_id == monitor_id for s in self.streams.values()):
        return ActionResult.fail(f"monitor {monitor_id} already has a stream")
    stream = EventStream(self.next_stream_id, monitor_id, max(0, interval), max(0, values))
    self.next_stream_id += 1
    self.streams[stream.id] = stream
    sent = self.send_online("OpenPeriodicEventStream", {"constantStreamData": stream.constant_data()}, now,
                            tag=StreamOpenTag(stream.id))
    if not sent:
        del self.streams[stream.id]
        return ActionResult.fail("the station is not online")
    return ActionResult(True, data={"stream_id": stream.id})


@HANDLERS.result("OpenPeriodicEventStream")
def result_OpenPeriodicEventStream(self: Station21, pending: PendingCall, payload: JSON, now: float) -> None:
    tag = pending.tag
    if not isinstance(tag, StreamOpenTag):
        return
    stream = self.streams.get(tag.stream_id)
    if stream is None:
        return
    if payload.get("status") != "Accepted":
        del self.streams[stream.id]
        self.emit("event_stream", now, stream_id=stream.id, status="Rejected")
        return
    stream.open = True
    stream.last_sent = now
    self.emit("event_stream", now, stream_id=stream.id, status="Open", monitor_id=stream.monitor_id)
    _schedule(self, stream, now)


def close_stream(self: Station21, stream_id: int, now: float) -> ActionResult:
    """Close a stream: what is buffered goes out first, then ClosePeriodicEventStream."""
    stream = self.streams.pop(stream_id, None)
    if stream is None:
        return ActionResult.fail(f"no stream {stream_id}")
    self.timers.cancel(("stream", stream_id))
    if stream.open:
        while stream.buffer and self.online:
            self.send_unconfirmed("NotifyPeriodicEventStream", stream.take_message(self.csms_iso), now)
        self.send_online("ClosePeriodicEventStream", {"id": stream_id}, now)
    self.emit("event_stream", now, stream_id=stream_id, status="Closed")
    return ActionResult(True)


def _period(self: Station21, stream: EventStream) -> float:
    monitor = self.monitoring.monitor(stream.monitor_id)
    return max(1.0, float(monitor.value)) if monitor is not None else 1.0


def _schedule(self: Station21, stream: EventStream, now: float) -> None:
    self.timers.set(("stream", stream.id), now + _period(self, stream), partial(_stream_timer, self, stream.id))


def _sample(self: Station21, stream: EventStream, now: float) -> None:
    monitor = self.monitoring.monitor(stream.monitor_id)
    if monitor is None:
        close_stream(self, stream.id, now)
        return
    value = self.dm.read(monitor.component, monitor.variable)
    stream.buffer.append((now, "" if value is None else value))
    while self.online and stream.due(now):
        self.send_unconfirmed("NotifyPeriodicEventStream", stream.take_message(self.csms_iso), now)
        stream.last_sent = now
    _schedule(self, stream, now)


def streamed_monitor_ids(self: Station21) -> set[int]:
    return {s.monitor_id for s in self.streams.values() if s.open}


# -- CSMS-initiated ----------------------------------------------------------------------------------------


@HANDLERS.call("AdjustPeriodicEventStream")
def on_call_AdjustPeriodicEventStream(self: Station21, call: Call, now: float) -> None:
    stream = self.streams.get(call.payload["id"])
    if stream is None:
        self.answer(call, {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownStream",
                                                                   "additionalInfo": "no such stream"}}, now)
        return
    params = call.payload["params"]
    stream.interval = int(params.get("interval", stream.interval))
    stream.values = int(params.get("values", stream.values))
    self.answer(call, {"status": "Accepted"}, now)
    self.emit("event_stream", now, stream_id=stream.id, status="Adjusted", **stream.params())


@HANDLERS.call("GetPeriodicEventStream")
def on_call_GetPeriodicEventStream(self: Station21, call: Call, now: float) -> None:
    data = [s.constant_data() for s in self.streams.values() if s.open]
    self.answer(call, {"constantStreamData": data} if data else {}, now)


@HANDLERS.call("SetVariableMonitoring", override=True)
def on_call_SetVariableMonitoring(self: Station21, call: Call, now: float) -> None:
    """As in 2.0.1, then open a stream for each accepted periodic monitor set with ``periodicEventStream``."""
    items = call.payload["setMonitoringData"]
    results = self.monitoring.set_variable_monitoring(items, device_glue.utc(self, now))
    self.answer(call, {"setMonitoringResult": results}, now)
    device_glue.schedule_monitors(self, now)
    for item, result in zip(items, results, strict=False):
        params = item.get("periodicEventStream")
        if params is None or result.get("status") != "Accepted" or item.get("type") not in _PERIODIC:
            continue
        if "id" in result:
            open_stream(self, result["id"], int(params.get("interval", 0)), int(params.get("values", 0)), now)


def _stream_timer(self: Station21, stream_id: int, now: float) -> None:
    stream = self.streams.get(stream_id)
    if stream is not None and stream.open:
        _sample(self, stream, now)
