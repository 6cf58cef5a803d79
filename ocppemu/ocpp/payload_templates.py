"""Schema-valid payloads built from an OCPP JSON schema: plausible templates and seeded random variety.

``template_for`` gives the starting point of the message crafter: every required key filled with a value a
person would recognise (``idTag`` ``"TAG0001"``, ``connectorId`` ``1``, timestamps "now" in UTC), optionally every
optional key too. ``random_payload`` gives reproducible variety for table-driven tests. Both guarantee a result
that validates against the schema they were given, for the JSON-schema subset the OCA schemas use: ``type``,
``properties``/``required``, ``items``/``minItems``/``maxItems``, ``minLength``/``maxLength``,
``minimum``/``maximum`` (draft-04 boolean or draft-06 numeric exclusives), ``multipleOf``, ``enum``, ``const``,
``format`` (``date-time``, ``uri``), ``$ref`` to ``#/definitions/...``, ``anyOf``/``oneOf`` (first branch in a
template, any branch at random) and ``allOf`` of objects. ``pattern`` is not honoured.

Pure functions: no I/O; the only clock read is "now" for date-time values when no ``now`` is passed.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["SchemaNotSupportedError", "random_payload", "template_for"]

_MAX_DEPTH = 32
_RANDOM_SPAN_START = datetime(2020, 1, 1, tzinfo=UTC)
_RANDOM_SPAN_SECONDS = 10 * 365 * 24 * 3600
_ALPHABET = string.ascii_letters + string.digits + "-_ .:"

# Plausible values by wire key; anything not listed falls back to a generic value that fits the schema.
_STRINGS: dict[str, str] = {
    "idTag": "TAG0001",
    "parentIdTag": "TAG0000",
    "idToken": "TAG0001",
    "groupIdToken": "GROUP0001",
    "chargePointVendor": "ocppemu",
    "vendorName": "ocppemu",
    "vendorId": "ocppemu",
    "chargePointModel": "ocppemu-sim",
    "model": "ocppemu-sim",
    "chargePointSerialNumber": "OCPPEMU-0001",
    "chargeBoxSerialNumber": "OCPPEMU-0001",
    "serialNumber": "OCPPEMU-0001",
    "firmwareVersion": "1.0.0",
    "iccid": "8931000000000000001",
    "imsi": "001010000000001",
    "meterType": "ocppemu-meter",
    "meterSerialNumber": "MTR-0001",
    "transactionId": "TX0001",
    "key": "HeartbeatInterval",
    "value": "300",
    "messageId": "ocppemu",
    "data": "ocppemu",
    "info": "ocppemu",
    "name": "ocppemu",
    "content": "Welcome to ocppemu",
    "language": "en",
    "currency": "EUR",
}
_INTEGERS: dict[str, int] = {
    "connectorId": 1,
    "evseId": 1,
    "id": 1,
    "interval": 300,
    "heartbeatInterval": 300,
    "transactionId": 1,
    "reservationId": 1,
    "chargingProfileId": 1,
    "chargingScheduleId": 1,
    "requestId": 1,
    "listVersion": 1,
    "versionNumber": 1,
    "meterStart": 0,
    "meterStop": 1000,
    "retries": 3,
    "retryInterval": 60,
    "duration": 3600,
    "numberPhases": 3,
    "stackLevel": 0,
    "seqNo": 0,
    "startPeriod": 0,
}
_NUMBERS: dict[str, float] = {
    "limit": 16.0,
    "minChargingRate": 6.0,
    "value": 1000.0,
    "soc": 50.0,
}
# Identifiers that an ``rng`` passed to ``template_for`` varies (everything else stays fixed).
_VARIED_IDS = {"transactionId", "reservationId", "chargingProfileId", "requestId", "id", "messageId"}


class SchemaNotSupportedError(ValueError):
    """The schema uses a construct these builders cannot satisfy (the message names the place)."""


def template_for(
    schema: Mapping[str, Any],
    *,
    optional: bool = False,
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A payload that validates against ``schema`` with plausible values.

    Required keys are always filled; with ``optional=True`` every optional key is filled as well. Enums take
    their first value, date-times ``now`` (default: the current time) in UTC with a ``Z`` suffix, strings a
    recognisable value cut to ``maxLength``, numbers a typical value moved inside their bounds, arrays
    ``minItems`` items (at least one). Without ``rng`` the result is the same on every call (apart from the
    clock); with ``rng`` identifiers such as ``transactionId`` and ``requestId`` are drawn from it.

    Raises ``SchemaNotSupportedError`` when the top level is not an object or the schema uses something outside
    the supported subset (see the module docstring).
    """
    builder = _Builder(schema, randomise=False, optional=optional, rng=rng, now=now)
    return builder.top()


def random_payload(schema: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    """A random payload that validates against ``schema``; the same ``rng`` state gives the same payload.

    Each optional key is present with probability 1/2, enums take any value, strings any length within their
    bounds (short ones preferred), integers and numbers any value within their bounds (where the schema sets no
    bound: non-negative, mostly small, at most a million above the lower bound), date-times any instant
    2020-2029 in UTC. Raises ``SchemaNotSupportedError`` as :func:`template_for` does.
    """
    builder = _Builder(schema, randomise=True, optional=False, rng=rng, now=None)
    return builder.top()


class _Builder:
    def __init__(
        self,
        root: Mapping[str, Any],
        *,
        randomise: bool,
        optional: bool,
        rng: random.Random | None,
        now: datetime | None,
    ) -> None:
        self.root = root
        self.optional = optional
        self.rng = rng
        # The generator behind every random choice; None for a template, whose choices are fixed.
        self.chance = rng if randomise else None
        self.now = now

    def top(self) -> dict[str, Any]:
        value = self.value(self.root, "", 0)
        if not isinstance(value, dict):
            raise SchemaNotSupportedError("the schema does not describe a JSON object")
        return value

    # -- dispatch --------------------------------------------------------------------------------------------
    def value(self, node: Mapping[str, Any], name: str, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise SchemaNotSupportedError(f"schema nests deeper than {_MAX_DEPTH} levels at {name!r}")
        node = self.resolve(node)
        if "const" in node:
            return node["const"]
        if "enum" in node:
            values = list(node["enum"])
            if not values:
                raise SchemaNotSupportedError(f"empty enum at {name!r}")
            return self.chance.choice(values) if self.chance is not None else values[0]
        for key in ("anyOf", "oneOf"):
            if key in node:
                branches = list(node[key])
                branch = self.chance.choice(branches) if self.chance is not None else branches[0]
                return self.value(branch, name, depth + 1)
        if "allOf" in node:
            return self.value(self.merge_all_of(node), name, depth + 1)
        kind = node.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"] or ["null"]
            kind = self.chance.choice(kinds) if self.chance is not None else kinds[0]
        if kind == "object" or (kind is None and "properties" in node):
            return self.object(node, name, depth)
        if kind == "array":
            return self.array(node, name, depth)
        if kind == "string":
            return self.string(node, name)
        if kind == "integer":
            return self.integer(node, name)
        if kind == "number":
            return self.number(node, name)
        if kind == "boolean":
            return self.chance.random() < 0.5 if self.chance is not None else False
        if kind == "null":
            return None
        if kind is None:  # unconstrained ("data" of DataTransfer): any JSON value is valid
            return self.chance.choice(["ocppemu", 42, {"k": "v"}]) if self.chance is not None else "ocppemu"
        raise SchemaNotSupportedError(f"unsupported type {kind!r} at {name!r}")

    def resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise SchemaNotSupportedError(f"only local $ref are supported, got {ref!r}")
            target: Any = self.root
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, Mapping) or part not in target:
                    raise SchemaNotSupportedError(f"$ref {ref!r} points nowhere")
                target = target[part]
            node = target
            seen += 1
            if seen > _MAX_DEPTH:
                raise SchemaNotSupportedError(f"$ref cycle at {ref!r}")
        return node

    def merge_all_of(self, node: Mapping[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
        properties: dict[str, Any] = dict(merged.get("properties", {}))
        required: list[str] = list(merged.get("required", []))
        for part in node["allOf"]:
            part = self.resolve(part)
            if part.get("type", "object") != "object":
                raise SchemaNotSupportedError("allOf is supported for objects only")
            properties.update(part.get("properties", {}))
            required += [r for r in part.get("required", []) if r not in required]
        merged.update(type="object", properties=properties, required=required)
        return merged

    # -- containers ------------------------------------------------------------------------------------------
    def object(self, node: Mapping[str, Any], name: str, depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = node.get("properties", {})
        required = set(node.get("required", []))
        out: dict[str, Any] = {}
        for key, sub in properties.items():
            if key in required:
                include = True
            elif self.chance is not None:
                include = self.chance.random() < 0.5
            else:
                include = self.optional
            if include:
                out[key] = self.value(sub, key, depth + 1)
        missing = required - set(properties)
        if missing:
            raise SchemaNotSupportedError(f"{name or 'payload'} requires undescribed keys {sorted(missing)}")
        return out

    def array(self, node: Mapping[str, Any], name: str, depth: int) -> list[Any]:
        low = int(node.get("minItems", 0))
        high = node.get("maxItems")
        if self.chance is not None:
            top = low + 3 if high is None else min(int(high), low + 3)
            count = self.chance.randint(low, top)
        else:
            count = max(low, 1) if high is None else min(max(low, 1), int(high))
        items = node.get("items", {})
        if not isinstance(items, Mapping):
            raise SchemaNotSupportedError(f"tuple-style items at {name!r} are not supported")
        return [self.value(items, name, depth + 1) for _ in range(count)]

    # -- scalars ---------------------------------------------------------------------------------------------
    def string(self, node: Mapping[str, Any], name: str) -> str:
        low = int(node.get("minLength", 0))
        high = node.get("maxLength")
        fmt = node.get("format")
        if fmt == "date-time":
            return self.timestamp()
        if fmt == "uri":
            text = "https://example.com/ocppemu"
            if self.chance is not None:
                text += "/" + "".join(self.chance.choices(string.ascii_lowercase, k=self.chance.randint(1, 8)))
            return text if high is None or len(text) <= high else "urn:x"[: max(int(high), 0)]
        if self.chance is not None:
            top = low + 20 if high is None else int(high)
            length = top if self.chance.random() < 0.1 else self.chance.randint(low, max(low, min(top, low + 20)))
            return "".join(self.chance.choices(_ALPHABET, k=length))
        text = _STRINGS.get(name, name or "ocppemu")
        if self.rng is not None and name in _VARIED_IDS:
            text = f"{text}-{self.rng.randrange(10**6):06d}"
        if len(text) < low:
            text = text + "0" * (low - len(text))
        return text if high is None else text[: int(high)]

    def timestamp(self) -> str:
        if self.chance is not None:
            moment = _RANDOM_SPAN_START + timedelta(
                seconds=self.chance.randrange(_RANDOM_SPAN_SECONDS), milliseconds=self.chance.randrange(1000)
            )
        else:
            moment = (self.now or datetime.now(UTC)).astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def bounds(self, node: Mapping[str, Any], integral: bool) -> tuple[float | None, float | None]:
        """Inclusive bounds; exclusive ones are moved inwards by one for integers, a tiny step for numbers."""
        step = 1.0 if integral else 1e-6
        low: float | None = node.get("minimum")
        high: float | None = node.get("maximum")
        if node.get("exclusiveMinimum") is True and low is not None:
            low += step
        elif _is_number(node.get("exclusiveMinimum")):
            low = max(low if low is not None else -math.inf, node["exclusiveMinimum"] + step)
        if node.get("exclusiveMaximum") is True and high is not None:
            high -= step
        elif _is_number(node.get("exclusiveMaximum")):
            high = min(high if high is not None else math.inf, node["exclusiveMaximum"] - step)
        if integral:
            low = None if low is None else math.ceil(low)
            high = None if high is None else math.floor(high)
        if low is not None and high is not None and low > high:
            raise SchemaNotSupportedError(f"empty range [{low}, {high}]")
        return low, high

    def integer(self, node: Mapping[str, Any], name: str) -> int:
        low, high = self.bounds(node, integral=True)
        multiple = node.get("multipleOf")
        if self.chance is not None:
            lo = int(low) if low is not None else 0
            # Mostly small values (ids, counts), now and then a large one.
            span = 100 if self.chance.random() < 0.8 else 10**6
            hi = int(high) if high is not None else max(lo, 0) + span
            value = self.chance.randint(lo, min(hi, lo + span))
        elif self.rng is not None and name in _VARIED_IDS:
            value = self.rng.randint(1, 10**6)
        else:
            value = _INTEGERS.get(name, 1)
        value = int(_clamp(value, low, high))
        if isinstance(multiple, int) and multiple > 0 and value % multiple:
            value = int(_nearest_multiple(value, multiple, low, high, name))
        return value

    def number(self, node: Mapping[str, Any], name: str) -> float:
        low, high = self.bounds(node, integral=False)
        if self.chance is not None:
            lo = low if low is not None else 0.0
            hi = high if high is not None else max(lo, 0.0) + 1e6
            value = round(self.chance.uniform(lo, hi), 3)
        else:
            value = _NUMBERS.get(name, 1.0)
        value = float(_clamp(value, low, high))
        multiple = node.get("multipleOf")
        if isinstance(multiple, (int, float)) and multiple > 0 and not _is_multiple(value, multiple):
            value = float(_nearest_multiple(value, multiple, low, high, name))
        return value


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _clamp(value: float, low: float | None, high: float | None) -> float:
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    return value


def _is_multiple(value: float, multiple: float) -> bool:
    """The test JSON-schema validators apply: the quotient must be integral in floating point."""
    quotient = value / multiple
    return math.isfinite(quotient) and quotient == int(quotient)


def _nearest_multiple(value: float, multiple: float, low: float | None, high: float | None, name: str) -> float:
    """The multiple of ``multiple`` nearest to ``value`` within the bounds whose quotient is exactly integral."""
    lo_k = math.ceil(low / multiple) if low is not None else None
    hi_k = math.floor(high / multiple) if high is not None else None
    centre = round(value / multiple)
    for offset in range(1000):
        for k in (centre - offset, centre + offset):
            if (lo_k is not None and k < lo_k) or (hi_k is not None and k > hi_k):
                continue
            candidate = k * multiple
            if isinstance(multiple, float):
                candidate = float(f"{candidate:.12g}")
            if _is_multiple(candidate, multiple) and _clamp(candidate, low, high) == candidate:
                return candidate
    raise SchemaNotSupportedError(f"no multiple of {multiple} within bounds for {name!r}")
