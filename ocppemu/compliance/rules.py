"""The catalogue of compliance rules a CSMS is judged by, with severity and specification reference.

A rule is data: an id that never changes (it appears in reports, JUnit messages and the API), a one-line title,
a default severity, and where the specification states it, per version family (``"1.6"`` and ``"2.x"``). The
references name the section of the OCPP-J RPC specification (the same numbering in 1.6 and 2.0.1 Part 4) or the
functional block / use case of OCPP 1.6 and 2.0.1 Part 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ocppemu.ocpp.versions import Version

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(slots=True, frozen=True)
class Rule:
    """One rule the CSMS must keep."""

    id: str
    title: str
    severity: Severity
    ref_16: str
    ref_2x: str

    def reference(self, version: Version) -> str:
        """The specification reference for ``version``."""
        return self.ref_16 if version is Version.V16 else self.ref_2x


_J16 = "OCPP-J 1.6"
_J2 = "OCPP-J 2.0.1 (Part 4)"

RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("schema.csms-call", "a CSMS call must match the message's JSON schema", "error",
         f"{_J16} §4.2.1 CALL; OCPP 1.6 JSON schemas", f"{_J2} §4.2.1 CALL; OCPP 2.0.1 JSON schemas"),
    Rule("schema.response", "a CSMS response must match the message's JSON schema", "error",
         f"{_J16} §4.2.2 CALLRESULT; OCPP 1.6 JSON schemas", f"{_J2} §4.2.2 CALLRESULT; OCPP 2.0.1 JSON schemas"),
    Rule("rpc.malformed-frame", "every frame must be a well-formed OCPP-J message array", "error",
         f"{_J16} §4.1.3 Message type / §4.2 RPC framework", f"{_J2} §4.1.3 Message type / §4.2 RPC framework"),
    Rule("rpc.unknown-action", "a CSMS call must name an action the CSMS may send in this version", "error",
         f"{_J16} §4.2.1 CALL (Action); OCPP 1.6 §5 Operations initiated by Central System",
         f"{_J2} §4.2.1 CALL (Action); OCPP 2.0.1 Part 2 messages"),
    Rule("rpc.unknown-message-id", "a response must carry the message id of an outstanding call", "error",
         f"{_J16} §4.1.4 The message ID / §4.2.2 CALLRESULT", f"{_J2} §4.1.4 Message ID / §4.2.2 CALLRESULT"),
    Rule("rpc.response-timeout", "every station call must be answered within the response timeout", "error",
         f"{_J16} §4.1.1 Synchronicity (time-out)", f"{_J2} §4.1.1 Synchronicity (time-out)"),
    Rule("rpc.late-response", "a response arrived after the response timeout", "warning",
         f"{_J16} §4.1.1 Synchronicity", f"{_J2} §4.1.1 Synchronicity"),
    Rule("rpc.error-code", "a CALLERROR must use an error code defined for the version", "error",
         f"{_J16} §4.2.3 CALLERROR (table of ErrorCodes)", f"{_J2} §4.2.3 CALLERROR / §4.3 RPC framework error codes"),
    Rule("rpc.call-while-outstanding", "the CSMS must not send a call while one of its own calls is unanswered",
         "error", f"{_J16} §4.1.1 Synchronicity", f"{_J2} §4.1.1 Synchronicity"),
    Rule("boot.call-before-accepted", "the CSMS must not send calls before the boot is accepted (beyond what "
         "Pending allows)", "error",
         "OCPP 1.6 §4.2 Boot Notification (Pending: no RemoteStart/RemoteStopTransaction; Rejected: none)",
         "OCPP 2.0.1 Part 2 B02 Cold Boot - Pending (no RequestStart/RequestStopTransaction), B03 - Rejected"),
    Rule("value.heartbeat-interval", "an accepted boot must give a heartbeat interval greater than 0", "warning",
         "OCPP 1.6 §6.4 BootNotification.conf interval", "OCPP 2.0.1 Part 2 B01 / BootNotificationResponse.interval"),
    Rule("value.transaction-id", "transaction ids must be consistent (unique while active, known when used)",
         "error", "OCPP 1.6 §6.46 StartTransaction.conf transactionId / §5.12 RemoteStopTransaction",
         "OCPP 2.0.1 Part 2 E (transactionId) / F03 RequestStopTransaction"),
    Rule("value.id-token-info", "authorization information must be present where required", "error",
         "OCPP 1.6 §6.2 Authorize.conf, §6.46 StartTransaction.conf, §6.50 StopTransaction.conf idTagInfo",
         "OCPP 2.0.1 Part 2 C01 / E TransactionEventResponse.idTokenInfo"),
    Rule("connection.dropped", "the CSMS closed the connection without a WebSocket close frame", "error",
         f"{_J16} §3 Connection (RFC 6455 closing handshake)", f"{_J2} §5 Connection (RFC 6455 closing handshake)"),
    Rule("fuzz.wrong-error-code", "a malformed or invalid call must be answered with the CallError the "
         "OCPP-J rules require", "error", f"{_J16} §4.2.3 CALLERROR", f"{_J2} §4.2.3 CALLERROR"),
    Rule("fuzz.accepted-invalid", "a call that breaks the schema must not be accepted with a CALLRESULT", "error",
         f"{_J16} §4.2.3 CALLERROR", f"{_J2} §4.2.3 CALLERROR"),
    Rule("fuzz.no-answer", "the CSMS must answer a malformed call with a CALLERROR, not stay silent", "error",
         f"{_J16} §4.2.3 CALLERROR", f"{_J2} §4.2.3 CALLERROR"),
    Rule("fuzz.disconnected", "the CSMS must not drop the connection because of a malformed frame", "error",
         f"{_J16} §4.2.3 CALLERROR", f"{_J2} §4.2.3 CALLERROR"),
)}


def rule(rule_id: str) -> Rule:
    """The rule with ``rule_id``; raises ``KeyError`` for an unknown id."""
    return RULES[rule_id]
