"""OCPP 1.6 over SOAP from the command line and the bundled demo CSMS, run as a user runs them."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import sys
from pathlib import Path

from ocppemu.demo_csms import serve_demo_csms
from tests.peers.soap_csms import SoapPeerCsms
from tests.station.v16.helpers import Harness, station_config


async def _run(*args: str, timeout: float = 90) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ocppemu.cli", *args,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_demo_soap_shows_a_soap_session(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    code, out, err = await _run("demo", "--soap", "--stations", "2", "--charge", "1", "--store", f"sqlite:///{db}")
    assert code == 0, err
    assert err.count("session completed") == 2
    assert "[soap]" in out and "StopTransaction" in out
    with sqlite3.connect(db) as conn:
        raws = [r[0] for r in conn.execute("select raw from messages where action = 'BootNotification'")]
    assert raws and all(r.startswith("<s:Envelope") for r in raws)


async def test_demo_soap_refuses_other_versions() -> None:
    code, _, err = await _run("demo", "--soap", "--ocpp", "2.0.1", "--store", "sqlite:///:memory:")
    assert code == 2 and "only for OCPP 1.6" in err


async def test_station_run_soap_listen_and_advertise_against_the_independent_csms(tmp_path: Path) -> None:
    peer = await SoapPeerCsms().start()
    port = _free_port()
    advertise = f"http://localhost:{port}/ocpp/cp/"
    try:
        code, _, err = await _run("station", "run", "--csms", peer.url, "--ocpp", "1.6", "--id", "SOAPCLI",
                                  "--soap-listen", f"127.0.0.1:{port}", "--soap-advertise", advertise,
                                  "--charge", "1", "--meter-interval", "1",
                                  "--store", f"sqlite:///{tmp_path / 'c.db'}")
    finally:
        await peer.stop()
    assert code == 0, err
    assert "session completed" in err
    assert {r.headers["From"] for r in peer.received} == {advertise}
    assert {r.identity for r in peer.received} == {"SOAPCLI"}
    assert [a for a in ("BootNotification", "StartTransaction", "StopTransaction")
            if a in {r.action for r in peer.received}] == ["BootNotification", "StartTransaction", "StopTransaction"]
    assert peer.errors == []


async def test_station_run_bad_soap_listen_is_one_sentence() -> None:
    code, _, err = await _run("station", "run", "--csms", "http://127.0.0.1:9/cs", "--soap-listen", "host:port:x",
                              "--store", "sqlite:///:memory:", "--quiet")
    assert code == 2 and "soap_listen" in err and "Traceback" not in err


async def test_demo_csms_answers_soap_and_calls_soap_stations() -> None:
    csms = await serve_demo_csms("127.0.0.1", 0, heartbeat_interval=30, soap_port=0)
    try:
        assert csms.soap_url is not None and csms.soap_url.startswith("http://127.0.0.1:")
        async with Harness(station_config(csms.soap_url, "DEMOSOAP")) as h:
            assert await h.runtime.wait_connected(10)
            answer = await csms.call("DEMOSOAP", "GetConfiguration", {"key": ["HeartbeatInterval"]})
            assert answer["configurationKey"][0]["value"] == "30"
            assert (await csms.call("DEMOSOAP", "ClearCache", {}))["status"] == "Accepted"
            assert h.act("start_session", 1, "TAGD").ok
            await asyncio.sleep(0.3)
    finally:
        await csms.close()
    actions = [f.action for f in h.frames if f.direction == "sent" and f.message_type == "Call"]
    assert "BootNotification" in actions and "StartTransaction" in actions
    assert list(h.core.findings) == []
