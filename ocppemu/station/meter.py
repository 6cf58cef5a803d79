"""A physically coherent energy meter for one connector, sans-I/O.

The meter holds no clock: every call that lets time pass takes ``now`` as float seconds on any monotonic scale the
caller chooses (``time.monotonic()`` in the engine, plain numbers in tests). Between two calls the delivered power is
held constant (piecewise-constant integration), except that the EV's SoC-dependent charging curve and the target SoC
are followed in sub-steps of at most :data:`MAX_STEP_S`, so a long gap between calls cannot overshoot the taper or the
target.

Guarantees:

* ``power_w == voltage_v * current_a * phases`` for every state (AC: ``phases`` is 1 or 3; DC: 1).
* The energy register never decreases, across sessions and across restarts (save :attr:`Meter.register_wh`, pass
  it back as ``register_wh`` when rebuilding the meter). A clock that jumps backwards integrates nothing.
* Delivered power is the lowest of the connector rating, the active charging limit (smart charging), the station's
  target (``SimulationConfig.energy_delivery_rate``) and the EV's curve (AC: on-board charger; DC: battery
  acceptance, tapering above :data:`DC_TAPER_START_SOC`), times a noise factor in ``[1 - variance, 1]`` drawn from a
  seeded :class:`random.Random`. Noise only ever lowers power, so a limit is never exceeded.
* The same configuration, seed and call sequence give the same values.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal

from ocppemu.config.station import ConnectorConfig, EvConfig, SimulationConfig

__all__ = [
    "AC_NOMINAL_VOLTAGE",
    "DC_TAPER_START_SOC",
    "MAX_STEP_S",
    "SUPPORTED_MEASURANDS",
    "ChargingState",
    "Meter",
    "SampledValue",
]

AC_NOMINAL_VOLTAGE = 230.0
"""Phase-to-neutral voltage of an AC connector, V."""
DC_VOLTAGE_EMPTY = 350.0
"""Battery voltage of the simulated 400 V pack at 0 % SoC, V."""
DC_VOLTAGE_FULL = 400.0
"""Battery voltage of the simulated 400 V pack at 100 % SoC, V."""
DC_TAPER_START_SOC = 80.0
"""Above this SoC a DC battery accepts linearly less power, down to :data:`DC_TAPER_FLOOR` of its maximum at 100 %."""
DC_TAPER_FLOOR = 0.05
AMBIENT_TEMPERATURE_C = 25.0
TEMPERATURE_RISE_C = 20.0
"""Temperature rise of the connector body at its rated power, °C."""
MAX_STEP_S = 60.0
"""Longest sub-step, in seconds, over which the SoC-dependent curve is held constant."""

ChargingState = Literal["Idle", "Charging", "SuspendedEV", "SuspendedEVSE"]

SUPPORTED_MEASURANDS: dict[str, str] = {
    "Energy.Active.Import.Register": "Wh",
    "Power.Active.Import": "W",
    "Current.Import": "A",
    "Voltage": "V",
    "SoC": "Percent",
    "Current.Offered": "A",
    "Power.Offered": "W",
    "Temperature": "Celsius",
}
"""Measurands :meth:`Meter.sample` can produce, with their OCPP unit."""


@dataclass(slots=True, frozen=True)
class SampledValue:
    """One measured value, version-neutral.

    ``phase`` is always ``None``: currents and voltages are per-phase values of a balanced load (the same on L1, L2
    and L3), power and energy are totals over all phases.
    """

    measurand: str
    value: float
    unit: str
    location: str | None = None
    phase: str | None = None

    def to_v16(self, context: str = "Sample.Periodic") -> dict[str, str]:
        """The OCPP 1.6 ``sampledValue`` item (value as a string, as the 1.6 schema requires)."""
        out = {"value": _fmt(self.value, self.unit), "context": context, "measurand": self.measurand,
               "unit": self.unit}
        if self.location is not None:
            out["location"] = self.location
        if self.phase is not None:
            out["phase"] = self.phase
        return out

    def to_v2(self, context: str = "Sample.Periodic") -> dict[str, object]:
        """The OCPP 2.0.1 / 2.1 ``SampledValueType`` (numeric value, ``unitOfMeasure``)."""
        out: dict[str, object] = {"value": float(_fmt(self.value, self.unit)), "context": context,
                                  "measurand": self.measurand, "unitOfMeasure": {"unit": self.unit}}
        if self.location is not None:
            out["location"] = self.location
        if self.phase is not None:
            out["phase"] = self.phase
        return out


def _fmt(value: float, unit: str) -> str:
    # Registers in whole Wh are what real meters report; the rest keeps one decimal.
    return str(round(value)) if unit == "Wh" else f"{value:.1f}"


class Meter:
    """The meter of one connector: power, voltage, current, energy register and the EV's state of charge.

    Construct it with the connector's configuration, the station's simulation settings and the saved register.
    ``rng`` defaults to a generator seeded from ``simulation.seed`` and the connector id, so two connectors of one
    station do not share noise and a rerun reproduces it.

    Raises ``ValueError`` if ``register_wh`` is negative or not finite.
    """

    __slots__ = (
        "_connector", "_ev", "_ev_suspended", "_evse_suspended", "_last", "_limit", "_noise_p", "_noise_v",
        "_register_wh", "_rng", "_session", "_session_start_wh", "_sim", "_soc", "_target_soc",
    )

    def __init__(self, connector: ConnectorConfig, simulation: SimulationConfig, *, register_wh: float = 0.0,
                 rng: random.Random | None = None) -> None:
        if not math.isfinite(register_wh) or register_wh < 0:
            raise ValueError(f"register_wh must be a finite number >= 0, got {register_wh!r}")
        self._connector = connector
        self._sim = simulation
        self._rng = rng if rng is not None else random.Random(f"{simulation.seed}:{connector.evse}:{connector.id}")
        self._register_wh = float(register_wh)
        self._ev: EvConfig = simulation.ev
        self._soc = simulation.ev.start_soc
        self._target_soc = simulation.ev.target_soc
        self._session = False
        self._session_start_wh = self._register_wh
        self._ev_suspended = False
        self._evse_suspended = False
        self._limit: tuple[float, Literal["W", "A"]] | None = None
        self._last: float | None = None
        self._noise_p = 1.0
        self._noise_v = 1.0

    # -- read-only state ---------------------------------------------------------------------------------------

    @property
    def register_wh(self) -> float:
        """Energy register, Wh. Never decreases; save it to restore the meter after a restart."""
        return self._register_wh

    @property
    def session_energy_wh(self) -> float:
        """Energy delivered since the current (or last) session started, Wh."""
        return self._register_wh - self._session_start_wh

    @property
    def soc(self) -> float:
        """The EV's state of charge, percent."""
        return self._soc

    @property
    def phases(self) -> int:
        """Phases carrying current: the connector's 1 or 3 for AC, 1 for DC."""
        return self._connector.phases if self._connector.current_type == "AC" else 1

    @property
    def charging_state(self) -> ChargingState:
        """``Idle`` without a session; ``SuspendedEVSE`` when the station offers nothing (suspended or limit 0);
        ``SuspendedEV`` when the EV takes nothing (suspended or target SoC reached); else ``Charging``."""
        if not self._session:
            return "Idle"
        if self._evse_suspended or self._offered_w() <= 0:
            return "SuspendedEVSE"
        if self._ev_suspended or self._soc >= self._target_soc:
            return "SuspendedEV"
        return "Charging"

    @property
    def voltage_v(self) -> float:
        """Per-phase AC voltage or DC battery voltage, V. 0 for DC without an EV."""
        if self._connector.current_type == "AC":
            return AC_NOMINAL_VOLTAGE * self._noise_v
        if not self._session:
            return 0.0
        return self._dc_voltage() * self._noise_v

    @property
    def power_w(self) -> float:
        """Active power delivered now, W (total over phases)."""
        return self._power_at_soc(self._soc)

    @property
    def current_a(self) -> float:
        """Current per phase (AC) or DC current, A."""
        v = self.voltage_v
        return self.power_w / (v * self.phases) if v > 0 else 0.0

    @property
    def offered_w(self) -> float:
        """Power the EVSE offers the EV (every limit except the EV's own curve), W."""
        return self._offered_w() if self._session or self._connector.current_type == "AC" else 0.0

    @property
    def temperature_c(self) -> float:
        """Connector body temperature, °C: ambient plus a rise proportional to load."""
        return AMBIENT_TEMPERATURE_C + TEMPERATURE_RISE_C * self.power_w / self._connector.max_power

    # -- commands ----------------------------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Let time pass until ``now`` (seconds): integrate energy and SoC, then draw new noise.

        The first call only sets the clock. A ``now`` earlier than the previous one integrates nothing and rebases
        the clock (a wall clock set back must not unwind the register).
        """
        last, self._last = self._last, now
        if last is None or now <= last:
            return
        self._soc, self._register_wh = self._integrate(now - last)
        self._draw_noise()

    def reading_at(self, now: float) -> tuple[float, float]:
        """(energy register Wh, SoC %) the meter would show at ``now``, without advancing it (no state changes,
        no randomness drawn): what a live view shows between two samples."""
        if self._last is None or now <= self._last:
            return self._register_wh, self._soc
        return self._integrate(now - self._last)[::-1]

    def _integrate(self, seconds: float) -> tuple[float, float]:
        """(SoC, register) after ``seconds`` more of the present flow, from the present state (pure)."""
        soc, register = self._soc, self._register_wh
        remaining = seconds
        while remaining > 0:
            step = min(remaining, MAX_STEP_S)
            remaining -= step
            power = self._power_at_soc(soc)
            if power <= 0:
                break  # with no flow SoC cannot change, so nothing flows for the rest of the interval either
            energy = power * step / 3600.0
            room = (self._target_soc - soc) / 100.0 * self._ev.battery_capacity_wh
            if energy >= room:
                energy = max(room, 0.0)
                soc = self._target_soc
            else:
                soc += energy / self._ev.battery_capacity_wh * 100.0
            register += energy
        return soc, register

    def start_session(self, now: float, ev: EvConfig | None = None, *, start_soc: float | None = None) -> None:
        """An EV is connected and the transaction may deliver energy from ``now``.

        ``ev`` defaults to ``SimulationConfig.ev``; ``start_soc`` defaults to the EV's ``start_soc``. Suspensions
        are cleared; the active limit is kept (it belongs to the station, not the session).
        """
        self.advance(now)
        self._ev = ev if ev is not None else self._sim.ev
        self._soc = min(max(self._ev.start_soc if start_soc is None else start_soc, 0.0), 100.0)
        self._target_soc = self._ev.target_soc
        self._session = True
        self._session_start_wh = self._register_wh
        self._ev_suspended = False
        self._evse_suspended = False
        self._draw_noise()

    def end_session(self, now: float) -> None:
        """Integrate up to ``now`` and stop delivering. The register keeps its value."""
        self.advance(now)
        self._session = False

    def set_ev_suspended(self, suspended: bool, now: float | None = None) -> None:
        """The EV stops (or resumes) taking energy. With ``now``, the meter is first advanced to it."""
        if now is not None:
            self.advance(now)
        self._ev_suspended = suspended

    def set_evse_suspended(self, suspended: bool, now: float | None = None) -> None:
        """The EVSE stops (or resumes) offering energy. With ``now``, the meter is first advanced to it."""
        if now is not None:
            self.advance(now)
        self._evse_suspended = suspended

    def set_limit_w(self, watts: float | None, now: float | None = None) -> None:
        """Set the active charging limit in W (``None`` removes it; negative counts as 0).

        With ``now``, energy up to ``now`` is first integrated at the old limit. Raises ``ValueError`` on NaN.
        """
        self._set_limit(watts, "W", now)

    def set_limit_a(self, amps: float | None, now: float | None = None) -> None:
        """Set the active charging limit in A per phase; converted to W with the nominal voltage (AC 230 V, DC the
        battery voltage at the present SoC) times the phase count.

        With ``now``, energy up to ``now`` is first integrated at the old limit. Raises ``ValueError`` on NaN.
        """
        self._set_limit(amps, "A", now)

    def set_target_soc(self, percent: float, now: float | None = None) -> None:
        """Change the SoC at which the EV stops taking energy (clamped to 0..100)."""
        if now is not None:
            self.advance(now)
        self._target_soc = min(max(percent, 0.0), 100.0)

    def sample(self, measurands: list[str]) -> list[SampledValue]:
        """The present value of each requested measurand, in the order asked.

        Unknown measurands are skipped (see :data:`SUPPORTED_MEASURANDS`); ``SoC`` is only reported while an EV
        is in session. Sampling draws no randomness, so it never changes what follows.
        """
        out: list[SampledValue] = []
        for m in measurands:
            unit = SUPPORTED_MEASURANDS.get(m)
            if unit is None:
                continue
            if m == "SoC":
                if self._session:
                    out.append(SampledValue(m, self._soc, unit, location="EV"))
                continue
            value = self._measure(m)
            out.append(SampledValue(m, value, unit, location="Body" if m == "Temperature" else "Outlet"))
        return out

    # -- internals ---------------------------------------------------------------------------------------------

    def _measure(self, measurand: str) -> float:
        if measurand == "Energy.Active.Import.Register":
            return self._register_wh
        if measurand == "Power.Active.Import":
            return self.power_w
        if measurand == "Current.Import":
            return self.current_a
        if measurand == "Voltage":
            return self.voltage_v
        if measurand == "Power.Offered":
            return self.offered_w
        if measurand == "Current.Offered":
            v = self._nominal_voltage()
            return self.offered_w / (v * self.phases) if v > 0 else 0.0
        return self.temperature_c

    def _set_limit(self, value: float | None, unit: Literal["W", "A"], now: float | None) -> None:
        if value is not None and math.isnan(value):
            raise ValueError(f"charging limit must be a number, got NaN ({unit})")
        if now is not None:
            self.advance(now)
        self._limit = None if value is None else (max(value, 0.0), unit)

    def _draw_noise(self) -> None:
        var = self._sim.meter_value_variance if self._sim.randomize_meter_values else 0.0
        if var <= 0:
            self._noise_p = self._noise_v = 1.0
            return
        self._noise_p = 1.0 - self._rng.uniform(0.0, var)
        self._noise_v = 1.0 + self._rng.uniform(-var / 2, var / 2)

    def _dc_voltage(self, soc: float | None = None) -> float:
        s = self._soc if soc is None else soc
        return DC_VOLTAGE_EMPTY + (DC_VOLTAGE_FULL - DC_VOLTAGE_EMPTY) * s / 100.0

    def _nominal_voltage(self) -> float:
        if self._connector.current_type == "AC":
            return AC_NOMINAL_VOLTAGE
        return self._dc_voltage() if self._session else 0.0

    def _offered_w(self) -> float:
        if self._evse_suspended:
            return 0.0
        offered = min(self._connector.max_power, self._sim.energy_delivery_rate)
        if self._limit is not None:
            value, unit = self._limit
            if unit == "A":
                v = self._nominal_voltage() or DC_VOLTAGE_EMPTY
                value = value * v * self.phases
            offered = min(offered, value)
        return offered

    def _ev_max_w(self, soc: float) -> float:
        if self._connector.current_type == "AC":
            return self._ev.max_ac_power
        if soc <= DC_TAPER_START_SOC:
            return self._ev.max_dc_power
        share = (100.0 - soc) / (100.0 - DC_TAPER_START_SOC)
        return self._ev.max_dc_power * max(share, DC_TAPER_FLOOR)

    def _power_at_soc(self, soc: float) -> float:
        if not self._session or self._ev_suspended or soc >= self._target_soc:
            return 0.0
        return max(min(self._offered_w(), self._ev_max_w(soc)), 0.0) * self._noise_p
