"""The topology of an OCPP 2.0.1 station as plain state: EVSEs, their connectors, transactions and reservations.

A station has EVSEs (ids from 1), each with connectors (ids from 1 within the EVSE) and one meter. An EVSE runs at
most one transaction at a time. Connector status follows the 2.x table of
:mod:`ocppemu.station.connector_status` (Available, Occupied, Reserved, Unavailable, Faulted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ocppemu.config.station import ConnectorConfig
from ocppemu.ocpp.records import TransactionRecord
from ocppemu.station.authorization import IdToken
from ocppemu.station.meter import Meter
from ocppemu.station.state_tables import TRANSACTION_2X


@dataclass(slots=True)
class Transaction201:
    """A transaction from the station's side; ``transaction_id`` is made by the station (a UUID)."""

    transaction_id: str
    evse_id: int
    connector_id: int
    started_at: float
    meter_start_wh: float
    seq_no: int = 0
    id_token: IdToken | None = None
    token_sent: bool = False
    remote_start_id: int | None = None
    reservation_id: int | None = None
    reservation_sent: bool = False
    remote_start_sent: bool = False
    charging_state: str = "EVConnected"
    charging_since: float | None = None
    meter_started: bool = False
    time_spent_charging: float = 0.0
    stop_reason: str | None = None
    #: Lifecycle state (table :data:`~ocppemu.station.state_tables.TRANSACTION_2X`): Idle, Active, Ended.
    state: str = "Idle"
    total_cost: float | None = None
    record: TransactionRecord | None = None

    @property
    def ended(self) -> bool:
        return self.state == "Ended"

    def fire(self, event_type: str) -> None:
        """Record a TransactionEvent ``event_type`` (Started, Updated, Ended) through the lifecycle table."""
        self.state = TRANSACTION_2X.fire(self.state, event_type, transaction=self.transaction_id)

    def next_seq(self) -> int:
        """The seqNo of the next TransactionEvent (0 for Started, then +1 per event)."""
        seq = self.seq_no
        self.seq_no += 1
        return seq

    def charging_seconds(self, now: float) -> int:
        extra = now - self.charging_since if self.charging_since is not None else 0.0
        return max(0, int(self.time_spent_charging + extra))


@dataclass(slots=True)
class Reservation201:
    """A reservation accepted by ReserveNow; ``evse_id`` ``None`` is a reservation for any EVSE."""

    id: int
    id_token: IdToken
    expires_at: float
    evse_id: int | None
    group_id_token: IdToken | None = None
    connector_type: str | None = None

    def matches(self, token: IdToken, group: IdToken | None = None) -> bool:
        if token.id.casefold() == self.id_token.id.casefold():
            return True
        return (self.group_id_token is not None and group is not None
                and group.id.casefold() == self.group_id_token.id.casefold())


@dataclass(slots=True)
class Connector201:
    """One connector of an EVSE."""

    id: int
    evse_id: int
    type: str
    status: str = "Available"
    reported: str | None = None
    operative: bool = True
    faulted: bool = False


@dataclass(slots=True)
class Evse201:
    """One EVSE: its connectors, meter, availability and what is happening on it."""

    id: int
    config: ConnectorConfig
    meter: Meter
    connectors: dict[int, Connector201]
    operative: bool = True
    scheduled_inoperative: bool | None = None
    plugged_connector: int | None = None
    auth_token: IdToken | None = None
    auth_group: IdToken | None = None
    pending_remote_start_id: int | None = None
    pending_trigger: str | None = None
    tx: Transaction201 | None = None
    reservation: Reservation201 | None = None
    ev: dict[str, Any] = field(default_factory=dict)

    @property
    def plugged(self) -> bool:
        return self.plugged_connector is not None

    def connector(self, connector_id: int | None) -> Connector201 | None:
        if connector_id is None:
            return next(iter(self.connectors.values()), None)
        return self.connectors.get(connector_id)

    @property
    def active_tx(self) -> Transaction201 | None:
        return self.tx if self.tx is not None and not self.tx.ended else None
