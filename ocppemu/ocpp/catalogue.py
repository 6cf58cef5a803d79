"""Per-version message catalogues built from the official OCA schemas in ``schemas/``.

A catalogue lists every action of a version with its direction and its request and response schemas. The
schema files are the source of truth: an action exists exactly when its schema files exist. Directions are not in
the schema files; they come from the specifications and are listed here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from ocppemu.ocpp.versions import Version


class Direction(str, Enum):
    """Who sends the CALL of an action."""

    STATION_TO_CSMS = "station_to_csms"
    CSMS_TO_STATION = "csms_to_station"
    BOTH = "both"


_V16_STATION_INITIATED = frozenset({
    "Authorize", "BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification", "Heartbeat",
    "MeterValues", "StartTransaction", "StatusNotification", "StopTransaction", "LogStatusNotification",
    "SecurityEventNotification", "SignCertificate", "SignedFirmwareStatusNotification",
})
_V201_STATION_INITIATED = frozenset({
    "Authorize", "BootNotification", "ClearedChargingLimit", "FirmwareStatusNotification",
    "Get15118EVCertificate", "GetCertificateStatus", "Heartbeat", "LogStatusNotification", "MeterValues",
    "NotifyChargingLimit", "NotifyCustomerInformation", "NotifyDisplayMessages", "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule", "NotifyEvent", "NotifyMonitoringReport", "NotifyReport",
    "PublishFirmwareStatusNotification", "ReportChargingProfiles", "ReservationStatusUpdate",
    "SecurityEventNotification", "SignCertificate", "StatusNotification", "TransactionEvent",
})
_V21_STATION_INITIATED = _V201_STATION_INITIATED | frozenset({
    "BatterySwap", "ClosePeriodicEventStream", "GetCertificateChainStatus", "NotifyDERAlarm",
    "NotifyDERStartStop", "NotifyPriorityCharging", "NotifySettlement", "OpenPeriodicEventStream",
    "PullDynamicScheduleUpdate", "ReportDERControl", "VatNumberValidation", "NotifyQRCodeScanned",
})
_BOTH = frozenset({"DataTransfer"})
_STATION_INITIATED = {Version.V16: _V16_STATION_INITIATED, Version.V201: _V201_STATION_INITIATED,
                      Version.V21: _V21_STATION_INITIATED}


def schema_root() -> Path:
    """The folder holding ``v16/``, ``v201/``, ``v21/`` and ``soap16/``.

    In a wheel the schemas are packaged as ``ocppemu/_schemas``; in a source checkout they are the repository's
    top-level ``schemas/`` folder.
    """
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_schemas"
    if packaged.is_dir():
        return packaged
    return here.parent / "schemas"


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One action of one version: its name, who calls it, and its two schemas."""

    version: Version
    name: str
    direction: Direction
    request_schema: dict[str, Any]
    response_schema: dict[str, Any]
    send_only: bool = False
    """OCPP 2.1 SEND message (``[6, id, action, payload]``): no response; ``response_schema`` is empty."""

    @property
    def station_sends(self) -> bool:
        return self.direction in (Direction.STATION_TO_CSMS, Direction.BOTH)

    @property
    def csms_sends(self) -> bool:
        return self.direction in (Direction.CSMS_TO_STATION, Direction.BOTH)


class Catalogue:
    """All actions of one version, keyed by action name."""

    def __init__(self, version: Version, actions: dict[str, ActionSpec]) -> None:
        self.version = version
        self.actions = actions

    def __contains__(self, action: object) -> bool:
        return action in self.actions

    def __getitem__(self, action: str) -> ActionSpec:
        return self.actions[action]

    def get(self, action: str) -> ActionSpec | None:
        return self.actions.get(action)

    def names(self) -> list[str]:
        return sorted(self.actions)

    def station_initiated(self) -> list[str]:
        return sorted(a for a, s in self.actions.items() if s.station_sends)

    def csms_initiated(self) -> list[str]:
        return sorted(a for a, s in self.actions.items() if s.csms_sends)


def _split_name(version: Version, filename: str) -> tuple[str, str] | None:
    stem = filename.removesuffix(".json")
    if stem.endswith("Response"):
        return stem.removesuffix("Response"), "response"
    if version is Version.V16:
        return stem, "request"
    if stem.endswith("Request"):
        return stem.removesuffix("Request"), "request"
    return stem, "send"


@cache
def catalogue(version: Version) -> Catalogue:
    """The catalogue of ``version``, loaded once from the schema files."""
    folder = schema_root() / version.schema_dir
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(folder.glob("*.json")):
        split = _split_name(version, path.name)
        if split is None:
            continue
        action, part = split
        found.setdefault(action, {})[part] = json.loads(path.read_text(encoding="utf-8"))
    actions: dict[str, ActionSpec] = {}
    station = _STATION_INITIATED[version]
    for action, parts in found.items():
        if "send" in parts:  # 2.1 SEND messages (NotifyPeriodicEventStream): station to CSMS, unconfirmed
            actions[action] = ActionSpec(version, action, Direction.STATION_TO_CSMS, parts["send"], {}, True)
            continue
        if "request" not in parts or "response" not in parts:
            continue
        if action in _BOTH:
            direction = Direction.BOTH
        elif action in station:
            direction = Direction.STATION_TO_CSMS
        else:
            direction = Direction.CSMS_TO_STATION
        actions[action] = ActionSpec(version, action, direction, parts["request"], parts["response"])
    return Catalogue(version, actions)
