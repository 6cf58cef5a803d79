"""Plain records the engine produces and the store keeps.

These are slots dataclasses, not pydantic models: one is made per frame or meter sample on the hot path.
Timestamps are timezone-aware UTC ``datetime`` objects. ``to_doc`` gives the JSON-ready dict stored and exported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Direction = Literal["sent", "received"]
MessageKind = Literal["Call", "CallResult", "CallError", "CallResultError", "Send", "Invalid"]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class FrameRecord:
    """One OCPP frame seen on a station's connection, in either direction.

    ``correlation_id`` is the message id of the CALL a result or error answers (equal to ``message_id`` for
    a CALL itself), so a request and its response share it. ``action`` is filled for results and errors too,
    from the CALL they answer. ``validation_error`` holds the schema violation found in ``payload``, if any.
    ``raw`` is the exact text on the wire (kept for frames that could not be parsed, and for export).
    """

    timestamp: datetime
    station_id: str
    direction: Direction
    message_type: MessageKind
    message_id: str | None
    action: str | None
    protocol_version: str
    payload: Any
    raw: str
    correlation_id: str | None = None
    error_code: str | None = None
    error_description: str | None = None
    validation_error: str | None = None
    rtt_ms: float | None = None
    seq: int = 0

    def to_doc(self) -> dict[str, Any]:
        """A new dict of the fields; ``payload`` is shared, not copied (records are never changed once made)."""
        return {"timestamp": self.timestamp, "station_id": self.station_id, "direction": self.direction,
                "message_type": self.message_type, "message_id": self.message_id, "action": self.action,
                "protocol_version": self.protocol_version, "payload": self.payload, "raw": self.raw,
                "correlation_id": self.correlation_id, "error_code": self.error_code,
                "error_description": self.error_description, "validation_error": self.validation_error,
                "rtt_ms": self.rtt_ms, "seq": self.seq}


@dataclass(slots=True)
class TransactionRecord:
    """A charging transaction as the station saw it. ``transaction_id`` is the CSMS's (1.6) or station's (2.x)."""

    station_id: str
    transaction_id: str
    connector_id: int
    id_tag: str | None
    start_timestamp: datetime
    meter_start: float
    protocol_version: str
    evse_id: int | None = None
    stop_timestamp: datetime | None = None
    meter_stop: float | None = None
    energy_consumed: float | None = None
    reason: str | None = None
    status: Literal["active", "completed", "failed"] = "active"
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class MeterSample:
    """One sampled value of one measurand (time-series row)."""

    timestamp: datetime
    station_id: str
    connector_id: int
    transaction_id: str | None
    measurand: str
    value: float
    unit: str
    context: str = "Sample.Periodic"
    phase: str | None = None
    location: str = "Outlet"
    format: str = "Raw"

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class SessionRecord:
    """One WebSocket (or SOAP) session of a station with its CSMS."""

    station_id: str
    csms_url: str
    connected_at: datetime
    protocol_version: str
    subprotocol: str | None
    status: Literal["active", "disconnected"] = "active"
    disconnected_at: datetime | None = None
    reconnect_attempts: int = 0
    last_message_at: datetime | None = None
    close_reason: str | None = None
    close_code: int | None = None

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


AuthSource = Literal["CSMS", "LocalList", "Cache", "OfflineUnknown", "AuthDisabled", "None"]


@dataclass(slots=True)
class AuthorizationRecord:
    """One check of an identifier (idTag / idToken) by a station: its ``result`` (Accepted, Invalid, Blocked,
    Expired, Failed ...) and where it came from: the CSMS (an Authorize answer), the local list, the cache, or
    a local rule (unknown identifiers allowed offline, authorization disabled, nothing known: ``None``)."""

    timestamp: datetime
    station_id: str
    id_token: str
    result: str
    source: AuthSource
    connector_id: int | None = None
    token_type: str | None = None
    reason: str | None = None

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)
