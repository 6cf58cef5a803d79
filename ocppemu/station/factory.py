"""Build the station core for a configuration, by protocol version."""

from __future__ import annotations

from ocppemu.config.station import StationConfig
from ocppemu.ocpp.versions import Version
from ocppemu.station.core import Sinks, StationCore


def build_core(config: StationConfig, sinks: Sinks | None = None, *,
               registers_wh: dict[int, float] | None = None) -> StationCore:
    """A new sans-I/O station core for ``config`` (1.6, 2.0.1 or 2.1).

    ``registers_wh`` restores the energy registers (per connector, or per EVSE for 2.x) of a previous run.
    Raises ``NotImplementedError`` for a version this build cannot emulate yet.
    """
    if config.protocol_version is Version.V16:
        from ocppemu.station.v16.station import Station16

        return Station16(config, sinks, registers_wh=registers_wh)
    if config.protocol_version is Version.V201:
        from ocppemu.station.v201.station import Station201

        return Station201(config, sinks, registers_wh=registers_wh)
    if config.protocol_version is Version.V21:
        from ocppemu.station.v21.station import Station21

        return Station21(config, sinks, registers_wh=registers_wh)
    raise NotImplementedError(f"OCPP {config.protocol_version.value} stations are not available yet")
