"""A station's randomness comes from its own generator, seeded by a stable hash: runs repeat, stations differ."""

from __future__ import annotations

import subprocess
import sys

from ocppemu.station.randomness import stable_seed, station_rng, time_ordered_uuid
from ocppemu.station.v201.station import Station201
from tests.station.virtual import VirtualCsms, config


def test_stable_seed_is_the_same_in_another_process() -> None:
    code = "from ocppemu.station.randomness import stable_seed; print(stable_seed(7, 'CS-1', 'x'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(out) == stable_seed(7, "CS-1", "x")
    assert stable_seed(7, "CS-1") != stable_seed(7, "CS-2") != stable_seed(8, "CS-1")


def test_time_ordered_uuids_repeat_with_the_seed_and_sort_by_time() -> None:
    a = [time_ordered_uuid(station_rng(1, "S"), t) for t in (1.0, 2.0)]
    b = [time_ordered_uuid(station_rng(1, "S"), t) for t in (1.0, 2.0)]
    assert a == b and a[0] < a[1]
    assert a[0][14] == "7"  # version nibble


def _transaction_ids(station_id: str, seed: int) -> list[str]:
    d = VirtualCsms(config("2.0.1", station_id=station_id, simulation={"seed": seed, "heartbeat_interval": 0}))
    d.boot()
    core = d.core
    assert isinstance(core, Station201)
    ids = []
    for _ in range(3):
        assert d.act(core.start_session, 1, "TAG").ok
        tx = core.evses[1].active_tx
        assert tx is not None
        ids.append(tx.transaction_id)
        d.act(core.stop_session, 1)
        d.act(core.unplug, 1)
        d.advance(60)
    return ids


def test_same_seed_same_station_same_transaction_ids() -> None:
    assert _transaction_ids("CS-A", 5) == _transaction_ids("CS-A", 5)
    assert _transaction_ids("CS-A", 5) != _transaction_ids("CS-B", 5)
