"""The OCPP 2.0.1 / 2.1 device model of one charging station, sans-I/O.

Components (name, instance, EVSE, connector) hold variables (name, instance); a variable has up to four attributes
(Actual, Target, MinSet, MaxSet), each with a value, a mutability and persistent/constant flags, plus fixed
characteristics (data type, unit, limits, values list, monitoring support). The standard controllers come from
:mod:`ocppemu.station.device_model_catalog`.

Everything here takes wire-format dicts in and gives wire-format dicts out, keyed exactly as the 2.0.1 schemas
(``getVariableResult`` items, ``reportData`` items, whole ``NotifyReportRequest`` payloads). Nothing here raises on
peer input: unknown components, bad values and malformed items become result statuses with a readable
``statusInfo``. The engine-facing API (:meth:`DeviceModel.set_value`, typed getters) raises
:class:`UnknownVariableError` for programming errors such as a misspelt variable name.

Names are matched case-insensitively, as the specification requires.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocppemu.ocpp.framing import dumps
from ocppemu.station.device_model_catalog import (
    _DEC,
    JSON,
    AttributeName,
    ComponentKey,
    ComponentSpec,
    StationDescription,
    VariableAttribute,
    VariableCharacteristics,
    VariableKey,
    VariableSpec,
    _fold,
    standard_components,
    validate_value,
)

__all__ = [
    "JSON", "ComponentKey", "DeviceModel", "StationDescription", "UnknownVariableError", "Variable",
    "VariableAttribute", "VariableCharacteristics", "VariableKey", "format_timestamp", "matches",
    "split_messages", "validate_value",
]

log = logging.getLogger(__name__)

ChangeListener = Callable[["ComponentKey", "VariableKey", str], None]
ATTRIBUTE_TYPES: tuple[AttributeName, ...] = ("Actual", "Target", "MinSet", "MaxSet")
#: Variables reported in a SummaryInventory: those that tell whether a component is usable.
SUMMARY_VARIABLES = frozenset({"availabilitystate", "available", "problem", "active", "tripped", "overload",
                               "fallback"})
_OVERRIDE = re.compile(
    r"(?P<c>[^.\[@]+)(?:\[(?P<ci>[^\]]*)\])?(?:@(?P<e>\d+)(?::(?P<k>\d+))?)?\.(?P<v>[^.\[]+)(?:\[(?P<vi>[^\]]*)\])?"
)


class UnknownVariableError(LookupError):
    """The engine asked for a component/variable the device model does not hold (a programming error)."""


@dataclass(slots=True)
class Variable:
    """A variable with its attributes (keyed by attribute type) and characteristics."""

    key: VariableKey
    attributes: dict[str, VariableAttribute]
    characteristics: VariableCharacteristics
    reboot_required: bool = False

    @classmethod
    def from_spec(cls, spec: VariableSpec) -> Variable:
        attrs: dict[str, VariableAttribute] = {}
        if spec.value is not None:
            attrs["Actual"] = VariableAttribute("Actual", spec.value, spec.mutability, spec.persistent,
                                                spec.constant)
        for extra in spec.extra:
            attrs[extra.type] = VariableAttribute(extra.type, extra.value, extra.mutability, True, extra.constant)
        ch = VariableCharacteristics(spec.data_type, spec.unit, spec.min_limit, spec.max_limit, spec.values_list,
                                     spec.supports_monitoring)
        return cls(VariableKey(spec.name, spec.instance), attrs, ch, spec.reboot_required)

    def is_configurable(self) -> bool:
        return any(a.mutability != "ReadOnly" for a in self.attributes.values())

    def report_data(self, component: ComponentKey, max_size: int = 2500) -> JSON:
        """One ``ReportDataType`` item."""
        attrs = [self.attributes[t].to_wire(max_size) for t in ATTRIBUTE_TYPES if t in self.attributes]
        return {"component": component.to_wire(), "variable": self.key.to_wire(), "variableAttribute": attrs,
                "variableCharacteristics": self.characteristics.to_wire()}


@dataclass(slots=True)
class Component:
    key: ComponentKey
    variables: dict[tuple[str, str], Variable] = field(default_factory=dict)

    def value_true(self, variable: str) -> bool:
        """Whether the component has ``variable`` (any instance) with Actual value ``true``."""
        return any(
            v.key.index[0] == _fold(variable) and (a := v.attributes.get("Actual")) is not None
            and _fold(a.value) == "true"
            for v in self.variables.values()
        )


class DeviceModel:
    """All components and variables of one station, with GetVariables/SetVariables/report semantics.

    Listeners added with :meth:`add_listener` are called with ``(component, variable, new_value)`` whenever an
    Actual value changes, whether by SetVariables or by :meth:`set_value`, but not for variables whose change
    needs a reboot (those are listed in :attr:`pending_reboot` until the engine reboots). A listener that raises
    is logged and skipped; it never breaks the answer to the CSMS.
    """

    def __init__(self, components: Iterable[ComponentSpec] = ()) -> None:
        self._components: dict[tuple[str, str, int | None, int | None], Component] = {}
        self._listeners: list[ChangeListener] = []
        self._dynamic: dict[tuple[tuple[str, str, int | None, int | None], tuple[str, str]],
                            Callable[[], str]] = {}
        self.pending_reboot: set[tuple[ComponentKey, VariableKey]] = set()
        for spec in components:
            self.add_component(spec)

    @classmethod
    def for_station(cls, description: StationDescription | None = None) -> DeviceModel:
        """The standard model for ``description``, with its ``overrides`` applied (bad ones are logged)."""
        description = description or StationDescription()
        model = cls(standard_components(description))
        for problem in model.apply_overrides(description.overrides):
            log.warning("device model override ignored: %s", problem)
        return model

    # -- structure -------------------------------------------------------------------------------------------

    def add_component(self, spec: ComponentSpec) -> Component:
        """Add (or extend) a component with the variables of ``spec``; returns it."""
        key = ComponentKey(spec.name, spec.instance, spec.evse, spec.connector)
        comp = self._components.setdefault(key.index, Component(key))
        for vspec in spec.variables:
            var = Variable.from_spec(vspec)
            comp.variables[var.key.index] = var
        return comp

    @property
    def components(self) -> list[Component]:
        return list(self._components.values())

    def component(self, key: ComponentKey) -> Component | None:
        return self._components.get(key.index)

    def variable(self, component: ComponentKey, variable: VariableKey) -> Variable | None:
        comp = self._components.get(component.index)
        return None if comp is None else comp.variables.get(variable.index)

    def read(self, component: ComponentKey, variable: VariableKey, attribute: str = "Actual") -> str | None:
        """The current value (live when dynamic) of an attribute; ``None`` when absent."""
        comp = self._components.get(component.index)
        var = None if comp is None else comp.variables.get(variable.index)
        return None if comp is None or var is None else self._actual(comp, var, attribute)

    def evse_ids(self) -> list[int]:
        return sorted({c.key.evse for c in self._components.values()
                       if c.key.evse is not None and _fold(c.key.name) == "evse"})

    # -- listeners and live values ---------------------------------------------------------------------------

    def add_listener(self, listener: ChangeListener) -> Callable[[], None]:
        """Call ``listener(component, variable, new_value)`` on every Actual change; returns a remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def register_dynamic(self, component: ComponentKey, variable: VariableKey, getter: Callable[[], str]) -> None:
        """Read the Actual value of a variable live from ``getter`` (e.g. ``ClockCtrlr.DateTime``, ``EVSE.Power``).

        Raises :class:`UnknownVariableError` when the variable does not exist.
        """
        if self.variable(component, variable) is None:
            raise UnknownVariableError(f"{component.name}.{variable.name} is not in the device model")
        self._dynamic[(component.index, variable.index)] = getter

    def _notify(self, component: ComponentKey, variable: VariableKey, value: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(component, variable, value)
            except Exception:
                log.exception("device model listener failed for %s.%s", component.name, variable.name)

    def _actual(self, comp: Component, var: Variable, attribute: str = "Actual") -> str | None:
        if attribute == "Actual":
            getter = self._dynamic.get((comp.key.index, var.key.index))
            if getter is not None:
                try:
                    return getter()
                except Exception:
                    log.exception("dynamic value of %s.%s failed", comp.key.name, var.key.name)
        attr = var.attributes.get(attribute)
        return None if attr is None else attr.value

    # -- engine API ------------------------------------------------------------------------------------------

    def _resolve(self, component: str, variable: str, evse: int | None, connector: int | None,
                 component_instance: str | None, variable_instance: str | None) -> tuple[Component, Variable]:
        ckey = ComponentKey(component, component_instance, evse, connector)
        comp = self._components.get(ckey.index)
        var = None if comp is None else comp.variables.get(VariableKey(variable, variable_instance).index)
        if comp is None or var is None:
            raise UnknownVariableError(f"{component}.{variable} (evse={evse}, connector={connector}, instances="
                                       f"{component_instance}/{variable_instance}) is not in the device model")
        return comp, var

    def get_value(self, component: str, variable: str, *, evse: int | None = None, connector: int | None = None,
                  component_instance: str | None = None, variable_instance: str | None = None,
                  attribute: AttributeName = "Actual") -> str | None:
        """The value of an attribute (WriteOnly ones included: the station may read its own secrets).

        ``None`` when the component, variable or attribute does not exist.
        """
        try:
            comp, var = self._resolve(component, variable, evse, connector, component_instance, variable_instance)
        except UnknownVariableError:
            return None
        return self._actual(comp, var, attribute)

    def get_int(self, component: str, variable: str, default: int | None = None, **kw: Any) -> int | None:
        """Integer value (decimals are truncated), or ``default`` when absent or not a number."""
        value = self.get_value(component, variable, **kw)
        if value is None or not _DEC.fullmatch(value.strip()):
            return default
        return int(float(value))

    def get_float(self, component: str, variable: str, default: float | None = None, **kw: Any) -> float | None:
        value = self.get_value(component, variable, **kw)
        return float(value) if value is not None and _DEC.fullmatch(value.strip()) else default

    def get_bool(self, component: str, variable: str, default: bool = False, **kw: Any) -> bool:
        """``True``/``False`` for ``true``/``false`` (any case), ``default`` otherwise."""
        value = _fold(self.get_value(component, variable, **kw))
        return {"true": True, "false": False}.get(value, default)

    def get_list(self, component: str, variable: str, **kw: Any) -> list[str]:
        """The comma separated members of a list value, in order; ``[]`` when empty or absent."""
        value = self.get_value(component, variable, **kw) or ""
        return [x.strip() for x in value.split(",") if x.strip()]

    def set_value(self, component: str, variable: str, value: str, *, evse: int | None = None,
                  connector: int | None = None, component_instance: str | None = None,
                  variable_instance: str | None = None, attribute: AttributeName = "Actual",
                  notify: bool = True) -> bool:
        """Set a value from the station itself, bypassing mutability (e.g. AvailabilityState, Entries).

        The value is stored as given (no validation: the station is trusted). Returns whether it changed.
        Raises :class:`UnknownVariableError` when the variable (or, for non-Actual, the attribute) is missing.
        """
        comp, var = self._resolve(component, variable, evse, connector, component_instance, variable_instance)
        attr = var.attributes.get(attribute)
        if attr is None:
            if attribute == "Actual":
                raise UnknownVariableError(f"{component}.{variable} has no {attribute} attribute")
            attr = var.attributes[attribute] = VariableAttribute(attribute, None, "ReadOnly")
        if attr.value == value:
            return False
        attr.value = value
        if notify and attribute == "Actual":
            self._notify(comp.key, var.key, value)
        return True

    def apply_overrides(self, overrides: dict[str, str]) -> list[str]:
        """Preset values from ``Component[inst]@evse:connector.Variable[inst]`` keys (instances, EVSE optional).

        Keys without a dot (1.6 configuration keys) are skipped silently. Values are validated; returns one
        sentence per key that could not be applied.
        """
        problems: list[str] = []
        for key, value in overrides.items():
            if "." not in key:
                continue
            m = _OVERRIDE.fullmatch(key)
            if m is None:
                problems.append(f"{key!r} is not Component[inst]@evse:connector.Variable[inst]")
                continue
            ckey = ComponentKey(m["c"], m["ci"], int(m["e"]) if m["e"] else None, int(m["k"]) if m["k"] else None)
            var = self.variable(ckey, VariableKey(m["v"], m["vi"]))
            if var is None or "Actual" not in var.attributes:
                problems.append(f"{key!r} names no variable of the device model")
                continue
            normalised, info = validate_value(str(value), var.key.name, var.characteristics, var.attributes)
            if normalised is None:
                problems.append(f"{key!r}: {info['additionalInfo'] if info else 'invalid'}")
                continue
            var.attributes["Actual"].value = normalised
        return problems

    # -- GetVariables / SetVariables -------------------------------------------------------------------------

    def _lookup(self, item: object) -> tuple[JSON, JSON, str, Component | None, Variable | None, str | None]:
        """Common part of get/set: echo dicts, attribute type, resolved objects and a failure status."""
        data = item if isinstance(item, dict) else {}
        ckey = ComponentKey.from_wire(data.get("component"))
        vkey = VariableKey.from_wire(data.get("variable"))
        comp_wire = ckey.to_wire() if ckey else {"name": ""}
        var_wire = vkey.to_wire() if vkey else {"name": ""}
        attr_type = data.get("attributeType", "Actual")
        comp = self._components.get(ckey.index) if ckey else None
        if comp is None:
            return comp_wire, var_wire, "Actual", None, None, "UnknownComponent"
        var = comp.variables.get(vkey.index) if vkey else None
        if var is None:
            return comp_wire, var_wire, "Actual", comp, None, "UnknownVariable"
        if attr_type not in ATTRIBUTE_TYPES or attr_type not in var.attributes:
            safe = attr_type if attr_type in ATTRIBUTE_TYPES else "Actual"
            return comp_wire, var_wire, safe, comp, var, "NotSupportedAttributeType"
        return comp_wire, var_wire, attr_type, comp, var, None

    def get_variables(self, data: Sequence[object]) -> list[JSON]:
        """Answer ``getVariableData`` items with one ``getVariableResult`` item each, in order.

        Statuses: Accepted (with ``attributeValue``, cut to ReportingValueSize), UnknownComponent,
        UnknownVariable, NotSupportedAttributeType, Rejected (WriteOnly attribute).
        """
        max_size = self.get_int("DeviceDataCtrlr", "ReportingValueSize", 2500) or 2500
        results: list[JSON] = []
        for item in data:
            comp_wire, var_wire, attr_type, comp, var, status = self._lookup(item)
            result: JSON = {"attributeType": attr_type, "component": comp_wire, "variable": var_wire}
            if status is None and comp is not None and var is not None:
                attr = var.attributes[attr_type]
                if attr.mutability == "WriteOnly":
                    status = "Rejected"
                    result["attributeStatusInfo"] = {"reasonCode": "WriteOnly",
                                                     "additionalInfo": f"{var.key.name} cannot be read"}
                else:
                    status = "Accepted"
                    result["attributeValue"] = (self._actual(comp, var, attr_type) or "")[:max_size]
            result["attributeStatus"] = status
            results.append(result)
        return results

    def set_variables(self, data: Sequence[object]) -> list[JSON]:
        """Apply ``setVariableData`` items, answering one ``setVariableResult`` item each, in order.

        Statuses: Accepted, RebootRequired (stored, effective after reboot), Rejected (ReadOnly, bad type, out
        of range, not in valuesList, too long; ``attributeStatusInfo.reasonCode`` says which), UnknownComponent,
        UnknownVariable, NotSupportedAttributeType. Items are applied in order, so a later item sees an earlier
        one's value.
        """
        max_size = self.get_int("DeviceDataCtrlr", "ConfigurationValueSize", 1000) or 1000
        results: list[JSON] = []
        for item in data:
            comp_wire, var_wire, attr_type, comp, var, status = self._lookup(item)
            result: JSON = {"attributeType": attr_type, "component": comp_wire, "variable": var_wire}
            if status is None and comp is not None and var is not None:
                raw = item.get("attributeValue") if isinstance(item, dict) else None
                status, info = self._set_one(comp, var, attr_type, raw, max_size)
                if info is not None:
                    result["attributeStatusInfo"] = info
            result["attributeStatus"] = status
            results.append(result)
        return results

    def _set_one(self, comp: Component, var: Variable, attr_type: str, raw: object,
                 max_size: int) -> tuple[str, JSON | None]:
        attr = var.attributes[attr_type]
        if attr.mutability == "ReadOnly":
            return "Rejected", {"reasonCode": "ReadOnly", "additionalInfo": f"{var.key.name} is read-only"}
        if not isinstance(raw, str):
            return "Rejected", {"reasonCode": "InvalidValue", "additionalInfo": "attributeValue must be a string"}
        if len(raw) > max_size:
            return "Rejected", {"reasonCode": "TooLargeElement",
                                "additionalInfo": f"values are limited to {max_size} characters"}
        value, info = validate_value(raw, var.key.name, var.characteristics, var.attributes, attr_type)
        if value is None:
            return "Rejected", info
        changed = attr.value != value
        attr.value = value
        if var.reboot_required:
            if changed:
                self.pending_reboot.add((comp.key, var.key))
            return "RebootRequired", None
        if changed and attr_type == "Actual":
            self._notify(comp.key, var.key, value)
        return "Accepted", None

    # -- reports ---------------------------------------------------------------------------------------------

    def _report_items(self, pairs: Iterable[tuple[Component, Variable]]) -> list[JSON]:
        max_size = self.get_int("DeviceDataCtrlr", "ReportingValueSize", 2500) or 2500
        items: list[JSON] = []
        for comp, var in pairs:
            item = var.report_data(comp.key, max_size)
            getter = self._dynamic.get((comp.key.index, var.key.index))
            if getter is not None and var.attributes["Actual"].mutability != "WriteOnly":
                for attr in item["variableAttribute"]:
                    if attr["type"] == "Actual":
                        attr["value"] = (self._actual(comp, var) or "")[:max_size]
            items.append(item)
        return items

    def _all_pairs(self) -> Iterable[tuple[Component, Variable]]:
        for comp in self._components.values():
            for var in comp.variables.values():
                yield comp, var

    def base_report(self, report_base: str) -> list[JSON]:
        """``reportData`` items for GetBaseReport: FullInventory (everything), ConfigurationInventory
        (variables with a writable attribute) or SummaryInventory (availability/problem variables).

        Returns ``[]`` for an unknown ``report_base`` (the handler answers NotSupported).
        """
        if report_base == "FullInventory":
            return self._report_items(self._all_pairs())
        if report_base == "ConfigurationInventory":
            return self._report_items((c, v) for c, v in self._all_pairs() if v.is_configurable())
        if report_base == "SummaryInventory":
            return self._report_items((c, v) for c, v in self._all_pairs() if v.key.index[0] in SUMMARY_VARIABLES)
        return []

    def custom_report(self, component_variables: Sequence[object] | None = None,
                      component_criteria: Sequence[str] | None = None) -> list[JSON]:
        """``reportData`` items for GetReport.

        ``component_variables`` (``ComponentVariableType`` dicts) select by component name, and by instance,
        EVSE, connector and variable when those are given; ``component_criteria`` keeps components having
        ``Active``/``Available``/``Enabled``/``Problem`` = true. Both filters apply together; none means all.
        An empty list means the handler answers EmptyResultSet.
        """
        pairs = list(self._all_pairs())
        if component_variables:
            pairs = [(c, v) for c, v in pairs if any(matches(c.key, v.key, cv) for cv in component_variables)]
        if component_criteria:
            wanted = [x for x in component_criteria if isinstance(x, str)]
            pairs = [(c, v) for c, v in pairs if any(c.value_true(name) for name in wanted)]
        return self._report_items(pairs)

    def items_per_message(self, component: str, instance: str, default: int = 100) -> int:
        """``<component>.ItemsPerMessage[<instance>]`` as a positive int (``default`` when unset)."""
        value = self.get_int(component, "ItemsPerMessage", default, variable_instance=instance) or default
        return max(1, value)


def matches(component: ComponentKey, variable: VariableKey, criterion: object) -> bool:
    """Whether a component/variable is selected by a ``ComponentVariableType`` dict.

    Omitted instance, EVSE, connector or variable in the criterion match any; a malformed criterion matches
    nothing.
    """
    if not isinstance(criterion, dict):
        return False
    ckey = ComponentKey.from_wire(criterion.get("component"))
    if ckey is None or _fold(ckey.name) != _fold(component.name):
        return False
    if ckey.instance is not None and _fold(ckey.instance) != _fold(component.instance):
        return False
    if ckey.evse is not None and ckey.evse != component.evse:
        return False
    if ckey.connector is not None and ckey.connector != component.connector:
        return False
    if criterion.get("variable") is None:
        return True
    vkey = VariableKey.from_wire(criterion.get("variable"))
    if vkey is None or _fold(vkey.name) != _fold(variable.name):
        return False
    return vkey.instance is None or _fold(vkey.instance) == _fold(variable.instance)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds and ``Z``; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def split_messages(items: Sequence[JSON], list_key: str, *, generated_at: datetime, items_per_message: int,
                   bytes_per_message: int | None = None, request_id: int | None = None) -> list[JSON]:
    """Chunk report items into message payloads (NotifyReport, NotifyMonitoringReport, NotifyEvent).

    Each payload holds ``list_key`` with at most ``items_per_message`` items and, when ``bytes_per_message`` is
    given, a whole compact CALL frame (message id up to 36 characters) of at most that many bytes (an item too big
for the bound travels alone). ``seqNo`` counts
    from 0, ``tbc`` is true on all but the last, ``generatedAt`` is the same on all, and ``requestId`` is set when
    given. An empty ``items`` gives ``[]``.
    """
    limit = max(1, items_per_message)
    chunks: list[list[JSON]] = []
    current: list[JSON] = []
    size = 0
    overhead = 200  # envelope keys plus the CALL frame around the payload ([2, "<uuid>", "<Action>", {...}])
    for item in items:
        item_size = len(dumps(item).encode()) + 1
        over_bytes = bytes_per_message is not None and current and size + item_size + overhead > bytes_per_message
        if len(current) >= limit or over_bytes:
            chunks.append(current)
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        chunks.append(current)
    stamp = format_timestamp(generated_at)
    out: list[JSON] = []
    for seq, chunk in enumerate(chunks):
        payload: JSON = {}
        if request_id is not None:
            payload["requestId"] = request_id
        payload.update({"generatedAt": stamp, "seqNo": seq, "tbc": seq < len(chunks) - 1, list_key: chunk})
        out.append(payload)
    return out
