"""Per-station random generators that are the same in every process: seeded from the run seed and the station id.

A station's simulated behaviour (reconnect jitter, meter noise, anything else drawn at random) must come out the
same for the same ``SimulationConfig.seed`` in every run, and differ between stations of one run so that a fleet
does not act in lock-step. Python's ``hash()`` of a string is randomised per process, so it is never used here:
the seed is a BLAKE2b digest of the run seed, the station id and the name of the stream.

Each consumer draws from its own *stream* (``"reconnect"``, ``"meter:1:1"`` ...), so how often one of them draws
(how many reconnects happened, say) never shifts what another one draws.
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["station_rng", "station_seed"]


def station_seed(seed: int, station_id: str, stream: str = "") -> int:
    """A 64-bit seed derived from ``seed``, ``station_id`` and ``stream``; stable across processes and versions."""
    material = f"{seed}\x1f{station_id}\x1f{stream}".encode()
    return int.from_bytes(hashlib.blake2b(material, digest_size=8).digest(), "big")


def station_rng(seed: int, station_id: str, stream: str = "") -> random.Random:
    """A new :class:`random.Random` for ``station_id``'s ``stream`` in the run seeded with ``seed``."""
    return random.Random(station_seed(seed, station_id, stream))
