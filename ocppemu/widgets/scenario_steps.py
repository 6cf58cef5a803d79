"""Crafted messages as scenario steps (pure): what the crafter's "Add as scenario step" writes, in the scenario
file format of :mod:`ocppemu.scenarios.format` (a ``send`` step for a validated message, ``send_raw`` for a raw
frame), and the whole scenario file around the collected steps, checked by the scenario loader before it is
offered."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from ocppemu.scenarios.loader import ScenarioError, loads

#: What a crafter outcome says about the step's expectation (a timeout is "no response" in the format).
EXPECT = {"result": "result", "error": "error", "timeout": "no_response", "no_response": "no_response"}


def crafted_step(mode: str, action: str, body: str, station_id: str, outcome: str | None = None) -> dict[str, Any]:
    """The step sending what the crafter holds from ``station_id``; ``outcome`` (of a send of the same message)
    becomes what the step expects, else the format's default (a CallResult, or anything for a raw frame)."""
    expect = EXPECT.get(outcome or "")
    if mode == "raw":
        args: dict[str, Any] = {"raw": body, "on": [station_id]}  # the text exactly as typed
        if expect:
            args["expect"] = expect if expect != "result" else "any"
        return {"send_raw": args}
    payload = json.loads(body or "{}")
    args = {"action": action, "payload": payload, "on": [station_id]}
    if expect and expect != "result":
        args["expect"] = expect
    return {"send": args}


#: The parts of a station's configuration a crafted scenario keeps (no address, no secrets: the run decides those).
STATION_KEYS = ("protocol_version", "connectors", "vendor", "model")


def station_part(config: dict[str, Any]) -> dict[str, Any]:
    return {k: config[k] for k in STATION_KEYS if k in config}


def scenario_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", text.strip()).strip("-")
    return name[:100] or "crafted"


def scenario_text(name: str, stations: dict[str, dict[str, Any]], steps: list[dict[str, Any]]) -> str:
    """A whole scenario file (YAML) with ``stations`` (id -> configuration) connecting first, then ``steps``;
    raises ``ValueError`` listing what the scenario loader refuses."""
    doc = {"version": 1, "name": scenario_name(name),
           "description": "Messages crafted in the dashboards' crafter",
           "stations": [{"id": sid, "config": cfg} for sid, cfg in stations.items()],
           "steps": ["connect", *steps]}
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    try:
        loads(text, f"{doc['name']}.yaml")
    except ScenarioError as exc:
        raise ValueError(str(exc)) from None
    return text
