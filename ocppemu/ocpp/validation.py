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


def validator(version: Version, action: str, part: Part) -> Callable[[Any], Any] | None:
    """The compiled validator of an action's request or response; ``None`` when the action is unknown."""
    key = (version, action, part)
    fn = _cache.get(key)
    if fn is None:
        spec = catalogue(version).get(action)
        if spec is None:
            return None
        schema = spec.request_schema if part == "request" else spec.response_schema
        fn = fastjsonschema.compile(schema)
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
