"""Connector status state tables for OCPP 1.6 and 2.x, as explicit transition tables.

Each refusal is an :class:`IllegalTransition` naming the rule it breaks; the engine turns it into a readable
error for the user (or a CallError / finding where the CSMS asked for it).
"""

from __future__ import annotations

from enum import Enum

from ocppemu.ocpp.versions import Version


class Status16(str, Enum):
    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    FINISHING = "Finishing"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class Status2x(str, Enum):
    AVAILABLE = "Available"
    OCCUPIED = "Occupied"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


_A, _P, _C, _SEV, _SEVSE, _F, _R, _U, _FA = (
    "Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved", "Unavailable",
    "Faulted",
)

#: OCPP 1.6 section 4.9: from-status -> statuses it may go to (connectors > 0).
TRANSITIONS_16: dict[str, frozenset[str]] = {
    _A: frozenset({_P, _C, _SEV, _SEVSE, _R, _U, _FA}),
    _P: frozenset({_A, _C, _SEV, _SEVSE, _F, _FA}),
    _C: frozenset({_A, _SEV, _SEVSE, _F, _U, _FA}),
    _SEV: frozenset({_A, _C, _SEVSE, _F, _U, _FA}),
    _SEVSE: frozenset({_A, _C, _SEV, _F, _U, _FA}),
    _F: frozenset({_A, _P, _U, _FA}),
    _R: frozenset({_A, _P, _U, _FA}),
    _U: frozenset({_A, _P, _C, _SEV, _SEVSE, _FA}),
    _FA: frozenset({_A, _P, _C, _SEV, _SEVSE, _F, _R, _U}),
}
#: Connector 0 (the whole charge point) only reports Available, Unavailable and Faulted.
TRANSITIONS_16_CP: dict[str, frozenset[str]] = {
    _A: frozenset({_U, _FA}),
    _U: frozenset({_A, _FA}),
    _FA: frozenset({_A, _U}),
}
#: OCPP 2.x: any status may follow any other.
TRANSITIONS_2X: dict[str, frozenset[str]] = {
    s.value: frozenset(t.value for t in Status2x if t is not s) for s in Status2x
}


class IllegalTransition(ValueError):
    """A connector was asked to change status in a way its protocol's state table forbids."""

    def __init__(self, version: Version, connector: int, current: str, target: str) -> None:
        self.version, self.connector, self.current, self.target = version, connector, current, target
        super().__init__(
            f"OCPP {version.value} connector {connector}: {current} -> {target} is not a valid status transition"
        )


def check_transition(version: Version, connector: int, current: str, target: str) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> target`` is allowed (same status is a no-op)."""
    if current == target:
        return
    table = (TRANSITIONS_16_CP if connector == 0 else TRANSITIONS_16) if version is Version.V16 else TRANSITIONS_2X
    allowed = table.get(current)
    if allowed is None or target not in allowed:
        raise IllegalTransition(version, connector, current, target)


def valid_statuses(version: Version, connector: int = 1) -> list[str]:
    if version is Version.V16:
        return list(TRANSITIONS_16_CP if connector == 0 else TRANSITIONS_16)
    return [s.value for s in Status2x]
