"""The compliance finding record: one departure of the CSMS from the specification."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ocppemu.compliance.rules import Severity


@dataclass(slots=True, frozen=True)
class ComplianceFinding:
    """One departure of the CSMS from the specification, as seen by one station.

    ``frame`` is the exact text of the frame that broke the rule (for a time-out: the station's unanswered call;
    for a dropped connection: empty). ``message_id`` and ``seq`` (the frame record's sequence number on that
    station) link the finding to its frame in the store and in the message inspector.
    """

    timestamp: datetime
    station_id: str
    protocol_version: str
    rule: str
    severity: Severity
    reference: str
    description: str
    action: str | None = None
    message_id: str | None = None
    frame: str = ""
    seq: int | None = None

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["timestamp"] = self.timestamp.isoformat()
        return doc

    def __str__(self) -> str:
        where = f" ({self.action} {self.message_id})" if self.action else (
            f" ({self.message_id})" if self.message_id else "")
        return f"{self.severity} {self.rule}{where}: {self.description} [{self.reference}]"
