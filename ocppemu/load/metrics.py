"""What a load run measures in one shard: frame counts, CSMS latency per action, connections, MeterValues.

A :class:`LoadMetrics` listens to a workbench's recorder (frames and station events, synchronously, O(1) per
frame) and produces a :meth:`LoadMetrics.snapshot`: plain JSON-ready data whose counters add up and whose
histograms merge exactly (:mod:`ocppemu.load.histogram`), so a coordinator sums the snapshots of its shards.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

from ocppemu.load.histogram import Histogram
from ocppemu.ocpp.records import FrameRecord
from ocppemu.station.core import StationEvent

#: The counters of a snapshot (all add up across shards).
COUNTERS = ("frames_sent", "frames_received", "calls_sent", "call_errors_received", "call_errors_sent",
            "connects", "disconnects", "reconnects", "connect_failures", "boots_accepted", "meter_values_sent",
            "meter_values_answered")
_WINDOW = 60.0  # seconds of MeterValues kept for "received / due in the last 60 s"


class LoadMetrics:
    """Counters, per-action latency histograms and a 60 s window of answered MeterValues of one shard."""

    def __init__(self, clock: Any = time.time, meter_interval: float = 0.0) -> None:
        self.clock = clock
        #: MeterValueSampleInterval of the stations (s), for the MeterValues due; 0: not counted.
        self.meter_interval = meter_interval
        #: Set when the run stops its stations: the disconnections that follow are not counted.
        self.stopping = False
        self._tx_open: dict[tuple[str, int], float] = {}
        self._tx_closed: deque[tuple[float, float]] = deque()
        self.counts: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.latency: dict[str, Histogram] = {}
        self._ever_connected: set[str] = set()
        self._accepted: set[str] = set()
        self._connected: set[str] = set()
        self._mv_window: deque[float] = deque()

    # -- listeners (hot path) ----------------------------------------------------------------------------------

    def on_frame(self, r: FrameRecord) -> None:
        c = self.counts
        kind = r.message_type
        if r.direction == "sent":
            c["frames_sent"] += 1
            if kind == "Call":
                c["calls_sent"] += 1
                if r.action == "MeterValues":
                    c["meter_values_sent"] += 1
            elif kind == "CallError":
                c["call_errors_sent"] += 1
            return
        c["frames_received"] += 1
        if kind == "CallError":
            c["call_errors_received"] += 1
        if r.rtt_ms is not None and r.action is not None:
            h = self.latency.get(r.action)
            if h is None:
                h = self.latency[r.action] = Histogram()
            h.record(r.rtt_ms)
            if r.action == "MeterValues" and kind == "CallResult":
                c["meter_values_answered"] += 1
                self._mv_window.append(r.timestamp.timestamp())

    def on_event(self, e: StationEvent) -> None:
        c, sid = self.counts, e.station_id
        if e.kind == "connection":
            status = e.data.get("status")
            if status == "connected":
                c["connects"] += 1
                if sid in self._ever_connected:
                    c["reconnects"] += 1
                self._ever_connected.add(sid)
                self._connected.add(sid)
            elif status == "disconnected":
                if sid in self._connected:
                    self._connected.discard(sid)
                    if not self.stopping and e.data.get("reason") != "station stopped":
                        c["disconnects"] += 1
            elif status == "error":
                c["connect_failures"] += 1
        elif e.kind == "transaction":
            key = (sid, int(e.data.get("connector_id", e.data.get("evse_id", 0)) or 0))
            if e.data.get("event") == "started":
                self._tx_open[key] = e.timestamp
            elif e.data.get("event") == "stopped":
                begun = self._tx_open.pop(key, None)
                if begun is not None:
                    self._tx_closed.append((begun, e.timestamp))
        elif e.kind == "registration" and e.data.get("status") == "Accepted" and sid not in self._accepted:
            self._accepted.add(sid)
            c["boots_accepted"] += 1

    # -- reading ---------------------------------------------------------------------------------------------------

    def meter_values_in_window(self, now: float | None = None) -> int:
        now = self.clock() if now is None else now
        window = self._mv_window
        while window and window[0] < now - _WINDOW:
            window.popleft()
        return len(window)

    def meter_values_due(self, now: float | None = None) -> float:
        """Periodic MeterValues due in the last 60 s: for each transaction, the multiples of the interval after
        its start that fall in the window (and before its stop), as a station that is never late sends them."""
        interval = self.meter_interval
        if interval <= 0:
            return 0.0
        now = self.clock() if now is None else now
        low = now - _WINDOW
        closed = self._tx_closed
        while closed and closed[0][1] < low:
            closed.popleft()
        due = 0
        for begun, ended in [*closed, *((b, now) for b in self._tx_open.values())]:
            first = max(1, math.ceil((max(low, begun) - begun) / interval))
            last = math.floor((min(ended, now) - begun) / interval)
            if last >= first:
                due += last - first + 1
        return float(due)

    def snapshot(self) -> dict[str, Any]:
        """Counters, connected / booted station counts and latency histograms (JSON-ready, mergeable)."""
        return {"at": self.clock(), **self.counts, "connected": len(self._connected),
                "stations_booted": len(self._accepted), "meter_values_last_60s": self.meter_values_in_window(),
                "meter_values_due_60s": self.meter_values_due(),
                "latency": {a: h.to_doc() for a, h in sorted(self.latency.items())}}


def merge_snapshots(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One snapshot of many shards: counters summed, histograms merged bucket by bucket."""
    out: dict[str, Any] = {"at": max((p.get("at", 0.0) for p in parts), default=time.time())}
    for key in (*COUNTERS, "connected", "stations_booted", "meter_values_last_60s"):
        out[key] = sum(int(p.get(key, 0)) for p in parts)
    out["meter_values_due_60s"] = sum(float(p.get("meter_values_due_60s", 0.0)) for p in parts)
    latency: dict[str, Histogram] = {}
    for p in parts:
        for action, doc in p.get("latency", {}).items():
            latency.setdefault(action, Histogram()).merge(Histogram.from_doc(doc))
    out["latency"] = {a: h.to_doc() for a, h in sorted(latency.items())}
    return out


def latency_summary(snapshot: dict[str, Any]) -> dict[str, dict[str, float | int | None]]:
    """count, mean, min, max, p50, p95, p99 per action (ms) of a snapshot."""
    return {a: Histogram.from_doc(doc).summary() for a, doc in snapshot.get("latency", {}).items()}
