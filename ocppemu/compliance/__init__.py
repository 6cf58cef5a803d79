"""Judging the CSMS: compliance rules, the per-connection monitor, findings, fuzzing and session replay.

The monitor (:mod:`ocppemu.compliance.monitor`) is sans-I/O: frame records in, findings out. The hub
(:mod:`ocppemu.compliance.tap`) attaches monitors to running stations.
"""

from __future__ import annotations

from ocppemu.compliance.findings import ComplianceFinding
from ocppemu.compliance.monitor import ComplianceMonitor, check_frames
from ocppemu.compliance.rules import RULES, Rule, Severity

__all__ = ["RULES", "ComplianceFinding", "ComplianceMonitor", "Rule", "Severity", "check_frames"]
