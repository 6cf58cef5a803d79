"""``ocppemu run``: exit codes 0 / 1 / 2, reports written, the library listed."""

from __future__ import annotations

import asyncio
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ocppemu.cli import main
from tests.peers.fixtures import PeerFactory

FILES = Path(__file__).parent / "files"
ROOT = Path(__file__).parents[2]


def test_a_bad_file_exits_2_with_file_line_and_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nsteps:\n  - connect\n  - plug_inn\n", encoding="utf-8")
    assert main(["run", str(bad), "--csms", "ws://127.0.0.1:1/ocpp"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:5:5: steps[1]: unknown step 'plug_inn' (did you mean 'plug_in'?)" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(FILES / "failing.yaml")]) == 2
    assert "--csms URL is required" in capsys.readouterr().err
    assert main(["run", str(FILES / "failing.yaml"), "--csms", "http://x"]) == 2
    assert main(["run", "--csms", "ws://127.0.0.1:1/ocpp"]) == 2
    assert main(["run", "no-such-scenario", "--csms", "ws://127.0.0.1:1/ocpp"]) == 2
    assert "cannot read the scenario" in capsys.readouterr().err
    assert main(["run", str(FILES / "failing.yaml"), "--csms", "ws://127.0.0.1:1/ocpp", "--ocpp", "2.1"]) == 2
    assert "not 2.1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["run", "--stations", "many"])
    assert exc.value.code == 2


def test_check_and_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--check", str(FILES / "session.yaml"), str(FILES / "failing.yaml")]) == 0
    assert "2 scenario file(s) OK" in capsys.readouterr().out
    assert main(["run", "--list"]) == 0
    out = capsys.readouterr().out
    library = sorted([*(ROOT / "scenarios").glob("**/*.yaml"), *(ROOT / "ocppemu/scenarios/examples").glob("*.yaml")])
    lines = out.strip().splitlines()
    assert len(lines) == len(library)
    assert any(line.startswith("charging-session ") and "1.6,2.0.1,2.1" in line for line in lines)


async def _cli(*args: str) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ocppemu", "run", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                                                stdin=asyncio.subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_exit_0_when_everything_passes_and_1_when_the_csms_departs(tmp_path: Path,
                                                                        peer_csms: PeerFactory) -> None:
    peer = await peer_csms(versions=("1.6",))
    peer.behaviour.accepted_tags = {"TAG-OK"}
    junit, html, js = tmp_path / "r.xml", tmp_path / "r.html", tmp_path / "r.json"
    ok = tmp_path / "ok.yaml"
    ok.write_text((FILES / "failing.yaml").read_text(encoding="utf-8").replace("TAG-BAD", "TAG-OK")
                  .replace("test-failing", "test-ok"), encoding="utf-8")
    code, out = await _cli(str(ok), "--csms", peer.url, "--junit", str(junit), "--html", str(html),
                           "--json", str(js), "--seed", "1")
    assert code == 0, out
    assert "test-ok: PASSED" in out
    assert ET.parse(junit).getroot().get("failures") == "0"
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>") and js.stat().st_size > 0
    code, out = await _cli(str(FILES / "failing.yaml"), "--csms", peer.url, "--junit", str(junit))
    assert code == 1, out
    assert "test-failing: FAILED" in out
    assert "[expect] Authorize:" in junit.read_text(encoding="utf-8")
