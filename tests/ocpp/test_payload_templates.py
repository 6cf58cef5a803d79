"""template_for and random_payload give schema-valid payloads for every message of every version."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import pytest

from ocppemu.ocpp.payload_templates import SchemaNotSupportedError, random_payload, template_for

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
SCHEMA_FILES = sorted(p for d in ("v16", "v201", "v21") for p in (SCHEMAS / d).glob("*.json"))
IDS = [f"{p.parent.name}/{p.stem}" for p in SCHEMA_FILES]


@cache
def _load(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8-sig"))
    return schema


@cache
def _compiled(path: Path) -> Any:
    return fastjsonschema.compile(_load(path), use_default=False)


def _assert_valid(path: Path, payload: dict[str, Any]) -> None:
    """Both validators agree the payload is valid (fastjsonschema checks formats; jsonschema is the reference)."""
    schema = _load(path)
    _compiled(path)(payload)
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER).validate(payload)


def test_every_version_has_schemas() -> None:
    counts = {d: len(list((SCHEMAS / d).glob("*.json"))) for d in ("v16", "v201", "v21")}
    assert all(n > 50 for n in counts.values()), counts


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=IDS)
def test_templates_validate(path: Path) -> None:
    schema = _load(path)
    minimal = template_for(schema)
    full = template_for(schema, optional=True)
    _assert_valid(path, minimal)
    _assert_valid(path, full)
    assert set(minimal) == set(schema.get("required", []))
    assert set(full) == set(schema.get("properties", {}))


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=IDS)
def test_random_payloads_validate(path: Path) -> None:
    schema = _load(path)
    for seed in range(8):
        _assert_valid(path, random_payload(schema, random.Random(seed)))
    _assert_valid(path, template_for(schema, optional=True, rng=random.Random(7)))


def test_random_payload_is_reproducible_and_varied() -> None:
    schema = _load(SCHEMAS / "v201" / "TransactionEventRequest.json")
    assert random_payload(schema, random.Random(42)) == random_payload(schema, random.Random(42))
    distinct = {json.dumps(random_payload(schema, random.Random(seed)), sort_keys=True) for seed in range(20)}
    assert len(distinct) == 20
    event_types = {random_payload(schema, random.Random(seed))["eventType"] for seed in range(40)}
    assert event_types == {"Started", "Updated", "Ended"}


def test_template_has_plausible_values_v16() -> None:
    now = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    boot = template_for(_load(SCHEMAS / "v16" / "BootNotification.json"), optional=True, now=now)
    assert boot["chargePointVendor"] == "ocppemu"
    assert boot["chargePointModel"] == "ocppemu-sim"
    start = template_for(_load(SCHEMAS / "v16" / "StartTransaction.json"), now=now)
    assert start == {"connectorId": 1, "idTag": "TAG0001", "meterStart": 0, "timestamp": "2025-03-04T05:06:07.890Z"}
    boot_response = template_for(_load(SCHEMAS / "v16" / "BootNotificationResponse.json"), now=now)
    assert boot_response == {"status": "Accepted", "currentTime": "2025-03-04T05:06:07.890Z", "interval": 300}


def test_template_has_plausible_values_v201() -> None:
    now = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    boot = template_for(_load(SCHEMAS / "v201" / "BootNotificationRequest.json"), now=now)
    assert boot == {"chargingStation": {"model": "ocppemu-sim", "vendorName": "ocppemu"}, "reason": "ApplicationReset"}
    status = template_for(_load(SCHEMAS / "v201" / "StatusNotificationRequest.json"), now=now)
    assert status["evseId"] == 1
    assert status["connectorId"] == 1
    assert status["timestamp"] == "2025-03-04T05:06:07.000Z"


def test_template_rng_varies_identifiers_only() -> None:
    schema = _load(SCHEMAS / "v201" / "GetLogRequest.json")
    fixed = template_for(schema)
    a = template_for(schema, rng=random.Random(1))
    b = template_for(schema, rng=random.Random(2))
    assert fixed == template_for(schema)
    assert a["requestId"] != b["requestId"]
    assert {k: v for k, v in a.items() if k != "requestId"} == {k: v for k, v in fixed.items() if k != "requestId"}


def test_template_fills_arrays_to_min_items_and_honours_multiple_of() -> None:
    schema = {
        "type": "object",
        "properties": {
            "xs": {"type": "array", "minItems": 3, "items": {"type": "integer", "minimum": 5, "maximum": 9}},
            "rate": {"type": "number", "multipleOf": 0.1, "minimum": 0.35, "maximum": 0.45},
            "code": {"type": "string", "maxLength": 3},
        },
        "required": ["xs", "rate", "code"],
        "additionalProperties": False,
    }
    payload = template_for(schema)
    assert payload["xs"] == [5, 5, 5]
    assert payload["rate"] == 0.4
    assert len(payload["code"]) == 3
    jsonschema.Draft6Validator(schema).validate(payload)
    for seed in range(50):
        jsonschema.Draft6Validator(schema).validate(random_payload(schema, random.Random(seed)))


def test_ref_any_of_and_exclusive_bounds() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-06/schema#",
        "definitions": {"Pos": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 3}},
        "type": "object",
        "properties": {
            "a": {"$ref": "#/definitions/Pos"},
            "b": {"anyOf": [{"type": "string", "enum": ["x"]}, {"type": "integer"}]},
            "c": {"allOf": [{"type": "object", "properties": {"p": {"const": 7}}, "required": ["p"]}]},
        },
        "required": ["a", "b", "c"],
    }
    assert template_for(schema) == {"a": 1, "b": "x", "c": {"p": 7}}
    for seed in range(30):
        payload = random_payload(schema, random.Random(seed))
        jsonschema.Draft6Validator(schema).validate(payload)
        assert payload["a"] in (1, 2)


def test_unsupported_schemas_are_reported() -> None:
    with pytest.raises(SchemaNotSupportedError, match="object"):
        template_for({"type": "string"})
    with pytest.raises(SchemaNotSupportedError, match="points nowhere"):
        template_for({"type": "object", "properties": {"a": {"$ref": "#/definitions/Nope"}}, "required": ["a"]})
    # 0.3 / 0.1 is not integral in floating point, so validators reject 0.3 as a multiple of 0.1.
    with pytest.raises(SchemaNotSupportedError, match="no multiple"):
        template_for({"type": "object", "required": ["r"],
                      "properties": {"r": {"type": "number", "multipleOf": 0.1, "minimum": 0.25, "maximum": 0.35}}})
    with pytest.raises(SchemaNotSupportedError, match="empty range"):
        template_for({"type": "object", "properties": {"a": {"type": "integer", "minimum": 3, "maximum": 1}},
                      "required": ["a"]})
