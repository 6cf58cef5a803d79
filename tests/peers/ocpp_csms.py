"""An independent CSMS for the test suite, built on the third-party ``ocpp`` package (the test oracle).

It serves OCPP 1.6 and 2.0.1 (and, when asked for, 2.1) on 127.0.0.1,
validates every payload in both directions with the ``ocpp``
package's schemas (plus a stricter ``date-time`` check the package skips), records every frame a station sends
and every validation problem it sees, and lets a test send CSMS-initiated calls to a named station.

Recording contract:

* :attr:`PeerCsms.messages` keeps every frame received from each station, in arrival order, across stops and
  restarts of the server (the network-fault test counts them);
* :attr:`PeerCsms.errors` gets one :class:`PeerError` for every problem: an unparseable frame, a request that
  failed validation or had no handler (each answered with a CALLERROR by the ``ocpp`` package), a station
  answer to a CSMS call that failed validation. Tests assert ``peer.errors == []``.

OCPP 2.1 SEND frames (``[6, id, action, payload]``) are validated against the official 2.1 schema of the message
(the ``ocpp`` package has no SEND support), recorded with ``message_type`` 6 and never answered; a CALLRESULTERROR
from the station is recorded as an error.

A CALLERROR the station sends back to one of our calls is not an error of the station per se; it is raised from
:meth:`PeerCsms.call` as :class:`PeerCallError` and kept in :attr:`PeerCsms.call_errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import ssl
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, Draft6Validator, FormatChecker
from ocpp import v16, v21, v201
from ocpp.charge_point import ChargePoint
from ocpp.exceptions import FormatViolationError, OCPPError
from ocpp.messages import Call, CallError, MessageType, get_validator, validate_payload
from ocpp.routing import on
from ocpp.v16 import call_result as r16
from ocpp.v21 import call_result as r21
from ocpp.v201 import call_result as r201
from websockets.asyncio.server import Server, ServerConnection, basic_auth, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

log = logging.getLogger(__name__)

SUPPORTED = ("1.6", "2.0.1")
"""The versions offered by default."""
VERSIONS = ("1.6", "2.0.1", "2.1")
"""Every version the peer can serve (pass ``versions=("2.1",)`` for 2.1)."""
_SCHEMAS_21 = Path(__file__).resolve().parents[2] / "schemas" / "v21"
_send_validators: dict[str, Draft6Validator] = {}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# ----------------------------------------------------------------------------------------------- strict checks

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_format_checker = FormatChecker(formats=())


@_format_checker.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00").replace("t", "T"))
    return True


_strict_validators: dict[tuple[int, str, str], Draft4Validator] = {}


def strict_format_check(message_type_id: int, action: str, version: str, payload: Any) -> None:
    """Raise FormatViolationError if a ``date-time`` field of ``payload`` is not RFC 3339.

    The ``ocpp`` package validates without a format checker; a CSMS in the field parses these timestamps, so the
    oracle checks them too.
    """
    key = (message_type_id, action, version)
    validator = _strict_validators.get(key)
    if validator is None:
        try:
            base = get_validator(message_type_id, action, version)
        except OSError:  # no schema: the ocpp package answers NotImplemented / NotSupported itself
            return
        validator = Draft4Validator(base.schema, format_checker=_format_checker)
        _strict_validators[key] = validator
    problems = [e for e in validator.iter_errors(payload) if e.validator == "format"]
    if problems:
        raise FormatViolationError(details={"cause": problems[0].message})


# ------------------------------------------------------------------------------------------------ records


@dataclass(frozen=True, slots=True)
class Received:
    """One frame received from a station. For CALLRESULT/CALLERROR ``action`` is that of our request."""

    station_id: str
    message_type: int
    unique_id: str
    action: str | None
    payload: Any
    raw: str
    connection: int


@dataclass(frozen=True, slots=True)
class PeerError:
    """A problem the oracle saw; ``where`` is ``request`` (station CALL), ``response`` (station answer to our
    CALL) or ``frame`` (unparseable)."""

    station_id: str
    where: str
    action: str | None
    code: str
    description: str
    frame: str


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """What the peer saw of one accepted WebSocket connection."""

    station_id: str
    subprotocol: str | None
    path: str
    authorization: str | None
    username: str | None
    client_cert_subject: tuple[Any, ...] | None


class PeerCallError(Exception):
    """The station answered a CSMS call with a CALLERROR."""

    def __init__(self, code: str, description: str, details: Any) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.details = details


@dataclass(slots=True)
class Behaviour:
    """How the peer answers; change fields at any time (they are read on every request)."""

    boot_status: str = "Accepted"
    heartbeat_interval: int = 60
    accepted_tags: set[str] | None = None  # None: every idTag / idToken is accepted
    response_timeout: float = 10.0
    tag_statuses: dict[str, str] = field(default_factory=dict)  # a fixed status per tag (Blocked, Expired ...)

    def tag_status(self, tag: str | None) -> str:
        if tag is not None and tag in self.tag_statuses:
            return self.tag_statuses[tag]
        if tag is None or self.accepted_tags is None or tag in self.accepted_tags:
            return "Accepted"
        return "Invalid"


# ------------------------------------------------------------------------------------- ocpp ChargePoints


class _Recording:
    """Mixin over ``ocpp.ChargePoint``: records frames and errors into the owning :class:`PeerCsms`."""

    peer: PeerCsms
    id: str
    _ocpp_version: str
    connection_no: int

    def _init_recording(self, peer: PeerCsms, connection_no: int) -> None:
        self.peer = peer
        self.connection_no = connection_no
        self.pending_actions: dict[str, str] = {}

    async def route_message(self, raw_msg: str) -> None:
        try:
            frame = json.loads(raw_msg)
            kind, unique_id = int(frame[0]), str(frame[1])
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            self.peer._error(self.id, "frame", None, "FormatViolation", f"unparseable frame: {exc}", raw_msg)
            await super().route_message(raw_msg)  # type: ignore[misc]
            return
        action: str | None = None
        payload: Any = None
        if kind == MessageType.Call and len(frame) > 3:
            action, payload = frame[2], frame[3]
        elif kind == MessageType.CallResult and len(frame) > 2:
            action, payload = self.pending_actions.get(unique_id), frame[2]
        elif kind == MessageType.CallError:
            action, payload = self.pending_actions.get(unique_id), frame[2:]
        self.peer._record(Received(self.id, kind, unique_id, action, payload, raw_msg, self.connection_no))
        if kind not in (MessageType.Call, MessageType.CallResult, MessageType.CallError):
            self.peer._error(self.id, "frame", None, "MessageTypeNotSupported", f"message type {kind}", raw_msg)
        await super().route_message(raw_msg)  # type: ignore[misc]

    async def _handle_call(self, msg: Call) -> Any:
        strict_format_check(MessageType.Call, msg.action, self._ocpp_version, msg.payload)
        return await super()._handle_call(msg)  # type: ignore[misc]

    async def _send(self, message: str) -> None:
        frame = json.loads(message)
        if frame[0] == MessageType.CallError:
            # The ocpp package answers a request it rejects (validation failure, no handler, handler crash)
            # with a CALLERROR: every one of them is a finding against the station.
            request = self.peer._find_request(self.id, frame[1])
            self.peer._error(self.id, "request", request.action if request else None, frame[2], frame[3],
                             request.raw if request else message)
        await super()._send(message)  # type: ignore[misc]

    async def call_raw(self, action: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        call = Call(str(uuid.uuid4()), action, payload)
        await validate_payload(call, self._ocpp_version)  # our own request must be valid, or the test is wrong
        async with self._call_lock:  # type: ignore[attr-defined]
            self.pending_actions[call.unique_id] = action
            await self._send(call.to_json())
            response = await self._get_specific_response(call.unique_id, timeout)  # type: ignore[attr-defined]
        if isinstance(response, CallError):
            err = PeerCallError(response.error_code, response.error_description, response.error_details)
            self.peer.call_errors.append((self.id, action, err))
            raise err
        response.action = action
        try:
            await validate_payload(response, self._ocpp_version)
            strict_format_check(MessageType.CallResult, action, self._ocpp_version, response.payload)
        except OCPPError as exc:
            self.peer._error(self.id, "response", action, exc.code, str(exc.details or exc.description),
                             response.to_json())
            raise
        result: dict[str, Any] = json.loads(json.dumps(response.payload, default=float))
        return result


class PeerCp16(_Recording, v16.ChargePoint):  # type: ignore[misc]
    """OCPP 1.6 central-system side of one station connection."""

    @on("BootNotification")
    def on_boot(self, **_: Any) -> Any:
        b = self.peer.behaviour
        return r16.BootNotification(current_time=_now(), interval=b.heartbeat_interval, status=b.boot_status)

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        return r16.Heartbeat(current_time=_now())

    @on("StatusNotification")
    def on_status(self, **_: Any) -> Any:
        return r16.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_tag: str, **_: Any) -> Any:
        return r16.Authorize(id_tag_info={"status": self.peer.behaviour.tag_status(id_tag)})

    @on("StartTransaction")
    def on_start(self, id_tag: str, **_: Any) -> Any:
        tx = self.peer._next_transaction_id()
        self.peer.last_transaction[self.id] = tx
        return r16.StartTransaction(transaction_id=tx,
                                    id_tag_info={"status": self.peer.behaviour.tag_status(id_tag)})

    @on("StopTransaction")
    def on_stop(self, id_tag: str | None = None, **_: Any) -> Any:
        if id_tag is None:
            return r16.StopTransaction()
        return r16.StopTransaction(id_tag_info={"status": self.peer.behaviour.tag_status(id_tag)})

    @on("MeterValues")
    def on_meter_values(self, **_: Any) -> Any:
        return r16.MeterValues()

    @on("DataTransfer")
    def on_data_transfer(self, **_: Any) -> Any:
        return r16.DataTransfer(status="Accepted")

    @on("DiagnosticsStatusNotification")
    def on_diagnostics_status(self, **_: Any) -> Any:
        return r16.DiagnosticsStatusNotification()

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, **_: Any) -> Any:
        return r16.FirmwareStatusNotification()


class PeerCp201(_Recording, v201.ChargePoint):  # type: ignore[misc]
    """OCPP 2.0.1 CSMS side of one station connection."""

    @on("BootNotification")
    def on_boot(self, **_: Any) -> Any:
        b = self.peer.behaviour
        return r201.BootNotification(current_time=_now(), interval=b.heartbeat_interval, status=b.boot_status)

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        return r201.Heartbeat(current_time=_now())

    @on("StatusNotification")
    def on_status(self, **_: Any) -> Any:
        return r201.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> Any:
        status = self.peer.behaviour.tag_status(id_token.get("id_token"))
        return r201.Authorize(id_token_info={"status": status})

    @on("TransactionEvent")
    def on_transaction_event(self, id_token: dict[str, Any] | None = None, **_: Any) -> Any:
        if id_token is None:
            return r201.TransactionEvent()
        status = self.peer.behaviour.tag_status(id_token.get("id_token"))
        return r201.TransactionEvent(id_token_info={"status": status})

    @on("MeterValues")
    def on_meter_values(self, **_: Any) -> Any:
        return r201.MeterValues()

    @on("DataTransfer")
    def on_data_transfer(self, **_: Any) -> Any:
        return r201.DataTransfer(status="Accepted")

    @on("NotifyEvent")
    def on_notify_event(self, **_: Any) -> Any:
        return r201.NotifyEvent()

    @on("NotifyReport")
    def on_notify_report(self, **_: Any) -> Any:
        return r201.NotifyReport()

    @on("NotifyMonitoringReport")
    def on_notify_monitoring_report(self, **_: Any) -> Any:
        return r201.NotifyMonitoringReport()

    @on("SecurityEventNotification")
    def on_security_event(self, **_: Any) -> Any:
        return r201.SecurityEventNotification()

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, **_: Any) -> Any:
        return r201.FirmwareStatusNotification()

    @on("LogStatusNotification")
    def on_log_status(self, **_: Any) -> Any:
        return r201.LogStatusNotification()

    @on("ReservationStatusUpdate")
    def on_reservation_status(self, **_: Any) -> Any:
        return r201.ReservationStatusUpdate()

    @on("ReportChargingProfiles")
    def on_report_charging_profiles(self, **_: Any) -> Any:
        return r201.ReportChargingProfiles()

    @on("NotifyChargingLimit")
    def on_notify_charging_limit(self, **_: Any) -> Any:
        return r201.NotifyChargingLimit()

    @on("ClearedChargingLimit")
    def on_cleared_charging_limit(self, **_: Any) -> Any:
        return r201.ClearedChargingLimit()

    @on("NotifyEVChargingNeeds")
    def on_ev_charging_needs(self, **_: Any) -> Any:
        return r201.NotifyEVChargingNeeds(status="Accepted")

    @on("NotifyEVChargingSchedule")
    def on_ev_charging_schedule(self, **_: Any) -> Any:
        return r201.NotifyEVChargingSchedule(status="Accepted")

    @on("NotifyCustomerInformation")
    def on_customer_information(self, **_: Any) -> Any:
        return r201.NotifyCustomerInformation()

    @on("NotifyDisplayMessages")
    def on_display_messages(self, **_: Any) -> Any:
        return r201.NotifyDisplayMessages()

    @on("SignCertificate")
    def on_sign_certificate(self, **_: Any) -> Any:
        return r201.SignCertificate(status="Accepted")

    @on("Get15118EVCertificate")
    def on_get_15118_certificate(self, **_: Any) -> Any:
        return r201.Get15118EVCertificate(status="Accepted", exi_response="AAAA")

    @on("GetCertificateStatus")
    def on_get_certificate_status(self, **_: Any) -> Any:
        return r201.GetCertificateStatus(status="Accepted", ocsp_result="AAAA")

    @on("PublishFirmwareStatusNotification")
    def on_publish_firmware_status(self, **_: Any) -> Any:
        return r201.PublishFirmwareStatusNotification()


class PeerCp21(_Recording, v21.ChargePoint):  # type: ignore[misc]
    """OCPP 2.1 CSMS side of one station connection; also takes SEND frames (see the module docstring)."""


    async def route_message(self, raw_msg: str) -> None:
        try:
            frame = json.loads(raw_msg)
            kind = int(frame[0])
        except (ValueError, TypeError, IndexError, KeyError):
            await super().route_message(raw_msg)
            return
        if kind == 6:
            self._on_send(frame, raw_msg)
        elif kind == 5:
            unique_id = str(frame[1])
            self.peer._record(Received(self.id, kind, unique_id, self.pending_actions.get(unique_id), frame[2:],
                                       raw_msg, self.connection_no))
            self.peer._error(self.id, "response", self.pending_actions.get(unique_id), str(frame[2]),
                             "station sent CALLRESULTERROR", raw_msg)
        else:
            await super().route_message(raw_msg)

    def _on_send(self, frame: list[Any], raw_msg: str) -> None:
        if len(frame) != 4 or not isinstance(frame[2], str) or not isinstance(frame[3], dict):
            self.peer._error(self.id, "frame", None, "FormatViolation", "malformed SEND", raw_msg)
            return
        action, payload = frame[2], frame[3]
        self.peer._record(Received(self.id, 6, str(frame[1]), action, payload, raw_msg, self.connection_no))
        validator = _send_validators.get(action)
        if validator is None:
            path = _SCHEMAS_21 / f"{action}.json"
            if not path.is_file():
                self.peer._error(self.id, "request", action, "NotImplemented", "no SEND message of that name",
                                 raw_msg)
                return
            validator = Draft6Validator(json.loads(path.read_text(encoding="utf-8")), format_checker=_format_checker)
            _send_validators[action] = validator
        problems = list(validator.iter_errors(payload))
        if problems:
            self.peer._error(self.id, "request", action, "FormatViolation", problems[0].message, raw_msg)

    @on("BootNotification")
    def on_boot(self, **_: Any) -> Any:
        b = self.peer.behaviour
        return r21.BootNotification(current_time=_now(), interval=b.heartbeat_interval, status=b.boot_status)

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        return r21.Heartbeat(current_time=_now())

    @on("StatusNotification")
    def on_status(self, **_: Any) -> Any:
        return r21.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> Any:
        return r21.Authorize(id_token_info={"status": self.peer.behaviour.tag_status(id_token.get("id_token"))})

    @on("TransactionEvent")
    def on_transaction_event(self, id_token: dict[str, Any] | None = None, **_: Any) -> Any:
        if id_token is None:
            return r21.TransactionEvent()
        status = self.peer.behaviour.tag_status(id_token.get("id_token"))
        return r21.TransactionEvent(id_token_info={"status": status})

    @on("MeterValues")
    def on_meter_values(self, **_: Any) -> Any:
        return r21.MeterValues()

    @on("DataTransfer")
    def on_data_transfer(self, **_: Any) -> Any:
        return r21.DataTransfer(status="Accepted")

    @on("NotifyEvent")
    def on_notify_event(self, **_: Any) -> Any:
        return r21.NotifyEvent()

    @on("NotifyReport")
    def on_notify_report(self, **_: Any) -> Any:
        return r21.NotifyReport()

    @on("NotifyMonitoringReport")
    def on_notify_monitoring_report(self, **_: Any) -> Any:
        return r21.NotifyMonitoringReport()

    @on("SecurityEventNotification")
    def on_security_event(self, **_: Any) -> Any:
        return r21.SecurityEventNotification()

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, **_: Any) -> Any:
        return r21.FirmwareStatusNotification()

    @on("LogStatusNotification")
    def on_log_status(self, **_: Any) -> Any:
        return r21.LogStatusNotification()

    @on("ReservationStatusUpdate")
    def on_reservation_status(self, **_: Any) -> Any:
        return r21.ReservationStatusUpdate()

    @on("ReportChargingProfiles")
    def on_report_charging_profiles(self, **_: Any) -> Any:
        return r21.ReportChargingProfiles()

    @on("NotifyChargingLimit")
    def on_notify_charging_limit(self, **_: Any) -> Any:
        return r21.NotifyChargingLimit()

    @on("ClearedChargingLimit")
    def on_cleared_charging_limit(self, **_: Any) -> Any:
        return r21.ClearedChargingLimit()

    @on("NotifyEVChargingNeeds")
    def on_ev_charging_needs(self, **_: Any) -> Any:
        return r21.NotifyEVChargingNeeds(status="Accepted")

    @on("NotifyEVChargingSchedule")
    def on_ev_charging_schedule(self, **_: Any) -> Any:
        return r21.NotifyEVChargingSchedule(status="Accepted")

    @on("NotifyCustomerInformation")
    def on_customer_information(self, **_: Any) -> Any:
        return r21.NotifyCustomerInformation()

    @on("NotifyDisplayMessages")
    def on_display_messages(self, **_: Any) -> Any:
        return r21.NotifyDisplayMessages()

    @on("SignCertificate")
    def on_sign_certificate(self, **_: Any) -> Any:
        return r21.SignCertificate(status="Accepted")

    @on("Get15118EVCertificate")
    def on_get_15118_certificate(self, **_: Any) -> Any:
        return r21.Get15118EVCertificate(status="Accepted", exi_response="AAAA")

    @on("GetCertificateStatus")
    def on_get_certificate_status(self, **_: Any) -> Any:
        return r21.GetCertificateStatus(status="Accepted", ocsp_result="AAAA")

    @on("PublishFirmwareStatusNotification")
    def on_publish_firmware_status(self, **_: Any) -> Any:
        return r21.PublishFirmwareStatusNotification()

    @on("OpenPeriodicEventStream")
    def on_open_stream(self, **_: Any) -> Any:
        return r21.OpenPeriodicEventStream(status="Accepted")

    @on("ClosePeriodicEventStream")
    def on_close_stream(self, **_: Any) -> Any:
        return r21.ClosePeriodicEventStream()

    @on("NotifyPriorityCharging")
    def on_priority_charging(self, **_: Any) -> Any:
        return r21.NotifyPriorityCharging()

    @on("BatterySwap")
    def on_battery_swap(self, **_: Any) -> Any:
        return r21.BatterySwap()

    @on("ReportDERControl")
    def on_report_der_control(self, **_: Any) -> Any:
        return r21.ReportDERControl()

    @on("NotifyDERAlarm")
    def on_der_alarm(self, **_: Any) -> Any:
        return r21.NotifyDERAlarm()

    @on("NotifyDERStartStop")
    def on_der_start_stop(self, **_: Any) -> Any:
        return r21.NotifyDERStartStop()

    @on("PullDynamicScheduleUpdate")
    def on_pull_dynamic_schedule(self, **_: Any) -> Any:
        return r21.PullDynamicScheduleUpdate(status="Accepted", schedule_update={"limit": 4000.0})


_CP_CLASSES: dict[str, type[ChargePoint]] = {"ocpp1.6": PeerCp16, "ocpp2.0.1": PeerCp201, "ocpp2.1": PeerCp21}


# ---------------------------------------------------------------------------------------------- the server


@dataclass
class PeerCsms:
    """The oracle CSMS. ``await start()`` (or ``async with``) listens on ``host`` and a free port that stays
    the same across :meth:`stop` / :meth:`start`, so stations can reconnect to a restarted server.

    ``ssl_context``: serve ``wss://`` (set ``verify_mode = CERT_REQUIRED`` on it to demand client
    certificates). ``basic_auth``: required ``(username, password)``; other or missing credentials get HTTP 401.
    ``versions``: the OCPP versions offered (subprotocol negotiation; a client offering none gets HTTP 400).
    """

    versions: Iterable[str] = SUPPORTED
    ssl_context: ssl.SSLContext | None = None
    basic_auth: tuple[str, str] | None = None
    host: str = "127.0.0.1"
    port: int = 0
    behaviour: Behaviour = field(default_factory=Behaviour)
    messages: dict[str, list[Received]] = field(default_factory=lambda: defaultdict(list))
    errors: list[PeerError] = field(default_factory=list)
    call_errors: list[tuple[str, str, PeerCallError]] = field(default_factory=list)
    connections: list[ConnectionInfo] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    last_transaction: dict[str, int] = field(default_factory=dict)  # 1.6: the transaction id last given per station

    def __post_init__(self) -> None:
        self.versions = tuple(self.versions)
        unknown = set(self.versions) - set(VERSIONS)
        if unknown:
            raise ValueError(f"the peer CSMS supports {VERSIONS}, not {sorted(unknown)}")
        self._server: Server | None = None
        self._stations: dict[str, ChargePoint] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()
        self._transaction_ids = itertools.count(1)
        self._connection_numbers = itertools.count(1)

    # -- life cycle

    @property
    def url(self) -> str:
        """Base URL; stations append ``/<station id>``."""
        scheme = "wss" if self.ssl_context is not None else "ws"
        return f"{scheme}://{self.host}:{self.port}/ocpp"

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> PeerCsms:
        """Listen (again) on ``port``; the first start picks a free port when ``port`` is 0."""
        if self._server is not None:
            return self
        process_request: Callable[..., Any] | None = None
        if self.basic_auth is not None:
            process_request = basic_auth(realm="peer-csms", credentials=self.basic_auth)
        self._server = await serve(
            self._handler,
            self.host,
            self.port,
            subprotocols=[Subprotocol("ocpp" + v) for v in self.versions],
            process_request=process_request,
            ssl=self.ssl_context,
            ping_interval=None,
            compression=None,
        )
        self.port = int(next(iter(self._server.sockets)).getsockname()[1])
        log.info("peer CSMS listening on %s", self.url)
        return self

    async def stop(self, *, abrupt: bool = False) -> None:
        """Stop listening and drop every connection; ``abrupt`` cuts TCP without a close frame (a crash).

        Recorded messages and errors are kept.
        """
        server, self._server = self._server, None
        if server is None:
            return
        if abrupt:
            for conn in list(server.connections):
                conn.transport.abort()
        server.close(close_connections=not abrupt)
        for task in list(self._tasks):
            task.cancel()
        await server.wait_closed()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._stations.clear()

    async def restart(self, *, abrupt: bool = False, down_for: float = 0.0) -> None:
        await self.stop(abrupt=abrupt)
        if down_for:
            await asyncio.sleep(down_for)
        await self.start()

    async def __aenter__(self) -> PeerCsms:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- what tests read

    def received(self, station_id: str, action: str | None = None, *, calls_only: bool = True) -> list[Received]:
        """Frames received from ``station_id`` (CALLs only by default), optionally of one action."""
        return [
            m for m in self.messages.get(station_id, [])
            if (not calls_only or m.message_type == MessageType.Call) and (action is None or m.action == action)
        ]

    def received_sends(self, station_id: str, action: str | None = None) -> list[Received]:
        """OCPP 2.1 SEND frames received from ``station_id``, optionally of one action."""
        return [m for m in self.messages.get(station_id, [])
                if m.message_type == 6 and (action is None or m.action == action)]

    def actions(self, station_id: str) -> list[str]:
        """Actions of the CALLs ``station_id`` sent, in order."""
        return [m.action for m in self.received(station_id) if m.action is not None]

    def is_connected(self, station_id: str) -> bool:
        return station_id in self._stations

    async def wait_for_station(self, station_id: str, timeout: float = 10.0) -> None:
        """Wait until ``station_id`` has an open connection."""
        await self._wait(lambda: station_id in self._stations, timeout)

    async def wait_for(
        self, station_id: str, action: str, count: int = 1, timeout: float = 10.0,
        where: Callable[[Received], bool] | None = None,
    ) -> list[Received]:
        """Wait until ``station_id`` sent at least ``count`` CALLs of ``action`` (matching ``where``)."""
        def matching() -> list[Received]:
            return [m for m in self.received(station_id, action) if where is None or where(m)]
        await self._wait(lambda: len(matching()) >= count, timeout)
        return matching()

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a CSMS-initiated CALL (payload exactly as on the wire) and return the station's answer.

        The request is validated first (a bad request is a bug in the test). Raises ``KeyError`` when the
        station is not connected, :class:`PeerCallError` on a CALLERROR, an ``OCPPError`` when the answer fails
        validation (also recorded in :attr:`errors`) and ``TimeoutError`` without an answer.
        """
        cp = self._stations[station_id]
        wait = self.behaviour.response_timeout if timeout is None else timeout
        result: dict[str, Any] = await cp.call_raw(action, payload, wait)  # type: ignore[attr-defined]
        return result

    def charge_point(self, station_id: str) -> ChargePoint:
        """The ``ocpp`` package's object for a connected station (for its typed ``call`` API)."""
        return self._stations[station_id]

    # -- internals

    async def _wait(self, predicate: Callable[[], bool], timeout: float) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _record(self, message: Received) -> None:
        self.messages[message.station_id].append(message)
        task = asyncio.get_running_loop().create_task(self._notify())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _error(self, station_id: str, where: str, action: str | None, code: str, description: str,
               frame: str) -> None:
        log.warning("peer CSMS: %s %s from %s: %s %s | %s", where, action, station_id, code, description, frame)
        self.errors.append(PeerError(station_id, where, action, code, description, frame))

    def _find_request(self, station_id: str, unique_id: str) -> Received | None:
        for m in reversed(self.messages.get(station_id, [])):
            if m.unique_id == unique_id and m.message_type == MessageType.Call:
                return m
        return None

    def _next_transaction_id(self) -> int:
        return next(self._transaction_ids)

    async def _handler(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else "/"
        station_id = path.rstrip("/").rsplit("/", 1)[-1]
        cls = _CP_CLASSES.get(ws.subprotocol or "")
        if not station_id or cls is None:
            self.refused.append(f"{path} {ws.subprotocol}")
            await ws.close(1002, "no OCPP subprotocol agreed")
            return
        cert = ws.transport.get_extra_info("peercert")
        self.connections.append(ConnectionInfo(
            station_id, ws.subprotocol, path,
            ws.request.headers.get("Authorization") if ws.request is not None else None,
            getattr(ws, "username", None),
            tuple(cert.get("subject", ())) if cert else None,
        ))
        cp = cls(station_id, ws, response_timeout=self.behaviour.response_timeout)
        cp._init_recording(self, next(self._connection_numbers))  # type: ignore[attr-defined]
        self._stations[station_id] = cp
        await self._notify()
        try:
            await cp.start()
        except ConnectionClosed:
            pass
        finally:
            if self._stations.get(station_id) is cp:
                del self._stations[station_id]
            with contextlib.suppress(RuntimeError):
                await self._notify()
