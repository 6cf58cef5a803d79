"""Connector status of OCPP 1.6 and 2.x: the enums and the check against the explicit transition tables.

The tables themselves live in :mod:`ocppemu.station.state_tables`; each refusal is an
:class:`~ocppemu.station.state_tables.IllegalTransition` naming the table, the move and the connector.
"""

from __future__ import annotations

from enum import Enum

from ocppemu.ocpp.versions import Version
from ocppemu.station.state_tables import (
    CHARGE_POINT_16,
    CONNECTOR_2X,
    CONNECTOR_16,
    MOVES_2X,
    MOVES_16,
    MOVES_16_CP,
    IllegalTransition,
    StateTable,
)

__all__ = ["TRANSITIONS_2X", "TRANSITIONS_16", "TRANSITIONS_16_CP", "IllegalTransition", "Status2x", "Status16",
           "check_transition", "table_for", "valid_statuses"]


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


TRANSITIONS_16 = MOVES_16
TRANSITIONS_16_CP = MOVES_16_CP
TRANSITIONS_2X = MOVES_2X


def table_for(version: Version, connector: int) -> StateTable:
    """The status table of ``connector`` (0 is the whole 1.6 charge point) in ``version``."""
    if version is Version.V16:
        return CHARGE_POINT_16 if connector == 0 else CONNECTOR_16
    return CONNECTOR_2X


def check_transition(version: Version, connector: int, current: str, target: str) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> target`` is allowed (same status is a no-op)."""
    if current == target:
        return
    table_for(version, connector).fire(current, target, connector=connector)


def valid_statuses(version: Version, connector: int = 1) -> list[str]:
    if version is Version.V16:
        return list(MOVES_16_CP if connector == 0 else MOVES_16)
    return [s.value for s in Status2x]
