"""The station create/edit form: one input per :class:`~ocppemu.config.station.StationConfig` field.

:data:`FIELDS` lists every configurable field by dotted path with the kind of input it gets; connectors are rows
of their own (:class:`ConnectorRows`). :meth:`StationForm.value` builds the configuration document,
:meth:`StationForm.check` validates it with the same model the workbench uses (so a bad form is refused before
anything is sent), :meth:`StationForm.load` fills the form from a stored configuration.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import ipywidgets as w
from pydantic import ValidationError

from ocppemu.config.station import StationConfig
from ocppemu.ocpp.versions import Version
from ocppemu.workbench.views import explain

CONNECTOR_TYPES = ["Type1", "Type2", "CCS1", "CCS2", "CCS", "CHAdeMO", "GBT", "Tesla", "Schuko", "Other"]
PROFILES_16 = ["Core", "FirmwareManagement", "LocalAuthListManagement", "Reservation", "SmartCharging",
               "RemoteTrigger"]
MEASURANDS = ["Energy.Active.Import.Register", "Energy.Active.Export.Register", "Power.Active.Import",
              "Power.Active.Export", "Power.Offered", "Current.Import", "Current.Export", "Current.Offered",
              "Voltage", "Frequency", "Temperature", "SoC", "Power.Factor", "Energy.Reactive.Import.Register",
              "RPM"]


@dataclass(frozen=True, slots=True)
class Field:
    """One input: dotted ``path`` in the configuration, input ``kind``, ``label``, ``options`` for choices."""

    path: str
    kind: str  # text, opt_text, int, float, opt_float, bool, choice, password, list, multi, kv, numbers
    label: str
    section: str
    options: tuple[str, ...] = ()


def _f(section: str, path: str, kind: str, label: str, options: tuple[str, ...] | list[str] = ()) -> Field:
    return Field(path, kind, label, section, tuple(options))


FIELDS: tuple[Field, ...] = (
    _f("Identity", "station_id", "text", "Station id"),
    _f("Identity", "name", "text", "Name"),
    _f("Identity", "enabled", "bool", "Enabled"),
    _f("Identity", "auto_start", "bool", "Auto start"),
    _f("Identity", "protocol_version", "choice", "OCPP version", [v.value for v in Version]),
    _f("Identity", "vendor", "text", "Vendor"),
    _f("Identity", "model", "text", "Model"),
    _f("Identity", "serial_number", "opt_text", "Serial number"),
    _f("Identity", "firmware_version", "opt_text", "Firmware version"),
    _f("Identity", "iccid", "opt_text", "ICCID"),
    _f("Identity", "imsi", "opt_text", "IMSI"),
    _f("Identity", "meter_type", "opt_text", "Meter type"),
    _f("Identity", "meter_serial_number", "opt_text", "Meter serial number"),
    _f("Identity", "tags", "list", "Tags (comma separated)"),
    _f("Profiles", "supported_profiles", "multi", "Supported profiles", PROFILES_16),
    _f("Meter values", "meter_values_config.interval", "int", "Sample interval (s)"),
    _f("Meter values", "meter_values_config.measurands", "multi", "Sampled measurands", MEASURANDS),
    _f("Meter values", "meter_values_config.aligned_data_interval", "int", "Clock-aligned interval (s)"),
    _f("Meter values", "meter_values_config.aligned_measurands", "multi", "Aligned measurands", MEASURANDS),
    _f("CSMS", "csms_url", "text", "CSMS URL"),
    _f("CSMS", "csms_auth.type", "choice", "Auth", ["none", "basic", "certificate"]),
    _f("CSMS", "csms_auth.username", "opt_text", "Username"),
    _f("CSMS", "csms_auth.password", "password", "Password"),
    _f("CSMS", "tls.ca_cert", "opt_text", "CA bundle file"),
    _f("CSMS", "tls.client_cert", "opt_text", "Client certificate file"),
    _f("CSMS", "tls.client_key", "password", "Client key file"),
    _f("CSMS", "tls.insecure_skip_verify", "bool", "Skip TLS verification (lab only)"),
    _f("CSMS", "soap_listen", "opt_text", "SOAP listen HOST:PORT (1.6 over http(s)://)"),
    _f("CSMS", "soap_advertise", "opt_text", "SOAP URL advertised to the CSMS"),
    _f("Simulation", "simulation.boot_delay", "float", "Boot delay (s)"),
    _f("Simulation", "simulation.after_restart", "choice", "Transaction after an emulator restart",
       ["end", "continue"]),
    _f("Simulation", "simulation.heartbeat_interval", "int", "Heartbeat interval (s)"),
    _f("Simulation", "simulation.status_notification_on_change", "bool", "StatusNotification on change"),
    _f("Simulation", "simulation.default_id_tag", "text", "Default id tag"),
    _f("Simulation", "simulation.energy_delivery_rate", "float", "Delivery rate (W)"),
    _f("Simulation", "simulation.randomize_meter_values", "bool", "Randomise meter values"),
    _f("Simulation", "simulation.meter_value_variance", "float", "Meter variance (0.02 = 2 %)"),
    _f("Simulation", "simulation.seed", "int", "Random seed"),
    _f("Simulation", "simulation.call_timeout", "float", "CALL timeout (s)"),
    _f("Simulation", "simulation.compliance_checks", "bool", "Judge the CSMS (compliance findings)"),
    _f("Simulation", "simulation.reconnect_initial_delay", "float", "Reconnect initial delay (s)"),
    _f("Simulation", "simulation.reconnect_max_delay", "float", "Reconnect max delay (s)"),
    _f("Simulation", "simulation.ping_interval", "opt_float", "WebSocket ping (s, empty = off)"),
    _f("Simulation", "simulation.auto_plug_in_on_remote_start", "bool", "Remote start plugs the EV in"),
    _f("Simulation", "simulation.v16_error_spelling", "choice", "1.6 error spelling", ["errata", "original"]),
    _f("Simulation", "simulation.ev.battery_capacity_wh", "float", "EV battery (Wh)"),
    _f("Simulation", "simulation.ev.start_soc", "float", "EV start SoC (%)"),
    _f("Simulation", "simulation.ev.target_soc", "float", "EV target SoC (%)"),
    _f("Simulation", "simulation.ev.max_ac_power", "float", "EV max AC power (W)"),
    _f("Simulation", "simulation.ev.max_dc_power", "float", "EV max DC power (W)"),
    _f("Automatic transactions", "auto_transactions.enabled", "bool", "Automatic transactions"),
    _f("Automatic transactions", "auto_transactions.start_probability", "float", "Start probability (0-1)"),
    _f("Automatic transactions", "auto_transactions.duration", "numbers", "Charge time range (s: low, high)"),
    _f("Automatic transactions", "auto_transactions.energy_wh", "numbers", "Energy range (Wh), instead of time"),
    _f("Automatic transactions", "auto_transactions.pause", "numbers", "Pause range (s: low, high)"),
    _f("Automatic transactions", "auto_transactions.start_delay", "numbers", "First start delay (s: low, high)"),
    _f("Automatic transactions", "auto_transactions.id_tags", "list", "Id tags (comma separated; empty: generated)"),
    _f("Automatic transactions", "auto_transactions.id_tag_prefix", "text", "Generated tag prefix"),
    _f("Automatic transactions", "auto_transactions.generated_id_tags", "int", "Generated tags"),
    _f("Automatic transactions", "auto_transactions.arrival", "choice", "Arrivals", ["loop", "poisson", "daily"]),
    _f("Automatic transactions", "auto_transactions.arrival_rate", "float", "Poisson arrivals per hour"),
    _f("Automatic transactions", "auto_transactions.daily_profile", "numbers", "Daily profile (24 rates/hour)"),
    _f("Automatic transactions", "auto_transactions.utc_offset_hours", "float", "Profile UTC offset (h)"),
    _f("Automatic transactions", "auto_transactions.stop_reasons", "kv", "Stop reasons (Reason=weight per line)"),
    _f("Automatic transactions", "auto_transactions.seed", "opt_text", "Generator seed (empty: derived)"),
    _f("Configuration", "configuration_overrides", "kv", "Configuration keys (Key=Value per line)"),
)
#: Fields the workbench sets itself, not the user.
MANAGED = frozenset({"created_at", "updated_at", "created_by", "connectors"})


def _get(doc: dict[str, Any], path: str) -> Any:
    cur: Any = doc
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    cur = doc
    for part in parts[:-1]:
        cur = cur.setdefault(part, {})
    cur[parts[-1]] = value


def _input(f: Field) -> w.ValueWidget:
    layout = w.Layout(width="420px")
    style = {"description_width": "200px"}
    kw: dict[str, Any] = {"description": f.label, "layout": layout, "style": style}
    if f.kind == "bool":
        return w.Checkbox(indent=False, description=f.label, style=style)
    if f.kind == "int":
        return w.IntText(**kw)
    if f.kind == "float":
        return w.FloatText(**kw)
    if f.kind == "choice":
        return w.Dropdown(options=list(f.options), **kw)
    if f.kind == "password":
        return w.Password(**kw)
    if f.kind == "multi":
        return w.SelectMultiple(options=list(f.options), rows=4, **kw)
    if f.kind == "kv":
        return w.Textarea(placeholder="HeartbeatInterval=30", **kw)
    return w.Text(**kw)


def _to_widget(f: Field, value: Any) -> Any:
    if f.kind in ("text", "opt_text", "password", "opt_float"):
        return "" if value is None else str(value)
    if f.kind == "list":
        return ", ".join(value or [])
    if f.kind == "numbers":
        return ", ".join(f"{v:g}" if isinstance(v, int | float) else str(v) for v in value or [])
    if f.kind == "multi":
        return tuple(v for v in (value or []) if v in f.options)
    if f.kind == "kv":
        return "\n".join(f"{k}={v}" for k, v in (value or {}).items())
    return value


def _from_widget(f: Field, value: Any) -> Any:
    if f.kind in ("opt_text", "password"):
        return value.strip() or None
    if f.kind == "text":
        return value.strip()
    if f.kind == "opt_float":
        text = str(value).strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            return text  # the model refuses it with a readable message
    if f.kind == "list":
        return [t.strip() for t in value.split(",") if t.strip()]
    if f.kind == "numbers":  # the model turns the texts into numbers, or refuses them with a reason
        return [t.strip() for t in value.split(",") if t.strip()] or None
    if f.kind == "multi":
        return list(value)
    if f.kind == "kv":
        out: dict[str, str] = {}
        for line in value.splitlines():
            if line.strip():
                key, _, val = line.partition("=")
                out[key.strip()] = val.strip()
        return out
    return value


class ConnectorRows(w.VBox):
    """Editable connector rows (id, EVSE, type, max power, phases, AC/DC) with add / remove buttons."""

    def __init__(self) -> None:
        self.rows: list[tuple[w.IntText, w.Text, w.Dropdown, w.FloatText, w.Dropdown, w.Dropdown]] = []
        self.add_button = w.Button(description="Add connector", icon="plus")
        self.remove_button = w.Button(description="Remove last", icon="minus")
        self.add_button.on_click(lambda _b: self.add())
        self.remove_button.on_click(lambda _b: self.remove())
        self._box = w.VBox()
        super().__init__([w.HTML("<b>Connectors</b>"), self._box, w.HBox([self.add_button, self.remove_button])])

    def add(self, doc: dict[str, Any] | None = None) -> None:
        doc = doc or {"id": len(self.rows) + 1}
        small = w.Layout(width="150px")
        row = (w.IntText(value=int(doc.get("id", 1)), description="id", layout=small,
                         style={"description_width": "30px"}),
               w.Text(value="" if doc.get("evse_id") is None else str(doc["evse_id"]), description="EVSE",
                      layout=small, style={"description_width": "40px"}),
               w.Dropdown(options=CONNECTOR_TYPES, value=doc.get("type", "Type2"), layout=w.Layout(width="110px")),
               w.FloatText(value=float(doc.get("max_power", 22000.0)), description="W", layout=small,
                           style={"description_width": "20px"}),
               w.Dropdown(options=[("3-phase", 3), ("1-phase", 1)], value=int(doc.get("phases", 3)),
                          layout=w.Layout(width="100px")),
               w.Dropdown(options=["AC", "DC"], value=doc.get("current_type", "AC"), layout=w.Layout(width="70px")))
        self.rows.append(row)
        self._box.children = [*self._box.children, w.HBox(list(row))]

    def remove(self) -> None:
        if len(self.rows) > 1:
            self.rows.pop()
            self._box.children = self._box.children[:-1]

    def load(self, connectors: list[dict[str, Any]]) -> None:
        self.rows = []
        self._box.children = []
        for c in connectors or [{"id": 1}]:
            self.add(c)

    def value(self) -> list[dict[str, Any]]:
        out = []
        for cid, evse, ctype, power, phases, current in self.rows:
            evse_text = evse.value.strip()
            out.append({"id": cid.value, "evse_id": int(evse_text) if evse_text.isdigit() else (evse_text or None),
                        "type": ctype.value, "max_power": power.value, "phases": phases.value,
                        "current_type": current.value})
        return out


class StationForm(w.VBox):
    """Every field of a station configuration, in sections; :meth:`check` validates it without I/O."""

    def __init__(self) -> None:
        self.inputs: dict[str, w.ValueWidget] = {f.path: _input(f) for f in FIELDS}
        for path, widget in self.inputs.items():
            widget.add_class("ocppemu-field-" + path.replace(".", "-").replace("_", "-"))
        self.connectors = ConnectorRows()
        self.errors = w.HTML()
        self.errors.add_class("ocppemu-form-errors")
        sections: dict[str, list[w.Widget]] = {}
        for f in FIELDS:
            sections.setdefault(f.section, []).append(self.inputs[f.path])
        sections["Identity"].append(self.connectors)
        self.tabs = w.Tab(children=[w.VBox(ws) for ws in sections.values()], titles=list(sections))
        self.inputs["csms_url"].placeholder = "empty: the workbench's default CSMS"
        super().__init__([self.tabs, self.errors])
        self.clear()

    def clear(self) -> None:
        """Defaults of a new station: no id, and the workbench's default CSMS URL."""
        self.load(StationConfig(station_id="new-station").export())
        self.inputs["station_id"].value = ""
        self.inputs["csms_url"].value = ""

    def load(self, config: dict[str, Any]) -> None:
        """Fill every input from a configuration document (as exported; masked secrets stay masked)."""
        for f in FIELDS:
            self.inputs[f.path].value = _to_widget(f, _get(config, f.path))
        self.connectors.load(list(config.get("connectors") or [{"id": 1}]))
        self.errors.value = ""

    def value(self) -> dict[str, Any]:
        """The configuration document the inputs describe (not validated)."""
        doc: dict[str, Any] = {}
        for f in FIELDS:
            value = _from_widget(f, self.inputs[f.path].value)
            if (f.kind == "password" and value is None) or (f.path == "csms_url" and not value):
                continue  # a masked secret stays as stored; no URL means the workbench's default CSMS
            _set(doc, f.path, value)
        doc["connectors"] = self.connectors.value()
        return doc

    def check(self) -> dict[str, Any] | None:
        """The document when it is a valid configuration; otherwise None, with the reasons shown in the form."""
        doc = self.value()
        try:
            StationConfig.model_validate(doc)
        except ValidationError as exc:
            self.errors.value = ("<span style='color:#b00020'>" + html.escape(explain(exc)).replace("; ", "<br>")
                                 + "</span>")
            return None
        self.errors.value = ""
        return doc
