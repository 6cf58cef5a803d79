"""Bad command lines end in one clear sentence on stderr (never a traceback), with a non-zero exit code, and the
ones that could start a station start nothing. Each is a real ``python -m ocppemu`` process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path

import pytest
import websockets

from ocppemu.demo_csms import serve_demo_csms


async def _run(*args: str, timeout: float = 60, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ocppemu", *args,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                env={**os.environ, **(env or {})})
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


def one_sentence(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip() and " WARNING " not in line and " INFO " not in line]
    assert "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def no_station_stored(db: Path) -> None:
    if db.exists():
        with sqlite3.connect(db) as conn:
            assert conn.execute("select count(*) from stations").fetchone()[0] == 0


@pytest.mark.parametrize(("args", "words"), [
    (["--store", "postgres://x"], "unsupported store URL 'postgres://x'"),
    (["--charge", "-5"], "--charge takes the length of the session in seconds, a positive number, not -5"),
    (["--charge", "0"], "a positive number, not 0"),
    (["--basic-auth", "nocolon"], "--basic-auth takes USER:PASS"),
    (["--ocpp", "1.7"], "1.7"),
    (["--id", "a/b"], "'/'"),
    (["--id", ".."], "'..'"),
    (["--connectors", "0"], "--connectors must be at least 1"),
])
async def test_station_run_bad_arguments(tmp_path: Path, args: list[str], words: str) -> None:
    db = tmp_path / "s.db"
    base = ["station", "run", "--csms", "ws://127.0.0.1:9/ocpp", "--quiet", "--timeout", "2"]
    if "--store" not in args:
        base += ["--store", f"sqlite:///{db}"]
    code, _, err = await _run(*base, *args)
    assert code == 2
    assert words in one_sentence(err)
    no_station_stored(db)


async def test_ocpp_16_alias_is_accepted_as_1_6(tmp_path: Path) -> None:
    """``16`` is a documented spelling of 1.6 (like ``v16``, ``ocpp1.6``): the station runs as OCPP 1.6."""
    csms = await serve_demo_csms("127.0.0.1", 0)
    try:
        code, out, err = await _run("station", "run", "--csms", f"ws://127.0.0.1:{csms.port}/ocpp", "--ocpp", "16",
                                    "--charge", "1", "--store", f"sqlite:///{tmp_path / 's.db'}")
    finally:
        await csms.close()
    assert code == 0, err
    assert "BootNotification" in out and "chargePointVendor" in out  # a 1.6 BootNotification


async def test_wss_to_a_plain_ws_server_says_why(tmp_path: Path) -> None:
    async with websockets.serve(lambda ws: ws.wait_closed(), "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        code, _, err = await _run("station", "run", "--csms", f"wss://127.0.0.1:{port}/ocpp", "--quiet",
                                  "--timeout", "3", "--store", f"sqlite:///{tmp_path / 's.db'}")
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and "Traceback" not in err
    assert "TLS handshake" in last and "plain ws://" in last
    assert not last.rstrip().endswith(":")


async def test_serve_bad_store_and_busy_demo_csms_port(tmp_path: Path) -> None:
    code, _, err = await _run("serve", "--port", "0", "--data-dir", str(tmp_path / "d"), "--store", "postgres://x")
    assert code == 2 and "unsupported store URL" in one_sentence(err)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = await _run("serve", "--port", "0", "--data-dir", str(tmp_path / "d"), "--store",
                                  f"sqlite:///{tmp_path / 'x.db'}", "--demo-csms", str(port))
    assert code == 1 and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and f"the demo CSMS cannot listen on 127.0.0.1:{port}" in errors[0]


async def test_station_run_sigterm_saves_its_state(tmp_path: Path) -> None:
    """SIGTERM of ``station run`` stops the station and saves its registers (the next run continues them)."""
    csms = await serve_demo_csms("127.0.0.1", 0)
    db = tmp_path / "s.db"
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ocppemu", "station", "run", "--csms", f"ws://127.0.0.1:{csms.port}/ocpp",
            "--id", "TERM1", "--store", f"sqlite:///{db}", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        assert proc.stdout is not None
        while b"BootNotification" not in await asyncio.wait_for(proc.stdout.readline(), 20):
            pass
        await asyncio.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        await csms.close()
    assert proc.returncode == 0, err.decode()
    assert "stopped by a signal; state saved" in err.decode()
    with sqlite3.connect(db) as conn:
        runtime = conn.execute("select runtime from stations where station_id = 'TERM1'").fetchone()[0]
    assert runtime is not None and "energy_register_wh" in runtime
