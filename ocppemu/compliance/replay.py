"""Turning a station's recorded frames into a scenario that replays the station side and asserts the CSMS answers
the same way (``ocppemu scenario from-log``).

Input is a list of frames in order, each a mapping: ocppemu's own message records (store or JSON-lines export:
``direction`` ``sent``/``received``, ``raw``) or a charger trace exported by a CSMS, where each line has the frame
(``raw``/``message``/``frame``/``data``: the JSON text or the decoded array) and who sent it (``direction``
``in``/``out``/``tx``/``rx``/..., or ``from`` ``station``/``csms``/``cp``/``cs``; seen from the station unless
``perspective="csms"``).

The scenario: ``connect`` and ``boot`` (expecting the recorded registration status), then one ``send`` per call
the station made (its recorded payload; the CSMS must answer as it did: the same CallError code, or a CALLRESULT
with the same fields, equal values for statuses and other stable fields, the same JSON type for volatile ones
such as times and ids) and one ``expect_call`` per call the CSMS made (answered as the station did). A transaction
id the CSMS gave (1.6 StartTransaction) is captured and used in the later frames that name it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.versions import Version

_STATION_WORDS = {"sent", "out", "outgoing", "tx", "send", "cp->cs", "cs<-cp", "station->csms", "station_to_csms",
                  "tocsms", "to_csms", "upstream", "station", "cp", "chargepoint", "charge_point", "charger"}
_CSMS_WORDS = {"received", "in", "incoming", "rx", "recv", "receive", "cs->cp", "cp<-cs", "csms->station",
               "csms_to_station", "tostation", "to_station", "downstream", "csms", "cs", "centralsystem",
               "central_system", "server"}
_VOLATILE = re.compile(r"(time|date|timestamp|expiry|id|token|uri|url|nonce|signature)$", re.I)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_MAX_ASSERTIONS = 12


class LogError(ValueError):
    """A log that cannot be turned into a scenario; the message says which line and why."""


@dataclass(slots=True)
class Frame:
    by_station: bool
    data: list[Any]
    line: int


def read_jsonl(text: str) -> list[dict[str, Any]]:
    """The objects of a JSON-lines text (blank lines skipped); raises :class:`LogError` naming a bad line."""
    out: list[dict[str, Any]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError as exc:
            raise LogError(f"line {n}: not JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise LogError(f"line {n}: expected a JSON object per line")
        doc.setdefault("_line", n)
        out.append(doc)
    return out


def _frames(entries: Iterable[Mapping[str, Any]], perspective: str) -> list[Frame]:
    out: list[Frame] = []
    for i, e in enumerate(entries, 1):
        line = int(e.get("_line", i))
        raw = next((e[k] for k in ("raw", "message", "frame", "data", "payload_raw") if k in e), None)
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                continue  # an unreadable frame is not replayed
        if not (isinstance(raw, list) and len(raw) >= 3 and raw[0] in (2, 3, 4)):
            continue
        who = str(e.get("direction", e.get("from", e.get("origin", "")))).strip().lower().replace(" ", "")
        if who in _STATION_WORDS:
            by_station = True
        elif who in _CSMS_WORDS:
            by_station = False
        else:
            raise LogError(f"line {line}: cannot tell who sent the frame (direction {who!r})")
        if perspective == "csms" and who not in ("station", "cp", "chargepoint", "charge_point", "charger", "csms",
                                                 "cs", "centralsystem", "central_system", "server"):
            by_station = not by_station
        out.append(Frame(by_station, raw, line))
    return out


def _assertions(payload: Any, path: str = "$") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(payload, dict):
        for k, v in payload.items():
            sub = f"{path}.{k}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) else f"{path}['{k}']"
            if isinstance(v, dict):
                out.extend(_assertions(v, sub))
            elif isinstance(v, list):
                out.append({"path": sub, "type": "array"})
            elif isinstance(v, str) and (_VOLATILE.search(k) or _DATE.match(v)):
                out.append({"path": sub, "type": "string"})
            elif isinstance(v, bool | str):
                out.append({"path": sub, "equals": v})
            elif isinstance(v, int | float):
                out.append({"path": sub, "type": "integer" if isinstance(v, int) else "number"} if _VOLATILE.search(k)
                           else {"path": sub, "equals": v})
    return out[:_MAX_ASSERTIONS]


@dataclass(slots=True)
class _Builder:
    version: Version
    steps: list[Any] = field(default_factory=list)
    tx_vars: dict[Any, str] = field(default_factory=dict)
    booted: bool = False

    def substitute(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self.substitute(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        if key == "transactionId" and value in self.tx_vars:
            return "${" + self.tx_vars[value] + "}"
        return value

    def station_call(self, action: str, payload: dict[str, Any], answer: list[Any] | None) -> None:
        if action == "BootNotification" and not self.booted:
            self.booted = True
            status = answer[2].get("status") if answer and answer[0] == 3 and isinstance(answer[2], dict) else None
            self.steps += ["connect", {"boot": {"expect": status or "Accepted", "timeout": 60}}]
            return
        if not self.booted:
            self.booted = True
            self.steps += ["connect", {"boot": {"expect": ["Accepted", "Pending", "Rejected"], "timeout": 60}}]
        known = catalogue(self.version).get(action)
        step: dict[str, Any] = {"action": action, "payload": self.substitute(payload)}
        if known is None or not known.station_sends:
            step["validate"] = False
        if answer is None:
            step["expect"] = "no_response"
        elif answer[0] == 4:
            step["expect"] = "error"
            step["error_code"] = answer[2]
        else:
            result = answer[2] if isinstance(answer[2], dict) else {}
            checks = _assertions(result)
            if checks:
                step["assert"] = checks
            tx = result.get("transactionId")
            if action == "StartTransaction" and tx is not None:
                name = f"tx{len(self.tx_vars) + 1}"
                self.tx_vars[tx] = name
                step["capture"] = {name: "$.transactionId"}
                step["assert"] = [a for a in step.get("assert", []) if a["path"] != "$.transactionId"]
                if not step["assert"]:
                    del step["assert"]
        self.steps.append({"send": step})

    def csms_call(self, action: str, payload: dict[str, Any], answer: list[Any] | None) -> None:
        if not self.booted:
            self.booted = True
            self.steps += ["connect", {"boot": {"expect": ["Accepted", "Pending", "Rejected"], "timeout": 60}}]
        step: dict[str, Any] = {"action": action, "timeout": 120}
        if answer is None:
            step["answer"] = "none"
        elif answer[0] == 4:
            step["answer"] = {"call_error": answer[2], "description": str(answer[3]) if len(answer) > 3 else ""}
        elif isinstance(answer[2], dict):
            step["answer"] = {"payload": answer[2]}
        checks = _assertions(payload)
        if checks:
            step["assert"] = checks
        self.steps.append({"expect_call": step})


def scenario_from_frames(entries: Iterable[Mapping[str, Any]], *, name: str, version: str,
                         station_id: str | None = None, perspective: str = "station",
                         description: str | None = None) -> dict[str, Any]:
    """The scenario document (a dict ready for YAML) replaying ``entries``. Raises :class:`LogError`."""
    try:
        v = Version(version)
    except ValueError:
        raise LogError(f"unknown OCPP version {version!r}; use 1.6, 2.0.1 or 2.1") from None
    frames = _frames(entries, perspective)
    answers: dict[tuple[bool, str], list[Any]] = {}
    for f in frames:
        if f.data[0] in (3, 4):
            answers.setdefault((f.by_station, str(f.data[1])), f.data)
    b = _Builder(v)
    for f in frames:
        if f.data[0] != 2 or len(f.data) < 4 or not isinstance(f.data[3], dict):
            continue
        action, payload, mid = str(f.data[2]), f.data[3], str(f.data[1])
        answer = answers.get((not f.by_station, mid))
        if f.by_station:
            b.station_call(action, payload, answer)
        else:
            b.csms_call(action, payload, answer)
    if not b.steps:
        raise LogError("the log holds no OCPP call to replay")
    station: dict[str, Any] = {"id": station_id or "OCPPEMU-REPLAY-${index}",
                               "config": {"simulation": {"status_notification_on_change": False}}}
    return {"version": 1, "name": name, "description": description or "Replay of a recorded station session: "
            "the CSMS must answer as it did then.", "ocpp": [v.value], "tags": ["replay"],
            "stations": [station], "steps": b.steps}


def to_yaml(doc: Mapping[str, Any], source: str) -> str:
    head = f"# Generated by `ocppemu scenario from-log` from {source}. Edit freely.\n"
    return head + yaml.safe_dump(dict(doc), sort_keys=False, allow_unicode=True, width=120)
