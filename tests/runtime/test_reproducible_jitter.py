"""Reconnect jitter is reproducible: the same seed gives the same schedule in every process; stations differ."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ocppemu.config.randomness import station_rng

ROOT = Path(__file__).resolve().parents[2]

# Builds real station runtimes in a fresh interpreter and prints each one's first reconnect delays.
SCHEDULE = """
import json, sys
from ocppemu.config.station import StationConfig
from ocppemu.runtime.station_runtime import StationRuntime
from ocppemu.station.factory import build_core

seed, ids = int(sys.argv[1]), sys.argv[2:]
out = {}
for sid in ids:
    cfg = StationConfig(station_id=sid, csms_url="ws://127.0.0.1:9/ocpp",
                        simulation={"seed": seed, "reconnect_initial_delay": 1, "reconnect_max_delay": 300})
    runtime = StationRuntime(build_core(cfg))
    out[sid] = [runtime.backoff.next_delay(attempt) for attempt in range(12)]
print(json.dumps(out))
"""


def _schedule(seed: int, hash_seed: str, *ids: str) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCHEDULE, str(seed), *ids], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    result: dict[str, list[float]] = json.loads(done.stdout)
    return result


def test_the_same_seed_gives_the_same_reconnect_schedule_in_two_processes() -> None:
    # Different string-hash salts: a schedule seeded with hash(station_id) would differ between the two.
    first = _schedule(42, "1", "CP-1", "CP-2")
    second = _schedule(42, "2", "CP-1", "CP-2")
    assert first == second
    assert first["CP-1"] != first["CP-2"]  # stations of one run do not reconnect in lock-step
    assert _schedule(43, "1", "CP-1")["CP-1"] != first["CP-1"]  # the run seed matters


def test_reconnecting_does_not_shift_the_cores_draws() -> None:
    a, b = station_rng(7, "CP001", "reconnect"), station_rng(7, "CP001", "engine")  # the runtime's stream, the core's
    fresh = station_rng(7, "CP001", "engine")
    reference = [fresh.random() for _ in range(5)]
    for _ in range(100):
        a.random()  # drawing reconnect jitter ...
    assert [b.random() for _ in range(5)] == reference  # ... does not shift what the core draws
