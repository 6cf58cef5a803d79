"""The sans-I/O OCPP-J RPC endpoint of one connection: correlation, one call in flight, validation, records.

An :class:`RpcEndpoint` takes text in (:meth:`RpcEndpoint.receive`) and the current time, and gives events out;
text to write accumulates in :attr:`RpcEndpoint.outbox`. It has no socket, no clock and no tasks: the caller
passes ``now`` (seconds since the epoch) and asks :meth:`RpcEndpoint.next_deadline` when to call
:meth:`RpcEndpoint.tick` for call time-outs. Every frame in both directions is reported to ``record_sink`` as a
:class:`~ocppemu.ocpp.records.FrameRecord`.

When our frames are recorded: by default when they are produced (for callers that take the outbox and write it at
once, as the tests do). A caller with a real transport sets :attr:`RpcEndpoint.record_sent_on_write`, takes
frames with :meth:`RpcEndpoint.take_outgoing` and reports each write with :meth:`RpcEndpoint.written`: a frame is
then recorded as ``sent`` when it has been written, stamped with that time, and a frame that never reached the
transport (the connection dropped first) is counted in :attr:`RpcEndpoint.unwritten`, not recorded as sent.

Guarantees: at most one of our CALLs is in flight at a time (others wait in order); a peer's bad input never
raises, it becomes a CALLERROR answer (for CALLs) and a :class:`Finding`.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from ocppemu.ocpp import framing
from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.errors import ErrorCode, Spelling, Violation, known_codes, wire_code
from ocppemu.ocpp.framing import Call, CallError, CallResult, CallResultError, Send
from ocppemu.ocpp.records import FrameRecord, MessageKind
from ocppemu.ocpp.validation import validate
from ocppemu.ocpp.versions import Version

Role = Literal["station", "csms"]
FailReason = Literal["error", "timeout", "invalid_result", "disconnected", "invalid_request"]


@dataclass(slots=True, eq=False)
class PendingCall:
    """One of our CALLs, from queueing to its answer. ``tag`` is free for the caller's bookkeeping."""

    message_id: str
    action: str
    payload: dict[str, Any]
    validate: bool = True
    tag: Any = None
    sent_at: float | None = None
    deadline: float | None = None
    raw: bool = False


@dataclass(slots=True, frozen=True)
class IncomingCall:
    """A valid CALL from the peer; the owner must answer it with ``reply`` or ``reply_error``."""

    call: Call


@dataclass(slots=True, frozen=True)
class IncomingSend:
    """OCPP 2.1 SEND from the peer (no answer)."""

    send: Send


@dataclass(slots=True, frozen=True)
class CallCompleted:
    pending: PendingCall
    payload: dict[str, Any]
    rtt_ms: float


@dataclass(slots=True, frozen=True)
class CallFailed:
    pending: PendingCall
    reason: FailReason
    error: CallError | Violation | None = None


@dataclass(slots=True, frozen=True)
class Finding:
    """Something the peer did against the specification, kept as a compliance finding."""

    violation: Violation
    raw: str
    timestamp: float


Event = IncomingCall | IncomingSend | CallCompleted | CallFailed | Finding


class WireCodec(Protocol):
    """How frames look on the wire when not as OCPP-J text (OCPP 1.6 over SOAP: :mod:`ocppemu.ocpp.soap`).

    ``serialise`` gets the action a CALLRESULT or CALLERROR answers (``None`` when unknown); ``parse`` never
    raises on peer input, it returns a frame or the :class:`Violation` to report and, when answerable, answer.
    """

    def serialise(self, frame: framing.Frame, action: str | None = None) -> str: ...

    def parse(self, text: str | bytes) -> framing.Frame | Violation: ...


def _ts(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


@dataclass(slots=True)
class RpcEndpoint:
    """OCPP-J RPC state of one connection. See the module docstring for the contract."""

    version: Version
    station_id: str
    role: Role = "station"
    call_timeout: float = 30.0
    validate_incoming: bool = True
    spelling: Spelling = "errata"
    record_sink: Callable[[FrameRecord], None] | None = None
    codec: WireCodec | None = None
    """``None``: OCPP-J text frames; otherwise every frame is written and read through this codec."""
    record_sent_on_write: bool = False
    outbox: list[str] = field(default_factory=list)
    #: Frames of ours that were produced but never written (dropped with a closed connection).
    unwritten: int = 0
    _unsent: list[FrameRecord | None] = field(default_factory=list)  # records of ``outbox``, in step with it
    _queue: deque[PendingCall] = field(default_factory=deque)
    _in_flight: PendingCall | None = None
    _raw_in_flight: dict[str, PendingCall] = field(default_factory=dict)
    _seq: int = 0

    # -- our calls -------------------------------------------------------------------------------------------

    def call(self, action: str, payload: dict[str, Any], now: float, *, validate_payload: bool = True,
             tag: Any = None, message_id: str | None = None) -> PendingCall | Violation:
        """Queue a CALL. Returns the pending call, or the violation when ``validate_payload`` finds one.

        The call is written to the outbox at once if no other call is in flight, otherwise when the one ahead
        is answered, fails or times out.
        """
        if validate_payload:
            problem = validate(self.version, action, "request", payload)
            if problem is not None:
                return problem
        pending = PendingCall(message_id or str(uuid.uuid4()), action, payload, validate_payload, tag)
        self._queue.append(pending)
        self._pump(now)
        return pending

    def send(self, action: str, payload: dict[str, Any], now: float, *,
             validate_payload: bool = True) -> Send | Violation:
        """Write an OCPP 2.1 SEND frame (``[6, id, action, payload]``): unconfirmed, never answered.

        Refused (returned as a violation) for other versions, and for a payload the schema rejects when
        ``validate_payload``.
        """
        if self.version is not Version.V21:
            return Violation(ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED, f"SEND does not exist in OCPP {self.version.value}",
                             action=action, answerable=False)
        if validate_payload:
            problem = validate(self.version, action, "request", payload)
            if problem is not None:
                return problem
        frame = Send(str(uuid.uuid4()), action, payload)
        text = self._serialise(frame, action)
        self.outbox.append(text)
        self._record_out(frame, text, now)
        return frame

    def send_raw(self, text: str, now: float, *, tag: Any = None) -> PendingCall | None:
        """Write ``text`` as it is (possibly malformed, possibly breaking the one-call rule).

        If it parses as a CALL its answer is correlated and reported like any other call's.
        """
        frame = self._parse(text)
        self.outbox.append(text)
        pending = None
        if isinstance(frame, Call):
            pending = PendingCall(frame.message_id, frame.action, frame.payload, False, tag, now,
                                  now + self.call_timeout, raw=True)
            self._raw_in_flight[frame.message_id] = pending
        self._record_out(frame, text, now)
        return pending

    def _pump(self, now: float) -> None:
        if self._in_flight is not None or not self._queue:
            return
        pending = self._queue.popleft()
        pending.sent_at = now
        pending.deadline = now + self.call_timeout
        self._in_flight = pending
        frame = Call(pending.message_id, pending.action, pending.payload)
        text = self._serialise(frame, pending.action)
        self.outbox.append(text)
        self._record_out(frame, text, now)

    @property
    def in_flight(self) -> PendingCall | None:
        return self._in_flight

    @property
    def queued(self) -> int:
        return len(self._queue) + (self._in_flight is not None)

    # -- answers to the peer's calls ------------------------------------------------------------------------

    def reply(self, call: Call, payload: dict[str, Any], now: float, *, validate_payload: bool = True) -> None:
        """Answer ``call`` with a CALLRESULT. An answer our own schema check rejects becomes an InternalError."""
        if validate_payload:
            problem = validate(self.version, call.action, "response", payload)
            if problem is not None:
                self.reply_error(call.message_id, ErrorCode.INTERNAL_ERROR,
                                 f"station built an invalid {call.action} answer: {problem.description}", now,
                                 action=call.action)
                return
        frame = CallResult(call.message_id, payload)
        text = self._serialise(frame, call.action)
        self.outbox.append(text)
        self._record_out(frame, text, now, action=call.action)

    def reply_error(self, message_id: str, code: ErrorCode, description: str, now: float, *,
                    details: dict[str, Any] | None = None, action: str | None = None,
                    result_error: bool = False) -> None:
        """Answer with a CALLERROR (or, in 2.1, a CALLRESULTERROR when ``result_error``)."""
        wire = wire_code(code, self.version, self.spelling)
        cls = CallResultError if result_error else CallError
        frame = cls(message_id, wire, description[:255], details or {})
        text = self._serialise(frame, action)
        self.outbox.append(text)
        self._record_out(frame, text, now, action=action)

    # -- input -----------------------------------------------------------------------------------------------

    def receive(self, text: str | bytes, now: float) -> list[Event]:
        """Handle one message from the peer and return what happened."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        frame = self._parse(text)
        if isinstance(frame, Violation):
            return self._on_bad_frame(frame, text, now)
        if isinstance(frame, Call):
            return self._on_call(frame, text, now)
        if isinstance(frame, Send):
            self._record_in(frame, text, now, action=frame.action)
            return [IncomingSend(frame)]
        return self._on_answer(frame, text, now)

    def wire_text(self, frame: framing.Frame, action: str | None = None) -> str:
        """``frame`` as this endpoint writes it (OCPP-J text, or a SOAP envelope with a codec); nothing is sent."""
        return self._serialise(frame, action)

    def _serialise(self, frame: framing.Frame, action: str | None) -> str:
        return framing.serialise(frame) if self.codec is None else self.codec.serialise(frame, action)

    def _parse(self, text: str) -> framing.Frame | Violation:
        return framing.parse(text, self.version) if self.codec is None else self.codec.parse(text)

    def _on_bad_frame(self, violation: Violation, text: str, now: float) -> list[Event]:
        self._record_in(None, text, now, validation_error=str(violation), message_id=violation.message_id)
        if violation.answerable and violation.message_id is not None:
            self.reply_error(violation.message_id, violation.code, violation.description, now,
                             action=violation.action)
        events: list[Event] = [Finding(violation, text, now)]
        if self.codec is not None and not violation.answerable and violation.message_id is not None:
            # A SOAP answer is tied to its request: an unusable one ends the call now instead of at its time-out.
            pending = self._take_pending(violation.message_id)
            if pending is not None:
                events.append(CallFailed(pending, "invalid_result", violation))
                self._pump(now)
        return events

    def _on_call(self, call: Call, text: str, now: float) -> list[Event]:
        spec = catalogue(self.version).get(call.action)
        problem: Violation | None = None
        if spec is None:
            problem = Violation(ErrorCode.NOT_IMPLEMENTED, f"unknown action {call.action!r}",
                                message_id=call.message_id, action=call.action)
        elif (self.role == "station" and not spec.csms_sends) or (self.role == "csms" and not spec.station_sends):
            problem = Violation(ErrorCode.NOT_SUPPORTED,
                                f"{call.action} is not sent in this direction in OCPP {self.version.value}",
                                message_id=call.message_id, action=call.action)
        elif self.validate_incoming:
            problem = validate(self.version, call.action, "request", call.payload)
        self._record_in(call, text, now, action=call.action,
                        validation_error=str(problem) if problem else None)
        if problem is not None:
            self.reply_error(call.message_id, problem.code, problem.description, now, action=call.action,
                             details=problem.details)
            return [Finding(problem, text, now)]
        return [IncomingCall(call)]

    def _take_pending(self, message_id: str) -> PendingCall | None:
        if self._in_flight is not None and self._in_flight.message_id == message_id:
            pending = self._in_flight
            self._in_flight = None
            return pending
        return self._raw_in_flight.pop(message_id, None)

    def _on_answer(self, frame: CallResult | CallError | CallResultError, text: str, now: float) -> list[Event]:
        pending = self._take_pending(frame.message_id)
        if pending is None:
            unknown = Violation(ErrorCode.PROTOCOL_ERROR,
                                f"{frame.kind} for unknown or already answered message id {frame.message_id!r}",
                                message_id=frame.message_id, answerable=False)
            self._record_in(frame, text, now, validation_error=str(unknown))
            return [Finding(unknown, text, now)]
        rtt = (now - pending.sent_at) * 1000.0 if pending.sent_at is not None else None
        events: list[Event] = []
        if isinstance(frame, CallResult):
            problem: Violation | None = None
            if self.validate_incoming and not pending.raw:
                problem = validate(self.version, pending.action, "response", frame.payload)
            self._record_in(frame, text, now, action=pending.action, rtt_ms=rtt,
                            correlation_id=pending.message_id, validation_error=str(problem) if problem else None)
            if problem is None:
                events.append(CallCompleted(pending, frame.payload, rtt or 0.0))
            else:
                events.append(Finding(problem, text, now))
                events.append(CallFailed(pending, "invalid_result", problem))
                if self.version is Version.V21:
                    self.reply_error(frame.message_id, problem.code, problem.description, now,
                                     action=pending.action, result_error=True)
        else:
            self._record_in(frame, text, now, action=pending.action, rtt_ms=rtt, correlation_id=pending.message_id)
            if frame.error_code not in known_codes(self.version):
                events.append(Finding(Violation(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                                                f"unknown error code {frame.error_code!r}",
                                                message_id=frame.message_id, action=pending.action,
                                                answerable=False), text, now))
            error = frame if isinstance(frame, CallError) else CallError(
                frame.message_id, frame.error_code, frame.error_description, frame.error_details)
            events.append(CallFailed(pending, "error", error))
        self._pump(now)
        return events

    # -- time and connection -----------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When :meth:`tick` must next be called (the in-flight call's time-out), or ``None``."""
        deadlines = [p.deadline for p in self._raw_in_flight.values() if p.deadline is not None]
        if self._in_flight is not None and self._in_flight.deadline is not None:
            deadlines.append(self._in_flight.deadline)
        return min(deadlines) if deadlines else None

    def tick(self, now: float) -> list[Event]:
        """Time out calls whose deadline passed; the next queued call goes out."""
        events: list[Event] = []
        if self._in_flight is not None and self._in_flight.deadline is not None and now >= self._in_flight.deadline:
            events.append(CallFailed(self._in_flight, "timeout"))
            self._in_flight = None
            self._pump(now)
        for mid, p in list(self._raw_in_flight.items()):
            if p.deadline is not None and now >= p.deadline:
                del self._raw_in_flight[mid]
                events.append(CallFailed(p, "timeout"))
        return events

    def connection_lost(self) -> list[Event]:
        """The connection dropped: every call in flight or queued fails with reason ``disconnected``."""
        events: list[Event] = []
        if self._in_flight is not None:
            events.append(CallFailed(self._in_flight, "disconnected"))
            self._in_flight = None
        while self._queue:
            events.append(CallFailed(self._queue.popleft(), "disconnected"))
        for p in self._raw_in_flight.values():
            events.append(CallFailed(p, "disconnected"))
        self._raw_in_flight.clear()
        self.discard_outbox()
        return events

    def take_outbox(self) -> list[str]:
        """The frames to write, in order; the caller writes them now (their deferred records are emitted now)."""
        out, unsent = self.outbox, self._unsent
        self.outbox, self._unsent = [], []
        for record in unsent:
            if record is not None:
                self._emit(record)
        return out

    def take_outgoing(self) -> list[tuple[str, FrameRecord | None]]:
        """The frames to write with their records: report each one with :meth:`written` once it is written."""
        out, unsent = self.outbox, self._unsent
        self.outbox, self._unsent = [], []
        if not self.record_sent_on_write:
            return [(text, None) for text in out]
        return list(zip(out, unsent, strict=True))

    def written(self, record: FrameRecord | None, now: float) -> None:
        """The frame of ``record`` (from :meth:`take_outgoing`) was written at ``now``: record it as sent."""
        if record is not None:
            record.timestamp = _ts(now)
            self._emit(record)

    def discard_outbox(self) -> int:
        """Drop the frames not yet taken (nowhere to write them); returns how many, also added to ``unwritten``."""
        n = len(self.outbox)
        self.unwritten += n
        self.outbox.clear()
        self._unsent.clear()
        return n

    # -- records -----------------------------------------------------------------------------------------------

    def _record(self, direction: Literal["sent", "received"], kind: MessageKind, message_id: str | None,
                action: str | None, payload: Any, raw: str, now: float, **extra: Any) -> None:
        deferred = direction == "sent" and self.record_sent_on_write
        if self.record_sink is None:
            if deferred:
                self._unsent.append(None)
            return
        record = FrameRecord(_ts(now), self.station_id, direction, kind, message_id, action, self.version.value,
                             payload, raw, **extra)
        if deferred:
            self._unsent.append(record)  # recorded by written(), when the transport has written it
        else:
            self._emit(record)

    def _emit(self, record: FrameRecord) -> None:
        self._seq += 1
        record.seq = self._seq
        if self.record_sink is not None:
            self.record_sink(record)

    def _record_out(self, frame: framing.Frame | Violation, text: str, now: float, *,
                    action: str | None = None) -> None:
        if isinstance(frame, Violation):
            self._record("sent", "Invalid", None, None, None, text, now, validation_error=str(frame))
        elif isinstance(frame, Call | Send):
            self._record("sent", frame.kind, frame.message_id, frame.action, frame.payload, text, now,
                         correlation_id=frame.message_id)
        elif isinstance(frame, CallResult):
            self._record("sent", "CallResult", frame.message_id, action, frame.payload, text, now,
                         correlation_id=frame.message_id)
        else:
            self._record("sent", frame.kind, frame.message_id, action, frame.error_details, text, now,
                         correlation_id=frame.message_id, error_code=frame.error_code,
                         error_description=frame.error_description)

    def _record_in(self, frame: framing.Frame | None, text: str, now: float, *, action: str | None = None,
                   validation_error: str | None = None, message_id: str | None = None,
                   rtt_ms: float | None = None, correlation_id: str | None = None) -> None:
        if frame is None:
            self._record("received", "Invalid", message_id, None, None, text, now,
                         validation_error=validation_error)
        elif isinstance(frame, Call | Send):
            self._record("received", frame.kind, frame.message_id, action, frame.payload, text, now,
                         correlation_id=frame.message_id, validation_error=validation_error)
        elif isinstance(frame, CallResult):
            self._record("received", "CallResult", frame.message_id, action, frame.payload, text, now,
                         correlation_id=correlation_id or frame.message_id, validation_error=validation_error,
                         rtt_ms=rtt_ms)
        else:
            self._record("received", frame.kind, frame.message_id, action, frame.error_details, text, now,
                         correlation_id=correlation_id or frame.message_id, error_code=frame.error_code,
                         error_description=frame.error_description, validation_error=validation_error,
                         rtt_ms=rtt_ms)
