"""The scenario library's trigger adapter for the independent CSMS (see scenarios/README.md).

``POST /{station_id}/{Action}`` with a JSON body makes the peer send that CSMS call to the station, in the
background, and answers 202 at once. Body fields the message of the station's version does not have are dropped
(library scenarios give 1.6 and 2.x fields side by side where a step serves both); fields the CSMS knows are
filled in: the running transaction's id for RemoteStopTransaction / RequestStopTransaction / a 2.x TxProfile, and
``transactionId: current`` of GetTransactionStatus.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.versions import Version
from tests.peers.ocpp_csms import PeerCsms

log = logging.getLogger(__name__)


def _current_tx(peer: PeerCsms, station_id: str, version: Version) -> Any:
    if version is Version.V16:
        return peer.last_transaction.get(station_id)
    for r in reversed(peer.received(station_id, "TransactionEvent")):
        info = r.payload.get("transactionInfo") if isinstance(r.payload, dict) else None
        if isinstance(info, dict) and "transactionId" in info:
            return info["transactionId"]
    return None


def build_payload(peer: PeerCsms, station_id: str, version: Version, action: str,
                  body: dict[str, Any]) -> dict[str, Any]:
    spec = catalogue(version)[action]
    props = spec.request_schema.get("properties", {})
    payload = {k: v for k, v in body.items() if k in props}
    tx = _current_tx(peer, station_id, version)
    if action in ("RemoteStopTransaction", "RequestStopTransaction") and "transactionId" not in payload:
        payload["transactionId"] = tx if version is Version.V16 else str(tx)
    if action == "GetTransactionStatus" and payload.get("transactionId") == "current":
        payload["transactionId"] = str(tx)
    profile = payload.get("chargingProfile")
    if isinstance(profile, dict) and profile.get("chargingProfilePurpose") == "TxProfile" and tx is not None:
        profile.setdefault("transactionId", str(tx))
    profile16 = payload.get("csChargingProfiles")
    if isinstance(profile16, dict) and profile16.get("chargingProfilePurpose") == "TxProfile" and tx is not None:
        profile16.setdefault("transactionId", tx)
    return payload


class TriggerApi:
    """An HTTP server on 127.0.0.1 (free port) driving ``peer``; ``url`` is the base the scenarios need."""

    def __init__(self, peer: PeerCsms) -> None:
        self.peer = peer
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.failures: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: HTTPServer | None = None
        self._port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> TriggerApi:
        api = self

        class Handler(RequestHandler):
            async def post(self, station_id: str, action: str) -> None:
                body = json.loads(self.request.body or b"{}")
                api.requests.append((station_id, action, body))
                cp = api.peer._stations.get(station_id)
                if cp is None:
                    self.set_status(404)
                    self.finish({"error": f"station {station_id} is not connected"})
                    return
                version = Version(cp._ocpp_version)  # type: ignore[attr-defined]
                payload = build_payload(api.peer, station_id, version, action, body)
                task = asyncio.ensure_future(api._call(station_id, action, payload))
                api._tasks.add(task)
                task.add_done_callback(api._tasks.discard)
                self.set_status(202)
                self.finish({"sent": action, "payload": payload})

            def check_xsrf_cookie(self) -> None:
                return None

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.setblocking(False)
        self._port = sock.getsockname()[1]
        self._server = HTTPServer(Application([(r"/([^/]+)/([A-Za-z0-9]+)", Handler)]))
        self._server.add_sockets([sock])
        return self

    async def _call(self, station_id: str, action: str, payload: dict[str, Any]) -> None:
        try:
            await self.peer.call(station_id, action, payload)
        except Exception as exc:  # a CallError or a refused answer is the scenario's business, not ours
            self.failures.append(f"{action}: {type(exc).__name__}: {exc}")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
