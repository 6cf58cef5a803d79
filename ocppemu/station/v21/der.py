"""OCPP 2.1 DER (distributed energy resource) controls of a V2X-capable station, and aFRR signals.

Pure part: :class:`DerControls` keeps every control by id (default controls and scheduled ones apart), works out
which controls a new one supersedes and renders ``ReportDERControl`` payloads. Protocol part: SetDERControl,
GetDERControl (→ ReportDERControl, at most 24 items per array per message, ``tbc`` on all but the last),
ClearDERControl and AFRRSignal.

Rules: a control's data must be in the field its ``controlType`` names (``curve`` for the curve types), else it is
``Rejected``; a station without a V2X-capable EVSE answers ``NotSupported``. A new control supersedes the active
controls of the same type and the same ``isDefault`` whose priority is not higher (a larger ``priority`` number is a
lower priority); superseded controls are kept and reported with ``isSuperseded`` true.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ocppemu.ocpp.framing import Call
from ocppemu.station.core import parse_iso
from ocppemu.station.v21.registry import HANDLERS

if TYPE_CHECKING:
    from ocppemu.station.v21.station import Station21

JSON = dict[str, Any]
MAX_ITEMS = 24

_CURVES = frozenset({"FreqWatt", "HFMustTrip", "HFMayTrip", "HVMustTrip", "HVMomCess", "HVMayTrip", "LFMustTrip",
                     "LVMustTrip", "LVMomCess", "LVMayTrip", "PowerMonitoringMustTrip", "VoltVar", "VoltWatt",
                     "WattPF", "WattVar"})
#: controlType -> (field of SetDERControl, array of ReportDERControl, field inside a report item)
_FIELDS: dict[str, tuple[str, str, str]] = {
    "EnterService": ("enterService", "enterService", "enterService"),
    "FixedPFAbsorb": ("fixedPFAbsorb", "fixedPFAbsorb", "fixedPF"),
    "FixedPFInject": ("fixedPFInject", "fixedPFInject", "fixedPF"),
    "FixedVar": ("fixedVar", "fixedVar", "fixedVar"),
    "FreqDroop": ("freqDroop", "freqDroop", "freqDroop"),
    "Gradients": ("gradient", "gradient", "gradient"),
    "LimitMaxDischarge": ("limitMaxDischarge", "limitMaxDischarge", "limitMaxDischarge"),
}
_NO_FLAGS = frozenset({"enterService", "gradient"})  # their report items carry no isDefault / isSuperseded


def fields_of(control_type: str) -> tuple[str, str, str]:
    """(request field, report array, report item field) of ``control_type``."""
    return ("curve", "curve", "curve") if control_type in _CURVES else _FIELDS[control_type]


@dataclass(slots=True)
class DerControl:
    """One control as installed."""

    id: str
    type: str
    is_default: bool
    data: JSON
    superseded: bool = False

    @property
    def priority(self) -> int:
        return int(self.data.get("priority", 0))

    def report_item(self) -> JSON:
        _, array, key = fields_of(self.type)
        item: JSON = {"id": self.id, key: self.data}
        if array not in _NO_FLAGS:
            item["isDefault"] = self.is_default
            item["isSuperseded"] = self.superseded
        if array == "curve":
            item["curveType"] = self.type
        return item


@dataclass(slots=True)
class DerControls:
    """All DER controls of a station, by control id."""

    controls: dict[str, DerControl] = field(default_factory=dict)

    def set(self, control_id: str, control_type: str, is_default: bool, data: JSON) -> list[str]:
        """Install (or replace) a control; returns the ids it supersedes."""
        self.controls.pop(control_id, None)
        new = DerControl(control_id, control_type, is_default, dict(data))
        superseded = []
        for c in self.controls.values():
            if c.type == control_type and c.is_default == is_default and not c.superseded \
                    and c.priority >= new.priority:
                c.superseded = True
                superseded.append(c.id)
        self.controls[control_id] = new
        return superseded

    def find(self, *, is_default: bool | None = None, control_type: str | None = None,
             control_id: str | None = None) -> list[DerControl]:
        return [c for c in self.controls.values()
                if (is_default is None or c.is_default == is_default)
                and (control_type is None or c.type == control_type)
                and (control_id is None or c.id == control_id)]

    def clear(self, **criteria: Any) -> int:
        """Remove the controls :meth:`find` returns for ``criteria``; returns how many."""
        gone = self.find(**criteria)
        for c in gone:
            del self.controls[c.id]
        return len(gone)

    @staticmethod
    def reports(found: list[DerControl], request_id: int) -> list[JSON]:
        """ReportDERControl payloads for ``found`` (at most :data:`MAX_ITEMS` per array per message)."""
        arrays: dict[str, list[JSON]] = {}
        for c in found:
            arrays.setdefault(fields_of(c.type)[1], []).append(c.report_item())
        messages: list[JSON] = []
        while any(arrays.values()):
            msg: JSON = {"requestId": request_id}
            for name, items in arrays.items():
                if items:
                    msg[name], arrays[name] = items[:MAX_ITEMS], items[MAX_ITEMS:]
            messages.append(msg)
        for i, msg in enumerate(messages):
            msg["tbc"] = i < len(messages) - 1
        return messages or [{"requestId": request_id, "tbc": False}]


# -- protocol ----------------------------------------------------------------------------------------------


def _info(code: str, text: str) -> JSON:
    return {"reasonCode": code[:20], "additionalInfo": text[:1024]}


@HANDLERS.call("SetDERControl")
def on_call_SetDERControl(self: Station21, call: Call, now: float) -> None:
    p = call.payload
    ctype = p["controlType"]
    if not self.v2x_evses:
        self.answer(call, {"status": "NotSupported", "statusInfo": _info("NoV2X", "no V2X-capable EVSE")}, now)
        return
    request_field = fields_of(ctype)[0]
    data = p.get(request_field)
    if not isinstance(data, dict):
        self.answer(call, {"status": "Rejected", "statusInfo": _info(
            "MissingData", f"{ctype} needs its data in {request_field!r}")}, now)
        return
    superseded = self.der.set(p["controlId"], ctype, p["isDefault"], data)
    answer: JSON = {"status": "Accepted"}
    if superseded:
        answer["supersededIds"] = superseded[:MAX_ITEMS]
    self.answer(call, answer, now)
    self.emit("der_control", now, control_id=p["controlId"], control_type=ctype, is_default=p["isDefault"],
              superseded=superseded)


@HANDLERS.call("GetDERControl")
def on_call_GetDERControl(self: Station21, call: Call, now: float) -> None:
    p = call.payload
    if not self.v2x_evses:
        self.answer(call, {"status": "NotSupported"}, now)
        return
    found = self.der.find(is_default=p.get("isDefault"), control_type=p.get("controlType"),
                          control_id=p.get("controlId"))
    self.answer(call, {"status": "Accepted" if found else "NotFound"}, now)
    if found:
        for msg in DerControls.reports(found, p["requestId"]):
            self.send_online("ReportDERControl", msg, now)


@HANDLERS.call("ClearDERControl")
def on_call_ClearDERControl(self: Station21, call: Call, now: float) -> None:
    p = call.payload
    if not self.v2x_evses:
        self.answer(call, {"status": "NotSupported"}, now)
        return
    gone = self.der.clear(is_default=p["isDefault"], control_type=p.get("controlType"), control_id=p.get("controlId"))
    self.answer(call, {"status": "Accepted" if gone else "NotFound"}, now)
    if gone:
        self.emit("der_control", now, cleared=gone)


@HANDLERS.call("AFRRSignal")
def on_call_AFRRSignal(self: Station21, call: Call, now: float) -> None:
    """Keep the latest aFRR signal (the setpoint an aggregator asks a V2X EVSE to follow)."""
    at = parse_iso(call.payload["timestamp"])
    if at is None or not self.v2x_evses:
        why = "no V2X-capable EVSE" if at is not None else "unreadable timestamp"
        self.answer(call, {"status": "Rejected", "statusInfo": _info("NotSupported", why)}, now)
        return
    self.answer(call, {"status": "Accepted"}, now)
    self.afrr_signal = (at, int(call.payload["signal"]))
    self.emit("afrr_signal", now, signal=call.payload["signal"], timestamp=call.payload["timestamp"])


