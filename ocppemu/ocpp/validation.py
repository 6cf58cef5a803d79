"""Payload validation against the official schemas with compiled (fastjsonschema) validators.

Validators are compiled lazily, once per (version, action, request|response) and shared by every station.
A failed validation is returned as a :class:`~ocppemu.ocpp.errors.Violation` with the OCPP error code that
matches the broken rule, never raised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import fastjsonschema

from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.errors import ErrorCode, Violation
from ocppemu.ocpp.versions import Version

Part = Literal["request", "response"]

_RULE_CODES: dict[str, ErrorCode] = {
    "required": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "minItems": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "maxItems": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "type": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    "enum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "const": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "maxLength": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "minLength": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "minimum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "maximum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "exclusiveMinimum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "exclusiveMaximum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "multipleOf": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "pattern": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "format": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "additionalProperties": ErrorCode.FORMAT_VIOLATION,
}

_cache: dict[tuple[Version, str, Part], Callable[[Any], Any]] = {}
_Path = tuple[str, ...]


def _strip_multiple_of(node: Any, path: _Path, found: list[tuple[_Path, float]]) -> Any:
    """Copy of a schema without ``multipleOf`` (recorded with its path, ``*`` for array items).

    JSON-schema validators check ``multipleOf: 0.1`` (1.6 charging limits) in binary floating point and so
    refuse ordinary values such as 1.2 or 0.7; a charger must accept them, so we check with a tolerance instead.
    """
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "multipleOf" and isinstance(value, int | float):
                found.append((path, float(value)))
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {k: _strip_multiple_of(v, (*path, k), found) for k, v in value.items()}
            elif key == "items":
                out[key] = _strip_multiple_of(value, (*path, "*"), found)
            else:
                out[key] = _strip_multiple_of(value, path, found) if isinstance(value, dict | list) else value
        return out
    if isinstance(node, list):
        return [_strip_multiple_of(v, path, found) for v in node]
    return node


def _values_at(data: Any, path: _Path) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = [("", data)]
    for key in path:
        nxt: list[tuple[str, Any]] = []
        for where, value in items:
            if key == "*" and isinstance(value, list):
                nxt.extend((f"{where}[{i}]", v) for i, v in enumerate(value))
            elif isinstance(value, dict) and key in value:
                nxt.append((f"{where}.{key}" if where else key, value[key]))
        items = nxt
    return items


def _with_multiples(fn: Callable[[Any], Any], checks: list[tuple[_Path, float]]) -> Callable[[Any], Any]:
    def check(data: Any) -> Any:
        fn(data)
        for path, step in checks:
            for where, value in _values_at(data, path):
                if isinstance(value, int | float) and not isinstance(value, bool):
                    ratio = value / step
                    if abs(ratio - round(ratio)) > 1e-6:
                        raise fastjsonschema.JsonSchemaValueException(
                            f"data.{where} must be multiple of {step}", value, f"data.{where}", None, "multipleOf")
        return data
    return check


def validator(version: Version, action: str, part: Part) -> Callable[[Any], Any] | None:
    """The compiled validator of an action's request or response; ``None`` when the action is unknown.

    Validation never changes the payload (schema defaults are not filled in).
    """
    key = (version, action, part)
    fn = _cache.get(key)
    if fn is None:
        spec = catalogue(version).get(action)
        if spec is None:
            return None
        schema = spec.request_schema if part == "request" else spec.response_schema
        checks: list[tuple[_Path, float]] = []
        stripped = _strip_multiple_of(schema, (), checks)
        fn = fastjsonschema.compile(stripped, use_default=False)
        if checks:
            fn = _with_multiples(fn, checks)
        _cache[key] = fn
    return fn


def code_for_rule(rule: str | None) -> ErrorCode:
    """The OCPP error code for a broken JSON-schema rule."""
    return _RULE_CODES.get(rule or "", ErrorCode.FORMAT_VIOLATION)


def validate(version: Version, action: str, part: Part, payload: Any) -> Violation | None:
    """Check ``payload`` against the schema; ``None`` when valid.

    An unknown action yields a ``NotImplemented`` violation (the caller decides whether that is an error).
    """
    fn = validator(version, action, part)
    if fn is None:
        return Violation(ErrorCode.NOT_IMPLEMENTED, f"unknown action {action!r} in OCPP {version.value}",
                         action=action)
    try:
        fn(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        name = exc.name or "data"
        where = name.removeprefix("data").lstrip(".") or "payload"
        return Violation(code_for_rule(exc.rule), f"{where}: {exc.message.removeprefix(name + ' ')}",
                         action=action, details={"path": where, "rule": exc.rule or ""})
    except (TypeError, ValueError, RecursionError) as exc:  # pathological input the compiled code trips on
        return Violation(ErrorCode.FORMAT_VIOLATION, f"payload could not be checked: {exc}", action=action)
    return None


def warm_up(version: Version) -> None:
    """Compile every validator of ``version`` now (e.g. before a benchmark or a load test)."""
    for action in catalogue(version).names():
        validator(version, action, "request")
        validator(version, action, "response")
