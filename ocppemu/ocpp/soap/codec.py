"""The SOAP wire codec of one OCPP 1.6 endpoint: frames <-> validated SOAP 1.2 envelopes.

:class:`SoapCodec` is what :class:`~ocppemu.ocpp.rpc.RpcEndpoint` uses instead of OCPP-J framing when a station
talks OCPP 1.6 over SOAP (``role="station"``) or when the demo CSMS answers one (``role="csms"``):

* :meth:`SoapCodec.serialise` turns a CALL into a request envelope of the service the peer serves (headers
  ``chargeBoxIdentity``, ``Action``, ``MessageID``, ``From``, ``ReplyTo``, ``To``), a CALLRESULT into the response
  envelope (``Action``, ``MessageID``, ``RelatesTo``, ``To``) and a CALLERROR into a SOAP 1.2 Fault
  (``Sender``/``Receiver`` with the OCPP error code as subcode).
* :meth:`SoapCodec.parse` reads an envelope back into a frame. An envelope that is not SOAP, misses a header the
  binding requires, names another charge box, or whose body the WSDL schema rejects becomes a
  :class:`~ocppemu.ocpp.errors.Violation`: answerable for requests (the endpoint answers it with a Fault and keeps
  a finding), not answerable for answers (the call it answers fails as ``invalid_result``).

The OCPP message id of a frame is the WS-Addressing MessageID without its ``urn:uuid:`` prefix; the exact MessageID
of each request received is remembered until it is answered, so ``RelatesTo`` repeats it character for character.
Every envelope written is validated too; a problem (only possible with crafted payloads) is logged and kept in
:attr:`SoapCodec.last_sent_problem`.
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from typing import Any, Literal

from ocppemu.ocpp.errors import ErrorCode, Violation
from ocppemu.ocpp.framing import Call, CallError, CallResult, CallResultError, Frame, Send
from ocppemu.ocpp.soap import envelope as env
from ocppemu.ocpp.soap import mapping
from ocppemu.ocpp.soap.wsdl import Service, calling, serving

log = logging.getLogger(__name__)

Role = Literal["station", "csms"]
_REMEMBERED_IDS = 1024
_SENDER_CODES = frozenset({
    "FormatViolation", "FormationViolation", "PropertyConstraintViolation", "OccurrenceConstraintViolation",
    "OccurenceConstraintViolation", "TypeConstraintViolation", "ProtocolError", "SecurityError", "NotImplemented",
    "NotSupported",
})


def _frame_id(wire_id: str) -> str:
    return wire_id[9:] if wire_id.startswith("urn:uuid:") and len(wire_id) > 9 else wire_id


def _wire_id(frame_id: str) -> str:
    return frame_id if ":" in frame_id else f"urn:uuid:{frame_id}"


class SoapCodec:
    """Frames of one endpoint to and from SOAP envelopes. ``to`` is the peer's service URL (for ``wsa:To`` of
    our requests), ``from_address`` our own service URL (``wsa:From``; the station's ChargePointService)."""

    def __init__(self, station_id: str, *, role: Role = "station", to: str | None = None,
                 from_address: str | None = None) -> None:
        self.station_id = station_id
        self.role: Role = role
        self.to = to
        self.from_address = from_address
        self.served: Service = serving(role)
        self.called: Service = calling(role)
        self.last_sent_problem: Violation | None = None
        self._wire_ids: OrderedDict[str, str] = OrderedDict()

    # -- writing ---------------------------------------------------------------------------------------------------

    def serialise(self, frame: Frame, action: str | None = None) -> str:
        """The envelope for ``frame``; ``action`` names the operation a CALLRESULT / CALLERROR answers."""
        if isinstance(frame, Call | Send):
            return self._request(frame.message_id, frame.action, frame.payload)
        relates = self._wire_ids.pop(frame.message_id, None) or _wire_id(frame.message_id)
        if isinstance(frame, CallResult):
            return self._response(relates, action, frame.payload)
        return self._fault(relates, frame)

    def _request(self, message_id: str, action: str, payload: dict[str, Any]) -> str:
        svc = self.called
        op = svc.operations.get(action)
        local = op.request_element if op else f"{action[:1].lower()}{action[1:]}Request"
        body = mapping.encode(payload, svc.schema.elements.get(local), local, svc.namespace)
        self._check_sent(svc, body, action, message_id)
        return env.build(body, action=op.request_action if op else f"/{action}", message_id=_wire_id(message_id),
                         service_ns=svc.namespace, charge_box_identity=self.station_id, to=self.to,
                         from_address=self.from_address if self.role == "station" else None,
                         reply_to=env.ANONYMOUS)

    def _response(self, relates_to: str, action: str | None, payload: dict[str, Any]) -> str:
        svc = self.served
        op = svc.operations.get(action or "")
        local = op.response_element if op else f"{(action or 'unknown')[:1].lower()}{(action or 'unknown')[1:]}Response"
        body = mapping.encode(payload, svc.schema.elements.get(local), local, svc.namespace)
        self._check_sent(svc, body, action, relates_to)
        return env.build(body, action=op.response_action if op else f"/{action}Response",
                         message_id=f"urn:uuid:{uuid.uuid4()}", service_ns=svc.namespace, relates_to=relates_to,
                         to=env.ANONYMOUS)

    def _fault(self, relates_to: str, frame: CallError | CallResultError) -> str:
        svc = self.served
        code = "Sender" if frame.error_code in _SENDER_CODES else "Receiver"
        body = env.fault_element(code, frame.error_code, frame.error_description or frame.error_code, svc.namespace)
        return env.build(body, action=env.FAULT_ACTION, message_id=f"urn:uuid:{uuid.uuid4()}",
                         service_ns=svc.namespace, relates_to=None if relates_to in ("-1", "urn:uuid:-1")
                         else relates_to, to=env.ANONYMOUS)

    def _check_sent(self, svc: Service, body: Any, action: str | None, message_id: str) -> None:
        if body.tag.split("}", 1)[-1] not in svc.schema.elements:
            errors = [mapping.SchemaError(f"{action} is not an operation of {svc.name}", "", "")]
        else:
            errors = mapping.problems(svc.validator, body)
        self.last_sent_problem = mapping.violation_from(errors, action=action, message_id=message_id,
                                                        answerable=False)
        if self.last_sent_problem is not None:
            log.warning("station %s: sending an envelope the WSDL schema rejects: %s", self.station_id,
                        self.last_sent_problem)

    # -- reading ---------------------------------------------------------------------------------------------------

    def parse(self, text: str | bytes) -> Frame | Violation:
        """The frame in envelope ``text``, or the violation that makes it unusable (see the module docstring)."""
        try:
            e = env.parse(text)
        except env.EnvelopeError as exc:
            if exc.relates_to is not None:
                return Violation(ErrorCode.FORMAT_VIOLATION, exc.message, message_id=_frame_id(exc.relates_to),
                                 answerable=False)
            mid = self._remember(exc.message_id) if exc.message_id else "-1"
            return Violation(ErrorCode.FORMAT_VIOLATION, exc.message, message_id=mid)
        if e.fault is not None:
            if e.relates_to is None:
                return Violation(ErrorCode.PROTOCOL_ERROR, "a SOAP Fault without a RelatesTo header",
                                 message_id=None, answerable=False)
            return CallError(_frame_id(e.relates_to), e.fault.subcode or "GenericError",
                             e.fault.reason, {"soapFaultCode": e.fault.code})
        assert e.body is not None
        local = e.body.tag.split("}", 1)[-1] if isinstance(e.body.tag, str) else ""
        ns = e.body.tag[1:].split("}", 1)[0] if isinstance(e.body.tag, str) and e.body.tag.startswith("{") else ""
        for svc in (self.served, self.called):
            if ns != svc.namespace:
                continue
            found = svc.by_element(local)
            if found is None:
                continue
            op, kind = found
            if kind == "response":
                return self._read_answer(e, svc, op.action, op.response_element, op.response_action)
            return self._read_request(e, svc, op.action, op.request_element, op.request_action)
        if e.relates_to is not None:
            return Violation(ErrorCode.FORMAT_VIOLATION, f"unknown answer element {e.body.tag!r}",
                             message_id=_frame_id(e.relates_to), answerable=False)
        mid = self._remember(e.message_id) if e.message_id else "-1"
        return Violation(ErrorCode.NOT_IMPLEMENTED,
                         f"{e.body.tag!r} is not a request of the OCPP 1.6 {self.served.name}",
                         message_id=mid, action=local or None)

    def _read_answer(self, e: env.Envelope, svc: Service, action: str, element: str,
                     expected_action: str) -> Frame | Violation:
        if e.relates_to is None:
            return Violation(ErrorCode.PROTOCOL_ERROR, f"{action} answer without a RelatesTo header",
                             action=action, answerable=False)
        mid = _frame_id(e.relates_to)
        assert e.body is not None
        errors = mapping.problems(svc.validator, e.body)
        payload = mapping.decode(svc.element(element), e.body)
        problem = mapping.violation_from(errors, action=action, message_id=mid, answerable=False)
        if problem is None and e.action is not None and e.action != expected_action:
            problem = Violation(ErrorCode.PROTOCOL_ERROR,
                                f"Action header {e.action!r} does not match the {element} body "
                                f"(expected {expected_action!r})", message_id=mid, action=action, answerable=False)
        return problem or CallResult(mid, payload)

    def _read_request(self, e: env.Envelope, svc: Service, action: str, element: str,
                      expected_action: str) -> Frame | Violation:
        if not e.message_id:
            return Violation(ErrorCode.PROTOCOL_ERROR, f"{action} request without a MessageID header",
                             message_id="-1", action=action)
        mid = self._remember(e.message_id)
        if e.action != expected_action:
            return Violation(ErrorCode.PROTOCOL_ERROR,
                             f"Action header {e.action!r} does not match the {element} body "
                             f"(expected {expected_action!r})", message_id=mid, action=action)
        if e.charge_box_identity is None:
            return Violation(ErrorCode.PROTOCOL_ERROR, f"{action} request without a chargeBoxIdentity header",
                             message_id=mid, action=action)
        if self.role == "station" and svc is self.served and e.charge_box_identity != self.station_id:
            return Violation(ErrorCode.SECURITY_ERROR,
                             f"chargeBoxIdentity {e.charge_box_identity!r} is not this charge point "
                             f"({self.station_id!r})", message_id=mid, action=action)
        assert e.body is not None
        errors = mapping.problems(svc.validator, e.body)
        payload = mapping.decode(svc.element(element), e.body)
        problem = mapping.violation_from(errors, action=action, message_id=mid, answerable=True)
        return problem or Call(mid, action, payload)

    def _remember(self, wire_id: str) -> str:
        frame_id = _frame_id(wire_id)
        self._wire_ids[frame_id] = wire_id
        self._wire_ids.move_to_end(frame_id)
        while len(self._wire_ids) > _REMEMBERED_IDS:
            self._wire_ids.popitem(last=False)
        return frame_id

    def peer_identity(self, text: str | bytes) -> str | None:
        """The ``chargeBoxIdentity`` of an envelope (for a CSMS routing requests to stations), or ``None``."""
        try:
            return env.parse(text).charge_box_identity
        except env.EnvelopeError:
            return None
