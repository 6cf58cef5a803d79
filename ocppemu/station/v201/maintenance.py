"""Firmware, logs and certificates of a 2.0.1 station (functional blocks L, N (logs) and A/M (certificates)).

* UpdateFirmware runs the FirmwareStatusNotification sequence Downloading, Downloaded, (SignatureVerified),
  (InstallScheduled), Installing, InstallRebooting, then reboots with reason FirmwareUpdate and reports Installed
  (and a ``FirmwareUpdated`` security event) after the new boot; installation waits for running transactions to end.
  A location that is not a URL gives DownloadFailed. PublishFirmware / UnpublishFirmware emulate a local controller.
* GetLog writes a log file and uploads it over HTTP to ``log.remoteLocation``: the core hands an
  :class:`UploadJob` to the injected :attr:`Station201.uploader` (see :mod:`ocppemu.runtime.uploads`, which does
  the I/O in the runtime) and reports Uploading, then Uploaded or UploadFailure (after ``retries``). Without an
  uploader the upload is simulated and the event says so.
* SignCertificate carries a real CSR (its key kept); CertificateSigned installs the chain only if it certifies one of
  our keys; InstallCertificate / DeleteCertificate / GetInstalledCertificateIds manage the CA certificates.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization

from ocppemu.ocpp.framing import Call
from ocppemu.ocpp.rpc import PendingCall
from ocppemu.station.certificates import certificate_hash_data, first_certificate, key_pem, make_csr, make_key
from ocppemu.station.core import iso
from ocppemu.station.state_tables import FIRMWARE_2X, LOG
from ocppemu.station.v201.registry import HANDLERS

if TYPE_CHECKING:
    from ocppemu.station.v201.station import Station201

STEP_SECONDS = 0.5
_GET_ID_TYPES = {"V2GRootCertificate", "MORootCertificate", "CSMSRootCertificate", "ManufacturerRootCertificate",
                 "V2GCertificateChain"}


@dataclass(slots=True)
class UploadJob:
    """A file the station wants uploaded: the runtime's uploader performs it and calls ``upload_finished``."""

    request_id: int
    url: str
    filename: str
    content: bytes
    attempts_left: int = 1
    retry_interval: float = 1.0


Uploader = Callable[[UploadJob], None]


# -- firmware -----------------------------------------------------------------------------------------------


def send_firmware_status(self: Station201, now: float) -> None:
    payload: dict[str, Any] = {"status": self.firmware_status}
    if self.firmware_status != "Idle" and self.firmware_request_id is not None:
        payload["requestId"] = self.firmware_request_id
    self.send_online("FirmwareStatusNotification", payload, now)


def _firmware_step(self: Station201, status: str, now: float) -> None:
    self.firmware_status = FIRMWARE_2X.fire(self.firmware_status, status, request=self.firmware_request_id)
    self.emit("firmware", now, status=status, request_id=self.firmware_request_id)
    send_firmware_status(self, now)


@HANDLERS.call("UpdateFirmware")
def on_call_UpdateFirmware(self: Station201, call: Call, now: float) -> None:
    p = call.payload
    fw = p["firmware"]
    cert = fw.get("signingCertificate")
    if cert is not None:
        try:
            first_certificate(cert)
        except ValueError:
            self.answer(call, {"status": "InvalidCertificate"}, now)
            self.security_event("InvalidFirmwareSigningCertificate", now, "signing certificate is not PEM")
            return
    busy = self.firmware_status not in ("Idle", "Installed", "DownloadFailed", "InstallationFailed",
                                        "InvalidSignature", "InstallVerificationFailed")
    self.answer(call, {"status": "AcceptedCanceled" if busy else "Accepted"}, now)
    self.firmware_request_id = p["requestId"]
    location = str(fw["location"])
    start = self.clock.local_of(fw["retrieveDateTime"])
    at = max(now, start if start is not None else now)
    install_at = self.clock.local_of(fw["installDateTime"]) if fw.get("installDateTime") else None
    steps: list[tuple[str, dict[str, Any]]] = [("Downloading", {})]
    if "://" not in location:
        steps.append(("DownloadFailed", {}))
    else:
        steps.append(("Downloaded", {}))
        if fw.get("signature"):
            steps.append(("SignatureVerified", {}))
        if install_at is not None and install_at > at + 2 * STEP_SECONDS:
            steps.append(("InstallScheduled", {"until": install_at}))
        name = location.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0] or "1.0.0"
        steps += [("Installing", {"version": name[:50]}), ("InstallRebooting", {}), ("__reboot__", {})]
    self.sequences["firmware"] = steps
    self.timers.set(("sequence", "firmware"), at, partial(_run_firmware, self))


def _run_firmware(self: Station201, now: float) -> None:
    steps = self.sequences.get("firmware", [])
    if not steps:
        return
    status, extra = steps[0]
    if status == "Installing" and any(e.active_tx is not None for e in self.evses.values()):
        # install once the transactions ended
        self.timers.set(("sequence", "firmware"), now + 1.0, partial(_run_firmware, self))
        return
    steps.pop(0)
    if status == "__reboot__":
        self.after_boot.append(("FirmwareStatusNotification",
                                {"status": "Installed", "requestId": self.firmware_request_id or 0}))
        self.firmware_status = FIRMWARE_2X.fire(self.firmware_status, "Installed")
        self.security_event("FirmwareUpdated", now, f"firmware {self.firmware_version} installed")
        self.prepare_reboot("FirmwareUpdate", now)
        return
    if status == "Installing":
        self.firmware_version = str(extra.get("version", self.firmware_version))
    _firmware_step(self, status, now)
    if steps:
        until = extra.get("until")
        self.timers.set(("sequence", "firmware"), float(until) if until else now + STEP_SECONDS,
                        partial(_run_firmware, self))


def send_publish_status(self: Station201, now: float) -> None:
    status = self.publish.get("status", "Idle")
    payload: dict[str, Any] = {"status": status}
    if status == "Published":
        payload["location"] = [self.publish["url"]]
    if "request_id" in self.publish and status != "Idle":
        payload["requestId"] = self.publish["request_id"]
    self.send_online("PublishFirmwareStatusNotification", payload, now)


@HANDLERS.call("PublishFirmware")
def on_call_PublishFirmware(self: Station201, call: Call, now: float) -> None:
    p = call.payload
    self.answer(call, {"status": "Accepted"}, now)
    self.publish = {"status": "Idle", "request_id": p["requestId"], "checksum": p["checksum"],
                    "url": f"http://{self.station_id}.local/firmware/{p['checksum']}"}
    steps = ["Downloading", "Downloaded", "ChecksumVerified", "Published"] if "://" in str(p["location"]) else [
        "Downloading", "DownloadFailed"]
    self.sequences["publish"] = [(s, {}) for s in steps]
    self.timers.set(("sequence", "publish"), now, partial(_publish_step, self))


@HANDLERS.call("UnpublishFirmware")
def on_call_UnpublishFirmware(self: Station201, call: Call, now: float) -> None:
    status = self.publish.get("status")
    if status in ("Downloading", "Downloaded"):
        answer = "DownloadOngoing"
    elif status == "Published" and self.publish.get("checksum") == call.payload["checksum"]:
        answer = "Unpublished"
        self.publish = {}
    else:
        answer = "NoFirmware"
    self.answer(call, {"status": answer}, now)


# -- logs ---------------------------------------------------------------------------------------------------


def send_log_status(self: Station201, now: float) -> None:
    payload: dict[str, Any] = {"status": self.log_status}
    if self.log_status != "Idle" and self.log_request_id is not None:
        payload["requestId"] = self.log_request_id
    self.send_online("LogStatusNotification", payload, now)


def _log_step(self: Station201, status: str, now: float) -> None:
    self.log_status = LOG.fire(self.log_status, status, request=self.log_request_id)
    self.emit("log", now, status=status, request_id=self.log_request_id)
    send_log_status(self, now)


def log_content(self: Station201, log_type: str, now: float) -> bytes:
    """The log file: a header and the station's live state as JSON (what a support engineer asks for)."""
    lines = [f"# {log_type} of {self.station_id} ({self.config.vendor} {self.config.model}, firmware "
             f"{self.firmware_version})", f"# generated {iso(self.csms_now(now))}",
             json.dumps(self.snapshot(), default=str, indent=1)]
    lines += [f"finding: {f.violation}" for f in self.findings]
    return ("\n".join(lines) + "\n").encode()


@HANDLERS.call("GetLog")
def on_call_GetLog(self: Station201, call: Call, now: float) -> None:
    p = call.payload
    busy = self.log_status == "Uploading"
    name = f"{p['logType'].lower()}-{self.station_id}-{p['requestId']}.log"
    self.answer(call, {"status": "AcceptedCanceled" if busy else "Accepted", "filename": name[:255]}, now)
    self.log_request_id = p["requestId"]
    retries = p.get("retries")
    job = UploadJob(p["requestId"], p["log"]["remoteLocation"], name, log_content(self, p["logType"], now),
                    attempts_left=1 + max(0, retries if isinstance(retries, int) else 1),
                    retry_interval=float(max(0, p.get("retryInterval") or 1)))
    _log_step(self, "Uploading", now)
    _start_upload(self, job, now)


def _start_upload(self: Station201, job: UploadJob, now: float) -> None:
    job.attempts_left -= 1
    if self.uploader is None:
        self.emit("log", now, status="simulated", detail="no uploader attached: upload simulated")
        self.sequences["log"] = [("Uploaded", {"request_id": job.request_id})]
        self.timers.set(("sequence", "log"), now + STEP_SECONDS, partial(_simulated_log_step, self))
        return
    if "://" not in job.url:
        upload_finished(self, job, False, f"{job.url!r} is not a URL", now)
        return
    self.uploader(job)


def upload_finished(self: Station201, job: UploadJob, ok: bool, detail: str, now: float) -> None:
    """Called by the runtime's uploader when an upload ended (``ok``) with a readable ``detail``."""
    if job.request_id != self.log_request_id:
        return  # superseded by a newer GetLog
    self.emit("upload", now, request_id=job.request_id, ok=ok, detail=detail, url=job.url)
    if ok:
        _log_step(self, "Uploaded", now)
    elif job.attempts_left > 0:
        self.pending_upload = job
        self.timers.set(("retry_upload", job.request_id), now + job.retry_interval, partial(_retry_upload, self))
    else:
        _log_step(self, "UploadFailure", now)


# -- certificates -------------------------------------------------------------------------------------------


def send_sign_certificate(self: Station201, kind: str, now: float) -> None:
    key = make_key()
    self.csr_keys.append(key_pem(key))
    org = self.dm.get_value("SecurityCtrlr", "OrganizationName") or self.config.vendor
    csr = make_csr(self.station_id, org, key)
    self.send_online("SignCertificate", {"csr": csr, "certificateType": kind}, now)


@HANDLERS.result("SignCertificate")
def result_SignCertificate(self: Station201, pending: PendingCall, payload: dict[str, Any], now: float) -> None:
    self.emit("certificate", now, sign_request=payload.get("status"))


def _public_der(pem: str) -> bytes:
    key = serialization.load_pem_private_key(pem.encode(), None)
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


@HANDLERS.call("CertificateSigned")
def on_call_CertificateSigned(self: Station201, call: Call, now: float) -> None:
    chain = call.payload["certificateChain"]
    kind = call.payload.get("certificateType", "ChargingStationCertificate")
    try:
        cert = first_certificate(chain)
        public = cert.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    except ValueError as exc:
        self.answer(call, {"status": "Rejected", "statusInfo": {"reasonCode": "InvalidCertificate",
                                                                   "additionalInfo": str(exc)[:512]}}, now)
        self.security_event("InvalidChargingStationCertificate", now, str(exc))
        return
    key = next((k for k in self.csr_keys if _public_der(k) == public), None)
    if key is None:
        self.answer(call, {"status": "Rejected", "statusInfo": {
            "reasonCode": "NoMatchingKey", "additionalInfo": "the certificate is not for a key of a CSR we sent"}},
            now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    self.csr_keys.remove(key)
    self.certificates[kind] = {"pem": chain, "key": key, "type": kind}
    _count_certificates(self, now)
    self.emit("certificate", now, installed=kind, serial=format(cert.serial_number, "x"))


def client_certificate(self: Station201) -> tuple[str, str] | None:
    """The installed station certificate chain and its private key (PEM), for TLS security profile 3."""
    entry = self.certificates.get("ChargingStationCertificate")
    return None if entry is None else (entry["pem"], entry["key"])


def _count_certificates(self: Station201, now: float) -> None:
    self.set_variable("SecurityCtrlr", "CertificateEntries", str(len(self.certificates)), now)


@HANDLERS.call("InstallCertificate")
def on_call_InstallCertificate(self: Station201, call: Call, now: float) -> None:
    pem = call.payload["certificate"]
    try:
        hashes = certificate_hash_data(pem)
    except ValueError as exc:
        self.answer(call, {"status": "Rejected", "statusInfo": {"reasonCode": "InvalidCertificate",
                                                                   "additionalInfo": str(exc)[:512]}}, now)
        return
    self.certificates[hashes["serialNumber"]] = {"pem": pem, "type": call.payload["certificateType"]}
    _count_certificates(self, now)
    self.answer(call, {"status": "Accepted"}, now)


def _hash_of(entry: dict[str, str]) -> dict[str, str] | None:
    try:
        return certificate_hash_data(entry["pem"])
    except ValueError:
        return None


@HANDLERS.call("GetInstalledCertificateIds")
def on_call_GetInstalledCertificateIds(self: Station201, call: Call, now: float) -> None:
    wanted = set(call.payload.get("certificateType") or _GET_ID_TYPES)
    chains = []
    for entry in self.certificates.values():
        kind = "V2GCertificateChain" if entry["type"] == "V2GCertificate" else entry["type"]
        hashes = _hash_of(entry)
        if kind in wanted and kind in _GET_ID_TYPES and hashes is not None:
            chains.append({"certificateType": kind, "certificateHashData": hashes})
    answer: dict[str, Any] = {"status": "Accepted" if chains else "NotFound"}
    if chains:
        answer["certificateHashDataChain"] = chains
    self.answer(call, answer, now)


@HANDLERS.call("DeleteCertificate")
def on_call_DeleteCertificate(self: Station201, call: Call, now: float) -> None:
    wanted = call.payload["certificateHashData"]
    for key, entry in list(self.certificates.items()):
        hashes = _hash_of(entry)
        if hashes is None or hashes["serialNumber"] not in (wanted["serialNumber"],
                                                             wanted["serialNumber"].lower().lstrip("0")):
            continue
        if entry["type"] == "ChargingStationCertificate":
            self.answer(call, {"status": "Failed", "statusInfo": {"reasonCode": "InUse"}}, now)
            return
        del self.certificates[key]
        _count_certificates(self, now)
        self.answer(call, {"status": "Accepted"}, now)
        return
    self.answer(call, {"status": "NotFound"}, now)


@HANDLERS.result("Get15118EVCertificate")
def result_Get15118EVCertificate(self: Station201, pending: PendingCall, payload: dict[str, Any],
                                 now: float) -> None:
    self.emit("certificate", now, ev_certificate=payload.get("status"))


@HANDLERS.result("GetCertificateStatus")
def result_GetCertificateStatus(self: Station201, pending: PendingCall, payload: dict[str, Any],
                                now: float) -> None:
    self.emit("certificate", now, ocsp_status=payload.get("status"))


# -- timers -------------------------------------------------------------------------------------------------


def _retry_upload(self: Station201, now: float) -> None:
    job = self.pending_upload
    self.pending_upload = None
    if job is not None:
        _start_upload(self, job, now)


def _simulated_log_step(self: Station201, now: float) -> None:
    steps = self.sequences.get("log", [])
    if steps:
        _log_step(self, steps.pop(0)[0], now)


def _publish_step(self: Station201, now: float) -> None:
    steps = self.sequences.get("publish", [])
    if steps:
        self.publish["status"] = steps.pop(0)[0]
        self.emit("publish_firmware", now, status=self.publish["status"])
        send_publish_status(self, now)
        if steps:
            self.timers.set(("sequence", "publish"), now + STEP_SECONDS, partial(_publish_step, self))
