"""Sending fuzz cases to a CSMS over a real connection (the I/O edge of :mod:`ocppemu.compliance.fuzz`).

:func:`fuzz_csms` connects as one station, boots, then sends each case and waits up to ``answer_timeout`` for the
answer carrying its message id (or ``"-1"``, the id OCPP 2.x prescribes when the id could not be read). CSMS calls
that arrive meanwhile are answered with a ``NotSupported`` CALLERROR. A dropped connection is a finding; the fuzzer
reconnects, boots again and goes on. Cases are sent one at a time (never two calls in flight).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ocppemu.compliance.findings import ComplianceFinding
from ocppemu.compliance.fuzz import FuzzCase, generate, judge
from ocppemu.config.station import StationConfig
from ocppemu.ocpp import framing
from ocppemu.ocpp.versions import Version
from ocppemu.transport.base import Transport, TransportClosed, TransportError
from ocppemu.transport.websocket import WebSocketTransport

log = logging.getLogger(__name__)

TransportMaker = Callable[[StationConfig], Transport]


@dataclass(slots=True)
class FuzzReport:
    """The outcome of a fuzz run: the cases sent and every finding."""

    version: str
    seed: int
    cases: list[FuzzCase]
    findings: list[ComplianceFinding] = field(default_factory=list)
    reconnects: int = 0

    @property
    def errors(self) -> list[ComplianceFinding]:
        return [f for f in self.findings if f.severity == "error"]

    def summary(self) -> dict[str, Any]:
        return {"version": self.version, "seed": self.seed, "frames": len(self.cases),
                "reconnects": self.reconnects, "findings": dict(Counter(f.severity for f in self.findings)),
                "by_kind": dict(Counter(c.kind for c in self.cases))}

    def to_doc(self) -> dict[str, Any]:
        return {**self.summary(), "items": [f.to_doc() for f in self.findings]}


def _boot_payload(version: Version) -> dict[str, Any]:
    if version is Version.V16:
        return {"chargePointVendor": "ocppemu", "chargePointModel": "fuzzer"}
    return {"chargingStation": {"vendorName": "ocppemu", "model": "fuzzer"}, "reason": "PowerUp"}


class _Session:
    def __init__(self, config: StationConfig, make: TransportMaker, answer_timeout: float) -> None:
        self.config, self.make, self.answer_timeout = config, make, answer_timeout
        self.transport: Transport | None = None

    async def open(self) -> None:
        self.transport = self.make(self.config)
        await self.transport.connect()
        mid = "fuzz-boot"
        await self.transport.send(framing.dumps([2, mid, "BootNotification",
                                                 _boot_payload(self.config.protocol_version)]))
        await self.answer({mid})

    async def close(self) -> None:
        if self.transport is not None:
            await self.transport.close()
            self.transport = None

    async def answer(self, ids: set[Any], any_id: bool = False) -> str | None:
        """The next CALLRESULT/CALLERROR whose id is in ``ids`` (or any, if ``any_id``), or ``None`` on time-out.

        Raises :class:`TransportClosed` when the connection goes.
        """
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        end = loop.time() + self.answer_timeout
        while (left := end - loop.time()) > 0:
            try:
                text = await asyncio.wait_for(self.transport.recv(), left)
            except TimeoutError:
                return None
            try:
                frame = framing.loads(text)
            except ValueError:
                return text  # garbage from the CSMS: judged as such
            if isinstance(frame, list) and len(frame) >= 3 and frame[0] == 2:
                await self.transport.send(framing.dumps([4, frame[1], "NotSupported", "fuzzer station", {}]))
                continue
            if isinstance(frame, list) and len(frame) >= 2 and frame[0] in (3, 4) and (any_id or frame[1] in ids):
                return text
        return None


async def fuzz_csms(csms_url: str, version: Version, *, frames: int = 100, seed: int = 0,
                    station_id: str = "OCPPEMU-FUZZ", answer_timeout: float = 5.0,
                    transport: TransportMaker | None = None, config: dict[str, Any] | None = None,
                    on_case: Callable[[FuzzCase, list[ComplianceFinding]], None] | None = None) -> FuzzReport:
    """Fuzz the CSMS at ``csms_url`` with ``frames`` cases from ``seed``; returns the report.

    ``config`` (a station configuration document) lends its authentication and TLS settings to the fuzzer's
    connection. Raises :class:`~ocppemu.transport.base.TransportError` when the CSMS cannot be reached at all.
    """
    doc: dict[str, Any] = {k: v for k, v in (config or {}).items() if k in ("csms_auth", "tls")}
    doc.update({"station_id": station_id, "csms_url": csms_url, "protocol_version": version.value,
                "simulation": {"ping_interval": None}})
    config_model = StationConfig.model_validate(doc)
    make = transport or (lambda cfg: WebSocketTransport.from_config(cfg))
    report = FuzzReport(version.value, seed, generate(version, frames, seed))
    session = _Session(config_model, make, answer_timeout)
    await session.open()
    try:
        for case in report.cases:
            found = await _one(session, case, version, station_id, report)
            report.findings.extend(found)
            if on_case is not None:
                on_case(case, found)
    finally:
        await session.close()
    return report


async def _one(session: _Session, case: FuzzCase, version: Version, station_id: str,
               report: FuzzReport) -> list[ComplianceFinding]:
    assert session.transport is not None
    try:
        await session.transport.send(case.text)
        ids: set[Any] = {case.message_id, "-1"}
        answer = await session.answer(ids, any_id=case.kind == "bad-message-id")
    except TransportClosed:
        found = judge(case, version, station_id, None, disconnected=True, now=time.time())
        await session.close()
        report.reconnects += 1
        try:
            await session.open()
        except TransportError as exc:
            log.warning("fuzz: cannot reconnect after case %d: %s", case.index, exc)
            raise
        return found
    return judge(case, version, station_id, answer, now=time.time())
