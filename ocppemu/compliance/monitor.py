"""The sans-I/O compliance monitor of one station connection: frame records in, findings out.

A :class:`ComplianceMonitor` watches the :class:`~ocppemu.ocpp.records.FrameRecord` stream of one station (both
directions, as the station's RPC endpoint reports it) and judges every frame the CSMS sent. It keeps only small
per-connection state (our calls awaiting an answer, the CSMS's calls we have not answered yet, the registration
status the CSMS gave, the transaction ids in play) and never reads a clock: time comes from the records'
timestamps, or from ``now`` passed to :meth:`ComplianceMonitor.flush` and :meth:`ComplianceMonitor.closed`.

Schema checks are not repeated here: the RPC endpoint already validated every CSMS frame and put its verdict in
``FrameRecord.validation_error``; the monitor turns that verdict into a finding with its rule and reference and
adds the rules that need history (correlation, time-outs, synchronicity, registration, transaction ids).

Time-outs are noticed lazily: a call still unanswered ``response_timeout`` seconds after it was sent becomes a
finding when the next frame is observed or when :meth:`flush` is called (the runner flushes at the end of a run).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocppemu.compliance.findings import ComplianceFinding
from ocppemu.compliance.rules import RULES, Severity
from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.errors import known_codes
from ocppemu.ocpp.records import FrameRecord
from ocppemu.ocpp.versions import Version

#: CSMS calls a station in Pending state must not get (OCPP 1.6 §4.2; 2.0.1 B02).
PENDING_FORBIDDEN = {
    Version.V16: frozenset({"RemoteStartTransaction", "RemoteStopTransaction"}),
    Version.V201: frozenset({"RequestStartTransaction", "RequestStopTransaction"}),
    Version.V21: frozenset({"RequestStartTransaction", "RequestStopTransaction"}),
}
#: CSMS calls allowed even while the boot is Rejected (to ask the station to boot again).
REJECTED_ALLOWED = frozenset({"TriggerMessage"})
#: Responses whose authorization information is required: action -> field.
_ID_INFO_REQUIRED = {
    Version.V16: {"Authorize": "idTagInfo", "StartTransaction": "idTagInfo"},
    Version.V201: {"Authorize": "idTokenInfo"},
    Version.V21: {"Authorize": "idTokenInfo"},
}
_MAX_REMEMBERED = 256


@dataclass(slots=True)
class _Sent:
    action: str
    at: float
    raw: str
    payload: Any
    seq: int


@dataclass(slots=True)
class ComplianceMonitor:
    """Judges the CSMS side of one station's frames. See the module docstring for the contract."""

    version: Version
    station_id: str
    response_timeout: float = 30.0
    registration: str = "None"
    _ours: dict[str, _Sent] = field(default_factory=dict)
    _timed_out: OrderedDict[str, str] = field(default_factory=OrderedDict)
    _theirs: dict[str, tuple[str, float]] = field(default_factory=dict)
    _active_tx: set[str] = field(default_factory=set)
    _known_tx: OrderedDict[str, None] = field(default_factory=OrderedDict)
    count: int = 0

    # -- input ---------------------------------------------------------------------------------------------------

    def observe(self, record: FrameRecord) -> list[ComplianceFinding]:
        """Judge one frame (either direction); returns the findings it (and the time that passed) produced."""
        now = record.timestamp.timestamp()
        out = self._expire(now)
        if record.direction == "sent":
            self._on_sent(record, now)
        else:
            out.extend(self._on_received(record, now))
        self.count += len(out)
        return out

    def flush(self, now: float) -> list[ComplianceFinding]:
        """Findings for calls whose answer is overdue at ``now`` (call at the end of a run)."""
        out = self._expire(now)
        self.count += len(out)
        return out

    def closed(self, now: float, code: int | None, by_peer: bool) -> list[ComplianceFinding]:
        """The connection ended. A peer that went away without a close frame (code 1006) is a finding.

        Calls still awaiting an answer are forgotten (the station fails them as ``disconnected``).
        """
        out = self._expire(now)
        self._ours.clear()
        self._theirs.clear()
        if by_peer and code in (None, 1006):
            out.append(self._finding("connection.dropped", now, "the connection was closed without a WebSocket "
                                     f"close frame (code {code or 1006})"))
        self.count += len(out)
        return out

    # -- station frames ------------------------------------------------------------------------------------------

    def _on_sent(self, record: FrameRecord, now: float) -> None:
        if record.message_type == "Call" and record.message_id is not None and record.action is not None:
            self._ours[record.message_id] = _Sent(record.action, now, record.raw, record.payload, record.seq)
            if record.action == "TransactionEvent" and isinstance(record.payload, dict):
                self._track_tx_event(record.payload)
        elif record.message_type in ("CallResult", "CallError", "CallResultError"):
            self._theirs.pop(record.correlation_id or record.message_id or "", None)

    def _track_tx_event(self, payload: dict[str, Any]) -> None:
        info = payload.get("transactionInfo")
        tx = info.get("transactionId") if isinstance(info, dict) else None
        if isinstance(tx, str):
            self._remember_tx(tx)
            if payload.get("eventType") == "Ended":
                self._active_tx.discard(tx)
            else:
                self._active_tx.add(tx)

    def _remember_tx(self, tx: str) -> None:
        self._known_tx[tx] = None
        self._known_tx.move_to_end(tx)
        while len(self._known_tx) > _MAX_REMEMBERED:
            self._known_tx.popitem(last=False)

    # -- CSMS frames ---------------------------------------------------------------------------------------------

    def _on_received(self, record: FrameRecord, now: float) -> list[ComplianceFinding]:
        kind = record.message_type
        if kind == "Invalid":
            return [self._finding("rpc.malformed-frame", now, record.validation_error or "unreadable frame",
                                  record=record)]
        if kind == "Call":
            return self._on_csms_call(record, now)
        if kind in ("CallResult", "CallError", "CallResultError"):
            return self._on_answer(record, now)
        return []

    def _on_csms_call(self, record: FrameRecord, now: float) -> list[ComplianceFinding]:
        out: list[ComplianceFinding] = []
        action = record.action or ""
        spec = catalogue(self.version).get(action)
        if spec is None or not spec.csms_sends:
            what = "does not exist" if spec is None else "is not sent by the CSMS"
            out.append(self._finding("rpc.unknown-action", now, f"{action!r} {what} in OCPP {self.version.value}",
                                     record=record))
        elif record.validation_error:
            out.append(self._finding("schema.csms-call", now, record.validation_error, record=record))
        if self._theirs:
            waiting = ", ".join(f"{a} {m}" for m, (a, _) in self._theirs.items())
            out.append(self._finding("rpc.call-while-outstanding", now,
                                     f"{action} sent while the CSMS's own call(s) {waiting} are unanswered",
                                     record=record))
        problem = self._boot_problem(action)
        if problem:
            out.append(self._finding("boot.call-before-accepted", now, problem, record=record))
        out.extend(self._tx_reference(record, now))
        if record.message_id is not None:
            self._theirs[record.message_id] = (action, now)
        return out

    def _boot_problem(self, action: str) -> str | None:
        reg = self.registration
        if reg == "Accepted":
            return None
        if reg == "None":
            return f"{action} sent before the CSMS answered the BootNotification"
        if reg == "Pending" and action in PENDING_FORBIDDEN[self.version]:
            return f"{action} is not allowed while the registration is Pending"
        if reg == "Rejected" and action not in REJECTED_ALLOWED:
            return f"{action} sent to a station whose registration the CSMS rejected"
        return None

    def _tx_reference(self, record: FrameRecord, now: float) -> list[ComplianceFinding]:
        payload = record.payload if isinstance(record.payload, dict) else {}
        tx: Any = None
        if self.version is Version.V16 and record.action == "RemoteStopTransaction":
            tx = payload.get("transactionId")
            known = str(tx) in self._active_tx
        elif self.version is not Version.V16 and record.action == "RequestStopTransaction":
            tx = payload.get("transactionId")
            known = str(tx) in self._known_tx
        else:
            return []
        if tx is None or known:
            return []
        return [self._finding("value.transaction-id", now,
                              f"{record.action} names transaction {tx!r}, which this station does not have",
                              record=record, severity="warning")]

    def _on_answer(self, record: FrameRecord, now: float) -> list[ComplianceFinding]:
        mid = record.correlation_id or record.message_id or ""
        sent = self._ours.pop(mid, None)
        if sent is None:
            if mid in self._timed_out:
                action = self._timed_out.pop(mid)
                return [self._finding("rpc.late-response", now, f"answer to {action} {mid} came after the "
                                      f"{self.response_timeout:g} s response timeout", record=record,
                                      action=action)]
            return [self._finding("rpc.unknown-message-id", now,
                                  f"{record.message_type} for message id {mid!r}, which is not an outstanding call "
                                  "of this station", record=record)]
        if record.message_type != "CallResult":
            code = record.error_code or ""
            if code not in known_codes(self.version):
                return [self._finding("rpc.error-code", now, f"error code {code!r} does not exist in OCPP "
                                      f"{self.version.value}", record=record, action=sent.action)]
            return []
        return self._judge_result(sent, record, now)

    def _judge_result(self, sent: _Sent, record: FrameRecord, now: float) -> list[ComplianceFinding]:
        payload = record.payload if isinstance(record.payload, dict) else {}
        action = sent.action
        out: list[ComplianceFinding] = []
        required = _ID_INFO_REQUIRED[self.version].get(action)
        if required and required not in payload:
            out.append(self._finding("value.id-token-info", now, f"{action} answer has no {required}",
                                     record=record, action=action))
        elif record.validation_error:
            out.append(self._finding("schema.response", now, record.validation_error, record=record, action=action))
        if action == "BootNotification":
            out.extend(self._on_boot_result(payload, record, now))
        elif self.version is Version.V16:
            out.extend(self._on_v16_tx_result(sent, payload, record, now))
        elif action == "TransactionEvent":
            request = sent.payload if isinstance(sent.payload, dict) else {}
            if "idToken" in request and "idTokenInfo" not in payload:
                out.append(self._finding("value.id-token-info", now, "TransactionEvent with an idToken answered "
                                         "without idTokenInfo", record=record, action=action, severity="warning"))
        return out

    def _on_boot_result(self, payload: dict[str, Any], record: FrameRecord, now: float) -> list[ComplianceFinding]:
        status = payload.get("status")
        if isinstance(status, str) and status in ("Accepted", "Pending", "Rejected"):
            self.registration = status
        interval = payload.get("interval")
        if status == "Accepted" and isinstance(interval, int | float) and interval <= 0:
            return [self._finding("value.heartbeat-interval", now, f"boot accepted with heartbeat interval "
                                  f"{interval}", record=record, action="BootNotification")]
        return []

    def _on_v16_tx_result(self, sent: _Sent, payload: dict[str, Any], record: FrameRecord,
                          now: float) -> list[ComplianceFinding]:
        request = sent.payload if isinstance(sent.payload, dict) else {}
        if sent.action == "StartTransaction":
            tx = payload.get("transactionId")
            if tx is None:
                return []
            key = str(tx)
            status = (payload.get("idTagInfo") or {}).get("status") if isinstance(
                payload.get("idTagInfo"), dict) else None
            out = []
            if key in self._active_tx:
                out.append(self._finding("value.transaction-id", now, f"transaction id {tx} given again while that "
                                         "transaction is still active on this station", record=record,
                                         action=sent.action))
            if status in (None, "Accepted", "ConcurrentTx"):
                self._active_tx.add(key)
            return out
        if sent.action == "StopTransaction":
            self._active_tx.discard(str(request.get("transactionId")))
            if request.get("idTag") and "idTagInfo" not in payload:
                return [self._finding("value.id-token-info", now, "StopTransaction with an idTag answered without "
                                      "idTagInfo", record=record, action=sent.action, severity="warning")]
        return []

    # -- time ----------------------------------------------------------------------------------------------------

    def _expire(self, now: float) -> list[ComplianceFinding]:
        out: list[ComplianceFinding] = []
        for mid, sent in list(self._ours.items()):
            if now - sent.at >= self.response_timeout:
                del self._ours[mid]
                self._timed_out[mid] = sent.action
                while len(self._timed_out) > _MAX_REMEMBERED:
                    self._timed_out.popitem(last=False)
                out.append(self._finding("rpc.response-timeout", now, f"no answer to {sent.action} {mid} within "
                                         f"{self.response_timeout:g} s", action=sent.action, message_id=mid,
                                         frame=sent.raw, seq=sent.seq))
        for mid, (_, at) in list(self._theirs.items()):
            if now - at >= self.response_timeout:  # the CSMS has given up on it by now
                del self._theirs[mid]
        return out

    def _finding(self, rule_id: str, now: float, description: str, *, record: FrameRecord | None = None,
                 action: str | None = None, message_id: str | None = None, frame: str = "", seq: int | None = None,
                 severity: Severity | None = None) -> ComplianceFinding:
        r = RULES[rule_id]
        if record is not None:
            action = action or record.action
            message_id = message_id or record.message_id
            frame = frame or record.raw
            seq = seq if seq is not None else record.seq
        return ComplianceFinding(datetime.fromtimestamp(now, UTC), self.station_id, self.version.value, rule_id,
                                 severity or r.severity, r.reference(self.version), description, action, message_id,
                                 frame, seq)


def check_frames(records: Iterable[FrameRecord], version: Version, station_id: str | None = None, *,
                 response_timeout: float = 30.0, until: float | None = None) -> list[ComplianceFinding]:
    """Judge a recorded frame sequence of one station (oldest first) after the fact.

    ``until`` (seconds since the epoch) also reports calls still unanswered at that time.
    """
    monitor: ComplianceMonitor | None = None
    out: list[ComplianceFinding] = []
    for record in records:
        if monitor is None:
            monitor = ComplianceMonitor(version, station_id or record.station_id, response_timeout)
        out.extend(monitor.observe(record))
    if monitor is not None and until is not None:
        out.extend(monitor.flush(until))
    return out
