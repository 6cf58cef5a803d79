"""The fuzzer: reproducible schema-driven cases, judged against the independent CSMS and the faulty one."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocppemu.compliance.fuzz import KINDS, expected_error, generate, sample_payload
from ocppemu.compliance.fuzz_run import fuzz_csms
from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.validation import validate
from ocppemu.ocpp.versions import Version
from tests.peers.faulty_csms import started
from tests.peers.fixtures import PeerFactory

VERSIONS = [Version.V16, Version.V201]


@pytest.mark.parametrize("version", VERSIONS)
def test_same_seed_same_frames_and_every_kind_covered(version: Version) -> None:
    a, b = generate(version, 40, seed=7), generate(version, 40, seed=7)
    assert [c.text for c in a] == [c.text for c in b]
    assert [c.text for c in generate(version, 40, seed=8)] != [c.text for c in a]
    kinds = {c.kind for c in generate(version, 200, seed=1)}
    assert kinds >= set(KINDS) - {"out-of-range"}


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), version=st.sampled_from(VERSIONS))
def test_each_case_breaks_exactly_the_rule_it_names(seed: int, version: Version) -> None:
    for case in generate(version, len(KINDS), seed=seed):
        code = expected_error(version, case.text)
        if case.expect is None:
            assert code is None, case
        else:
            assert code in case.expect, case


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), version=st.sampled_from(VERSIONS),
       mode=st.sampled_from(["typical", "min", "max"]))
def test_sampled_payloads_are_valid(seed: int, version: Version, mode: str) -> None:
    rng = random.Random(seed)
    action = rng.choice(catalogue(version).station_initiated())
    if catalogue(version)[action].send_only:
        return
    assert validate(version, action, "request", sample_payload(version, action, rng, mode)) is None


@pytest.mark.parametrize("version", VERSIONS)
async def test_independent_csms_has_no_error_findings(peer_csms: PeerFactory, version: Version) -> None:
    peer = await peer_csms()
    report = await fuzz_csms(peer.url, version, frames=len(KINDS) * 2, seed=3, answer_timeout=1.0)
    assert len(report.cases) == len(KINDS) * 2
    assert report.errors == [], [str(f) for f in report.errors]
    assert report.reconnects == 0


@pytest.mark.parametrize("version", VERSIONS)
async def test_well_behaved_reference_has_no_findings_at_all(version: Version) -> None:
    csms = await started(None)
    try:
        report = await fuzz_csms(csms.url, version, frames=len(KINDS), seed=5, answer_timeout=1.0)
    finally:
        await csms.stop()
    assert report.findings == [], [str(f) for f in report.findings]


@pytest.mark.parametrize(("fault", "rule"), [
    ("lenient", "fuzz.accepted-invalid"), ("wrong-error-code", "fuzz.wrong-error-code"),
    ("silent", "fuzz.no-answer"), ("drop-on-malformed", "fuzz.disconnected"),
])
async def test_faulty_csms_is_caught(fault: str, rule: str) -> None:
    csms = await started(fault)
    try:
        report = await fuzz_csms(csms.url, Version.V16, frames=len(KINDS), seed=5, answer_timeout=0.5)
    finally:
        await csms.stop()
    rules = {f.rule for f in report.errors}
    assert rule in rules
    hit = next(f for f in report.errors if f.rule == rule)
    assert hit.reference and hit.frame and "fuzz #" in hit.description
    if fault == "drop-on-malformed":
        assert report.reconnects > 0


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    csms = loop.run_until_complete(started("lenient"))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        out = tmp_path / "f.json"
        run = subprocess.run([sys.executable, "-m", "ocppemu", "fuzz", "--csms", csms.url, "--ocpp", "1.6",
                              "--frames", "15", "--seed", "2", "--answer-timeout", "0.5", "--json", str(out),
                              "--quiet"], capture_output=True, text=True, timeout=120)
        assert run.returncode == 1, run.stderr
        doc = json.loads(out.read_text())
        assert doc["frames"] == 15 and doc["seed"] == 2 and doc["items"]
        bad = subprocess.run([sys.executable, "-m", "ocppemu", "fuzz", "--csms", csms.url, "--ocpp", "9"],
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "unknown OCPP version" in bad.stderr
    finally:
        asyncio.run_coroutine_threadsafe(csms.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
