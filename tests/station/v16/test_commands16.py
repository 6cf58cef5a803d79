"""Every CSMS-initiated 1.6 action: schema-valid random requests get schema-valid answers and the station lives;
the behaviour sequences that follow (firmware, diagnostics, logs, certificates, reservations, local list)."""

from __future__ import annotations

import json
import random

import pytest
from cryptography import x509

from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.payload_templates import random_payload, template_for
from ocppemu.ocpp.validation import validate
from ocppemu.ocpp.versions import Version
from tests.station.v16.test_station16 import T0, boot, make

CSMS_ACTIONS = catalogue(Version.V16).csms_initiated()


@pytest.mark.parametrize("action", CSMS_ACTIONS)
@pytest.mark.parametrize("seed", range(4))
def test_random_valid_requests_get_valid_answers(action: str, seed: int) -> None:
    st, csms, frames = make(connectors=[{"id": 1}, {"id": 2}])
    boot(st, csms)
    st.start_session(2, "TAG", T0 + 1)
    csms.pump(T0 + 1)
    schema = catalogue(Version.V16)[action].request_schema
    payload = template_for(schema) if seed == 0 else random_payload(schema, random.Random(seed))
    st.receive(json.dumps([2, f"m{seed}", action, payload]), T0 + 2)
    csms.pump(T0 + 2)
    answer = next(a for a in csms.answers if a[1] == f"m{seed}")
    if answer[0] == 3:
        assert validate(Version.V16, action, "response", answer[2]) is None, (payload, answer)
    else:
        assert answer[2] in ("NotImplemented", "NotSupported", "PropertyConstraintViolation",
                             "OccurrenceConstraintViolation", "TypeConstraintViolation", "FormatViolation"), answer
    for i in range(3, 30):  # follow-up sequences run, and the station keeps working
        st.tick(T0 + i)
        csms.pump(T0 + i)
        for request in st.take_requests():
            if request.kind == "reboot":
                st.disconnected(T0 + i)
                boot(st, csms, T0 + i)
    assert not [f for f in frames if f.direction == "sent" and f.validation_error]
    st.tick(T0 + 100)
    csms.pump(T0 + 100)
    assert st.online


def _drive(st, csms, start: float, seconds: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(seconds):
        st.tick(start + i)
        csms.pump(start + i)
        for request in st.take_requests():
            if request.kind == "reboot":
                st.disconnected(start + i)
                boot(st, csms, start + i)


def test_update_firmware_sequence_then_reboot() -> None:
    st, csms, _ = make()
    boot(st, csms)
    st.receive(json.dumps([2, "f", "UpdateFirmware", {"location": "http://x/fw.bin",
                                                       "retrieveDate": "2020-01-01T00:00:00Z"}]), T0 + 1)
    _drive(st, csms, T0 + 1, 15)
    statuses = [c[3]["status"] for c in csms.calls if c[2] == "FirmwareStatusNotification"]
    assert statuses == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert csms.actions().count("BootNotification") == 2


def test_diagnostics_and_log_uploads() -> None:
    st, csms, _ = make()
    boot(st, csms)
    st.receive(json.dumps([2, "d", "GetDiagnostics", {"location": "ftp://x/"}]), T0 + 1)
    st.receive(json.dumps([2, "l", "GetLog", {"logType": "SecurityLog", "requestId": 9,
                                              "log": {"remoteLocation": "https://x/"}}]), T0 + 1)
    _drive(st, csms, T0 + 1, 8)
    assert [c[3]["status"] for c in csms.calls if c[2] == "DiagnosticsStatusNotification"] == ["Uploading", "Uploaded"]
    assert [c[3] for c in csms.calls if c[2] == "LogStatusNotification"] == [
        {"status": "Uploading", "requestId": 9}, {"status": "Uploaded", "requestId": 9}]
    assert csms.answers[0][2]["fileName"].startswith("diagnostics-")


def test_certificates(tls_material) -> None:  # type: ignore[no-untyped-def]
    st, csms, _ = make()
    boot(st, csms)
    pem = tls_material.ca_cert.read_text()
    st.receive(json.dumps([2, "i", "InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                                                          "certificate": pem}]), T0 + 1)
    st.receive(json.dumps([2, "g", "GetInstalledCertificateIds",
                           {"certificateType": "CentralSystemRootCertificate"}]), T0 + 1)
    csms.pump(T0 + 1)
    assert csms.answers[0][2] == {"status": "Accepted"}
    ids = csms.answers[1][2]
    assert ids["status"] == "Accepted" and len(ids["certificateHashData"]) == 1
    st.receive(json.dumps([2, "x", "DeleteCertificate", {"certificateHashData": ids["certificateHashData"][0]}]),
               T0 + 2)
    st.receive(json.dumps([2, "y", "DeleteCertificate", {"certificateHashData": ids["certificateHashData"][0]}]),
               T0 + 2)
    csms.pump(T0 + 2)
    assert [a[2]["status"] for a in csms.answers[2:4]] == ["Accepted", "NotFound"]
    st.receive(json.dumps([2, "t", "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"}]),
               T0 + 3)
    csms.pump(T0 + 3)
    csr_pem = [c[3]["csr"] for c in csms.calls if c[2] == "SignCertificate"][0]
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    assert csr.is_signature_valid and "CP001" in csr.subject.rfc4514_string()
    st.receive(json.dumps([2, "s", "CertificateSigned", {"certificateChain": pem}]), T0 + 4)
    csms.pump(T0 + 4)
    assert csms.answers[-1][2] == {"status": "Accepted"}


def test_reservation_cancel_and_local_list_and_clear_cache() -> None:
    st, csms, _ = make()
    boot(st, csms)
    st.receive(json.dumps([2, "r", "ReserveNow", {"connectorId": 1, "expiryDate": "2027-01-15T09:00:00Z",
                                                  "idTag": "RES", "reservationId": 3}]), T0 + 1)
    st.receive(json.dumps([2, "c", "CancelReservation", {"reservationId": 3}]), T0 + 1)
    st.receive(json.dumps([2, "c2", "CancelReservation", {"reservationId": 3}]), T0 + 1)
    st.receive(json.dumps([2, "l", "SendLocalList", {"listVersion": 5, "updateType": "Full", "localAuthorizationList": [
        {"idTag": "LOCAL1", "idTagInfo": {"status": "Accepted"}}]}]), T0 + 1)
    st.receive(json.dumps([2, "v", "GetLocalListVersion", {}]), T0 + 1)
    st.receive(json.dumps([2, "k", "ClearCache", {}]), T0 + 1)
    csms.pump(T0 + 1)
    by_id = {a[1]: a[2] for a in csms.answers}
    assert by_id["r"] == {"status": "Accepted"}
    assert by_id["c"] == {"status": "Accepted"} and by_id["c2"] == {"status": "Rejected"}
    assert by_id["l"] == {"status": "Accepted"} and by_id["v"] == {"listVersion": 5}
    assert by_id["k"]["status"] in ("Accepted", "Rejected")
    assert st.connectors[1].status == "Available"
