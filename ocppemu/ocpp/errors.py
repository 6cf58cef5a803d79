"""OCPP-J RPC error codes per version, and the violation value the core returns instead of raising."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from ocppemu.ocpp.versions import Version


class ErrorCode(str, Enum):
    """Error codes of OCPP-J CALLERROR frames (2.x names; 1.6 spellings via :func:`wire_code`)."""

    FORMAT_VIOLATION = "FormatViolation"
    GENERIC_ERROR = "GenericError"
    INTERNAL_ERROR = "InternalError"
    MESSAGE_TYPE_NOT_SUPPORTED = "MessageTypeNotSupported"
    NOT_IMPLEMENTED = "NotImplemented"
    NOT_SUPPORTED = "NotSupported"
    OCCURRENCE_CONSTRAINT_VIOLATION = "OccurrenceConstraintViolation"
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    PROTOCOL_ERROR = "ProtocolError"
    RPC_FRAMEWORK_ERROR = "RpcFrameworkError"
    SECURITY_ERROR = "SecurityError"
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"


#: Codes the OCPP 1.6 JSON specification defines (errata spelling).
V16_CODES = frozenset({
    "NotImplemented", "NotSupported", "InternalError", "ProtocolError", "SecurityError", "FormatViolation",
    "PropertyConstraintViolation", "OccurrenceConstraintViolation", "TypeConstraintViolation", "GenericError",
})
#: The original 1.6 JSON specification's spellings, fixed by the errata, still used by some servers.
V16_ORIGINAL_SPELLING = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}
V2_CODES = frozenset(c.value for c in ErrorCode)

Spelling = Literal["errata", "original"]


def wire_code(code: ErrorCode, version: Version, spelling: Spelling = "errata") -> str:
    """The error code string to put on the wire for ``version``.

    1.6 has no MessageTypeNotSupported / RpcFrameworkError: they map to the closest 1.6 code (ProtocolError /
    GenericError). With ``spelling="original"`` the 1.6 typos FormationViolation and
    OccurenceConstraintViolation are used.
    """
    if version is not Version.V16:
        return code.value
    value = code.value
    if value == "MessageTypeNotSupported":
        value = "ProtocolError"
    elif value == "RpcFrameworkError":
        value = "GenericError"
    if spelling == "original":
        value = V16_ORIGINAL_SPELLING.get(value, value)
    return value


def known_codes(version: Version) -> frozenset[str]:
    """Every error code a peer may legitimately send for ``version`` (both 1.6 spellings accepted)."""
    if version is Version.V16:
        return V16_CODES | frozenset(V16_ORIGINAL_SPELLING.values())
    return V2_CODES


@dataclass(slots=True, frozen=True)
class Violation:
    """A protocol or schema violation found in peer input: an error as a value, never raised.

    ``message_id`` is the id to answer with (``"-1"`` when it could not be read, as OCPP 2.x prescribes);
    ``answerable`` says whether a CALLERROR should be sent back (only for CALLs or unreadable frames, never in
    reply to a CALLRESULT or CALLERROR).
    """

    code: ErrorCode
    description: str
    message_id: str | None = None
    action: str | None = None
    answerable: bool = True
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        where = f" in {self.action}" if self.action else ""
        return f"{self.code.value}{where}: {self.description}"
