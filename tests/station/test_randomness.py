"""A station's randomness comes from its own generator, seeded by a stable hash: runs repeat, stations differ."""

from __future__ import annotations

from ocppemu.config.randomness import station_rng
from ocppemu.station.randomness import time_ordered_uuid
from ocppemu.station.v201.station import Station201
from tests.station.virtual import VirtualCsms, config


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
