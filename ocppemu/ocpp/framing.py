"""OCPP-J framing: parse and build CALL, CALLRESULT, CALLERROR, and 2.1's CALLRESULTERROR and SEND.

Pure functions on text. :func:`parse` never raises on peer input: it returns a frame or a :class:`Violation`
carrying the OCPP error code the spec prescribes, so a station answers bad input instead of crashing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar

import orjson

from ocppemu.ocpp.errors import ErrorCode, Violation
from ocppemu.ocpp.records import MessageKind
from ocppemu.ocpp.versions import Version

#: OCPP 2.x bounds the message id to 36 characters; 1.6 does not, but we keep a generous sanity bound.
MAX_MESSAGE_ID_LENGTH = {Version.V16: 128, Version.V201: 36, Version.V21: 36}


class MessageType(IntEnum):
    CALL = 2
    CALLRESULT = 3
    CALLERROR = 4
    CALLRESULTERROR = 5
    SEND = 6


@dataclass(slots=True, frozen=True)
class Call:
    message_id: str
    action: str
    payload: dict[str, Any]

    kind: ClassVar[MessageKind] = "Call"


@dataclass(slots=True, frozen=True)
class CallResult:
    message_id: str
    payload: dict[str, Any]

    kind: ClassVar[MessageKind] = "CallResult"


@dataclass(slots=True, frozen=True)
class CallError:
    message_id: str
    error_code: str
    error_description: str
    error_details: dict[str, Any]

    kind: ClassVar[MessageKind] = "CallError"


@dataclass(slots=True, frozen=True)
class CallResultError:
    """OCPP 2.1: the CSMS/station could not process a CALLRESULT it received."""

    message_id: str
    error_code: str
    error_description: str
    error_details: dict[str, Any]

    kind: ClassVar[MessageKind] = "CallResultError"


@dataclass(slots=True, frozen=True)
class Send:
    """OCPP 2.1: an unconfirmed message; no answer is expected."""

    message_id: str
    action: str
    payload: dict[str, Any]

    kind: ClassVar[MessageKind] = "Send"


Frame = Call | CallResult | CallError | CallResultError | Send

_ALLOWED_TYPES = {
    Version.V16: frozenset({2, 3, 4}),
    Version.V201: frozenset({2, 3, 4}),
    Version.V21: frozenset({2, 3, 4, 5, 6}),
}


def loads(text: str | bytes) -> Any:
    """Decode JSON fast; falls back to the standard library for what orjson refuses (e.g. huge integers)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def dumps(value: Any) -> str:
    """Encode compact JSON text. Falls back to the standard library for values orjson refuses (integers beyond
    64 bits, lone surrogates from a peer's ``\\ud800`` escapes ...), escaping non-ASCII so the text always encodes
    as UTF-8."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), default=str)


def parse(text: str | bytes, version: Version) -> Frame | Violation:
    """Parse one WebSocket text message into a frame, or describe why it is not one."""
    try:
        data = loads(text)
    except (ValueError, RecursionError) as exc:
        return Violation(ErrorCode.RPC_FRAMEWORK_ERROR if version.is_2x else ErrorCode.FORMAT_VIOLATION,
                         f"not valid JSON: {exc}", message_id="-1")
    return parse_value(data, version)


def parse_value(data: Any, version: Version) -> Frame | Violation:
    """Interpret already-decoded JSON as an OCPP-J frame."""
    generic = ErrorCode.RPC_FRAMEWORK_ERROR if version.is_2x else ErrorCode.FORMAT_VIOLATION
    if not isinstance(data, list) or len(data) < 3:
        return Violation(generic, "an OCPP-J message is a JSON array of at least 3 elements", message_id="-1")
    mtype, message_id = data[0], data[1]
    if not isinstance(message_id, str) or not message_id:
        return Violation(generic, "the message id (element 2) must be a non-empty string", message_id="-1")
    if len(message_id) > MAX_MESSAGE_ID_LENGTH[version]:
        # The CallError echoes the id in full, so the sender can match it to its request.
        return Violation(generic, f"message id of {len(message_id)} characters is longer than the "
                         f"{MAX_MESSAGE_ID_LENGTH[version]} OCPP {version.value} allows", message_id=message_id)
    if type(mtype) is not int or mtype not in _ALLOWED_TYPES[version]:
        code = ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED if version.is_2x else ErrorCode.PROTOCOL_ERROR
        return Violation(code, f"message type {mtype!r} is not supported by OCPP {version.value}",
                         message_id=message_id)
    if mtype in (2, 6):
        if len(data) != 4:
            return Violation(generic, "a CALL has exactly 4 elements", message_id=message_id,
                             answerable=mtype == 2)
        action, payload = data[2], data[3]
        if not isinstance(action, str) or not action:
            return Violation(generic, "the action (element 3) must be a non-empty string",
                             message_id=message_id, answerable=mtype == 2)
        if not isinstance(payload, dict):
            return Violation(ErrorCode.FORMAT_VIOLATION,
                             "the payload (element 4) must be a JSON object", message_id=message_id,
                             action=action, answerable=mtype == 2)
        return Call(message_id, action, payload) if mtype == 2 else Send(message_id, action, payload)
    if mtype == 3:
        if len(data) != 3 or not isinstance(data[2], dict):
            return Violation(ErrorCode.FORMAT_VIOLATION, "a CALLRESULT is [3, id, {payload}]",
                             message_id=message_id, answerable=False)
        return CallResult(message_id, data[2])
    # 4 (CALLERROR) or 5 (CALLRESULTERROR)
    if len(data) not in (4, 5) or not isinstance(data[2], str) or not isinstance(data[3], str):
        return Violation(ErrorCode.FORMAT_VIOLATION, "a CALLERROR is [4, id, code, description, {details}]",
                         message_id=message_id, answerable=False)
    details = data[4] if len(data) == 5 else {}
    if not isinstance(details, dict):
        return Violation(ErrorCode.FORMAT_VIOLATION, "CALLERROR details must be a JSON object",
                         message_id=message_id, answerable=False)
    cls = CallError if mtype == 4 else CallResultError
    return cls(message_id, data[2], data[3], details)


def serialise(frame: Frame) -> str:
    """The wire text of ``frame``."""
    if isinstance(frame, Call):
        return dumps([2, frame.message_id, frame.action, frame.payload])
    if isinstance(frame, CallResult):
        return dumps([3, frame.message_id, frame.payload])
    if isinstance(frame, Send):
        return dumps([6, frame.message_id, frame.action, frame.payload])
    mtype = 4 if isinstance(frame, CallError) else 5
    return dumps([mtype, frame.message_id, frame.error_code, frame.error_description, frame.error_details])
