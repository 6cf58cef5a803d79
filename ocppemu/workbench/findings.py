"""The compliance side of the workbench: a monitor per checked station, findings on the event stream and queries.

A station is checked when its ``simulation.compliance_checks`` setting is on, or when a scenario run asks for it
(:meth:`FindingsMixin.check_station`). Findings are kept in memory (the newest 10 000) and published on the event
stream as ``event`` (kind ``compliance_finding``) and, for error severity, ``error`` events.
"""

from __future__ import annotations

from collections import Counter

from ocppemu.compliance.findings import ComplianceFinding
from ocppemu.compliance.tap import ComplianceHub
from ocppemu.config.station import StationConfig
from ocppemu.station.core import Sinks
from ocppemu.workbench.events import EventBus
from ocppemu.workbench.interface import FindingList, FindingOut, InvalidRequest


def finding_out(f: ComplianceFinding) -> FindingOut:
    return FindingOut.model_validate(f.to_doc())


class FindingsMixin:
    """Needs a ``bus`` attribute; call :meth:`_init_findings` in ``__init__``."""

    bus: EventBus
    compliance: ComplianceHub

    def _init_findings(self) -> None:
        self.compliance = ComplianceHub(on_finding=self._publish_finding)

    def _checked_sinks(self, config: StationConfig, sinks: Sinks, *, force: bool = False) -> Sinks:
        """The sinks of a station's engine: through a compliance monitor when the station is checked."""
        self.compliance.detach(config.station_id)
        if not (force or config.simulation.compliance_checks):
            return sinks
        return self.compliance.attach(config.station_id, config.protocol_version, sinks,
                                      response_timeout=config.simulation.call_timeout)

    def _publish_finding(self, f: ComplianceFinding) -> None:
        doc = {"kind": "compliance_finding", **f.to_doc()}
        ts = f.timestamp.timestamp()
        self.bus.publish("event", f.station_id, ts, doc)
        if f.severity == "error":
            self.bus.publish("error", f.station_id, ts, doc)

    async def findings(self, station_id: str | None = None, severity: str | None = None,
                       rule: str | None = None, limit: int = 1000) -> FindingList:
        """Compliance findings, oldest first: of one station or all, at least ``severity``, of a rule (or a
        rule family such as ``rpc``), at most ``limit`` (the newest)."""
        if severity not in (None, "error", "warning", "info"):
            raise InvalidRequest(f"unknown severity {severity!r}; use error, warning or info")
        if limit < 1:
            raise InvalidRequest("limit must be at least 1")
        rows = self.compliance.query(station_id, severity=severity, rule=rule, limit=limit)  # type: ignore[arg-type]
        return FindingList(items=[finding_out(f) for f in rows], counts=dict(Counter(f.severity for f in rows)))
