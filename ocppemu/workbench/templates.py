"""Station templates: built-in definitions of common hardware, and how a template becomes a station.

A template is a partial :class:`~ocppemu.config.station.StationConfig` document (no ``station_id``). A station is
made from it by a deep merge of the template, then the user's overrides, then the station id (:func:`render`).
User templates are stored in the store (kind ``station``) and may shadow a built-in name only explicitly.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ocppemu.config.station import StationConfig

BUILTIN_TEMPLATES: dict[str, dict[str, Any]] = {
    "ac-7kw-single-1.6": {
        "description": "AC 7.4 kW wallbox, one Type 2 socket, single phase, OCPP 1.6",
        "station": {
            "protocol_version": "1.6", "vendor": "ocppemu", "model": "AC7-1",
            "connectors": [{"id": 1, "type": "Type2", "max_power": 7400.0, "phases": 1, "current_type": "AC"}],
            "simulation": {"energy_delivery_rate": 7400.0},
            "tags": ["ac", "7kW"],
        },
    },
    "ac-22kw-dual-1.6": {
        "description": "AC 22 kW pedestal, two Type 2 sockets, three phase, OCPP 1.6",
        "station": {
            "protocol_version": "1.6", "vendor": "ocppemu", "model": "AC22-2",
            "connectors": [{"id": 1, "type": "Type2", "max_power": 22000.0, "phases": 3, "current_type": "AC"},
                           {"id": 2, "type": "Type2", "max_power": 22000.0, "phases": 3, "current_type": "AC"}],
            "simulation": {"energy_delivery_rate": 11000.0},
            "tags": ["ac", "22kW"],
        },
    },
    "ac-22kw-soap-1.6": {
        "description": "AC 22 kW wallbox speaking OCPP 1.6 over SOAP (1.6S): give an http(s):// csms_url of the "
                       "CentralSystemService; soap_listen / soap_advertise set where the CSMS reaches the station",
        "station": {
            "protocol_version": "1.6", "vendor": "ocppemu", "model": "AC22-S",
            "csms_url": "http://127.0.0.1:9001/Ocpp/CentralSystemService/",
            "soap_listen": "127.0.0.1:0",
            "connectors": [{"id": 1, "type": "Type2", "max_power": 22000.0, "phases": 3, "current_type": "AC"}],
            "simulation": {"energy_delivery_rate": 11000.0},
            "tags": ["ac", "22kW", "soap"],
        },
    },
    "dc-50kw-ccs-chademo-1.6": {
        "description": "DC 50 kW fast charger, CCS and CHAdeMO cables, OCPP 1.6",
        "station": {
            "protocol_version": "1.6", "vendor": "ocppemu", "model": "DC50-CC",
            "connectors": [{"id": 1, "type": "CCS2", "max_power": 50000.0, "current_type": "DC"},
                           {"id": 2, "type": "CHAdeMO", "max_power": 50000.0, "current_type": "DC"}],
            "simulation": {"energy_delivery_rate": 50000.0},
            "tags": ["dc", "50kW"],
        },
    },
    "dc-150kw-2.0.1": {
        "description": "DC 150 kW high-power charger, two CCS EVSEs, OCPP 2.0.1",
        "station": {
            "protocol_version": "2.0.1", "vendor": "ocppemu", "model": "DC150",
            "connectors": [{"id": 1, "evse_id": 1, "type": "CCS2", "max_power": 150000.0, "current_type": "DC"},
                           {"id": 1, "evse_id": 2, "type": "CCS2", "max_power": 150000.0, "current_type": "DC"}],
            "simulation": {"energy_delivery_rate": 150000.0},
            "tags": ["dc", "150kW"],
        },
    },
    "ac-11kw-bidirectional-2.1": {
        "description": "AC 11 kW bidirectional (V2G) wallbox, one Type 2 socket, OCPP 2.1",
        "station": {
            "protocol_version": "2.1", "vendor": "ocppemu", "model": "AC11-V2X",
            "connectors": [{"id": 1, "evse_id": 1, "type": "Type2", "max_power": 11000.0, "current_type": "AC"}],
            "simulation": {"energy_delivery_rate": 11000.0},
            "tags": ["ac", "11kW", "bidirectional"],
        },
    },
}


#: The workload of a load test: automatic transactions on every connector, MeterValues with 10 sampled values
#: every 10 s (the 8 measurands the meter has, the current and voltage sampled twice: no per-phase values yet),
#: heartbeat every 60 s, started as soon as created.
LOAD_SAMPLED_VALUES = ["Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage", "SoC",
                       "Current.Offered", "Power.Offered", "Temperature", "Current.Import", "Voltage"]
_LOAD = {"auto_start": True,
         "meter_values_config": {"interval": 10, "measurands": LOAD_SAMPLED_VALUES, "aligned_data_interval": 0},
         "simulation": {"heartbeat_interval": 60, "energy_delivery_rate": 22000.0},
         "auto_transactions": {"enabled": True, "duration": [60, 120], "pause": [15, 30], "start_delay": [0, 30]}}
for _name, _base in (("ac-22kw-dual-1.6", "load-ac-22kw-dual-1.6"), ("dc-150kw-2.0.1", "load-dc-150kw-2.0.1"),
                     ("ac-11kw-bidirectional-2.1", "load-ac-11kw-2.1")):
    _station = {**BUILTIN_TEMPLATES[_name]["station"], **_LOAD,
                "simulation": {**BUILTIN_TEMPLATES[_name]["station"]["simulation"], "heartbeat_interval": 60},
                "tags": [*BUILTIN_TEMPLATES[_name]["station"]["tags"], "load"]}
    BUILTIN_TEMPLATES[_base] = {
        "description": BUILTIN_TEMPLATES[_name]["description"] + "; load test: automatic transactions, "
                       "MeterValues every 10 s, heartbeat 60 s", "station": _station}


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in: nested objects merge, anything else (lists too) is replaced."""
    out = copy.deepcopy(dict(base))
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def render(template: Mapping[str, Any], station_id: str, overrides: Mapping[str, Any] | None = None) -> StationConfig:
    """The station made from ``template`` (its ``station`` part) with ``overrides``; raises pydantic's
    ``ValidationError`` when the result is not a valid station."""
    doc = deep_merge(template.get("station", {}), overrides or {})
    doc["station_id"] = station_id
    for k in ("created_at", "updated_at"):
        doc.pop(k, None)
    return StationConfig.model_validate(doc)


def check_template(doc: Mapping[str, Any]) -> None:
    """Raise ``ValueError``/``ValidationError`` unless ``doc`` is ``{"description"?, "station": {...}}`` and
    renders to a valid station."""
    if not isinstance(doc.get("station"), Mapping):
        raise ValueError("a template needs a 'station' object (a station configuration without station_id)")
    if "station_id" in doc["station"]:
        raise ValueError("a template must not set station_id (it is given when a station is made from it)")
    render(doc, "TEMPLATE-CHECK")
