"""Per-station random generators: the same seed gives the same draws in every process, stations differ."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from ocppemu.config.randomness import station_rng, station_seed

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


def test_station_seed_is_a_stable_function_of_seed_station_and_stream() -> None:
    assert station_seed(0, "CP001") == station_seed(0, "CP001")
    assert len({station_seed(0, "CP001"), station_seed(1, "CP001"), station_seed(0, "CP002"),
                station_seed(0, "CP001", "meter:1:1")}) == 4
    # The digest is fixed by the definition (BLAKE2b-64 of "seed\\x1fstation\\x1fstream"), not by the process.
    assert station_seed(0, "CP001", "reconnect") == int.from_bytes(
        hashlib.blake2b(b"0\x1fCP001\x1freconnect", digest_size=8).digest(), "big")


def test_streams_are_independent() -> None:
    a, b = station_rng(7, "CP001", "reconnect"), station_rng(7, "CP001", "meter:1:1")
    fresh = station_rng(7, "CP001", "meter:1:1")
    reference = [fresh.random() for _ in range(5)]
    for _ in range(100):
        a.random()  # drawing reconnect jitter ...
    assert [b.random() for _ in range(5)] == reference  # ... does not shift the meter's draws
