"""The command line, run as a user runs it: a real process against the bundled demo CSMS."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

from ocppemu.demo_csms import serve_demo_csms


async def _run(*args: str, timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ocppemu.cli", *args,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_station_run_charge_completes_and_stores_frames(tmp_path: Path) -> None:
    csms = await serve_demo_csms("127.0.0.1", 0, heartbeat_interval=30)
    db = tmp_path / "frames.db"
    jsonl = tmp_path / "frames.jsonl"
    try:
        code, out, err = await _run("station", "run", "--csms", f"ws://127.0.0.1:{csms.port}/ocpp", "--id", "CLI1",
                                    "--ocpp", "1.6", "--connectors", "2", "--id-tag", "TAGCLI", "--charge", "2",
                                    "--meter-interval", "1", "--store", f"sqlite:///{db}", "--frames", str(jsonl))
    finally:
        await csms.close()
    assert code == 0, err
    assert "session completed" in err
    for action in ("BootNotification", "StartTransaction", "MeterValues", "StopTransaction"):
        assert action in out
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
        assert "messages" in tables
        count = conn.execute("select count(*) from messages").fetchone()[0]
    lines = jsonl.read_text().splitlines()
    assert count == len(lines) >= 10


async def test_station_run_fails_clearly_without_a_csms() -> None:
    code, _, err = await _run("station", "run", "--csms", "ws://127.0.0.1:9/ocpp", "--charge", "1", "--timeout", "2",
                              "--store", "sqlite:///:memory:", "--quiet")
    assert code == 1
    assert "not accepted" in err and "refused" in err


async def test_bad_arguments_are_reported() -> None:
    code, _, err = await _run("station", "run", "--csms", "ftp://x", "--quiet")
    assert code == 2 and "csms_url" in err


async def test_energy_register_is_monotonic_across_runs(tmp_path: Path) -> None:
    csms = await serve_demo_csms("127.0.0.1", 0, heartbeat_interval=30)
    db = tmp_path / "s.db"
    runs = []
    try:
        for _ in range(2):
            jsonl = tmp_path / f"f{len(runs)}.jsonl"
            code, _, err = await _run("station", "run", "--csms", f"ws://127.0.0.1:{csms.port}/ocpp", "--id", "MONO",
                                      "--charge", "1.5", "--power", "20000", "--store", f"sqlite:///{db}",
                                      "--frames", str(jsonl), "--quiet")
            assert code == 0, err
            runs.append([__import__("json").loads(line) for line in jsonl.read_text().splitlines()])
    finally:
        await csms.close()

    def first(frames: list[dict[str, object]], action: str) -> dict[str, object]:
        return next(f["payload"] for f in frames if f["action"] == action and f["message_type"] == "Call")  # type: ignore[return-value]

    stop1 = first(runs[0], "StopTransaction")["meterStop"]
    start2 = first(runs[1], "StartTransaction")["meterStart"]
    assert isinstance(stop1, int) and stop1 > 0
    assert start2 == stop1


async def test_station_run_201_charge_completes(tmp_path: Path) -> None:
    csms = await serve_demo_csms("127.0.0.1", 0, heartbeat_interval=30)
    try:
        code, out, err = await _run("station", "run", "--csms", f"ws://127.0.0.1:{csms.port}/ocpp", "--id", "CS201",
                                    "--ocpp", "2.0.1", "--charge", "2", "--meter-interval", "1",
                                    "--store", f"sqlite:///{tmp_path / 'x.db'}")
    finally:
        await csms.close()
    assert code == 0, err
    assert "session completed" in err
    for action in ("BootNotification", "TransactionEvent", "StatusNotification"):
        assert action in out


async def test_demo_runs_sessions_and_stores_them(tmp_path: Path) -> None:
    code, out, err = await _run("demo", "--stations", "3", "--charge", "1", "--store", f"sqlite:///{tmp_path / 'd.db'}")
    assert code == 0, err
    assert err.count("session completed") == 3
    assert "frames of this run stored" in err and "StopTransaction" in out
