"""The station's state machines as explicit transition tables (in the manner of h11's ``_state.py``).

Each :class:`StateTable` lists every allowed ``(state, event) -> next state`` row and nothing else. The engine asks
the table for every change (:meth:`StateTable.fire`) and never assigns a state around it; a move the table lacks
raises :class:`IllegalTransition`, which names the table, the state, the event and the data involved. Where the
event *is* the target state (connector status), the row is ``(state, target) -> target``.

Tables here: connector status (1.6 connectors, the 1.6 charge point as connector 0, 2.x connectors), the 1.6 and
2.x transaction lifecycle, the 2.x TxStartPoint / TxStopPoint rules, registration (BootNotification answers),
reservations, and the firmware, diagnostics and log jobs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class IllegalTransition(ValueError):
    """A state machine was asked for a move its table does not have."""

    def __init__(self, table: str, state: str, event: str, data: Mapping[str, Any] | None = None) -> None:
        self.table, self.state, self.event = table, state, event
        self.data = dict(data or {})
        where = ", ".join(f"{k}={v}" for k, v in self.data.items())
        super().__init__(f"{table}: {state} -> {event} is not a valid transition" + (f" ({where})" if where else ""))

    # The connector-status spelling used by the first version of this error.
    @property
    def current(self) -> str:
        return self.state

    @property
    def target(self) -> str:
        return self.event


@dataclass(frozen=True, slots=True)
class StateTable:
    """An explicit transition table: ``rows[(state, event)]`` is the next state."""

    name: str
    rows: Mapping[tuple[str, str], str]
    states: frozenset[str] = field(default=frozenset())

    @classmethod
    def of_targets(cls, name: str, moves: Mapping[str, Iterable[str]]) -> StateTable:
        """A table whose events are target states: ``moves[state]`` lists the states it may go to."""
        rows = {(s, t): t for s, targets in moves.items() for t in targets}
        return cls(name, rows, frozenset(moves))

    @classmethod
    def of_events(cls, name: str, rows: Mapping[tuple[str, str], str]) -> StateTable:
        states = {s for s, _ in rows} | set(rows.values())
        return cls(name, dict(rows), frozenset(states))

    def allows(self, state: str, event: str) -> bool:
        return (state, event) in self.rows

    def fire(self, state: str, event: str, **data: Any) -> str:
        """The state after ``event`` in ``state``; raises :class:`IllegalTransition` when there is no such row."""
        nxt = self.rows.get((state, event))
        if nxt is None:
            raise IllegalTransition(self.name, state, event, data)
        return nxt

    def events(self) -> frozenset[str]:
        return frozenset(e for _, e in self.rows)


# -- connector status -----------------------------------------------------------------------------------------

_A, _P, _C, _SEV, _SEVSE, _F, _R, _U, _FA = (
    "Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved", "Unavailable",
    "Faulted",
)

#: OCPP 1.6 section 4.9: from-status -> statuses it may go to (connectors > 0).
MOVES_16: dict[str, frozenset[str]] = {
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
MOVES_16_CP: dict[str, frozenset[str]] = {
    _A: frozenset({_U, _FA}),
    _U: frozenset({_A, _FA}),
    _FA: frozenset({_A, _U}),
}
STATUSES_2X = ("Available", "Occupied", "Reserved", "Unavailable", "Faulted")
#: OCPP 2.x: any connector status may follow any other.
MOVES_2X: dict[str, frozenset[str]] = {s: frozenset(t for t in STATUSES_2X if t != s) for s in STATUSES_2X}

CONNECTOR_16 = StateTable.of_targets("OCPP 1.6 connector status", MOVES_16)
CHARGE_POINT_16 = StateTable.of_targets("OCPP 1.6 charge point status (connector 0)", MOVES_16_CP)
CONNECTOR_2X = StateTable.of_targets("OCPP 2.x connector status", MOVES_2X)

# -- transactions ---------------------------------------------------------------------------------------------

#: A 1.6 transaction: StartTransaction queued (``Starting``), numbered by the CSMS (``Running``), StopTransaction
#: queued (``Stopping``), StopTransaction answered (``Ended``).
TRANSACTION_16 = StateTable.of_events("OCPP 1.6 transaction", {
    ("Starting", "id_assigned"): "Running",
    ("Starting", "stop"): "Stopping",
    ("Running", "stop"): "Stopping",
    ("Stopping", "id_assigned"): "Stopping",
    ("Stopping", "stop_confirmed"): "Ended",
})
#: A 2.x transaction: TransactionEvent Started, any number of Updated, one Ended.
TRANSACTION_2X = StateTable.of_events("OCPP 2.x transaction", {
    ("Idle", "Started"): "Active",
    ("Active", "Updated"): "Active",
    ("Active", "Ended"): "Ended",
})

#: TxStartPoint members -> the conditions (``plugged``, ``authorized``) that reach them (2.x, E01-E03).
TX_START_POINTS: dict[str, frozenset[str]] = {
    "EVConnected": frozenset({"plugged"}),
    "ParkingBayOccupancy": frozenset({"plugged"}),
    "Authorized": frozenset({"authorized"}),
    "PowerPathClosed": frozenset({"plugged", "authorized"}),
    "EnergyTransfer": frozenset({"plugged", "authorized"}),
    "DataSigned": frozenset({"plugged", "authorized"}),
}
#: TxStopPoint members -> the condition whose loss ends the transaction (2.x, E06).
TX_STOP_POINTS: dict[str, str] = {
    "EVConnected": "plugged",
    "ParkingBayOccupancy": "plugged",
    "Authorized": "authorized",
    "PowerPathClosed": "authorized",
    "EnergyTransfer": "authorized",
}


def start_point_reached(points: Iterable[str], conditions: set[str]) -> bool:
    """Whether a TxStartPoint in ``points`` is reached with ``conditions`` true (unknown members never are)."""
    return any((need := TX_START_POINTS.get(p)) is not None and need <= conditions for p in points)


def stop_point_reached(points: Iterable[str], lost: str) -> bool:
    """Whether losing condition ``lost`` (``plugged`` or ``authorized``) ends the transaction under ``points``."""
    return any(TX_STOP_POINTS.get(p) == lost for p in points)


# -- registration ---------------------------------------------------------------------------------------------

_REG = ("None", "Pending", "Accepted", "Rejected")
#: Registration with the CSMS: a new connection resets it; each BootNotification answer sets it (the last state
#: stays visible while disconnected).
REGISTRATION = StateTable.of_events("registration", {
    **{(s, "connected"): "None" for s in _REG},
    **{(s, answer): answer for s in _REG for answer in ("Pending", "Accepted", "Rejected")},
})

# -- reservations ---------------------------------------------------------------------------------------------

#: A reservation: made (or replaced with the same id), then used by its driver, cancelled, or expired.
RESERVATION = StateTable.of_events("reservation", {
    ("None", "reserve"): "Reserved",
    ("Reserved", "reserve"): "Reserved",
    ("Reserved", "use"): "Used",
    ("Reserved", "cancel"): "Cancelled",
    ("Reserved", "expire"): "Expired",
})

# -- firmware, diagnostics and log jobs -----------------------------------------------------------------------

def _restartable(moves: dict[str, set[str]], start: str) -> dict[str, set[str]]:
    """A new request may replace a running job at any step: every state may go back to ``start``."""
    return {s: targets | {start} for s, targets in moves.items()}


#: 1.6 FirmwareStatusNotification statuses (and the 1.6 security extension's SignedFirmwareStatusNotification).
FIRMWARE_16 = StateTable.of_targets("OCPP 1.6 firmware update", _restartable({
    "Idle": {"Downloading", "DownloadScheduled"},
    "DownloadScheduled": {"Downloading"},
    "Downloading": {"Downloaded", "DownloadFailed", "DownloadPaused"},
    "DownloadPaused": {"Downloading", "DownloadFailed"},
    "Downloaded": {"Installing", "SignatureVerified", "InvalidSignature", "InstallScheduled"},
    "SignatureVerified": {"Installing", "InstallScheduled"},
    "InstallScheduled": {"Installing"},
    "Installing": {"Installed", "InstallationFailed", "InstallRebooting"},
    "InstallRebooting": {"Installed", "InstallationFailed", "Idle"},
    "Installed": {"Idle", "Downloading"},
    "DownloadFailed": {"Idle", "Downloading"},
    "InstallationFailed": {"Idle", "Downloading"},
    "InvalidSignature": {"Idle", "Downloading"},
}, "Downloading"))
#: 2.x FirmwareStatusNotification statuses; a new UpdateFirmware (AcceptedCanceled) restarts from Downloading.
FIRMWARE_2X = StateTable.of_targets("OCPP 2.x firmware update", _restartable({
    "Idle": {"Downloading", "DownloadScheduled"},
    "DownloadScheduled": {"Downloading"},
    "Downloading": {"Downloaded", "DownloadFailed", "DownloadPaused"},
    "DownloadPaused": {"Downloading", "DownloadFailed"},
    "Downloaded": {"SignatureVerified", "InvalidSignature", "InstallScheduled", "Installing",
                   "InstallVerificationFailed"},
    "SignatureVerified": {"InstallScheduled", "Installing"},
    "InstallScheduled": {"Installing"},
    "Installing": {"InstallRebooting", "Installed", "InstallationFailed", "InstallVerificationFailed"},
    "InstallRebooting": {"Installed", "InstallationFailed"},
    **{s: {"Idle", "Downloading"} for s in ("Installed", "DownloadFailed", "InstallationFailed", "InvalidSignature",
                                             "InstallVerificationFailed", "InvalidCertificate", "RevokedCertificate")},
}, "Downloading"))
#: 1.6 DiagnosticsStatusNotification statuses.
DIAGNOSTICS_16 = StateTable.of_targets("OCPP 1.6 diagnostics upload", _restartable({
    "Idle": {"Uploading"},
    "Uploading": {"Uploaded", "UploadFailed"},
    "Uploaded": {"Idle"},
    "UploadFailed": {"Idle"},
}, "Uploading"))
#: LogStatusNotification statuses (2.x, and the 1.6 security extension).
LOG = StateTable.of_targets("log upload", {
    "Idle": {"Uploading"},
    "Uploading": {"Uploaded", "UploadFailure", "BadMessage", "NotSupportedOperation", "PermissionDenied",
                  "AcceptedCanceled", "Uploading"},
    **{s: {"Idle", "Uploading"} for s in ("Uploaded", "UploadFailure", "BadMessage", "NotSupportedOperation",
                                           "PermissionDenied", "AcceptedCanceled")},
})

ALL_TABLES: tuple[StateTable, ...] = (CONNECTOR_16, CHARGE_POINT_16, CONNECTOR_2X, TRANSACTION_16, TRANSACTION_2X,
                                      REGISTRATION, RESERVATION, FIRMWARE_16, FIRMWARE_2X, DIAGNOSTICS_16, LOG)
