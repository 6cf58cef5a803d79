"""Compliance checks attached to running stations: a monitor per station between the engine and its sinks.

:class:`ComplianceHub` wraps a station's :class:`~ocppemu.station.core.Sinks` so that every frame record goes
through that station's :class:`~ocppemu.compliance.monitor.ComplianceMonitor` before it is forwarded, and the
runtime's ``transport_closed`` event reaches the monitor too. Findings are kept (the newest ``max_findings``,
a bounded deque) and passed to ``on_finding``. The hub does no I/O and starts no task; checking a frame costs a
few dictionary operations, so it never slows a station.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime

from ocppemu.compliance.findings import ComplianceFinding
from ocppemu.compliance.monitor import ComplianceMonitor
from ocppemu.compliance.rules import SEVERITIES, Severity
from ocppemu.ocpp.records import FrameRecord
from ocppemu.ocpp.versions import Version
from ocppemu.station.core import Sinks, StationEvent

log = logging.getLogger(__name__)

FindingSink = Callable[[ComplianceFinding], None]


class ComplianceHub:
    """The compliance monitors of many stations and the findings they produced."""

    def __init__(self, on_finding: FindingSink | None = None, *, max_findings: int = 10_000) -> None:
        self.on_finding = on_finding
        self.findings: deque[ComplianceFinding] = deque(maxlen=max_findings)
        self.monitors: dict[str, ComplianceMonitor] = {}
        self._listeners: list[FindingSink] = []

    def listen(self, fn: FindingSink) -> Callable[[], None]:
        """Call ``fn`` with every new finding (e.g. a scenario run collecting its own); returns the unsubscribe."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def attach(self, station_id: str, version: Version, sinks: Sinks, *, response_timeout: float = 30.0) -> Sinks:
        """Start checking ``station_id``; returns the sinks to give its engine (they forward to ``sinks``)."""
        monitor = ComplianceMonitor(version, station_id, response_timeout)
        self.monitors[station_id] = monitor
        frame_sink, event_sink = sinks.frame, sinks.event

        def frame(record: FrameRecord) -> None:
            self._emit(monitor.observe(record))
            if frame_sink is not None:
                frame_sink(record)

        def event(ev: StationEvent) -> None:
            if ev.kind == "transport_closed":
                code = ev.data.get("code")
                self._emit(monitor.closed(ev.timestamp, code if isinstance(code, int) else None,
                                          bool(ev.data.get("by_peer"))))
            if event_sink is not None:
                event_sink(ev)

        return Sinks(frame=frame, event=event, transaction=sinks.transaction, meter=sinks.meter)

    def detach(self, station_id: str) -> None:
        self.monitors.pop(station_id, None)

    def flush(self, now: float, station_ids: list[str] | None = None) -> list[ComplianceFinding]:
        """Report the calls whose answer is overdue at ``now`` (all stations, or those named)."""
        out: list[ComplianceFinding] = []
        for sid, monitor in list(self.monitors.items()):
            if station_ids is None or sid in station_ids:
                out.extend(monitor.flush(now))
        self._emit(out)
        return out

    def query(self, station_id: str | None = None, *, severity: Severity | None = None, rule: str | None = None,
              since: datetime | None = None, limit: int | None = None) -> list[ComplianceFinding]:
        """Findings, oldest first, filtered; ``severity`` keeps that level and the more serious ones."""
        keep = SEVERITIES[: SEVERITIES.index(severity) + 1] if severity else SEVERITIES
        rows = [f for f in self.findings
                if (station_id is None or f.station_id == station_id) and f.severity in keep
                and (rule is None or f.rule == rule or f.rule.startswith(rule + "."))
                and (since is None or f.timestamp >= since)]
        return rows[-limit:] if limit else rows

    def _emit(self, findings: list[ComplianceFinding]) -> None:
        for f in findings:
            self.findings.append(f)
            log.info("station %s: compliance finding %s", f.station_id, f)
            for fn in ([self.on_finding] if self.on_finding else []) + list(self._listeners):
                try:
                    fn(f)
                except Exception:  # a listener's bug must not break the station
                    log.exception("finding listener failed")
