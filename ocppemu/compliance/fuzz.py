"""Schema-driven fuzzing of a CSMS, sans-I/O: the frames to send and the judgement of each answer.

:func:`generate` makes ``n`` :class:`FuzzCase` s from the official schemas of the station-initiated actions of a
version, reproducibly from a seed: valid payloads with boundary values (shortest and longest strings, minimum and
maximum numbers), and one broken rule per frame: a required field missing, a field of the wrong type, an extra
field where the schema forbids one, a string one character too long, a number out of range, a value outside an
enumeration, a payload that is not an object, an unknown action, an action the station may not send, a bad message
id, an unknown message type, a frame with elements missing, text that is not JSON.

:func:`judge` compares the CSMS's answer (a parsed frame, nothing, or a dropped connection) with what the OCPP-J
rules require for that case and returns the findings. The accepted CallError codes per case follow OCPP-J §4.2.3
(1.6 and 2.0.1 Part 4): e.g. a missing required field is an OccurrenceConstraintViolation (the 1.6 text also reads
it as ProtocolError, "payload incomplete"), a wrong type a TypeConstraintViolation, an unreadable frame an
RpcFrameworkError (2.x) / FormatViolation (1.6); FormatViolation ("not conform the PDU structure") is accepted for
every payload fault. A NotImplemented / NotSupported answer for an action of the version is not judged (the
CSMS does not implement that optional action). A frame whose message id cannot be read need not be answered in
1.6; in 2.x not answering it is a warning.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ocppemu.compliance.findings import ComplianceFinding
from ocppemu.compliance.rules import RULES, Severity
from ocppemu.ocpp import framing
from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.errors import V16_ORIGINAL_SPELLING, Violation, wire_code
from ocppemu.ocpp.framing import Call, CallError, CallResult
from ocppemu.ocpp.validation import Part, validate
from ocppemu.ocpp.versions import Version

KINDS = ("valid", "boundary", "missing-field", "wrong-type", "extra-field", "over-long", "out-of-range", "bad-enum",
         "not-an-object", "unknown-action", "wrong-direction", "bad-message-id", "bad-message-type",
         "missing-elements", "malformed-json")
_PAYLOAD_FORMAT = "FormatViolation"
_ACCEPT: dict[str, frozenset[str]] = {
    "missing-field": frozenset({"OccurrenceConstraintViolation", "ProtocolError", _PAYLOAD_FORMAT}),
    "wrong-type": frozenset({"TypeConstraintViolation", _PAYLOAD_FORMAT}),
    "extra-field": frozenset({_PAYLOAD_FORMAT, "PropertyConstraintViolation", "ProtocolError"}),
    "over-long": frozenset({"PropertyConstraintViolation", "TypeConstraintViolation", _PAYLOAD_FORMAT}),
    "out-of-range": frozenset({"PropertyConstraintViolation", "TypeConstraintViolation", _PAYLOAD_FORMAT}),
    "bad-enum": frozenset({"PropertyConstraintViolation", "TypeConstraintViolation", _PAYLOAD_FORMAT}),
    "not-an-object": frozenset({_PAYLOAD_FORMAT, "TypeConstraintViolation", "ProtocolError"}),
    "unknown-action": frozenset({"NotImplemented", "NotSupported"}),
    "wrong-direction": frozenset({"NotImplemented", "NotSupported"}),
    "bad-message-id": frozenset({_PAYLOAD_FORMAT, "ProtocolError", "RpcFrameworkError"}),
    "bad-message-type": frozenset({"MessageTypeNotSupported", "ProtocolError", _PAYLOAD_FORMAT, "RpcFrameworkError",
                                   "PropertyConstraintViolation"}),
    "missing-elements": frozenset({_PAYLOAD_FORMAT, "ProtocolError", "RpcFrameworkError"}),
    "malformed-json": frozenset({_PAYLOAD_FORMAT, "ProtocolError", "RpcFrameworkError"}),
}
#: Cases whose message id the CSMS cannot (or need not) read: no answer is tolerated.
_UNREADABLE = frozenset({"bad-message-id", "bad-message-type", "missing-elements", "malformed-json"})
_UNKNOWN_ACTION = "OcppemuFuzzUnknownAction"
_UNSUPPORTED = frozenset({"NotImplemented", "NotSupported"})
_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z


@dataclass(slots=True, frozen=True)
class FuzzCase:
    """One frame to send. ``expect`` is ``None`` for a valid call (a CALLRESULT is due), else the accepted
    CallError codes. ``where`` names the broken field (a dotted path) or rule."""

    index: int
    kind: str
    action: str
    message_id: str
    text: str
    expect: frozenset[str] | None
    where: str = ""

    @property
    def answer_optional(self) -> bool:
        return self.kind in _UNREADABLE


# -- valid payloads from a schema ------------------------------------------------------------------------------------


class _Sampler:
    def __init__(self, root: dict[str, Any], rng: random.Random, mode: str) -> None:
        self.root, self.rng, self.mode = root, rng, mode  # mode: "typical" | "min" | "max"

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            target = self.root.get("definitions", {}).get(ref.split("/")[-1], {})
            return self.resolve(target) if isinstance(target, dict) else {}
        return node

    def value(self, node: dict[str, Any], depth: int = 0) -> Any:
        node = self.resolve(node)
        if "enum" in node:
            return self.rng.choice(node["enum"])
        kind = node.get("type", "object")
        if kind == "object":
            return self.obj(node, depth)
        if kind == "array":
            lo = int(node.get("minItems", 1 if depth == 0 else 0))
            hi = int(node.get("maxItems", lo + 2))
            count = lo if self.mode == "min" else min(hi, max(lo, 1 if self.mode == "typical" else lo + 1))
            return [self.value(node.get("items", {}), depth + 1) for _ in range(min(count, 3) if count else 0)]
        if kind == "string":
            return self.string(node)
        if kind in ("integer", "number"):
            return self.number(node, kind == "integer")
        if kind == "boolean":
            return self.rng.random() < 0.5
        return None

    def obj(self, node: dict[str, Any], depth: int) -> dict[str, Any]:
        props: dict[str, Any] = node.get("properties", {})
        required = set(node.get("required", []))
        out: dict[str, Any] = {}
        for name, sub in props.items():
            if name == "customData":
                continue
            take = name in required or (depth < 3 and self.mode != "min" and self.rng.random() < 0.5)
            if take:
                out[name] = self.value(sub, depth + 1)
        return out

    def string(self, node: dict[str, Any]) -> str:
        if node.get("format") == "date-time":  # from the seed, not the clock: the same seed, the same frames
            return datetime.fromtimestamp(_EPOCH + self.rng.randint(0, 86_400 * 365), UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
        lo, hi = int(node.get("minLength", 1)), node.get("maxLength")
        if self.mode == "max" and hi is not None:
            length = int(hi)
        elif self.mode == "min":
            length = max(lo, 1)
        else:
            length = max(lo, min(int(hi) if hi is not None else 12, 8))
        chunk = "".join(self.rng.choices(string.ascii_letters + string.digits, k=min(length, 64)))
        return (chunk * (length // max(len(chunk), 1) + 1))[:length]

    def number(self, node: dict[str, Any], integer: bool) -> int | float:
        lo, hi = node.get("minimum"), node.get("maximum")
        if self.mode == "min" and lo is not None:
            return int(lo) if integer else float(lo)
        if self.mode == "max" and hi is not None:
            return int(hi) if integer else float(hi)
        base = lo if lo is not None else 0
        top = hi if hi is not None else base + 100
        step = node.get("multipleOf")
        value = self.rng.randint(int(base), int(top)) if integer else round(self.rng.uniform(base, top), 1)
        if step:
            value = round(value / step) * step
        return value


def sample_payload(version: Version, action: str, rng: random.Random, mode: str = "typical",
                   part: Part = "request") -> dict[str, Any]:
    """A payload of ``action``'s request (or response) that the schema accepts (``mode`` ``min``/``max`` for
    boundaries)."""
    spec = catalogue(version)[action]
    schema = spec.request_schema if part == "request" else spec.response_schema
    for _ in range(20):
        payload = _Sampler(schema, rng, mode).obj(schema, 0)
        if validate(version, action, part, payload) is None:
            return payload
    return _Sampler(schema, rng, "min").obj(schema, 0)


# -- mutations -------------------------------------------------------------------------------------------------------


def _fields(schema: dict[str, Any], payload: dict[str, Any], sampler: _Sampler) -> list[tuple[str, dict[str, Any]]]:
    """(top-level field name, resolved sub-schema) of the fields present in ``payload``."""
    props = schema.get("properties", {})
    return [(k, sampler.resolve(props[k])) for k in payload if k in props]


def _mutate(kind: str, version: Version, action: str, payload: dict[str, Any],
            rng: random.Random) -> tuple[Any, str] | None:
    """Break one rule of ``payload``; ``None`` when the schema gives no chance for this kind."""
    schema = catalogue(version)[action].request_schema
    sampler = _Sampler(schema, rng, "typical")
    fields = _fields(schema, payload, sampler)
    required = [f for f in schema.get("required", []) if f in payload]
    out = dict(payload)
    if kind == "missing-field":
        if not required:
            return None
        name = rng.choice(required)
        del out[name]
        return out, name
    if kind == "wrong-type":
        typed = [(n, sub) for n, sub in fields if sub.get("type") in ("string", "object", "array", "boolean",
                                                                      "integer", "number")]
        if not typed:
            return None
        name, sub = rng.choice(typed)
        out[name] = "not-a-number" if sub["type"] in ("integer", "number", "boolean") else 12345
        return out, name
    if kind == "extra-field":
        if schema.get("additionalProperties", True) is not False:
            return None
        out["ocppemuUnexpectedField"] = "x"
        return out, "ocppemuUnexpectedField"
    if kind == "over-long":
        longs = [(n, s) for n, s in fields if s.get("type") == "string" and "maxLength" in s and "enum" not in s]
        if not longs:
            return None
        name, sub = rng.choice(longs)
        out[name] = "x" * (int(sub["maxLength"]) + 1)
        return out, name
    if kind == "out-of-range":
        nums = [(n, s) for n, s in fields if s.get("type") in ("integer", "number") and
                ("minimum" in s or "maximum" in s)]
        if not nums:
            return None
        name, sub = rng.choice(nums)
        out[name] = sub["minimum"] - 1 if "minimum" in sub else sub["maximum"] + 1
        return out, name
    if kind == "bad-enum":
        enums = [(n, s) for n, s in fields if "enum" in s]
        if not enums:
            return None
        name, _ = rng.choice(enums)
        out[name] = "OcppemuNotAnEnumValue"
        return out, name
    return None


def _frame(kind: str, mid: str, action: str, payload: Any) -> str:
    if kind == "malformed-json":
        return f'[2, "{mid}", "{action}", {{"unterminated": '
    if kind == "missing-elements":
        return json.dumps([2, mid, action])
    if kind == "bad-message-type":
        return json.dumps([7, mid, action, payload])
    if kind == "bad-message-id":
        return json.dumps([2, 4711, action, payload])
    return framing.dumps([2, mid, action, payload])


def generate(version: Version, count: int, seed: int = 0) -> list[FuzzCase]:
    """``count`` fuzz cases for ``version``, the same ones for the same seed (and schema files)."""
    rng = random.Random(seed)
    cat = catalogue(version)
    station_actions = [a for a in cat.station_initiated() if not cat[a].send_only and a != "BootNotification"]
    csms_actions = [a for a in cat.csms_initiated() if not cat[a].station_sends]
    cases: list[FuzzCase] = []
    skipped = 0
    while len(cases) < count:
        i = len(cases)
        kind = KINDS[i % len(KINDS)] if i < len(KINDS) and not skipped else rng.choice(KINDS)
        action = rng.choice(station_actions)
        mid = f"fuzz-{seed}-{i}"
        payload: Any = sample_payload(version, action, rng, "max" if kind == "boundary" and i % 2 else (
            "min" if kind == "boundary" else "typical"))
        where = ""
        if kind in ("missing-field", "wrong-type", "extra-field", "over-long", "out-of-range", "bad-enum"):
            mutated = _mutate(kind, version, action, payload, rng)
            tries = 0
            while mutated is None and tries < 40:
                action = rng.choice(station_actions)
                payload = sample_payload(version, action, rng)
                mutated = _mutate(kind, version, action, payload, rng)
                tries += 1
            if mutated is None:  # no schema of this version gives the chance: another kind
                skipped += 1
                continue
            payload, where = mutated
        skipped = 0
        if kind == "not-an-object":
            payload = [payload]
        elif kind == "unknown-action":
            action, payload = _UNKNOWN_ACTION, {}
        elif kind == "wrong-direction":
            action = rng.choice(csms_actions)
            payload = sample_payload(version, action, rng)
        expect = None if kind in ("valid", "boundary") else _codes(version, kind)
        cases.append(FuzzCase(i, kind, action, mid, _frame(kind, mid, action, payload), expect, where))
    return cases


def _codes(version: Version, kind: str) -> frozenset[str]:
    codes = set(_ACCEPT[kind])
    if version is Version.V16:
        codes -= {"RpcFrameworkError", "MessageTypeNotSupported"}
        codes |= {V16_ORIGINAL_SPELLING.get(c, c) for c in codes}
    return frozenset(codes)


# -- what the rules require of a frame (the reference answer) ---------------------------------------------------------


def expected_error(version: Version, text: str) -> str | None:
    """The CallError code a conforming CSMS answers ``text`` (a frame a station sent) with; ``None`` if valid.

    This is the emulator's own reading of the OCPP-J rules (the one its stations apply), so tests can build a
    well-behaved reference peer; the fuzzer's judgement accepts the wider sets described in the module docstring.
    """
    frame = framing.parse(text, version)
    problem: Violation | None
    if isinstance(frame, Violation):
        problem = frame
    elif isinstance(frame, Call):
        spec = catalogue(version).get(frame.action)
        if spec is None:
            return "NotImplemented"
        if not spec.station_sends:
            return "NotSupported"
        problem = validate(version, frame.action, "request", frame.payload)
    else:
        return None
    return wire_code(problem.code, version) if problem is not None else None


# -- judging the answer ----------------------------------------------------------------------------------------------


def judge(case: FuzzCase, version: Version, station_id: str, answer: str | None, *, disconnected: bool = False,
          now: float | None = None) -> list[ComplianceFinding]:
    """Findings for the CSMS's ``answer`` (its text, ``None`` for none) to ``case``."""
    at = datetime.fromtimestamp(now, UTC) if now is not None else datetime.now(UTC)

    def finding(rule_id: str, text: str, severity: Severity | None = None, frame: str = "") -> ComplianceFinding:
        r = RULES[rule_id]
        return ComplianceFinding(at, station_id, version.value, rule_id, severity or r.severity,
                                 r.reference(version), f"fuzz #{case.index} ({case.kind}"
                                 f"{' ' + case.where if case.where else ''}): {text}", case.action,
                                 case.message_id, frame or case.text, case.index)

    if disconnected:
        return [finding("fuzz.disconnected", "the CSMS dropped the connection instead of answering")]
    if answer is None:
        if case.answer_optional:
            if version is Version.V16:
                return []
            return [finding("fuzz.no-answer", "no CALLERROR (with message id \"-1\" when unreadable)", "warning")]
        return [finding("fuzz.no-answer", "no answer within the answer timeout")]
    parsed = framing.parse(answer, version)
    if isinstance(parsed, Violation) and case.kind == "bad-message-id":
        try:  # the CSMS echoed the unreadable id back as it was: judge the rest of the frame
            raw = framing.loads(answer)
            if isinstance(raw, list) and len(raw) >= 3:
                raw[1] = str(raw[1])
                parsed = framing.parse_value(raw, version)
        except ValueError:
            pass
    if isinstance(parsed, CallResult):
        if case.expect is None:
            problem = validate(version, case.action, "response", parsed.payload)
            if problem is not None:
                return [finding("schema.response", str(problem), frame=answer)]
            return []
        severity: Severity | None = "warning" if case.kind == "bad-message-id" else None
        return [finding("fuzz.accepted-invalid", f"answered with a CALLRESULT; expected a CALLERROR "
                        f"({' / '.join(sorted(case.expect))})", severity, answer)]
    if isinstance(parsed, CallError):
        if parsed.error_code in _UNSUPPORTED and case.action != _UNKNOWN_ACTION:
            return []  # the CSMS does not implement this (optional) action: nothing to judge
        if case.expect is None:
            return [finding("fuzz.wrong-error-code", f"a valid {case.action} was refused with {parsed.error_code}",
                            "warning", answer)]
        if parsed.error_code not in case.expect:
            return [finding("fuzz.wrong-error-code", f"answered {parsed.error_code}; expected "
                            f"{' / '.join(sorted(case.expect))}", None, answer)]
        return []
    return [finding("rpc.malformed-frame", "the answer is not a CALLRESULT or CALLERROR", None, answer)]
