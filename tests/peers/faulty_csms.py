"""A deliberately faulty CSMS for the compliance tests, on plain ``websockets`` (no OCPP library).

It answers just enough of OCPP 1.6 and 2.0.1 for a station to boot, heartbeat and charge, with valid payloads,
except for the one fault switched on in :attr:`FaultyCsms.fault` (changeable at any time):

* ``missing-field``: Heartbeat answered ``{}`` (``currentTime`` missing);
* ``wrong-type``: Heartbeat answered with ``currentTime`` as a number;
* ``wrong-message-id``: Heartbeat answered with another message id;
* ``no-response``: Heartbeat never answered;
* ``bad-error-code``: Heartbeat answered with a CALLERROR whose code exists in no OCPP version;
* ``drop-connection``: on a Heartbeat the TCP connection is cut (no WebSocket close frame);
* ``call-before-boot``: a CSMS call (GetConfiguration / GetVariables) sent before the BootNotification is answered;
* ``lenient``: every CALL, however malformed, answered with an empty CALLRESULT (for the fuzzer);
* ``wrong-error-code``: every malformed or invalid CALL answered with a CALLERROR ``GenericError``;
* ``silent``: malformed frames are ignored (never answered);
* ``drop-on-malformed``: a malformed or invalid frame makes it cut the connection.

With ``fault=None`` it behaves (it even answers malformed calls with the error codes the OCPP-J rules require,
using the same validation the station uses, so it is a "well-behaved" reference for the fuzzer).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from ocppemu.compliance.fuzz import expected_error, sample_payload
from ocppemu.ocpp.versions import Version

FAULTS = ("missing-field", "wrong-type", "wrong-message-id", "no-response", "bad-error-code", "drop-connection",
          "call-before-boot", "lenient", "wrong-error-code", "silent", "drop-on-malformed")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FaultyCsms:
    """See the module docstring. ``url`` is ``ws://127.0.0.1:PORT/ocpp`` (the station id is appended)."""

    fault: str | None = None
    heartbeat_interval: int = 60
    received: list[tuple[str, Any]] = field(default_factory=list)
    connections: int = 0
    _server: Server | None = None
    _tx: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/ocpp"

    async def start(self) -> FaultyCsms:
        self._server = await serve(self._handle, "127.0.0.1", 0,
                                   subprotocols=[Subprotocol("ocpp1.6"), Subprotocol("ocpp2.0.1")])
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        version = Version.V16 if ws.subprotocol == "ocpp1.6" else Version.V201
        if self.fault == "call-before-boot":
            action = "GetConfiguration" if version is Version.V16 else "GetBaseReport"
            payload: dict[str, Any] = {} if version is Version.V16 else {"requestId": 1,
                                                                          "reportBase": "SummaryInventory"}
            await ws.send(json.dumps([2, "csms-early-1", action, payload]))
        with contextlib.suppress(ConnectionClosed):
            async for text in ws:
                await self._on_frame(ws, version, str(text))

    async def _on_frame(self, ws: ServerConnection, version: Version, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        self.received.append((text, frame))
        if not (isinstance(frame, list) and frame and frame[0] == 2):
            await self._on_not_a_call(ws, version, text, frame)
            return
        problem = expected_error(version, text)
        if problem is not None and self.fault not in ("lenient",):
            if self.fault == "silent":
                return
            if self.fault == "drop-on-malformed":
                ws.transport.abort()
                return
            code = "GenericError" if self.fault == "wrong-error-code" else problem
            mid = frame[1] if len(frame) > 1 and isinstance(frame[1], str) else "-1"
            await ws.send(json.dumps([4, mid, code, "rejected", {}]))
            return
        mid, action = frame[1], frame[2] if len(frame) > 2 else ""
        payload = frame[3] if len(frame) > 3 and isinstance(frame[3], dict) else {}
        if self.fault == "lenient" and problem is not None:
            await ws.send(json.dumps([3, mid, {}]))
            return
        if action == "Heartbeat" and await self._heartbeat_fault(ws, mid):
            return
        await ws.send(json.dumps([3, mid, self._answer(version, action, payload)]))

    async def _on_not_a_call(self, ws: ServerConnection, version: Version, text: str, frame: Any) -> None:
        if isinstance(frame, list) and frame and frame[0] in (3, 4):
            return  # the station's answer to one of our calls
        if self.fault in ("silent", "lenient"):
            return
        if self.fault == "drop-on-malformed":
            ws.transport.abort()
            return
        code = expected_error(version, text) or "FormatViolation"
        mid = frame[1] if isinstance(frame, list) and len(frame) > 1 and isinstance(frame[1], str) else "-1"
        if self.fault == "wrong-error-code":
            code = "GenericError"
        await ws.send(json.dumps([4, mid, code, "malformed frame", {}]))

    async def _heartbeat_fault(self, ws: ServerConnection, mid: str) -> bool:
        fault = self.fault
        if fault == "missing-field":
            await ws.send(json.dumps([3, mid, {}]))
        elif fault == "wrong-type":
            await ws.send(json.dumps([3, mid, {"currentTime": 12345}]))
        elif fault == "wrong-message-id":
            await ws.send(json.dumps([3, mid[:-1] + ("0" if mid[-1:] != "0" else "1"), {"currentTime": _now()}]))
        elif fault == "no-response":
            pass
        elif fault == "bad-error-code":
            await ws.send(json.dumps([4, mid, "NoSuchErrorCode", "made up", {}]))
        elif fault == "drop-connection":
            ws.transport.abort()
        else:
            return False
        return True

    def _answer(self, version: Version, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        info = {"status": "Accepted"}
        if action == "BootNotification":
            return {"currentTime": _now(), "interval": self.heartbeat_interval, "status": "Accepted"}
        if action == "Heartbeat":
            return {"currentTime": _now()}
        if action == "Authorize":
            return {"idTagInfo": info} if version is Version.V16 else {"idTokenInfo": info}
        if action == "StartTransaction":
            return {"transactionId": next(self._tx), "idTagInfo": info}
        if action == "StopTransaction":
            return {"idTagInfo": info} if "idTag" in payload else {}
        if action == "TransactionEvent":
            return {"idTokenInfo": info} if "idToken" in payload else {}
        if action == "DataTransfer":
            return {"status": "Accepted"}
        return sample_payload(version, action, random.Random(0), "min", part="response")


async def started(fault: str | None = None, **kwargs: Any) -> FaultyCsms:
    """A started faulty CSMS (the caller stops it)."""
    return await FaultyCsms(fault, **kwargs).start()


async def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    """Poll an async predicate until true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")
