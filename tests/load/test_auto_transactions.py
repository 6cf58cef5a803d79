"""The automatic transaction generator in virtual time: durations, pauses, rates, profiles, seeds, stop reasons."""

from __future__ import annotations

import itertools
import random
import statistics
from dataclasses import dataclass, field
from typing import Any

import pytest

from ocppemu.config.station import AutoTransactionConfig
from ocppemu.station.auto_transactions import AutoAction, AutoTransactions, AutoTransitionError

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@dataclass
class FakeStation:
    """Applies the generator's actions: a start makes a transaction, a stop or an EV unplug ends it."""

    power_w: float = 11000.0
    active: dict[int, float] = field(default_factory=dict)  # slot -> start time
    registers: dict[int, float] = field(default_factory=dict)
    sessions: list[tuple[int, float, float, str]] = field(default_factory=list)  # slot, start, end, reason
    tags: list[str] = field(default_factory=list)
    log: list[tuple[float, AutoAction]] = field(default_factory=list)

    def advance(self, t0: float, t1: float) -> None:
        for slot in self.active:
            self.registers[slot] = self.registers.get(slot, 0.0) + self.power_w * (t1 - t0) / 3600.0

    def apply(self, now: float, action: AutoAction) -> None:
        self.log.append((now, action))
        if action.kind == "start":
            self.active[action.slot] = now
            self.tags.append(action.id_tag or "")
        elif action.slot in self.active and (action.kind == "stop" or action.reason == "EVDisconnected"):
            self.sessions.append((action.slot, self.active.pop(action.slot), now, action.reason or ""))


def simulate(cfg: AutoTransactionConfig, hours: float, slots: tuple[int, ...] = (1,), seed: int = 7,
             station: FakeStation | None = None) -> tuple[AutoTransactions, FakeStation]:
    gen = AutoTransactions(cfg, slots, random.Random(seed))
    st = station or FakeStation()
    now = T0
    gen.begin(now)
    end = T0 + hours * 3600
    while True:
        deadline = gen.next_deadline()
        assert deadline is not None
        if deadline > end:
            break
        st.advance(now, max(now, deadline))
        now = max(now, deadline)
        for action in gen.step(now, st.active, st.registers):
            st.apply(now, action)
    return gen, st


def _cfg(**kw: Any) -> AutoTransactionConfig:
    return AutoTransactionConfig.model_validate({"enabled": True, "start_delay": [0, 0], **kw})


def test_loop_durations_and_pauses_stay_in_their_ranges() -> None:
    gen, st = simulate(_cfg(duration=[60, 120], pause=[15, 30]), hours=24, slots=(1, 2))
    durations = [end - start for _, start, end, _ in st.sessions]
    assert all(60 <= d <= 120 for d in durations)
    assert statistics.mean(durations) == pytest.approx(90, abs=3)
    for slot in (1, 2):
        mine = sorted((s, e) for sl, s, e, _ in st.sessions if sl == slot)
        pauses = [b[0] - a[1] for a, b in itertools.pairwise(mine)]
        assert all(15 <= p <= 30 for p in pauses)
    # one cycle takes 90 s + 22.5 s on average: about 768 sessions per connector in a day
    assert gen.stats.starts == pytest.approx(2 * 86400 / 112.5, rel=0.05)
    assert gen.stats.stops == len(st.sessions) and gen.stats.declined == 0


def test_a_seed_reproduces_the_run_and_another_seed_does_not() -> None:
    cfg = _cfg(arrival="poisson", arrival_rate=20, duration=[30, 300], id_tags=["A", "B", "C"],
               stop_reasons={"Local": 3, "EVDisconnected": 1})
    _, a = simulate(cfg, hours=5, slots=(1, 2), seed=42)
    _, b = simulate(cfg, hours=5, slots=(1, 2), seed=42)
    _, c = simulate(cfg, hours=5, slots=(1, 2), seed=43)
    assert a.log == b.log and len(a.log) > 50
    assert a.log != c.log
    assert set(a.tags) == {"A", "B", "C"}


def test_poisson_arrivals_follow_the_rate() -> None:
    # 12 arrivals per hour per connector between sessions of 1 s: the mean gap is 300 s (+ 1 s + 0 pause)
    gen, st = simulate(_cfg(arrival="poisson", arrival_rate=12, duration=[1, 1], pause=[0, 0]), hours=500)
    assert gen.stats.arrivals == pytest.approx(500 * 12, rel=0.05)
    starts = sorted(s for _, s, _, _ in st.sessions)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert statistics.mean(gaps) == pytest.approx(301, rel=0.05)
    assert statistics.pstdev(gaps) == pytest.approx(300, rel=0.1)  # exponential: sd = mean


def test_daily_profile_puts_arrivals_in_its_hours_and_honours_the_offset() -> None:
    profile = [0.0] * 24
    profile[8], profile[17] = 6.0, 2.0
    _, st = simulate(_cfg(arrival="daily", daily_profile=profile, duration=[60, 60], pause=[0, 0]), hours=24 * 30)
    hours = [int((s - T0) // 3600) % 24 for _, s, _, _ in st.sessions]
    assert set(hours) <= {8, 9, 17, 18}  # a session starting near the end of an hour may start in it
    assert hours.count(8) == pytest.approx(30 * 6, rel=0.2) and hours.count(17) == pytest.approx(30 * 2, rel=0.3)
    _, shifted = simulate(_cfg(arrival="daily", daily_profile=profile, duration=[60, 60], pause=[0, 0],
                               utc_offset_hours=2), hours=24 * 10)
    utc_hours = {int((s - T0) // 3600) % 24 for _, s, _, _ in shifted.sessions}
    assert utc_hours <= {6, 7, 15, 16}  # 08:00 local at UTC+2 is 06:00 UTC


def test_start_probability_and_stop_reason_mix() -> None:
    gen, st = simulate(_cfg(start_probability=0.5, duration=[10, 10], pause=[5, 5],
                            stop_reasons={"Local": 3, "EVDisconnected": 1}), hours=50)
    assert gen.stats.declined / gen.stats.arrivals == pytest.approx(0.5, abs=0.03)
    reasons = [r for _, _, _, r in st.sessions]
    assert reasons.count("Local") / len(reasons) == pytest.approx(0.75, abs=0.03)
    # an EVDisconnected stop is the cable pulled: an unplug with the reason, no separate stop
    ev = [a for _, a in st.log if a.reason == "EVDisconnected"]
    assert ev and all(a.kind == "unplug" for a in ev)
    local = [i for i, (_, a) in enumerate(st.log) if a.kind == "stop"]
    assert all(st.log[i + 1][1].kind == "unplug" for i in local)


def test_energy_range_stops_when_the_energy_is_delivered() -> None:
    _, st = simulate(_cfg(energy_wh=[5000, 10000], pause=[10, 10]), hours=10, station=FakeStation(power_w=11000))
    assert len(st.sessions) >= 12  # 7.5 kWh on average at 11 kW: about 41 min per session
    for _, start, end, _ in st.sessions:
        energy = 11000 * (end - start) / 3600
        assert 5000 <= energy <= 10000 + 11000 * 5 / 3600 + 1e-6  # checked every 5 s


def test_generated_tags_and_a_transaction_ended_elsewhere() -> None:
    cfg = _cfg(duration=[600, 600], pause=[20, 20], id_tag_prefix="LT", generated_id_tags=3)
    gen = AutoTransactions(cfg, [1], random.Random(1))
    gen.begin(T0)
    [start] = gen.step(T0, set(), {})
    assert start.kind == "start" and start.id_tag in {"LT00000000", "LT00000001", "LT00000002"}
    assert gen.phase(1) == "charging" and gen.step(T0 + 1, {1}, {}) == []
    # the CSMS stopped it (remote stop): the driver leaves, then pauses
    assert gen.step(T0 + 30, set(), {}) == [AutoAction("unplug", 1)]
    assert gen.phase(1) == "paused" and gen.next_deadline() == T0 + 50
    assert gen.stats.gone == 1


def test_a_refused_start_pauses_and_illegal_transitions_raise() -> None:
    gen = AutoTransactions(_cfg(pause=[20, 20]), [1], random.Random(1))
    gen.begin(T0)
    gen.step(T0, set(), {})
    gen.refused(1, T0)
    assert gen.phase(1) == "paused" and gen.stats.refused == 1
    gen.refused(1, T0)  # not charging any more: nothing to refuse
    assert gen.stats.refused == 1
    with pytest.raises(AutoTransitionError, match="not allowed while paused"):
        gen._move(1, gen.slots[1], "finish")


def test_bad_settings_are_refused() -> None:
    for bad in ({"duration": [10, 5]}, {"stop_reasons": {}}, {"daily_profile": [1.0] * 23},
                {"start_probability": 2}):
        with pytest.raises(ValueError):
            AutoTransactionConfig.model_validate(bad)
