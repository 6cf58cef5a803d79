"""The version-neutral, sans-I/O part of a station engine: registration, heartbeat, offline queue, dispatch.

A station core is driven by plain calls that take ``now`` (seconds since the epoch):
:meth:`StationCore.connected`, :meth:`StationCore.disconnected`, :meth:`StationCore.receive`,
:meth:`StationCore.tick` and the user actions of the version subclasses. It answers with text to send
(:meth:`StationCore.take_outbox`), requests for the runtime (:meth:`StationCore.take_requests`: reboot, drop the
connection) and callbacks to sinks (frame records, station events, transactions, meter samples). It never sleeps,
never opens a socket and never raises because of what the CSMS sent.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, cast

from ocppemu.config.randomness import station_rng
from ocppemu.config.station import StationConfig
from ocppemu.ocpp.errors import ErrorCode, Violation
from ocppemu.ocpp.framing import Call
from ocppemu.ocpp.records import FrameRecord, MeterSample, TransactionRecord
from ocppemu.ocpp.rpc import (
    CallCompleted,
    CallFailed,
    Event,
    Finding,
    IncomingCall,
    IncomingSend,
    PendingCall,
    RpcEndpoint,
)
from ocppemu.station.actions import SuspendBy
from ocppemu.station.clock import StationClock, iso, parse_iso
from ocppemu.station.handlers import HandlerTable
from ocppemu.station.offline_queue import OfflineQueue, QueuedMessage
from ocppemu.station.state_tables import REGISTRATION, IllegalTransition
from ocppemu.station.timers import Timers

log = logging.getLogger(__name__)

Registration = Literal["None", "Pending", "Accepted", "Rejected"]
MAX_FINDINGS = 1000


@dataclass(slots=True, frozen=True)
class StationEvent:
    """Something a station did, for live views: ``kind`` is e.g. ``status``, ``registration``, ``transaction``."""

    station_id: str
    kind: str
    data: dict[str, Any]
    timestamp: float


@dataclass(slots=True, frozen=True)
class RuntimeRequest:
    """What the core asks of the runtime: ``reboot`` (close, wait ``seconds``, reconnect and boot again) or
    ``disconnect`` (drop the network for ``seconds``, then reconnect)."""

    kind: Literal["reboot", "disconnect", "reconnect"]
    seconds: float = 0.0
    reason: str = ""


@dataclass(slots=True)
class Sinks:
    """Where a station's outputs go. Every callback must return quickly and never raise."""

    frame: Callable[[FrameRecord], None] | None = None
    event: Callable[[StationEvent], None] | None = None
    transaction: Callable[[TransactionRecord], None] | None = None
    meter: Callable[[list[MeterSample]], None] | None = None


__all__ = ["ActionResult", "RuntimeRequest", "Sinks", "StationCore", "StationEvent", "iso", "parse_iso"]


class StationCore:
    """Shared engine of one station; version subclasses add messages and behaviour.

    Subclasses set :attr:`handlers` (their version's :class:`~ocppemu.station.handlers.HandlerTable`), implement
    ``boot_payload`` and may override ``on_registered``, ``prepare_queued``, ``on_call_failed`` and ``settle``.

    Every CSMS CALL gets exactly one answer: handlers answer through :meth:`answer` / :meth:`answer_error`, a
    second answer raises :class:`SecondAnswer` (nothing is sent), a handler that fails *after* answering is logged
    and answered no further, and one that returns without answering gets an InternalError.
    """

    handlers: ClassVar[HandlerTable[Any]]

    def __init__(self, config: StationConfig, sinks: Sinks | None = None, *,
                 rng: random.Random | None = None) -> None:
        self.config = config
        #: The station's clock: runtime time plus the offset the CSMS set (see :mod:`ocppemu.station.clock`).
        self.clock = StationClock()
        #: The station's only source of randomness (transaction ids, simulated behaviour).
        self.rng = rng if rng is not None else station_rng(config.simulation.seed, config.station_id, "engine")
        self.station_id = config.station_id
        self.version = config.protocol_version
        self.sinks = sinks or Sinks()
        self.rpc = RpcEndpoint(self.version, config.station_id, call_timeout=config.simulation.call_timeout,
                               spelling=config.simulation.v16_error_spelling, record_sink=self._on_frame)
        self.timers = Timers()
        self.queue = OfflineQueue()
        self.is_connected = False
        self.registration: Registration = "None"
        self.heartbeat_interval = config.simulation.heartbeat_interval
        self.last_heartbeat: float | None = None
        self.findings: deque[Finding] = deque(maxlen=MAX_FINDINGS)
        self.last_error: str | None = None
        self._requests: list[RuntimeRequest] = []
        self._tx_in_flight: QueuedMessage | None = None
        self._boot_reason: str = "PowerUp"
        self._answering: str | None = None
        self._answers = 0
        #: Set by a scenario run to answer some CSMS calls itself (returns True when it took the call).
        self.call_interceptor: Callable[[Call, float], bool] | None = None

    # -- outputs -------------------------------------------------------------------------------------------------

    def take_outbox(self) -> list[str]:
        return self.rpc.take_outbox()

    def take_requests(self) -> list[RuntimeRequest]:
        out, self._requests = self._requests, []
        return out

    def next_deadline(self) -> float | None:
        a, b = self.timers.next_deadline(), self.rpc.next_deadline()
        if a is None:
            return b
        return a if b is None else min(a, b)

    def emit(self, kind: str, now: float, **data: Any) -> None:
        if self.sinks.event is not None:
            self.sinks.event(StationEvent(self.station_id, kind, data, now))

    def _on_frame(self, record: FrameRecord) -> None:
        if self.sinks.frame is not None:
            self.sinks.frame(record)

    def request(self, kind: Literal["reboot", "disconnect", "reconnect"], seconds: float = 0.0,
                reason: str = "") -> None:
        self._requests.append(RuntimeRequest(kind, seconds, reason))

    def csms_now(self, now: float) -> float:
        """The station time (the CSMS's clock, set from its currentTime as a real charger does) at ``now``."""
        return now + self.clock.offset

    @property
    def csms_time_offset(self) -> float:
        """Seconds the CSMS's clock is ahead of the runtime's (the one offset of :attr:`clock`)."""
        return self.clock.offset

    # -- connection life -----------------------------------------------------------------------------------------

    def connected(self, now: float) -> None:
        """The transport is open: start registration (after ``boot_delay``)."""
        self.is_connected = True
        self.registration = cast(Registration, REGISTRATION.fire(self.registration, "connected"))
        self.emit("connection", now, status="connected")
        self.timers.set("boot", now + self.config.simulation.boot_delay, self._boot_timer)

    def disconnected(self, now: float, reason: str = "") -> None:
        """The transport closed: calls in flight fail, queued transaction messages stay queued."""
        self.is_connected = False
        for event in self.rpc.connection_lost():
            if isinstance(event, CallFailed):
                self._on_call_failed(event, now)
        self._tx_in_flight = None
        self.timers.cancel("boot")
        self.timers.cancel("heartbeat")
        self.emit("connection", now, status="disconnected", reason=reason)

    @property
    def online(self) -> bool:
        """Connected and accepted by the CSMS: free to send any message."""
        return self.is_connected and self.registration == "Accepted"

    # -- input ---------------------------------------------------------------------------------------------------

    def receive(self, text: str | bytes, now: float) -> None:
        """Handle one message from the CSMS."""
        for event in self.rpc.receive(text, now):
            self._dispatch(event, now)
        self.settle(now)

    def tick(self, now: float) -> None:
        """Fire the timers that are due and time out calls."""
        for event in self.rpc.tick(now):
            self._dispatch(event, now)
        for name, fire in self.timers.pop_due(now):
            try:
                fire(now)
            except Exception as exc:  # a bug in one timer must not kill the station
                log.exception("station %s: timer %r failed", self.station_id, name)
                self.last_error = f"internal error in timer {name!r}: {exc}"
        self.settle(now)

    def _dispatch(self, event: Event, now: float) -> None:
        if isinstance(event, IncomingCall):
            self._on_incoming_call(event.call, now)
        elif isinstance(event, CallCompleted):
            self._on_call_completed(event, now)
        elif isinstance(event, CallFailed):
            self._on_call_failed(event, now)
        elif isinstance(event, Finding):
            self.findings.append(event)
            self.last_error = str(event.violation)
            log.warning("station %s: CSMS finding: %s", self.station_id, event.violation)
            self.emit("finding", now, code=event.violation.code.value, description=str(event.violation),
                      message_id=event.violation.message_id)
        elif isinstance(event, IncomingSend):
            self.emit("send_received", now, action=event.send.action)

    def _on_incoming_call(self, call: Call, now: float) -> None:
        if self.registration == "Rejected":
            # A rejected station must not act on CSMS requests until accepted.
            self.rpc.reply_error(call.message_id, ErrorCode.SECURITY_ERROR, "station is not accepted", now,
                                 action=call.action)
            return
        if self.call_interceptor is not None and self.call_interceptor(call, now):
            return
        handler = self.handlers.calls.get(call.action)
        if handler is None:
            why = self.handlers.unimplemented.get(call.action, "not implemented by this station")
            self.rpc.reply_error(call.message_id, ErrorCode.NOT_IMPLEMENTED, f"{call.action}: {why}", now,
                                 action=call.action)
            return
        self._answering, self._answers = call.message_id, 0
        try:
            handler(self, call, now)
        except Exception as exc:
            log.exception("station %s: handler for %s failed", self.station_id, call.action)
            self.last_error = f"internal error handling {call.action}: {exc}"
            if self._answers == 0:
                self.rpc.reply_error(call.message_id, ErrorCode.INTERNAL_ERROR, f"internal error: {exc}", now,
                                     action=call.action)
        else:
            if self._answers == 0:
                log.error("station %s: handler for %s gave no answer", self.station_id, call.action)
                self.rpc.reply_error(call.message_id, ErrorCode.INTERNAL_ERROR,
                                     f"{call.action} was not answered by the station", now, action=call.action)
        finally:
            self._answering = None

    def answer(self, call: Call, payload: dict[str, Any], now: float) -> None:
        """Answer the CSMS's ``call`` with a CALLRESULT (once: a second answer raises :class:`SecondAnswer`)."""
        self._count_answer(call)
        self.rpc.reply(call, payload, now)

    def answer_error(self, call: Call, code: ErrorCode, description: str, now: float) -> None:
        """Answer the CSMS's ``call`` with a CALLERROR (once, like :meth:`answer`)."""
        self._count_answer(call)
        self.rpc.reply_error(call.message_id, code, description, now, action=call.action)

    def _count_answer(self, call: Call) -> None:
        if call.message_id == self._answering:
            if self._answers:
                raise SecondAnswer(call.action, call.message_id)
            self._answers += 1

    def _on_call_completed(self, event: CallCompleted, now: float) -> None:
        pending = event.pending
        if isinstance(pending.tag, QueuedMessage):
            self.queue.pop_head(pending.tag)
            self._tx_in_flight = None
        handler = self.handlers.results.get(pending.action)
        try:
            if pending.action == "BootNotification":
                self._boot_answered(event.payload, now)
            elif pending.action == "Heartbeat":
                self._heartbeat_answered(event.payload, now)
        except Exception as exc:
            log.exception("station %s: result handler for %s failed", self.station_id, pending.action)
            self.last_error = f"internal error handling {pending.action} answer: {exc}"
        if handler is not None:
            try:
                handler(self, pending, event.payload, now)
            except Exception as exc:
                log.exception("station %s: result handler for %s failed", self.station_id, pending.action)
                self.last_error = f"internal error handling {pending.action} answer: {exc}"
        self.pump_queue(now)

    def _on_call_failed(self, event: CallFailed, now: float) -> None:
        pending = event.pending
        why = event.reason if event.error is None else f"{event.reason}: {event.error}"
        if event.reason != "disconnected":
            self.last_error = f"{pending.action} failed ({why})"
            log.warning("station %s: %s %s failed: %s", self.station_id, pending.action, pending.message_id, why)
        if isinstance(pending.tag, QueuedMessage):
            self._tx_in_flight = None
            entry = pending.tag
            entry.attempts += 1
            if event.reason in ("error", "invalid_result") and entry.attempts >= self.transaction_message_attempts():
                # The CSMS refused it repeatedly: drop it, as the spec's retry limit prescribes.
                self.queue.pop_head(entry)
                self.emit("queue_drop", now, action=entry.action, key=entry.key, reason=why)
            elif event.reason != "disconnected":
                self.timers.set("tx_retry", now + self.transaction_retry_interval() * entry.attempts,
                                self.pump_queue)
                self.on_call_failed(pending, event, now)
                return
        self.on_call_failed(pending, event, now)
        if pending.action == "BootNotification" and event.reason != "disconnected":
            self.timers.set("boot", now + max(self.heartbeat_interval, 10), self._boot_timer)
        self.pump_queue(now)

    # -- outgoing ------------------------------------------------------------------------------------------------

    def send_call(self, action: str, payload: dict[str, Any], now: float, *, validate: bool = True,
                  tag: Any = None) -> PendingCall | Violation:
        """Send a CALL now (queued behind the one in flight). Not for transaction messages: use ``enqueue_tx``."""
        result = self.rpc.call(action, payload, now, validate_payload=validate, tag=tag)
        if isinstance(result, Violation):
            log.error("station %s: refusing to send invalid %s: %s", self.station_id, action, result)
            self.last_error = f"invalid {action} not sent: {result}"
        return result

    def enqueue_tx(self, action: str, payload: dict[str, Any], now: float, *, local_tx: str | None = None) -> None:
        """Queue a transaction message; it is delivered in order, once, when the station is online."""
        self.queue.push(action, payload, local_tx=local_tx, offline=not self.online)
        self.pump_queue(now)

    def pump_queue(self, now: float) -> None:
        if not self.online or self._tx_in_flight is not None or self.timers.is_set("tx_retry"):
            return
        entry = self.queue.head()
        if entry is None:
            return
        payload = self.prepare_queued(entry)
        if payload is None:
            return  # waiting for something (e.g. the transaction id of a StartTransaction still unanswered)
        pending = self.rpc.call(entry.action, payload, now, validate_payload=True, tag=entry,
                                message_id=entry.message_id)
        if isinstance(pending, Violation):
            log.error("station %s: dropping invalid queued %s: %s", self.station_id, entry.action, pending)
            self.queue.pop_head(entry)
            self.pump_queue(now)
            return
        entry.message_id = pending.message_id
        self._tx_in_flight = entry

    # -- registration and heartbeat -------------------------------------------------------------------------------

    def _boot_timer(self, now: float) -> None:
        if self.is_connected:
            self.send_call("BootNotification", self.boot_payload(), now)

    def _heartbeat_timer(self, now: float) -> None:
        if self.online:
            self.send_call("Heartbeat", {}, now)
        self.schedule_heartbeat(now)

    def schedule_heartbeat(self, now: float) -> None:
        if self.heartbeat_interval > 0:
            self.timers.set("heartbeat", now + self.heartbeat_interval, self._heartbeat_timer)
        else:
            self.timers.cancel("heartbeat")

    def set_heartbeat_interval(self, seconds: int, now: float) -> None:
        self.heartbeat_interval = seconds
        if self.online:
            self.schedule_heartbeat(now)

    def _boot_answered(self, payload: dict[str, Any], now: float) -> None:
        try:
            status = cast(Registration, REGISTRATION.fire(self.registration, str(payload.get("status"))))
        except IllegalTransition as exc:
            self.last_error = f"BootNotification answer: {exc}"
            status = "Rejected"
        interval = int(payload.get("interval", 0) or 0)
        self.clock.set_from_csms(payload.get("currentTime"), now)
        self.registration = status
        self.emit("registration", now, status=status, interval=interval)
        if status == "Accepted":
            if interval > 0:
                self.heartbeat_interval = interval
            self.schedule_heartbeat(now)
            self._boot_reason = "PowerUp"
            self.on_registered(now)
            self.pump_queue(now)
        else:
            # Pending or Rejected: retry the boot after the interval (or a sane default).
            self.timers.set("boot", now + (interval if interval > 0 else 30), self._boot_timer)

    def _heartbeat_answered(self, payload: dict[str, Any], now: float) -> None:
        self.last_heartbeat = now
        self.clock.set_from_csms(payload.get("currentTime"), now)
        self.emit("heartbeat", now)

    # -- hooks for versions ---------------------------------------------------------------------------------------

    def boot_payload(self) -> dict[str, Any]:
        raise NotImplementedError

    def on_registered(self, now: float) -> None:
        """Called when the CSMS accepted the boot."""

    def settle(self, now: float) -> None:
        """Called at the end of every input (a frame, a tick): apply what the input left pending."""

    def prepare_queued(self, entry: QueuedMessage) -> dict[str, Any] | None:
        return entry.payload

    def on_call_failed(self, pending: PendingCall, event: CallFailed, now: float) -> None:
        """Called when one of our calls failed (error, time-out, invalid answer, disconnect)."""

    def transaction_message_attempts(self) -> int:
        return 3

    def transaction_retry_interval(self) -> float:
        return 10.0

    def prepare_reboot(self, reason: str, now: float, delay: float = 1.0) -> None:
        """Ask the runtime to drop the connection and boot again with ``reason``."""
        self._boot_reason = reason
        self.request("reboot", delay, reason)

    # -- station-side events (the StationActions interface of ocppemu.station.actions) ----------------------------

    def plug_in(self, where: int, now: float, /) -> ActionResult:
        raise NotImplementedError

    def unplug(self, where: int, now: float, /) -> ActionResult:
        raise NotImplementedError

    def present_tag(self, where: int, id_tag: str | None, now: float, /) -> ActionResult:
        raise NotImplementedError

    def start(self, where: int, id_tag: str | None, now: float, /) -> ActionResult:
        raise NotImplementedError

    def stop(self, where: int, now: float, reason: str = "Local", /) -> ActionResult:
        raise NotImplementedError

    def suspend(self, where: int, by: SuspendBy, now: float, /) -> ActionResult:
        raise NotImplementedError

    def resume(self, where: int, now: float, /) -> ActionResult:
        raise NotImplementedError

    def inject_fault(self, where: int, error_code: str, now: float, /) -> ActionResult:
        raise NotImplementedError

    def recover(self, where: int, now: float, /) -> ActionResult:
        raise NotImplementedError

    def set_status(self, where: int, status: str, error_code: str, now: float, /) -> ActionResult:
        raise NotImplementedError

    def power_loss(self, now: float, /) -> ActionResult:
        raise NotImplementedError

    def fault_codes(self) -> tuple[str, ...]:
        raise NotImplementedError

    def network_drop(self, seconds: float, now: float, /) -> ActionResult:
        """The network drops for ``seconds`` (the runtime closes the connection and waits)."""
        if seconds < 0:
            return ActionResult.fail("seconds must not be negative")
        self.request("disconnect", seconds, "network drop")
        return ActionResult(True, data={"offline_seconds": seconds})

    def client_certificate(self) -> tuple[str, str] | None:
        """A certificate chain and key (PEM) the CSMS signed for this station, to use for mutual TLS; None
        when there is none (the configured client certificate, if any, is used then)."""
        return None

    def registers(self) -> dict[int, float]:
        """Energy registers (Wh) per connector (1.6) or EVSE (2.x), saved so a restart keeps them monotonic."""
        return {}

    def meter_readings(self, now: float) -> dict[int, tuple[float, float, float]]:
        """(energy register Wh, power W, SoC %) per connector (1.6) or EVSE (2.x) as the meter model has them at
        ``now``, without advancing the meters: cheap, for live views between two MeterValues samples."""
        return {}

    def active_transactions(self) -> dict[int, str]:
        """Running transactions by connector (1.6) or EVSE (2.x) id: cheap, for periodic state sync. A 1.6
        transaction the CSMS has not numbered yet shows its local key (``L1`` ...)."""
        return {}

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready view of the station's live state."""
        return {
            "station_id": self.station_id,
            "protocol_version": self.version.value,
            "connected": self.is_connected,
            "registration": self.registration,
            "heartbeat_interval": self.heartbeat_interval,
            "last_heartbeat": iso(self.last_heartbeat) if self.last_heartbeat else None,
            "queued_messages": len(self.queue),
            "findings": len(self.findings),
            "last_error": self.last_error,
        }


class SecondAnswer(RuntimeError):
    """A handler tried to answer a CSMS CALL it had already answered (rule: one answer per CALL)."""

    def __init__(self, action: str, message_id: str) -> None:
        self.action, self.message_id = action, message_id
        super().__init__(f"{action} {message_id!r} was already answered: a CALL gets exactly one answer")


@dataclass(slots=True)
class ActionResult:
    """The outcome of a user action: ``ok`` or a readable ``error``."""

    ok: bool
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fail(cls, error: str) -> ActionResult:
        return cls(False, error)
