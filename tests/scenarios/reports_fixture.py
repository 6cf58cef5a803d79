"""A finished run report with passed, failed and skipped steps, a finding and figures, for the report tests."""

from __future__ import annotations

from ocppemu.scenarios.results import (
    FindingOut,
    LatencyPoint,
    MeterPoint,
    RunReport,
    StationOut,
    StepResult,
    latency_table,
)


def sample_report() -> RunReport:
    steps = [
        StepResult(key="1", kind="connect", title="connect", station_id="CP-1", status="passed", line=7,
                   started_at=1000.0, duration_s=0.02),
        StepResult(key="2", kind="boot", title="boot", station_id="CP-1", status="passed", line=8,
                   started_at=1000.1, duration_s=0.05, message="registration Accepted", action="BootNotification"),
        StepResult(key="3", kind="authorize", title="Authorize <bad> tag", station_id="CP-1", status="failed",
                   line=9, started_at=1000.2, duration_s=0.1, rule="expect", action="Authorize",
                   message="Authorize status is 'Invalid', expected Accepted"),
        StepResult(key="4", kind="send", title="send", station_id="CP-1", status="skipped", line=10,
                   message="an earlier step failed on this station"),
    ]
    findings = [FindingOut(station_id="CP-1", timestamp=1000.3, rule="schema", action="Authorize",
                           description="idTagInfo is a required property", reference="OCPP 1.6 Authorize.conf")]
    report = RunReport(run_id="r1", scenario="report-sample", file="s.yaml", description="sample", oca=["TC_X"],
                       ocpp=["1.6"], csms_url="ws://127.0.0.1:1/ocpp", seed=5, state="finished", verdict="failed",
                       started_at=1000.0, finished_at=1001.0, duration_s=1.0,
                       stations=[StationOut(station_id="CP-1", version="1.6")], steps=steps, findings=findings,
                       latency_points=[LatencyPoint(t=1000.1, station_id="CP-1", action="BootNotification",
                                                    rtt_ms=12.5)],
                       meter_points=[MeterPoint(t=1000.5, station_id="CP-1", connector=1, wh=10.0),
                                     MeterPoint(t=1000.9, station_id="CP-1", connector=1, wh=20.0)],
                       total_steps=4)
    report.latency = latency_table([])
    return report
