"""Identifiers drawn from a station's own random generator (see :func:`ocppemu.config.randomness.station_rng`)."""

from __future__ import annotations

import random


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
