"""``ocppemu load`` against the independent test CSMS: a report, the right exit codes, bad input as one sentence."""

from __future__ import annotations

import asyncio
import os
import resource
import sys
from pathlib import Path

import orjson

from tests.peers.fixtures import PeerFactory

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}


async def _ocppemu(*args: str, nofile: int | None = None, timeout: float = 120) -> tuple[int, str, str]:
    def limit() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ocppemu", *args, env=ENV,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                preexec_fn=limit)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_fifty_stations_for_twenty_seconds_report_and_exit_codes(tmp_path: Path,
                                                                       peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    report, page = tmp_path / "r.json", tmp_path / "r.html"
    code, out, err = await _ocppemu(
        "load", "--csms", peer.url, "--stations", "50", "--duration", "20", "--ramp", "100/s", "--processes", "2",
        "--meter-interval", "5", "--json", str(report), "--report", str(page), "--max-p95", "0.001", "--quiet")
    assert code == 1, err  # a p95 under 1 microsecond cannot be met: the threshold is broken
    assert "threshold broken: p95 latency of" in err and "Traceback" not in err
    doc = orjson.loads(report.read_bytes())
    assert doc["stations_booted"] == 50 and doc["stations_connected_at_end"] == 50
    assert doc["disconnects"] == 0 and doc["frames_dropped"] == 0 and doc["call_errors_received"] == 0
    # every frame in both directions is in the shards' stores
    assert doc["frames_recorded"] == doc["frames_sent"] + doc["frames_received"] > 50 * 4
    assert doc["latency_ms"]["BootNotification"]["count"] == 50
    assert {"p50", "p95", "p99"} <= set(doc["latency_ms"]["all"])
    assert [s["stations"] for s in doc["shards"]] == [25, 25]
    assert doc["passed"] is False and doc["broken"]
    assert len(doc["timeline"]) >= 19 and doc["timeline"][-1]["connected"] == 50
    assert page.read_text(encoding="utf-8").count("plotly") > 3
    assert "stations booted 50/50" in out

    code, out, err = await _ocppemu("load", "--csms", peer.url, "--stations", "4", "--duration", "2",
                                    "--processes", "1", "--max-errors", "0", "--quiet")
    assert code == 0, err
    assert "stations booted 4/4" in out


async def test_bad_input_is_one_sentence_with_a_suggestion(peer_csms: PeerFactory) -> None:
    peer = await peer_csms()
    cases = [
        (["--stations", "0"], "--stations must be at least 1", None),
        (["--stations", "5", "--ramp", "1000000/s", "--processes", "1"], "lower --ramp or use more --processes",
         None),
        (["--stations", "5000", "--processes", "1"], "use --processes", 512),
        (["--stations", "5", "--record", "most"], "not a recording level", None),
    ]
    for extra, sentence, nofile in cases:
        code, _, err = await _ocppemu("load", "--csms", peer.url, "--duration", "1", *extra, nofile=nofile)
        assert code == 2 and sentence in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1
    code, _, err = await _ocppemu("load", "--csms", "ws://127.0.0.1:9/ocpp", "--stations", "2", "--duration", "1")
    assert code == 2 and "cannot reach the CSMS at ws://127.0.0.1:9/ocpp" in err and "Traceback" not in err
