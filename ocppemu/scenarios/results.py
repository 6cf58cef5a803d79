"""What a scenario run produces: step results per station, findings, response-time figures and the verdict.

These models are the JSON report, the stored ``scenario_runs`` document and the REST API's body, so the three
cannot drift apart. Sans-I/O helpers here compute the figures from frame records.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ocppemu.ocpp.records import FrameRecord

StepStatus = Literal["pending", "running", "passed", "failed", "skipped", "stopped"]
RunState = Literal["ready", "running", "paused", "stopping", "finished"]
Verdict = Literal["passed", "failed", "stopped", "error"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepResult(_Model):
    """One step on one station. ``key`` numbers it in the file (``3``, a repeated step ``5.2.1``: step 5, round 2,
    its step 1; a branch ``6.b2.1``); ``rule`` says what was checked when it failed, ``action`` the OCPP action."""

    key: str
    kind: str
    title: str
    station_id: str
    status: StepStatus = "pending"
    line: int = 0
    started_at: float | None = None
    duration_s: float | None = None
    message: str = ""
    rule: str | None = None
    action: str | None = None


class FindingOut(_Model):
    """A departure of the CSMS from the specification, seen during the run."""

    station_id: str
    timestamp: float
    severity: Literal["error", "warning", "info"] = "error"
    rule: str
    description: str
    message_id: str | None = None
    action: str | None = None
    reference: str | None = None


class ActionLatency(_Model):
    """CSMS response times (milliseconds) to the station's calls of one action."""

    action: str
    count: int
    errors: int
    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


class StationOut(_Model):
    station_id: str
    version: str


class LatencyPoint(_Model):
    t: float
    station_id: str
    action: str
    rtt_ms: float


class MeterPoint(_Model):
    t: float
    station_id: str
    connector: int
    wh: float


class RunReport(_Model):
    """A run, live or finished."""

    run_id: str
    scenario: str
    file: str = ""
    description: str = ""
    oca: list[str] = Field(default_factory=list)
    ocpp: list[str] = Field(default_factory=list)
    csms_url: str = ""
    seed: int = 0
    state: RunState = "ready"
    verdict: Verdict | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration_s: float | None = None
    error: str | None = None
    stations: list[StationOut] = Field(default_factory=list)
    steps: list[StepResult] = Field(default_factory=list)
    findings: list[FindingOut] = Field(default_factory=list)
    latency: list[ActionLatency] = Field(default_factory=list)
    latency_points: list[LatencyPoint] = Field(default_factory=list)
    meter_points: list[MeterPoint] = Field(default_factory=list)
    total_steps: int = 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.steps:
            out[s.status] = out.get(s.status, 0) + 1
        return out

    @property
    def failed(self) -> bool:
        return any(s.status == "failed" for s in self.steps) or any(f.severity == "error" for f in self.findings)

    def exit_code(self) -> int:
        """0 when every step passed and no error-severity finding; 1 otherwise."""
        return 0 if self.verdict == "passed" else 1


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` (0..100) percentile by nearest rank; ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return round(ordered[rank - 1], 3)


def latency_table(records: Iterable[FrameRecord]) -> list[ActionLatency]:
    """Response-time percentiles per action from the answers the CSMS gave to the stations' calls."""
    per: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    for r in records:
        if r.direction != "received" or r.message_type not in ("CallResult", "CallError", "CallResultError"):
            continue
        action = r.action or "?"
        if r.rtt_ms is not None:
            per.setdefault(action, []).append(r.rtt_ms)
        else:
            per.setdefault(action, [])
        if r.message_type != "CallResult":
            errors[action] = errors.get(action, 0) + 1
    return [ActionLatency(action=a, count=len(v), errors=errors.get(a, 0), p50_ms=percentile(v, 50),
                          p90_ms=percentile(v, 90), p95_ms=percentile(v, 95), p99_ms=percentile(v, 99),
                          max_ms=max(v) if v else None) for a, v in sorted(per.items())]


def meter_points(record: FrameRecord) -> list[MeterPoint]:
    """Energy register readings in a MeterValues / TransactionEvent / StopTransaction the station sent."""
    if record.direction != "sent" or record.message_type != "Call" or not isinstance(record.payload, dict):
        return []
    p: dict[str, Any] = record.payload
    connector = p.get("connectorId") or p.get("evseId") or (p.get("evse") or {}).get("id") or 1
    out: list[MeterPoint] = []
    for mv in p.get("meterValue") or p.get("transactionData") or []:
        if not isinstance(mv, dict):
            continue
        for sv in mv.get("sampledValue") or []:
            if not isinstance(sv, dict) or sv.get("measurand", "Energy.Active.Import.Register") != \
                    "Energy.Active.Import.Register" or sv.get("phase"):
                continue
            try:
                value = float(sv.get("value", "nan"))
            except (TypeError, ValueError):
                continue
            unit = sv.get("unit") or (sv.get("unitOfMeasure") or {}).get("unit") or "Wh"
            wh = value * 1000 if unit == "kWh" else value
            out.append(MeterPoint(t=record.timestamp.timestamp(), station_id=record.station_id,
                                  connector=int(connector) if isinstance(connector, int) else 1, wh=wh))
    return out
