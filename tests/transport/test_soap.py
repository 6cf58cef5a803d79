"""OCPP 1.6 over SOAP end to end: the emulated station against an independent SOAP Central System.

The peer (``tests/peers/soap_csms.py``) is built from the official WSDLs with lxml and zeep, without ocppemu code,
and validates every envelope the station sends and every answer it gives; ``peer.errors`` must stay empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

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


def _csms_calls(now: Any) -> list[tuple[str, dict[str, Any], str | None]]:
    """(operation, zeep arguments, expected ``status``) for every ChargePointService operation but Reset."""
    later = now + __import__("datetime").timedelta(hours=1)
    profile = {"chargingProfileId": 7, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
               "chargingProfileKind": "Absolute", "validFrom": now,
               "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": now,
                                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}}
    return [
        ("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "5"}, "Accepted"),
        ("GetConfiguration", {"key": ["MeterValueSampleInterval", "NoSuchKey"]}, None),
        ("ClearCache", {}, "Accepted"),
        ("DataTransfer", {"vendorId": "ocppemu.test", "messageId": "ping", "data": "x"}, None),
        ("SendLocalList", {"listVersion": 3, "updateType": "Full",
                           "localAuthorizationList": [{"idTag": "LOCAL1", "idTagInfo": {"status": "Accepted"}}]},
         "Accepted"),
        ("GetLocalListVersion", {}, None),
        ("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile}, "Accepted"),
        ("GetCompositeSchedule", {"connectorId": 1, "duration": 600, "chargingRateUnit": "A"}, None),
        ("ClearChargingProfile", {"id": 7}, "Accepted"),
        ("ReserveNow", {"connectorId": 1, "expiryDate": later, "idTag": "RES1", "reservationId": 42}, "Accepted"),
        ("CancelReservation", {"reservationId": 42}, "Accepted"),
        ("ChangeAvailability", {"connectorId": 1, "type": "Operative"}, "Accepted"),
        ("TriggerMessage", {"requestedMessage": "Heartbeat"}, "Accepted"),
        ("UnlockConnector", {"connectorId": 1}, None),
        ("GetDiagnostics", {"location": "ftp://127.0.0.1:1/diag/"}, None),
        ("UpdateFirmware", {"location": "http://127.0.0.1:1/fw.bin", "retrieveDate": later}, None),
        ("RemoteStartTransaction", {"idTag": "REMOTE1", "connectorId": 1}, "Accepted"),
    ]


async def test_every_csms_initiated_action(soap_csms: SoapFactory) -> None:
    import datetime as dt

    peer = await soap_csms()
    async with Harness(soap_config(peer.url)) as h:
        assert await h.runtime.wait_connected(10)
        await peer.wait_for("StatusNotification")
        done: set[str] = set()
        for operation, values, status in _csms_calls(dt.datetime.now(dt.UTC)):
            answer = await peer.call(SID, operation, **values)
            assert isinstance(answer, dict), operation
            if status is not None:
                assert answer["status"] == status, (operation, answer)
            done.add(operation)
            if operation == "GetConfiguration":
                keys = {k["key"]: k["value"] for k in answer["configurationKey"]}
                assert keys["MeterValueSampleInterval"] == "5" and answer["unknownKey"] == ["NoSuchKey"]
            if operation == "GetLocalListVersion":
                assert answer["listVersion"] == 3
            if operation == "TriggerMessage":
                await peer.wait_for("Heartbeat")
        await peer.wait_for("StartTransaction")
        await until(lambda: h.core.connectors[1].tx is not None and h.core.connectors[1].tx.transaction_id is not None)
        tx = h.core.connectors[1].tx.transaction_id  # type: ignore[union-attr]
        stop = await peer.call(SID, "RemoteStopTransaction", transactionId=int(tx))
        assert stop["status"] == "Accepted"
        await peer.wait_for("StopTransaction")
        reset = await peer.call(SID, "Reset", type="Soft")
        assert reset["status"] == "Accepted"
        done |= {"RemoteStopTransaction", "Reset"}
        await peer.wait_for("BootNotification", count=2, timeout=20)
    from ocppemu.ocpp.soap.wsdl import service

    assert done == set(service("ChargePointService").operations)
    assert peer.errors == []
    assert list(h.core.findings) == []


async def test_https_with_verification(soap_csms: SoapFactory, tls_material: TlsMaterial) -> None:
    peer = await soap_csms(ssl_context=tls_material.server_context())
    assert peer.url.startswith("https://")
    async with Harness(soap_config(peer.url, tls={"ca_cert": str(tls_material.ca_cert)})) as h:
        assert await h.runtime.wait_connected(10)
        await peer.wait_for("StatusNotification")
    assert peer.errors == []


async def test_https_with_the_wrong_ca_is_refused(soap_csms: SoapFactory, tls_material: TlsMaterial) -> None:
    peer = await soap_csms(ssl_context=tls_material.server_context())
    async with Harness(soap_config(peer.url, tls={"ca_cert": str(tls_material.other_ca_cert)})) as h:
        await until(lambda: h.core.last_error is not None, what="a connection error")
        assert not h.core.is_connected
        assert "certificate verification" in (h.core.last_error or "")
    assert peer.received == []


async def test_mutual_tls(soap_csms: SoapFactory, tls_material: TlsMaterial) -> None:
    peer = await soap_csms(ssl_context=tls_material.server_context(require_client_cert=True))
    tls = {"ca_cert": str(tls_material.ca_cert), "client_cert": str(tls_material.client_cert),
           "client_key": str(tls_material.client_key)}
    async with Harness(soap_config(peer.url, tls=tls)) as h:
        assert await h.runtime.wait_connected(10)
        await peer.wait_for("StatusNotification")
    assert peer.errors == []
    # Without the client certificate the same server lets nothing through.
    async with Harness(soap_config(peer.url, tls={"ca_cert": str(tls_material.ca_cert)})) as h2:
        await until(lambda: h2.core.last_error is not None, what="a connection error")
        await asyncio.sleep(0.5)
        assert not h2.core.online
    assert len(peer.received) == len([r for r in peer.received if r.identity == SID]) >= 1
    assert all(r.headers["MessageID"] for r in peer.received)


async def test_basic_auth(soap_csms: SoapFactory) -> None:
    peer = await soap_csms(basic_auth=(SID, "s3cret-pass"))
    auth = {"type": "basic", "username": SID, "password": "s3cret-pass"}
    async with Harness(soap_config(peer.url, csms_auth=auth)) as h:
        assert await h.runtime.wait_connected(10)
        await peer.wait_for("StatusNotification")
    assert peer.errors == [] and len(peer.received) >= 1
    count = len(peer.received)
    boots = len([r for r in peer.received if r.action == "BootNotification"])
    wrong = {"type": "basic", "username": SID, "password": "wrong"}
    async with Harness(soap_config(peer.url, csms_auth=wrong)) as h2:
        await until(lambda: "HTTP 401" in (h2.core.last_error or ""), what="the 401 to be reported")
        assert not h2.core.online
    assert len([r for r in peer.received if r.action == "BootNotification"]) == boots  # refused before handling
    assert len(peer.received) <= count + 1  # (a status of the first session may land late; nothing of the second)


async def test_offline_queue_across_a_csms_outage(soap_csms: SoapFactory) -> None:
    peer = await soap_csms(heartbeat_interval=300)
    async with Harness(soap_config(peer.url)) as h:
        assert await h.runtime.wait_connected(10)
        assert h.act("start_session", 1, "TAGQ").ok
        await peer.wait_for("StartTransaction")
        await until(lambda: h.core.connectors[1].tx is not None and h.core.connectors[1].tx.transaction_id)
        await peer.wait_for("MeterValues")
        await peer.stop()
        await until(lambda: not h.core.is_connected, what="the station to go offline", timeout=15)
        await asyncio.sleep(2.5)  # meter values keep being produced while the CSMS is down
        assert h.act("stop_session", 1).ok
        queued = [e for e in h.core.queue]
        assert queued[-1].action == "StopTransaction"
        offline_ts = [e.payload["meterValue"][0]["timestamp"] for e in queued if e.action == "MeterValues"]
        assert len(offline_ts) >= 2
        await peer.start()  # same port
        await peer.wait_for("StopTransaction", timeout=30)
        await until(lambda: len(h.core.queue) == 0, what="queue drained")
    meter = [r.payload["meterValue"][0]["timestamp"].isoformat() for r in peer.received if r.action == "MeterValues"]
    delivered = [ts for ts in meter if any(ts.startswith(o[:19]) for o in offline_ts)]
    assert len(delivered) == len(offline_ts)  # each exactly once
    assert meter == sorted(meter)  # in order
    actions = [r.action for r in peer.received]
    assert actions.index("StopTransaction") > max(i for i, a in enumerate(actions) if a == "MeterValues")
    assert actions.count("StopTransaction") == 1
    assert actions.count("BootNotification") >= 2  # booted again after the outage ...
    assert len({r.headers["From"] for r in peer.received}) == 1  # ... at the same ChargePointService address
    assert peer.errors == []


async def test_malformed_envelope_from_the_csms_gets_a_fault_and_a_finding(soap_csms: SoapFactory) -> None:
    peer = await soap_csms()
    async with Harness(soap_config(peer.url)) as h:
        assert await h.runtime.wait_connected(10)
        await peer.wait_for("StatusNotification")
        cases = {
            "schema": (f'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                       f'xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:cp="urn://Ocpp/Cp/2015/10/">'
                       f'<s:Header><cp:chargeBoxIdentity>{SID}</cp:chargeBoxIdentity><a:Action>/Reset</a:Action>'
                       f'<a:MessageID>urn:uuid:bad-1</a:MessageID><a:To>x</a:To></s:Header>'
                       f'<s:Body><cp:resetRequest><cp:type>Sideways</cp:type></cp:resetRequest></s:Body>'
                       f'</s:Envelope>'),
            "not xml": "<s:Envelope this is not XML",
            "soap 1.1": ('<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>'),
        }
        for name, text in cases.items():
            before = len(h.core.findings)
            status, body = await peer.post_raw(SID, text)
            assert status == 400, (name, status, body)
            assert "<s:Fault>" in body and "s:Sender" in body, (name, body)
            await until(lambda before=before: len(h.core.findings) == before + 1, what=f"finding for {name}")
        fault = cases["schema"]
        status, body = await peer.post_raw(SID, fault)
        assert "urn:uuid:bad-1" in body  # RelatesTo names the request
        # The station is still fine: a valid call right after is answered.
        assert (await peer.call(SID, "ClearCache"))["status"] == "Accepted"
    assert peer.errors == []
    received_invalid = [f for f in h.frames if f.direction == "received" and f.message_type == "Invalid"]
    assert len(received_invalid) >= 3 and all(f.validation_error for f in received_invalid)


async def test_http_errors_and_time_outs_count_as_offline(soap_csms: SoapFactory) -> None:
    peer = await soap_csms()
    async with Harness(soap_config(peer.url, simulation={"call_timeout": 1.5})) as h:
        assert await h.runtime.wait_connected(10)
        await peer.wait_for("StatusNotification")
        peer.http_status = 503
        h.act("present_id_tag", 1, "TAG503")
        await until(lambda: not h.core.is_connected, what="offline after HTTP 503")
        await until(lambda: "HTTP 503" in (h.core.last_error or ""), what="the 503 reported")
        peer.http_status, peer.hang = None, True
        await until(lambda: h.core.is_connected, what="reconnected", timeout=15)
        await until(lambda: not h.core.is_connected, what="offline after a time-out", timeout=15)
        assert "no answer from" in (h.core.last_error or "") or "timeout" in (h.core.last_error or "").lower()
        peer.hang = False
        await until(lambda: h.core.online, what="back online", timeout=20)
    assert peer.errors == []


async def test_charge_point_service_serves_its_wsdl(soap_csms: SoapFactory) -> None:
    from tornado.httpclient import AsyncHTTPClient

    peer = await soap_csms()
    async with Harness(soap_config(peer.url)) as h:
        assert await h.runtime.wait_connected(10)
        client = AsyncHTTPClient(force_instance=True)
        try:
            wsdl = await client.fetch(peer.stations[SID] + "?wsdl")
            plain_get = await client.fetch(peer.stations[SID], raise_error=False)
        finally:
            client.close()
    assert b"ChargePointService" in wsdl.body and b"urn://Ocpp/Cp/2015/10/" in wsdl.body
    assert plain_get.code == 405


async def test_a_call_error_of_the_station_reaches_zeep_as_a_soap_fault(soap_csms: SoapFactory) -> None:
    import zeep.exceptions

    peer = await soap_csms(boot_status="Rejected", heartbeat_interval=60)
    async with Harness(soap_config(peer.url)) as h:
        await peer.wait_for("BootNotification")
        await until(lambda: h.core.registration == "Rejected", what="the boot to be rejected")
        try:
            await peer.call(SID, "ClearCache")
        except zeep.exceptions.Fault as fault:
            assert fault.code == "Sender" or "Sender" in str(fault.code)
            assert "not accepted" in fault.message
        else:
            raise AssertionError("a rejected station must refuse CSMS requests")
    assert peer.errors == []
