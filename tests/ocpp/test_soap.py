"""The sans-I/O SOAP codec: JSON payloads <-> envelopes by the official WSDLs, addressing, faults, violations.

Agreement with the WSDL is checked by two validators: the test peer's own libxml2 schema (built from the WSDL file
without ocppemu code) and the pure-Python ``xmlschema`` validator.
"""

from __future__ import annotations

import random

import pytest
from lxml import etree

from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.errors import ErrorCode, Violation
from ocppemu.ocpp.framing import Call, CallError, CallResult
from ocppemu.ocpp.payload_templates import template_for
from ocppemu.ocpp.rpc import CallFailed, Finding, IncomingCall, RpcEndpoint
from ocppemu.ocpp.soap import envelope as env
from ocppemu.ocpp.soap.codec import SoapCodec
from ocppemu.ocpp.soap.wsdl import service
from ocppemu.ocpp.validation import validate
from ocppemu.ocpp.versions import Version
from tests.peers.soap_csms import CP_WSDL, CS_WSDL, WsdlChecker

CS_CHECK, CP_CHECK = WsdlChecker(CS_WSDL), WsdlChecker(CP_WSDL)
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


def pair() -> tuple[SoapCodec, SoapCodec]:
    return (SoapCodec("CP1", role="station", to="http://cs.test/ocpp", from_address="http://cp.test:8080/"),
            SoapCodec("CP1", role="csms", to="http://cp.test:8080/"))


def body_of(text: str) -> etree._Element:
    root = etree.fromstring(text.encode())
    return root.find(f"{{{SOAP12}}}Body")[0]


def _numbers_as_float(value: object) -> object:
    if isinstance(value, dict):
        return {k: _numbers_as_float(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers_as_float(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _cases() -> list[tuple[str, str, bool]]:
    out = []
    for name, who in (("CentralSystemService", "station"), ("ChargePointService", "csms")):
        for action in service(name).operations:  # type: ignore[arg-type]
            for optional in (False, True):
                out.append((action, who, optional))
    return out


@pytest.mark.parametrize(("action", "caller", "optional"), _cases())
def test_every_operation_round_trips_and_validates(action: str, caller: str, optional: bool) -> None:
    station, csms = pair()
    sender, receiver = (station, csms) if caller == "station" else (csms, station)
    spec = catalogue(Version.V16)[action]
    rng = random.Random(7)
    request = template_for(spec.request_schema, optional=optional, rng=rng)
    assert validate(Version.V16, action, "request", request) is None
    text = sender.serialise(Call("m-1", action, request))
    checker = CS_CHECK if caller == "station" else CP_CHECK
    model = service("CentralSystemService" if caller == "station" else "ChargePointService").schema
    assert checker.errors(body_of(text)) == [], text
    assert list(model.iter_errors(body_of(text))) == []
    assert sender.last_sent_problem is None
    got = receiver.parse(text)
    assert isinstance(got, Call) and got.action == action and got.message_id == "m-1"
    assert _numbers_as_float(got.payload) == _numbers_as_float(request)
    response = template_for(spec.response_schema, optional=optional, rng=rng)
    answer = receiver.serialise(CallResult(got.message_id, response), action)
    assert checker.errors(body_of(answer)) == [], answer
    assert list(model.iter_errors(body_of(answer))) == []
    back = sender.parse(answer)
    assert isinstance(back, CallResult) and back.message_id == "m-1"
    assert _numbers_as_float(back.payload) == _numbers_as_float(response)


def test_request_headers_follow_the_binding() -> None:
    station, _ = pair()
    text = station.serialise(Call("abc", "Heartbeat", {}))
    e = env.parse(text)
    assert (e.action, e.message_id, e.to, e.from_address, e.reply_to, e.charge_box_identity) == (
        "/Heartbeat", "urn:uuid:abc", "http://cs.test/ocpp", "http://cp.test:8080/", env.ANONYMOUS, "CP1")
    assert e.relates_to is None


def test_answer_relates_to_the_exact_message_id_received() -> None:
    station, csms = pair()
    request = csms.serialise(Call("x", "ClearCache", {})).replace("urn:uuid:x", "plain-id-without-scheme")
    call = station.parse(request)
    assert isinstance(call, Call)
    answer = env.parse(station.serialise(CallResult(call.message_id, {"status": "Accepted"}), "ClearCache"))
    assert answer.relates_to == "plain-id-without-scheme" and answer.action == "/ClearCacheResponse"
    assert answer.message_id and answer.message_id != answer.relates_to


def test_call_error_becomes_a_soap_12_fault_and_back() -> None:
    station, csms = pair()
    call = station.parse(csms.serialise(Call("q", "Reset", {"type": "Hard"})))
    assert isinstance(call, Call)
    fault_text = station.serialise(CallError("q", "NotSupported", "no resets today", {}), "Reset")
    e = env.parse(fault_text)
    assert e.action == env.FAULT_ACTION and e.relates_to == "urn:uuid:q"
    assert e.fault is not None and (e.fault.code, e.fault.subcode, e.fault.reason) == (
        "Sender", "NotSupported", "no resets today")
    back = csms.parse(fault_text)
    assert isinstance(back, CallError) and back.error_code == "NotSupported" and back.message_id == "q"
    internal = env.parse(station.serialise(CallError("q", "InternalError", "boom", {}), "Reset"))
    assert internal.fault is not None and internal.fault.code == "Receiver"


@pytest.mark.parametrize(("mutate", "code", "answerable"), [
    (lambda t: "not xml at all", ErrorCode.FORMAT_VIOLATION, True),
    (lambda t: t.replace("http://www.w3.org/2003/05/soap-envelope", "http://schemas.xmlsoap.org/soap/envelope/"),
     ErrorCode.FORMAT_VIOLATION, True),
    (lambda t: t.replace("<ocpp:type>Hard</ocpp:type>", "<ocpp:type>Sideways</ocpp:type>"),
     ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, True),
    (lambda t: t.replace("<ocpp:type>Hard</ocpp:type>", ""), ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION, True),
    (lambda t: t.replace(">CP1<", ">CP2<"), ErrorCode.SECURITY_ERROR, True),
    (lambda t: t.replace("<a:Action>/Reset</a:Action>", "<a:Action>/Other</a:Action>"), ErrorCode.PROTOCOL_ERROR,
     True),
])
def test_bad_requests_become_answerable_violations(mutate, code, answerable) -> None:  # type: ignore[no-untyped-def]
    station, csms = pair()
    text = mutate(csms.serialise(Call("r1", "Reset", {"type": "Hard"})))
    got = station.parse(text)
    assert isinstance(got, Violation), got
    assert got.code is code and got.answerable is answerable
    assert got.message_id in ("r1", "-1")


def test_rpc_endpoint_answers_a_bad_envelope_with_a_fault_and_keeps_a_finding() -> None:
    _, csms = pair()
    rpc = RpcEndpoint(Version.V16, "CP1", codec=SoapCodec("CP1", to="http://cs.test/"))
    bad = csms.serialise(Call("r1", "Reset", {"type": "Hard"})).replace(">Hard<", ">Sideways<")
    events = rpc.receive(bad, 1.0)
    assert [type(e) for e in events] == [Finding]
    (answer,) = rpc.take_outbox()
    fault = env.parse(answer)
    assert fault.fault is not None and fault.fault.code == "Sender" and fault.relates_to == "urn:uuid:r1"
    good = rpc.receive(csms.serialise(Call("r2", "Reset", {"type": "Soft"})), 2.0)
    assert [type(e) for e in good] == [IncomingCall]


def test_an_invalid_answer_fails_the_call_at_once() -> None:
    station_codec, csms = pair()
    rpc = RpcEndpoint(Version.V16, "CP1", codec=station_codec)
    pending = rpc.call("Heartbeat", {}, 1.0)
    assert not isinstance(pending, Violation)
    (sent,) = rpc.take_outbox()
    assert env.parse(sent).action == "/Heartbeat"
    answer = csms.serialise(CallResult(pending.message_id, {"currentTime": "yesterday"}), "Heartbeat")
    events = rpc.receive(answer, 2.0)
    kinds = [type(e) for e in events]
    assert kinds == [Finding, CallFailed] and events[1].reason == "invalid_result"  # type: ignore[union-attr]
    assert rpc.in_flight is None


def test_lenient_encoding_of_crafted_payloads_is_reported_not_raised() -> None:
    station, _ = pair()
    text = station.serialise(Call("c", "StatusNotification", {"connectorId": "one", "bogus": {"x": [1, 2]}}))
    assert "<ocpp:bogus>" in text and station.last_sent_problem is not None
    assert CS_CHECK.errors(body_of(text))  # the independent validator agrees it is invalid


def test_peek_routes_without_interpreting() -> None:
    station, csms = pair()
    req = env.peek(station.serialise(Call("a", "Heartbeat", {})))
    assert req is not None and req.message_id == "urn:uuid:a" and req.relates_to is None and not req.is_fault
    ans = env.peek(csms.serialise(CallResult("a", {"currentTime": "2026-01-01T00:00:00Z"}), "Heartbeat"))
    assert ans is not None and ans.relates_to == "urn:uuid:a"
    assert env.peek("<<<") is None


def test_entities_are_not_resolved() -> None:
    station, _ = pair()
    evil = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&e;</s:Body></s:Envelope>')
    got = station.parse(evil)
    assert isinstance(got, Violation)
    assert "root:" not in got.description
