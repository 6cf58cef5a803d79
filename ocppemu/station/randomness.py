"""Deterministic randomness of a station: one :class:`random.Random` per station, seeded from a stable hash.

Python's ``hash()`` of a string changes from one process to the next, so it must never seed anything that should
repeat. :func:`station_rng` derives the seed with BLAKE2b from the run seed and the station id: the same pair
gives the same draws in every process, on every machine.
"""

from __future__ import annotations

import random
from hashlib import blake2b


def stable_seed(seed: int, *parts: str) -> int:
    """A 64-bit seed from ``seed`` and ``parts``, identical in every process."""
    h = blake2b(digest_size=8)
    h.update(str(seed).encode())
    for part in parts:
        h.update(b"\x00")
        h.update(part.encode())
    return int.from_bytes(h.digest(), "big")


def station_rng(seed: int, station_id: str, purpose: str = "") -> random.Random:
    """The random generator of station ``station_id`` in a run seeded ``seed`` (``purpose`` separates streams)."""
    return random.Random(stable_seed(seed, station_id, purpose))


def time_ordered_uuid(rng: random.Random, now: float) -> str:
    """A UUIDv7-style identifier: the millisecond time ``now`` then 74 bits from ``rng``.

    Reproducible in virtual time with a seeded ``rng``, and unique across runs of the same seed in real time
    (a restarted emulator must not hand a CSMS a transaction id it saw before).
    """
    ms = int(now * 1000) & ((1 << 48) - 1)
    rand_a, rand_b = rng.getrandbits(12), rng.getrandbits(62)
    value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
