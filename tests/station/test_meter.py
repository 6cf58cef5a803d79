"""The connector meter: physics, limits, reproducibility and the monotonic register."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocppemu.config.station import ConnectorConfig, EvConfig, SimulationConfig
from ocppemu.station.meter import (
    AC_NOMINAL_VOLTAGE,
    DC_TAPER_START_SOC,
    SUPPORTED_MEASURANDS,
    Meter,
)


def ac_meter(*, phases: int = 3, max_power: float = 22000.0, rate: float = 7400.0, noise: bool = False,
             seed: int = 0, register_wh: float = 0.0, ev: EvConfig | None = None) -> Meter:
    sim = SimulationConfig(energy_delivery_rate=rate, randomize_meter_values=noise, seed=seed,
                           ev=ev or EvConfig())
    conn = ConnectorConfig(id=1, phases=phases, max_power=max_power)  # type: ignore[arg-type]
    return Meter(conn, sim, register_wh=register_wh)


def dc_meter(*, ev: EvConfig | None = None, rate: float = 150000.0) -> Meter:
    sim = SimulationConfig(energy_delivery_rate=rate, randomize_meter_values=False,
                           ev=ev or EvConfig(max_dc_power=100000.0))
    conn = ConnectorConfig(id=1, type="CCS2", current_type="DC", max_power=150000.0)
    return Meter(conn, sim)


def values(meter: Meter) -> dict[str, float]:
    return {s.measurand: s.value for s in meter.sample(list(SUPPORTED_MEASURANDS))}


def test_idle_meter_delivers_nothing_and_reports_no_soc() -> None:
    m = ac_meter()
    m.advance(0.0)
    m.advance(3600.0)
    assert m.register_wh == 0.0
    assert m.charging_state == "Idle"
    assert "SoC" not in values(m)
    assert values(m)["Power.Active.Import"] == 0.0


def test_constant_power_integrates_to_power_times_time() -> None:
    m = ac_meter(rate=7400.0)
    m.start_session(0.0)
    assert m.power_w == pytest.approx(7400.0)
    for t in range(1, 61):
        m.advance(t * 60.0)
    assert m.register_wh == pytest.approx(7400.0, rel=1e-9)
    assert m.session_energy_wh == pytest.approx(7400.0, rel=1e-9)


def test_one_long_advance_equals_many_short_ones() -> None:
    a, b = ac_meter(), ac_meter()
    a.start_session(0.0)
    b.start_session(0.0)
    a.advance(5000.0)
    for t in range(1, 5001):
        b.advance(float(t))
    assert a.register_wh == pytest.approx(b.register_wh, rel=1e-9)


@pytest.mark.parametrize("phases", [1, 3])
def test_power_equals_voltage_times_current_times_phases(phases: int) -> None:
    m = ac_meter(phases=phases, noise=True, seed=7)
    m.start_session(0.0)
    for t in (10.0, 20.0, 30.0):
        m.advance(t)
        v = values(m)
        assert v["Power.Active.Import"] == pytest.approx(v["Voltage"] * v["Current.Import"] * phases)
        assert abs(v["Voltage"] - AC_NOMINAL_VOLTAGE) <= AC_NOMINAL_VOLTAGE * 0.01 + 1e-9


def test_dc_voltage_rises_with_soc_and_power_is_v_times_i() -> None:
    m = dc_meter(ev=EvConfig(start_soc=10.0, max_dc_power=50000.0, battery_capacity_wh=50000.0))
    m.start_session(0.0)
    v_low = m.voltage_v
    m.advance(1800.0)
    assert m.voltage_v > v_low
    assert 350.0 <= v_low < m.voltage_v <= 400.0
    assert m.power_w == pytest.approx(m.voltage_v * m.current_a)


def test_dc_power_tapers_above_80_percent() -> None:
    m = dc_meter(ev=EvConfig(start_soc=50.0, max_dc_power=100000.0, battery_capacity_wh=60000.0))
    m.start_session(0.0)
    assert m.power_w == pytest.approx(100000.0)
    powers = []
    t = 0.0
    while m.soc < 99.0 and t < 10 * 3600:
        t += 30.0
        m.advance(t)
        powers.append((m.soc, m.power_w))
    below = [p for soc, p in powers if soc <= DC_TAPER_START_SOC]
    above = [p for soc, p in powers if soc > 90.0]
    assert below and all(p == pytest.approx(100000.0) for p in below)
    assert above and max(above) < 50000.0
    tapering = [p for soc, p in powers if soc > DC_TAPER_START_SOC]
    assert tapering == sorted(tapering, reverse=True)


def test_ac_power_follows_lowest_limit() -> None:
    ev = EvConfig(max_ac_power=11000.0)
    m = ac_meter(max_power=22000.0, rate=20000.0, ev=ev)
    m.start_session(0.0)
    assert m.power_w == pytest.approx(11000.0)  # on-board charger
    m.set_limit_w(6000.0, now=10.0)
    assert m.power_w == pytest.approx(6000.0)
    m.set_limit_a(10.0, now=20.0)
    assert m.power_w == pytest.approx(10.0 * 230.0 * 3)
    assert m.current_a == pytest.approx(10.0)
    m.set_limit_w(None, now=30.0)
    assert m.power_w == pytest.approx(11000.0)


def test_limit_change_integrates_old_power_first() -> None:
    m = ac_meter(rate=7400.0)
    m.start_session(0.0)
    m.set_limit_w(3700.0, now=1800.0)
    m.advance(3600.0)
    assert m.register_wh == pytest.approx(3700.0 + 1850.0)


def test_zero_limit_is_suspended_evse_and_ev_suspension_stops_flow() -> None:
    m = ac_meter()
    m.start_session(0.0)
    m.set_limit_w(0.0, now=1.0)
    assert str(m.charging_state) == "SuspendedEVSE"
    assert m.power_w == 0.0
    m.set_limit_w(None, now=2.0)
    m.set_ev_suspended(True, now=3.0)
    assert str(m.charging_state) == "SuspendedEV"
    before = m.register_wh
    m.advance(1000.0)
    assert m.register_wh == before
    m.set_ev_suspended(False, now=1000.0)
    m.set_evse_suspended(True, now=1001.0)
    assert m.charging_state == "SuspendedEVSE"
    assert values(m)["Power.Offered"] == 0.0


def test_soc_stops_at_target_and_energy_matches_battery() -> None:
    ev = EvConfig(battery_capacity_wh=10000.0, start_soc=50.0, target_soc=80.0, max_ac_power=11000.0)
    m = ac_meter(rate=11000.0, ev=ev)
    m.start_session(0.0)
    m.advance(10 * 3600.0)
    assert m.soc == pytest.approx(80.0)
    assert m.register_wh == pytest.approx(3000.0)
    assert m.power_w == 0.0
    assert m.charging_state == "SuspendedEV"


def test_same_seed_reproduces_and_other_seed_differs() -> None:
    def run(seed: int) -> list[float]:
        m = ac_meter(noise=True, seed=seed)
        m.start_session(0.0)
        out: list[float] = []
        for t in range(1, 50):
            m.advance(t * 10.0)
            out.extend(s.value for s in m.sample(["Power.Active.Import", "Voltage"]))
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_noise_never_exceeds_limit() -> None:
    m = ac_meter(noise=True, seed=1, rate=7400.0)
    m.start_session(0.0)
    for t in range(1, 200):
        m.advance(float(t))
        assert 7400.0 * 0.98 - 1e-9 <= m.power_w <= 7400.0


def test_register_survives_sessions_and_restart() -> None:
    m = ac_meter()
    m.start_session(0.0)
    m.advance(3600.0)
    m.end_session(3600.0)
    first = m.register_wh
    m.start_session(4000.0)
    assert m.register_wh == first
    m.advance(7600.0)
    saved = m.register_wh
    assert saved > first
    restarted = ac_meter(register_wh=saved)
    assert restarted.register_wh == saved
    restarted.start_session(0.0)
    restarted.advance(60.0)
    assert restarted.register_wh > saved


def test_clock_going_backwards_integrates_nothing() -> None:
    m = ac_meter()
    m.start_session(1000.0)
    m.advance(2000.0)
    r = m.register_wh
    m.advance(500.0)
    assert m.register_wh == r
    m.advance(560.0)  # rebased: only 60 s count
    assert m.register_wh == pytest.approx(r + 7400.0 * 60 / 3600)


def test_invalid_register_is_refused() -> None:
    with pytest.raises(ValueError, match="register_wh"):
        ac_meter(register_wh=-1.0)
    m = ac_meter()
    with pytest.raises(ValueError, match="NaN"):
        m.set_limit_w(float("nan"))


def test_sample_units_and_wire_shapes() -> None:
    m = ac_meter()
    m.start_session(0.0)
    m.advance(3600.0)
    samples = m.sample([*SUPPORTED_MEASURANDS, "Frequency"])
    assert [s.measurand for s in samples] == list(SUPPORTED_MEASURANDS)
    units = {s.measurand: s.unit for s in samples}
    assert units["SoC"] == "Percent" and units["Temperature"] == "Celsius"
    assert units["Energy.Active.Import.Register"] == "Wh"
    reg = samples[0]
    assert reg.to_v16() == {"value": "7400", "context": "Sample.Periodic",
                            "measurand": "Energy.Active.Import.Register", "unit": "Wh", "location": "Outlet"}
    v2 = reg.to_v2("Transaction.End")
    assert v2["value"] == 7400.0 and v2["unitOfMeasure"] == {"unit": "Wh"} and v2["context"] == "Transaction.End"
    offered = {s.measurand: s.value for s in samples}
    assert offered["Power.Offered"] == pytest.approx(7400.0)
    assert offered["Current.Offered"] == pytest.approx(7400.0 / (230.0 * 3))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(-100.0, 5000.0), st.sampled_from(["adv", "w", "a", "none", "stop", "start",
                                                                        "ev", "evse"]),
                          st.floats(-50.0, 50000.0)), max_size=40),
       st.integers(0, 2**32))
def test_register_never_decreases(steps: list[tuple[float, str, float]], seed: int) -> None:
    m = ac_meter(noise=True, seed=seed)
    m.start_session(0.0)
    now = 0.0
    last = m.register_wh
    rng = random.Random(seed)
    for dt, op, value in steps:
        now += dt
        if op == "adv":
            m.advance(now)
        elif op == "w":
            m.set_limit_w(value, now=now)
        elif op == "a":
            m.set_limit_a(value / 100.0, now=now)
        elif op == "none":
            m.set_limit_w(None, now=now)
        elif op == "stop":
            m.end_session(now)
        elif op == "start":
            m.start_session(now, start_soc=rng.uniform(0, 100))
        elif op == "ev":
            m.set_ev_suspended(rng.random() < 0.5, now=now)
        else:
            m.set_evse_suspended(rng.random() < 0.5, now=now)
        assert m.register_wh >= last
        assert 0.0 <= m.soc <= 100.0
        last = m.register_wh
