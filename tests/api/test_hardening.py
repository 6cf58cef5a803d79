"""The API refuses what a hostile web page or a bad input would do, and each refusal changes nothing.

Served over real HTTP on 127.0.0.1 (Tornado, as ``ocppemu serve`` builds it) in front of a workbench on a real
SQLite file. Every case asserts the status code, that the answer is the JSON error body with one sentence, and
that the stations are as they were.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from ocppemu.api.app import MAX_BODY_BYTES, ApiContext, make_app
from ocppemu.api.guard import Guard
from ocppemu.api.server import serve
from ocppemu.config.app import AppConfig
from ocppemu.config.masking import mask_log_text
from ocppemu.workbench import Workbench

ALLOWED = "http://dash.example:8866"


@dataclass
class Api:
    wb: Workbench
    url: str
    http: httpx.AsyncClient

    async def ids(self) -> list[str]:
        return [s.station_id for s in (await self.wb.list_stations()).stations]


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    config = AppConfig.model_validate({"application": {"batch_insert_interval": 0.05},
                                       "csms": {"default_url": "ws://127.0.0.1:9/ocpp"}})
    wb = Workbench(f"sqlite:///{tmp_path / 'h.db'}", config=config)
    await wb.start()
    sockets = bind_sockets(0, "127.0.0.1")
    guard = Guard("127.0.0.1", ["emulator.lan"], [ALLOWED])
    server = HTTPServer(make_app(ApiContext(wb, "tok", False, guard)), max_body_size=4 * MAX_BODY_BYTES)
    server.add_sockets(sockets)
    url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        api = Api(wb, url, http)
        r = await http.post("/api/stations", json={"station_id": "KEEP", "connectors": [{"id": 1}, {"id": 2}]})
        assert r.status_code == 201
        yield api
    server.stop()
    await wb.close()


def refused(r: httpx.Response, status: int, words: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == status and words in body["error"], body


# -- Origin, Host, CSRF -----------------------------------------------------------------------------------------

async def test_cross_origin_text_plain_post_is_refused_and_creates_nothing(api: Api) -> None:
    body = json.dumps({"station_id": "EVIL1"})
    r = await api.http.post("/api/stations", content=body,
                            headers={"Origin": "http://evil.example", "Content-Type": "text/plain"})
    refused(r, 403, "http://evil.example")
    r = await api.http.post("/api/stations", json={"station_id": "EVIL2"}, headers={"Origin": "http://evil.example"})
    refused(r, 403, "server.allowed_origins")
    r = await api.http.post("/api/stations", json={"station_id": "EVIL3"}, headers={"Origin": "null"})
    refused(r, 403, "cross-origin")
    r = await api.http.post("/api/stations/KEEP/start", headers={"Origin": "http://evil.example"})
    refused(r, 403, "cross-origin")
    assert await api.ids() == ["KEEP"]
    assert not (await api.wb.get_station("KEEP")).runtime.running


async def test_a_form_or_text_body_without_origin_is_refused(api: Api) -> None:
    r = await api.http.post("/api/stations", content=json.dumps({"station_id": "FORM"}),
                            headers={"Content-Type": "text/plain"})
    refused(r, 422, "application/json")
    r = await api.http.post("/api/stations", content="station_id=FORM",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    refused(r, 422, "application/json")
    assert await api.ids() == ["KEEP"]


async def test_allowed_and_same_origin_pass(api: Api) -> None:
    r = await api.http.post("/api/stations", json={"station_id": "DASH"}, headers={"Origin": ALLOWED})
    assert r.status_code == 201, r.text
    r = await api.http.get("/api/stations", headers={"Origin": api.url})
    assert r.status_code == 200
    assert await api.ids() == ["DASH", "KEEP"]


async def test_foreign_host_is_refused_dns_rebinding(api: Api) -> None:
    for host in ("evil.example", "evil.example:8080", "attacker.localhost.evil"):
        r = await api.http.get("/api/stations", headers={"Host": host})
        refused(r, 403, "Host header")
        r = await api.http.post("/api/stations", json={"station_id": "REBIND"}, headers={"Host": host})
        refused(r, 403, "server.allowed_hosts")
    for host in ("localhost:1234", "127.0.0.1", "emulator.lan:8080", "[::1]:80"):
        r = await api.http.get("/api/stations", headers={"Host": host})
        assert r.status_code == 200, (host, r.text)
    r = await api.http.get("/api/openapi.json", headers={"Host": "evil.example"})
    assert r.status_code == 403
    assert await api.ids() == ["KEEP"]


async def test_websocket_origin_and_host_are_checked(api: Api) -> None:
    ws_url = api.url.replace("http://", "ws://") + "/api/stream"
    with pytest.raises(websockets.InvalidStatus) as bad:
        await websockets.connect(ws_url, origin="http://evil.example")  # type: ignore[arg-type]
    assert bad.value.response.status_code == 403
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    rebind = await api.http.get("/api/stream", headers={**upgrade, "Host": "evil.example"})
    assert rebind.status_code == 403
    assert api.wb.bus.subscribers == 0  # nothing was subscribed by the refused ones
    for origin in (None, ALLOWED, api.url):
        async with websockets.connect(ws_url, origin=origin):  # type: ignore[arg-type]
            for _ in range(100):
                if api.wb.bus.subscribers == 1:
                    break
                await asyncio.sleep(0.02)
            assert api.wb.bus.subscribers == 1


async def test_token_is_mandatory_off_loopback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = AppConfig.model_validate({"server": {"host": "0.0.0.0", "port": 0, "require_token": False},
                                       "data_dir": str(tmp_path / "d"), "store": {"url": f"sqlite:///{tmp_path}/t.db"}})
    assert await serve(config) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs its token" in err


# -- inputs -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("station_id", "words"), [
    ("..", "'..'"), ("a..b", "'..'"), (".", "'.'"), ("a/b", "'/'"), ("", "cannot be empty"),
    ("x" * 49, "at most 48"), ("sp ace", "' '"), ("ü", "'ü'"),
])
async def test_station_ids_follow_ocpp_identity_rules(api: Api, station_id: str, words: str) -> None:
    r = await api.http.post("/api/stations", json={"station_id": station_id})
    refused(r, 422, words)
    error = r.json()["error"]
    assert error.startswith("station_id: a station id") and "pattern" not in error and "Value error" not in error
    assert await api.ids() == ["KEEP"]


async def test_fault_with_an_unknown_error_code_is_422(api: Api) -> None:
    await api.http.post("/api/stations/KEEP/start")
    before = (await api.wb.get_station("KEEP")).snapshot.get("connectors")
    r = await api.http.post("/api/stations/KEEP/actions", json={"action": "fault", "error_code": "Banana"})
    refused(r, 422, "'Banana' is not an OCPP error code")
    assert "GroundFailure" in r.json()["error"]
    r = await api.http.post("/api/stations/KEEP/actions",
                            json={"action": "set_connector_status", "status": "Faulted", "error_code": "Nope"})
    refused(r, 422, "not an OCPP error code")
    assert (await api.wb.get_station("KEEP")).snapshot.get("connectors") == before
    r = await api.http.post("/api/stations/KEEP/actions", json={"action": "fault", "error_code": "GroundFailure"})
    assert r.status_code == 200 and r.json()["ok"], r.text
    await api.http.post("/api/stations/KEEP/stop")


async def test_action_on_a_connector_that_does_not_exist_is_404(api: Api) -> None:
    before = (await api.wb.get_station("KEEP")).snapshot
    for action in ("plug_in", "start_transaction", "fault", "unplug"):
        r = await api.http.post("/api/stations/KEEP/actions", json={"action": action, "connector_id": 9})
        refused(r, 404, "has no connector 9 (it has 1, 2)")
    r = await api.http.post("/api/stations", json={"station_id": "X201", "protocol_version": "2.0.1"})
    assert r.status_code == 201
    r = await api.http.post("/api/stations/X201/actions", json={"action": "plug_in", "connector_id": 3})
    refused(r, 404, "has no EVSE 3")
    assert (await api.wb.get_station("KEEP")).snapshot == before


async def test_a_20_mb_body_gets_a_json_413(api: Api) -> None:
    body = json.dumps({"station_id": "BIG", "name": "x" * (20 * 1024 * 1024)})
    r = await api.http.post("/api/stations", content=body, headers={"Content-Type": "application/json"})
    refused(r, 413, "larger than the API's limit of 16 MB")
    assert await api.ids() == ["KEEP"]


async def test_the_stations_export_imports_back_unchanged(api: Api) -> None:
    r = await api.http.post("/api/stations", json={
        "station_id": "EXP2", "protocol_version": "2.0.1", "tags": ["a"],
        "csms_auth": {"type": "basic", "username": "u", "password": "pw-secret"}})
    assert r.status_code == 201
    exported = (await api.http.get("/api/stations/export")).json()
    assert exported["format"] == "ocppemu-stations"
    before = {s.station_id: {k: v for k, v in s.config.items() if k not in ("created_at", "updated_at")}
              for s in (await api.wb.list_stations()).stations}
    r = await api.http.post("/api/stations/import", json={**exported, "replace": True})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["accepted"]) == ["EXP2", "KEEP"] and r.json()["rejected"] == []
    after = {s.station_id: {k: v for k, v in s.config.items() if k not in ("created_at", "updated_at")}
             for s in (await api.wb.list_stations()).stations}
    assert after == before
    st = await api.wb.repo.get_station("EXP2")
    assert st is not None and st.csms_auth.password is not None
    assert st.csms_auth.password.get_secret_value() == "pw-secret"  # the masked export kept the stored secret


# -- secrets in logs --------------------------------------------------------------------------------------------

def test_log_text_masks_credentials() -> None:
    samples: dict[str, Any] = {
        "> Authorization: Basic dXNlcjpwYXNz": "dXNlcjpwYXNz",
        "200 GET /api/stream?kinds=frame&token=s3cr3t (127.0.0.1) 1.0ms": "s3cr3t",
        "{'Authorization': 'Bearer abc.def'}": "abc.def",
        "connecting to wss://cp1:hunter2@csms.example/ocpp": "hunter2",
    }
    for line, secret in samples.items():
        masked = mask_log_text(line)
        assert secret not in masked and "**********" in masked
