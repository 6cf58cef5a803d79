"""Reconnect back-off: bounded, growing, jittered reproducibly from the injected generator."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocppemu.config.station import SimulationConfig
from ocppemu.runtime.backoff import Backoff

settings_st = st.tuples(
    st.floats(min_value=0.01, max_value=10),
    st.floats(min_value=1, max_value=1000),
    st.floats(min_value=1, max_value=4),
    st.sampled_from(["full", "decorrelated", "none"]),
    st.integers(min_value=0, max_value=2**32),
)


@given(settings_st, st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=50))
def test_every_delay_is_within_zero_and_the_maximum(settings: tuple, attempts: list[int]) -> None:
    initial, extra, multiplier, jitter, seed = settings
    b = Backoff(initial=initial, max_delay=initial + extra, multiplier=multiplier, jitter=jitter,
                rng=random.Random(seed))
    for attempt in attempts:
        assert 0.0 <= b.next_delay(attempt) <= b.max_delay


@given(st.integers(min_value=0, max_value=2**32), st.sampled_from(["full", "decorrelated"]))
def test_same_seed_gives_the_same_schedule(seed: int, jitter: str) -> None:
    def schedule() -> list[float]:
        b = Backoff(initial=1, max_delay=60, jitter=jitter, rng=random.Random(seed))  # type: ignore[arg-type]
        return [b.next_delay(a) for a in range(20)]

    assert schedule() == schedule()


def test_without_jitter_delays_double_until_the_cap() -> None:
    b = Backoff(initial=1, max_delay=10, jitter="none")
    assert [b.next_delay(a) for a in range(6)] == [1, 2, 4, 8, 10, 10]
    assert b.next_delay(10**6) == 10  # no overflow for absurd attempt numbers


def test_full_jitter_stays_under_the_exponential_ceiling() -> None:
    b = Backoff(initial=1, max_delay=1000, jitter="full", rng=random.Random(7))
    for attempt in range(8):
        samples = [b.next_delay(attempt) for _ in range(200)]
        assert max(samples) <= 2**attempt
        assert min(samples) >= 0
    # jitter actually spreads delays
    assert len({round(b.next_delay(5), 6) for _ in range(50)}) > 40


def test_decorrelated_jitter_never_goes_below_initial_and_reset_restarts_growth() -> None:
    b = Backoff(initial=2, max_delay=100, jitter="decorrelated", rng=random.Random(3))
    delays = [b.next_delay(a) for a in range(30)]
    assert all(2 <= d <= 100 for d in delays)
    assert max(delays) > 20  # it grows over many failures
    b.reset()
    assert 2 <= b.next_delay(1) <= 6  # after a success the next range is initial .. 3 * initial


def test_different_seeds_spread_stations_apart() -> None:
    firsts = {Backoff(initial=1, max_delay=60, rng=random.Random(seed)).next_delay(3) for seed in range(20)}
    assert len(firsts) == 20


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial": 0}, "initial delay must be > 0"),
        ({"initial": 5, "max_delay": 1}, "below the initial delay"),
        ({"multiplier": 0.5}, "multiplier must be >= 1"),
        ({"jitter": "sometimes"}, "unknown jitter"),
    ],
)
def test_invalid_settings_are_refused_with_a_sentence(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Backoff(**kwargs)


def test_negative_attempt_is_refused() -> None:
    with pytest.raises(ValueError, match="attempt must be >= 0"):
        Backoff().next_delay(-1)


def test_from_config_uses_the_station_reconnect_settings() -> None:
    sim = SimulationConfig(reconnect_initial_delay=0.5, reconnect_max_delay=8)
    b = Backoff.from_config(sim, random.Random(1), jitter="none")
    assert (b.initial, b.max_delay) == (0.5, 8)
    assert b.next_delay(10) == 8
