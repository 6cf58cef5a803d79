"""OCPP 2.0.1 interop against an independent CSMS (the third-party `ocpp` package, strict validation)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.peers.ocpp_csms import Behaviour, PeerCsms
from tests.station.v201.helpers import Harness, station_config, until

V201 = ("2.0.1",)


def _now(offset: float = 0.0) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class SigningCa:
    """A throw-away CA that signs the station's CSRs, as a CSMS's PKI would."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ocppemu test CA")])
        now = dt.datetime.now(dt.UTC)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))

    def sign(self, csr_pem: str) -> str:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        assert csr.is_signature_valid
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(self.cert.subject)
                .public_key(csr.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
                .sign(self.key, hashes.SHA256()))
        return (cert.public_bytes(serialization.Encoding.PEM)
                + self.cert.public_bytes(serialization.Encoding.PEM)).decode()

    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()


def tx_events(peer: PeerCsms, sid: str, tid: str) -> list[dict[str, Any]]:
    return [m.payload for m in peer.received(sid, "TransactionEvent")
            if m.payload["transactionInfo"]["transactionId"] == tid]


async def ended(peer: PeerCsms, sid: str, tid: str) -> list[dict[str, Any]]:
    await peer.wait_for(sid, "TransactionEvent", where=lambda m: m.payload["eventType"] == "Ended"
                        and m.payload["transactionInfo"]["transactionId"] == tid)
    return tx_events(peer, sid, tid)


def check_sequence(events: list[dict[str, Any]]) -> None:
    assert [e["seqNo"] for e in events] == list(range(len(events)))
    assert events[0]["eventType"] == "Started" and events[-1]["eventType"] == "Ended"
    assert all(e["eventType"] == "Updated" for e in events[1:-1])


async def full_flow(peer: PeerCsms, h: Harness, ca: SigningCa) -> None:
    sid = h.core.station_id
    assert await h.runtime.wait_connected(10)
    boot = peer.received(sid, "BootNotification")[0].payload
    assert boot["reason"] == "PowerUp" and boot["chargingStation"]["vendorName"] == "ocppemu"

    # Device model report in parts.
    assert await peer.call(sid, "GetBaseReport", {"requestId": 1, "reportBase": "FullInventory"}) == {
        "status": "Accepted"}
    reports = await peer.wait_for(sid, "NotifyReport", where=lambda m: m.payload["tbc"] is False)
    parts = [m.payload for m in peer.received(sid, "NotifyReport") if m.payload["requestId"] == 1]
    assert [p["seqNo"] for p in parts] == list(range(len(parts))) and len(parts) >= 2 and reports
    data = {(d["component"]["name"], d["variable"]["name"]): d for p in parts for d in p["reportData"]}
    assert data[("TxCtrlr", "TxStartPoint")]["variableAttribute"][0]["value"] == "EVConnected,Authorized"
    assert data[("AuthCtrlr", "AuthorizeRemoteStart")]["variableAttribute"][0]["value"] == "false"

    # SetVariables HeartbeatInterval: heartbeats start coming every second.
    answer = await peer.call(sid, "SetVariables", {"setVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}, "attributeValue": "1"},
        {"component": {"name": "ChargingStation"}, "variable": {"name": "Model"}, "attributeValue": "x"}]})
    assert [r["attributeStatus"] for r in answer["setVariableResult"]] == ["Accepted", "Rejected"]
    await peer.wait_for(sid, "Heartbeat", count=2, timeout=5)
    assert h.core.heartbeat_interval == 1

    # A local transaction: plug in (Started), authorize (Updated with the idToken), meter values, stop (Ended).
    assert h.act("start_session", 1, "TOK-LOCAL").ok
    await until(lambda: h.core.evses[1].active_tx is not None, what="local transaction")
    tid = h.core.evses[1].active_tx.transaction_id  # type: ignore[union-attr]
    await peer.wait_for(sid, "TransactionEvent", count=1, where=lambda m: m.payload["triggerReason"] ==
                        "MeterValuePeriodic" and m.payload["transactionInfo"]["transactionId"] == tid)
    assert h.act("stop_session", 1).ok
    events = await ended(peer, sid, tid)
    check_sequence(events)
    assert events[0]["triggerReason"] == "CablePluggedIn" and "idToken" not in events[0]
    authorized = next(e for e in events if e["triggerReason"] == "Authorized")
    assert authorized["idToken"] == {"idToken": "TOK-LOCAL", "type": "ISO14443"}
    assert authorized["transactionInfo"]["chargingState"] == "Charging"
    assert events[-1]["transactionInfo"]["stoppedReason"] == "Local"
    energies = [sv["value"] for e in events for mv in e.get("meterValue", []) for sv in mv["sampledValue"]
                if sv["measurand"] == "Energy.Active.Import.Register"]
    assert len(energies) >= 3 and energies == sorted(energies)
    assert h.act("unplug", 1).ok

    # A remote transaction, a TxProfile limiting it, the composite schedule, a monitor on EVSE power.
    answer = await peer.call(sid, "RequestStartTransaction", {
        "idToken": {"idToken": "TOK-REMOTE", "type": "Central"}, "remoteStartId": 42, "evseId": 1})
    assert answer["status"] == "Accepted"
    await until(lambda: h.core.evses[1].active_tx is not None, what="remote transaction")
    rtid = h.core.evses[1].active_tx.transaction_id  # type: ignore[union-attr]
    started = (await peer.wait_for(sid, "TransactionEvent", where=lambda m: m.payload["eventType"] == "Started"
                                   and m.payload["transactionInfo"]["transactionId"] == rtid))[0].payload
    assert started["triggerReason"] == "RemoteStart" and started["transactionInfo"]["remoteStartId"] == 42
    assert started["idToken"]["idToken"] == "TOK-REMOTE"
    profile = {"id": 10, "stackLevel": 0, "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative",
               "transactionId": rtid, "chargingSchedule": [{"id": 1, "chargingRateUnit": "W",
                                                            "chargingSchedulePeriod": [{"startPeriod": 0,
                                                                                        "limit": 2000.0}]}]}
    assert (await peer.call(sid, "SetChargingProfile", {"evseId": 1, "chargingProfile": profile}))[
        "status"] == "Accepted"
    comp = await peer.call(sid, "GetCompositeSchedule", {"duration": 300, "evseId": 1, "chargingRateUnit": "W"})
    assert comp["status"] == "Accepted"
    assert [p["limit"] for p in comp["schedule"]["chargingSchedulePeriod"]] == [2000.0]
    assert h.core.evses[1].meter.power_w <= 2000.0
    mon = await peer.call(sid, "SetVariableMonitoring", {"setMonitoringData": [
        {"value": 1000, "type": "UpperThreshold", "severity": 4,
         "component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"}}]})
    monitor_id = mon["setMonitoringResult"][0]["id"]
    assert mon["setMonitoringResult"][0]["status"] == "Accepted"
    notes = await peer.wait_for(sid, "NotifyEvent", where=lambda m: any(
        e.get("variableMonitoringId") == monitor_id for e in m.payload["eventData"]))
    event = next(e for e in notes[0].payload["eventData"] if e.get("variableMonitoringId") == monitor_id)
    assert event["trigger"] == "Alerting" and float(event["actualValue"]) > 1000
    assert event["transactionId"] == rtid
    report = await peer.call(sid, "GetMonitoringReport", {"requestId": 5, "monitoringCriteria": [
        "ThresholdMonitoring"]})
    assert report["status"] == "Accepted"
    await peer.wait_for(sid, "NotifyMonitoringReport")
    assert await peer.call(sid, "RequestStopTransaction", {"transactionId": rtid}) == {"status": "Accepted"}
    events = await ended(peer, sid, rtid)
    check_sequence(events)
    assert events[-1]["triggerReason"] == "RemoteStop"
    assert events[-1]["transactionInfo"]["stoppedReason"] == "Remote"
    assert h.act("unplug", 1).ok

    # A reservation, used by its idToken.
    answer = await peer.call(sid, "ReserveNow", {"id": 7, "expiryDateTime": _now(600), "evseId": 1,
                                                 "idToken": {"idToken": "TOK-RES", "type": "ISO14443"}})
    assert answer == {"status": "Accepted"}
    await peer.wait_for(sid, "StatusNotification", where=lambda m: m.payload["connectorStatus"] == "Reserved")
    assert h.act("present_id_token", 1, "SOMEONE-ELSE").ok is False
    assert h.act("start_session", 1, "TOK-RES").ok
    await until(lambda: h.core.evses[1].active_tx is not None
                and h.core.evses[1].active_tx.reservation_id == 7, what="reserved transaction")
    resv_tid = h.core.evses[1].active_tx.transaction_id  # type: ignore[union-attr]
    assert h.act("stop_session", 1).ok
    events = await ended(peer, sid, resv_tid)
    assert [e["reservationId"] for e in events if "reservationId" in e] == [7]
    assert h.act("unplug", 1).ok

    # Certificate signing round-trip: CSR from the station, signed by the CSMS's CA, installed.
    assert await peer.call(sid, "TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"}) == {
        "status": "Accepted"}
    csr = (await peer.wait_for(sid, "SignCertificate"))[0].payload["csr"]
    answer = await peer.call(sid, "CertificateSigned", {"certificateChain": ca.sign(csr),
                                                        "certificateType": "ChargingStationCertificate"})
    assert answer == {"status": "Accepted"}
    assert "ChargingStationCertificate" in h.core.certificates
    assert await peer.call(sid, "InstallCertificate", {"certificateType": "CSMSRootCertificate",
                                                       "certificate": ca.pem()}) == {"status": "Accepted"}
    ids = await peer.call(sid, "GetInstalledCertificateIds", {"certificateType": ["CSMSRootCertificate"]})
    assert ids["status"] == "Accepted" and len(ids["certificateHashDataChain"]) == 1

    # Firmware update: the whole status sequence, a reboot, Installed after the new boot.
    boots = len(peer.received(sid, "BootNotification"))
    answer = await peer.call(sid, "UpdateFirmware", {"requestId": 3, "firmware": {
        "location": "http://127.0.0.1:9/firmware/2.0.0.bin", "retrieveDateTime": _now()}})
    assert answer == {"status": "Accepted"}
    await peer.wait_for(sid, "BootNotification", count=boots + 1, timeout=20)
    await peer.wait_for(sid, "FirmwareStatusNotification", where=lambda m: m.payload["status"] == "Installed",
                        timeout=10)
    statuses = [m.payload["status"] for m in peer.received(sid, "FirmwareStatusNotification")]
    assert statuses == ["Downloading", "Downloaded", "Installing", "InstallRebooting", "Installed"]
    assert peer.received(sid, "BootNotification")[-1].payload["reason"] == "FirmwareUpdate"
    assert peer.received(sid, "BootNotification")[-1].payload["chargingStation"]["firmwareVersion"] == "2.0.0"


@pytest.mark.parametrize("count", [1, 10])
async def test_full_flow_against_independent_csms(peer_csms, count: int) -> None:  # type: ignore[no-untyped-def]
    peer = await peer_csms(versions=V201, behaviour=Behaviour(heartbeat_interval=60))
    ca = SigningCa()
    harnesses = [Harness(station_config(peer.url, f"CS{i:03d}")) for i in range(count)]
    for h in harnesses:
        await h.runtime.start()
    try:
        await asyncio.gather(*(full_flow(peer, h, ca) for h in harnesses))
    finally:
        for h in harnesses:
            await h.runtime.stop()
    assert peer.errors == []
    assert peer.call_errors == []


class _Sink(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Sink.received.append(("PUT", self.path, body))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_sink() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Sink.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_get_log_uploads_over_http(peer_csms, http_sink: str) -> None:  # type: ignore[no-untyped-def]
    peer = await peer_csms(versions=V201)
    async with Harness(station_config(peer.url)) as h:
        assert await h.runtime.wait_connected(10)
        answer = await peer.call("CS001", "GetLog", {"logType": "DiagnosticsLog", "requestId": 9,
                                                     "log": {"remoteLocation": f"{http_sink}/logs/diag.log"}})
        assert answer["status"] == "Accepted" and answer["filename"].endswith(".log")
        await peer.wait_for("CS001", "LogStatusNotification", where=lambda m: m.payload["status"] == "Uploaded")
        statuses = [m.payload for m in peer.received("CS001", "LogStatusNotification")]
        assert statuses == [{"status": "Uploading", "requestId": 9}, {"status": "Uploaded", "requestId": 9}]
        method, path, body = _Sink.received[0]
        assert method == "PUT" and path == "/logs/diag.log" and b"CS001" in body
        # An unreachable location fails after its retries.
        answer = await peer.call("CS001", "GetLog", {"logType": "SecurityLog", "requestId": 10, "retries": 1,
                                                     "retryInterval": 0,
                                                     "log": {"remoteLocation": "http://127.0.0.1:9/nothing"}})
        assert answer["status"] == "Accepted"
        await peer.wait_for("CS001", "LogStatusNotification",
                            where=lambda m: m.payload["status"] == "UploadFailure", timeout=20)
    assert peer.errors == []
