"""Builders of records for the store tests (timestamps at millisecond precision, as every backend keeps)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ocppemu.ocpp.records import FrameRecord, MeterSample, TransactionRecord

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(milliseconds=round(seconds * 1000))


def call(
    i: int, station: str = "CP1", action: str = "Heartbeat", payload: Any = None, ts: datetime | None = None,
    direction: str = "sent",
) -> FrameRecord:
    mid = f"{station}-{i}"
    payload = {} if payload is None else payload
    return FrameRecord(
        timestamp=ts or at(i), station_id=station, direction=direction,  # type: ignore[arg-type]
        message_type="Call", message_id=mid, action=action, protocol_version="1.6", payload=payload,
        raw=json.dumps([2, mid, action, payload]), correlation_id=mid, seq=i,
    )


def result(req: FrameRecord, payload: Any = None, rtt_ms: float | None = 5.0, delay: float = 0.005) -> FrameRecord:
    payload = {} if payload is None else payload
    return FrameRecord(
        timestamp=req.timestamp + timedelta(seconds=delay), station_id=req.station_id,
        direction="received" if req.direction == "sent" else "sent", message_type="CallResult",
        message_id=req.message_id, action=req.action, protocol_version=req.protocol_version, payload=payload,
        raw=json.dumps([3, req.message_id, payload]), correlation_id=req.message_id, rtt_ms=rtt_ms, seq=req.seq,
    )


def error(req: FrameRecord, code: str, description: str, rtt_ms: float | None = 7.0) -> FrameRecord:
    return FrameRecord(
        timestamp=req.timestamp + timedelta(milliseconds=9), station_id=req.station_id,
        direction="received" if req.direction == "sent" else "sent", message_type="CallError",
        message_id=req.message_id, action=req.action, protocol_version=req.protocol_version, payload={},
        raw=json.dumps([4, req.message_id, code, description, {}]), correlation_id=req.message_id,
        error_code=code, error_description=description, rtt_ms=rtt_ms, seq=req.seq,
    )


def tx(station: str, tid: str, start: float, *, id_tag: str = "TAG1", meter_start: float = 1000.0,
       status: str = "active", meter_stop: float | None = None, stop: float | None = None) -> TransactionRecord:
    return TransactionRecord(
        station_id=station, transaction_id=tid, connector_id=1, id_tag=id_tag, start_timestamp=at(start),
        meter_start=meter_start, protocol_version="1.6", status=status,  # type: ignore[arg-type]
        meter_stop=meter_stop, stop_timestamp=None if stop is None else at(stop),
        created_at=at(start), updated_at=at(start),
    )


def sample(station: str, tid: str | None, t: float, value: float, measurand: str = "Energy.Active.Import.Register",
           unit: str = "Wh") -> MeterSample:
    return MeterSample(timestamp=at(t), station_id=station, connector_id=1, transaction_id=tid,
                       measurand=measurand, value=value, unit=unit)
