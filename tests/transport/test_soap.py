"""OCPP 1.6 over SOAP end to end: the emulated station against an independent SOAP Central System.

The peer (``tests/peers/soap_csms.py``) is built from the official WSDLs with lxml and zeep, without ocppemu code,
and validates every envelope the station sends and every answer it gives; ``peer.errors`` must stay empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import zeep.exceptions

from tests.peers.soap_csms import SoapPeerCsms
from tests.peers.tls_material import TlsMaterial
from tests.station.v16.helpers import Harness, station_config, until

SID = "CP001"
SoapFactory = Callable[..., Awaitable[SoapPeerCsms]]


@pytest.fixture
async def soap_csms() -> AsyncIterator[SoapFactory]:
    made: list[SoapPeerCsms] = []

    async def make(**kwargs: Any) -> SoapPeerCsms:
        peer = SoapPeerCsms(**kwargs)
        made.append(peer)
        return await peer.start()

    yield make
    for peer in made:
        await peer.stop()


def soap_config(url: str, **overrides: Any) -> Any:
    return station_config(url, SID, **overrides)


async def test_full_session_every_envelope_valid(soap_csms: SoapFactory) -> None:
    peer = await soap_csms(heartbeat_interval=1)
    async with Harness(soap_config(peer.url)) as h:
        assert await h.runtime.wait_connected(10)
        boot = (await peer.wait_for("BootNotification"))[0]
        assert boot.identity == SID and boot.payload["chargePointVendor"] == "ocppemu"
        assert boot.headers["From"] == h.runtime._transport.advertise  # type: ignore[union-attr]
        assert boot.headers["To"] == peer.url
        await peer.wait_for("StatusNotification")
        await peer.wait_for("Heartbeat")
        assert h.act("present_id_tag", 1, "TAGSOAP").ok
        await peer.wait_for("Authorize")
        assert h.act("plug_in", 1).ok
        start = (await peer.wait_for("StartTransaction"))[0]
        assert start.payload["idTag"] == "TAGSOAP" and start.payload["connectorId"] == 1
        await until(lambda: h.core.connectors[1].tx is not None and h.core.connectors[1].tx.transaction_id == 100)
        meter = (await peer.wait_for("MeterValues"))[0]
        assert meter.payload["transactionId"] == 100
        assert meter.payload["meterValue"][0]["sampledValue"]
        assert h.act("stop_session", 1).ok
        stop = (await peer.wait_for("StopTransaction"))[0]
        assert stop.payload["transactionId"] == 100 and stop.payload["meterStop"] >= start.payload["meterStart"]
        await until(lambda: len(h.core.queue) == 0, what="queue drained")
    assert peer.errors == []
    # The recording keeps the XML envelope as the wire text and the JSON payload beside it.
    sent_boot = h.sent("BootNotification")[0]
    assert sent_boot.raw.startswith("<s:Envelope") and "bootNotificationRequest" in sent_boot.raw
    assert sent_boot.payload["chargePointModel"] == "Emulator"
    answer = next(f for f in h.frames if f.direction == "received" and f.action == "BootNotification")
    assert answer.message_type == "CallResult" and answer.payload["status"] == "Accepted"
    assert "RelatesTo" in answer.raw and answer.correlation_id == sent_boot.message_id
    assert h.core.findings == type(h.core.findings)()
