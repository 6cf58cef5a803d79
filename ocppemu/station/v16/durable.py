"""What a 1.6 station keeps across a restart of the emulator: a small typed snapshot and its restore.

A real charger writes its transactions and their CSMS ids, its local counters and its authorization cache to
flash as they change, so that after a power loss it knows what was running. :func:`durable_state` is that
snapshot (JSON-ready, taken by the workbench whenever it changes); :func:`restore` puts it back into a freshly
built station (energy registers and the offline queue are restored by the caller, as before):

* every known transaction gets its CSMS ``transactionId`` back, so queued MeterValues / StopTransaction carry the
  id the CSMS issued (never 0); a queued message of a transaction whose id is lost is dropped, with a log line;
* the local transaction keys continue after the highest one in use (they never restart at ``L1``);
* the authorization cache is put back (an offline start after a restart is accepted as before);
* a transaction that was running is either ended once, with ``reason`` ``PowerLoss`` (killed) or ``Reboot``
  (stopped cleanly), and ``meterStop`` the saved register (policy ``end``, the default), or continued (policy
  ``continue``: the EV is still plugged in, meter values resume from the saved register).

The station core stays sans-I/O: ``now`` comes in, nothing here reads a clock or a file.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from ocppemu.ocpp.records import TransactionRecord
from ocppemu.station.authorization import IdToken, from_id_tag_info, to_id_tag_info
from ocppemu.station.core import iso
from ocppemu.station.offline_queue import QueuedMessage
from ocppemu.station.state_tables import IllegalTransition

if TYPE_CHECKING:
    from ocppemu.station.v16.station import Station16

log = logging.getLogger(__name__)
ResumePolicy = Literal["end", "continue"]


@dataclass(slots=True)
class SavedTransaction16:
    local_key: str
    connector_id: int
    id_tag: str
    started_at: float
    meter_start: int
    transaction_id: int | None = None
    reservation_id: int | None = None
    running: bool = False


@dataclass(slots=True)
class DurableState16:
    """The snapshot: transactions not yet confirmed ended, the next local key, the authorization cache."""

    next_local: int = 1
    transactions: list[SavedTransaction16] = field(default_factory=list)
    auth_cache: list[dict[str, Any]] = field(default_factory=list)
    clean: bool = False  # written by a clean stop; a snapshot without it was cut by a crash or kill -9

    def to_doc(self) -> dict[str, Any]:
        return {"kind": "v16", **asdict(self)}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> DurableState16:
        return cls(next_local=int(doc.get("next_local", 1)),
                   transactions=[SavedTransaction16(**t) for t in doc.get("transactions", [])],
                   auth_cache=list(doc.get("auth_cache", [])), clean=bool(doc.get("clean", False)))


def durable_state(st: Station16) -> DurableState16:
    running = {c.tx.local_key for c in st.connectors.values() if c.tx is not None and not c.tx.stopping}
    txs = [SavedTransaction16(t.local_key, t.connector_id, t.id_tag, t.started_at, t.meter_start, t.transaction_id,
                              t.reservation_id, t.local_key in running) for t in st.transactions.values()]
    cache = [{"id_tag": e.token.id, "info": to_id_tag_info(e.info), "at": e.stored_at.isoformat()}
             for e in st.auth_cache._entries.values()]
    return DurableState16(st._next_local, txs, cache)


def restore(st: Station16, state: DurableState16, queue: list[QueuedMessage], now: float,
            policy: ResumePolicy = "end") -> list[str]:
    """Put ``state`` and the saved offline ``queue`` back into ``st`` (built with the saved registers; its queue
    sink already set); returns what was done, one sentence per item."""
    from ocppemu.station.v16.station import Transaction16

    notes: list[str] = []
    for item in state.auth_cache:
        try:
            st.auth_cache.put(IdToken(item["id_tag"]), from_id_tag_info(item["info"]),
                              datetime.fromisoformat(item["at"]).astimezone(UTC))
        except (KeyError, ValueError) as exc:
            log.warning("station %s: cached idTag not restored: %s", st.station_id, exc)
    keys = [int(k[1:]) for k in [t.local_key for t in state.transactions] + [e.local_tx or "" for e in queue]
            if k.startswith("L") and k[1:].isdigit()]
    st._next_local = max([state.next_local, *(k + 1 for k in keys)])
    queued_starts = {e.local_tx for e in queue if e.action == "StartTransaction"}
    for saved in state.transactions:
        tx = Transaction16(saved.local_key, saved.connector_id, saved.id_tag, saved.started_at, saved.meter_start,
                           [], saved.transaction_id, saved.reservation_id)
        started = datetime.fromtimestamp(saved.started_at, UTC)
        tx.record = TransactionRecord(st.station_id, str(saved.transaction_id or saved.local_key),
                                      saved.connector_id, saved.id_tag, started, float(saved.meter_start),
                                      st.version.value, created_at=started, updated_at=started)
        st.transactions[saved.local_key] = tx
    # A StartTransaction sent but not answered when the emulator died is not in the saved queue (only messages
    # queued offline or unanswered for a while are mirrored): send it again, ahead of the rest, as a charger
    # re-sends its unconfirmed transaction messages, so the transaction gets its CSMS id and can be ended.
    first_key = min((e.key for e in queue), default=1)
    for saved in sorted(state.transactions, key=lambda t: t.started_at, reverse=True):
        if saved.transaction_id is None and saved.local_key not in queued_starts:
            payload: dict[str, Any] = {"connectorId": saved.connector_id, "idTag": saved.id_tag,
                                       "meterStart": saved.meter_start, "timestamp": iso(st.csms_now(saved.started_at))}
            if saved.reservation_id is not None:
                payload["reservationId"] = saved.reservation_id
            first_key -= 1
            entry = QueuedMessage(first_key, "StartTransaction", payload, saved.local_key, offline=True)
            queue = [entry, *queue]
            queued_starts.add(saved.local_key)
            if st.queue.sink is not None:
                st.queue.sink.pushed(entry)
            notes.append(f"StartTransaction of {saved.local_key} sent again (its answer was lost)")
    kept: list[QueuedMessage] = []
    for entry in queue:
        owner = st.transactions.get(entry.local_tx or "")
        if entry.local_tx and entry.action != "StartTransaction" and entry.local_tx not in queued_starts and (
                owner is None or owner.transaction_id is None):
            notes.append(f"dropped queued {entry.action} of {entry.local_tx}: the CSMS's transaction id was lost")
            log.error("station %s: %s", st.station_id, notes[-1])
            if st.queue.sink is not None:
                st.queue.sink.removed(entry)
            continue
        kept.append(entry)
    st.queue.restore(kept)
    for saved in state.transactions:
        conn = st.connectors.get(saved.connector_id)
        if not saved.running or conn is None or conn.meter is None or conn.tx is not None:
            continue
        tx = st.transactions[saved.local_key]
        conn.tx = tx
        if policy == "continue":
            conn.plugged = True
            conn.meter.start_session(now)
            with contextlib.suppress(IllegalTransition):
                st._set_status(conn, "Charging", now)
            st._schedule_sample(conn, now)
            notes.append(f"transaction {saved.transaction_id or saved.local_key} continues")
        else:
            reason = "Reboot" if state.clean else "PowerLoss"
            st._stop_transaction(conn, reason, now)
            notes.append(f"transaction {saved.transaction_id or saved.local_key} ended ({reason})")
    return notes
