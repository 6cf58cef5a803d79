"""Per-station seeds: a stable function of the run seed, the station id and the stream (BLAKE2b, never hash())."""

from __future__ import annotations

import hashlib

from ocppemu.config.randomness import station_seed


def test_station_seed_is_a_stable_function_of_seed_station_and_stream() -> None:
    assert station_seed(0, "CP001") == station_seed(0, "CP001")
    assert len({station_seed(0, "CP001"), station_seed(1, "CP001"), station_seed(0, "CP002"),
                station_seed(0, "CP001", "meter:1:1")}) == 4
    # The digest is fixed by the definition (BLAKE2b-64 of "seed\\x1fstation\\x1fstream"), not by the process.
    assert station_seed(0, "CP001", "reconnect") == int.from_bytes(
        hashlib.blake2b(b"0\x1fCP001\x1freconnect", digest_size=8).digest(), "big")
