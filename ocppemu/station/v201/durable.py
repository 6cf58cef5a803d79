"""What a 2.0.1 / 2.1 station keeps across a restart of the emulator (see :mod:`ocppemu.station.v16.durable`).

The snapshot holds each running transaction (its id, EVSE and connector, start, meter start, next ``seqNo``,
identifier and what was already sent). After a restart a transaction that was running is ended once:
TransactionEvent ``Ended`` with ``stoppedReason`` ``PowerLoss`` (``Reboot`` after a clean stop), queued as an
``offline`` event behind the events already queued, with the ``seqNo`` that follows the last one queued or sent.
(2.x stations do not continue a transaction across a restart yet; ``after_restart: continue`` ends it too.)
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocppemu.ocpp.records import TransactionRecord
from ocppemu.station.authorization import IdToken
from ocppemu.station.offline_queue import QueuedMessage
from ocppemu.station.v201.evse import Transaction201

if TYPE_CHECKING:
    from ocppemu.station.v201.station import Station201

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SavedTransaction201:
    transaction_id: str
    evse_id: int
    connector_id: int
    started_at: float
    meter_start_wh: float
    seq_no: int
    id_token: str | None = None
    token_type: str | None = None
    token_sent: bool = False
    time_spent_charging: float = 0.0


@dataclass(slots=True)
class DurableState201:
    transactions: list[SavedTransaction201] = field(default_factory=list)
    clean: bool = False

    def to_doc(self) -> dict[str, Any]:
        return {"kind": "v2", **asdict(self)}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> DurableState201:
        return cls([SavedTransaction201(**t) for t in doc.get("transactions", [])], bool(doc.get("clean", False)))


def durable_state(st: Station201) -> DurableState201:
    out: list[SavedTransaction201] = []
    for evse in st.evses.values():
        tx = evse.active_tx
        if tx is None:
            continue
        out.append(SavedTransaction201(
            tx.transaction_id, evse.id, tx.connector_id, tx.started_at, tx.meter_start_wh, tx.seq_no,
            None if tx.id_token is None else tx.id_token.id, None if tx.id_token is None else tx.id_token.type,
            tx.token_sent, tx.time_spent_charging))
    return DurableState201(out)


def _queued_seq(queue: list[QueuedMessage], transaction_id: str) -> int:
    """The seqNo after the highest one queued for ``transaction_id`` (0 if none)."""
    seqs = [int(e.payload.get("seqNo", -1)) for e in queue
            if e.action == "TransactionEvent" and e.local_tx == transaction_id]
    return max(seqs, default=-1) + 1


def restore(st: Station201, state: DurableState201, queue: list[QueuedMessage], now: float) -> list[str]:
    """Put the saved ``queue`` back, then end each transaction that was running (see the module docstring)."""
    st.queue.restore(queue)
    notes: list[str] = []
    reason = "Reboot" if state.clean else "PowerLoss"
    for saved in state.transactions:
        evse = st.evses.get(saved.evse_id)
        if evse is None or evse.active_tx is not None:
            continue
        tx = Transaction201(saved.transaction_id, saved.evse_id, saved.connector_id, saved.started_at,
                            saved.meter_start_wh, max(saved.seq_no, _queued_seq(queue, saved.transaction_id)),
                            None if saved.id_token is None else IdToken(saved.id_token, saved.token_type),
                            saved.token_sent, charging_state="Idle", time_spent_charging=saved.time_spent_charging)
        started = datetime.fromtimestamp(saved.started_at, UTC)
        tx.record = TransactionRecord(st.station_id, saved.transaction_id, saved.evse_id, saved.id_token, started,
                                      round(saved.meter_start_wh, 1), st.version.value, evse_id=saved.evse_id,
                                      created_at=started, updated_at=started)
        tx.state = "Active"  # its Started event went out before the restart
        evse.tx = tx
        st.end_transaction(evse, "AbnormalCondition", reason, now)
        notes.append(f"transaction {saved.transaction_id} ended ({reason})")
    return notes
