"""JSON payloads <-> OCPP 1.6 SOAP body elements, by the WSDL's XML Schema.

The 1.6 JSON schemas and the 1.6 WSDLs use the same field names: a JSON object is an element whose children are
its keys, a JSON array is a repeated element, numbers/booleans/strings are the element text. The schema gives the
order of children and the type of each value.

:func:`encode` is lenient on purpose (the crafter sends invalid payloads): keys the schema does not know are
written after the known ones, values of the wrong type are written as text. Whether the result is valid is
:func:`problems`' business. :func:`decode` uses ``xmlschema`` in lax mode and returns the payload together with the
schema violations found.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import xmlschema
from lxml import etree

from ocppemu.ocpp.errors import ErrorCode, Violation


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text or "E" in text else text
    if isinstance(value, int | str):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _children(xsd: xmlschema.XsdElement | None) -> dict[str, xmlschema.XsdElement]:
    if xsd is None or not isinstance(xsd.type, xmlschema.validators.XsdComplexType):
        return {}
    content = xsd.type.content
    if not isinstance(content, xmlschema.validators.XsdGroup):
        return {}
    return {str(c.local_name): c for c in content.iter_elements() if isinstance(c, xmlschema.XsdElement)}


def _fill(parent: etree._Element, value: Any, xsd: xmlschema.XsdElement | None, ns: str) -> None:
    if not isinstance(value, dict):
        parent.text = _scalar(value)
        return
    known = _children(xsd)
    order = [k for k in known if k in value] + [k for k in value if k not in known]
    for key in order:
        item = value[key]
        if item is None:
            continue
        for one in item if isinstance(item, list) else [item]:
            child = etree.SubElement(parent, f"{{{ns}}}{key}")
            _fill(child, one, known.get(key), ns)


def encode(payload: dict[str, Any], xsd: xmlschema.XsdElement | None, local_name: str, ns: str) -> etree._Element:
    """The body element ``local_name`` (namespace ``ns``) for ``payload``; never raises on odd payloads."""
    root = etree.Element(f"{{{ns}}}{local_name}", nsmap={None: ns})
    _fill(root, payload, xsd, ns)
    return root


def _code_for(error: Exception) -> ErrorCode:
    name = type(error).__name__
    reason = str(getattr(error, "reason", "") or "")
    if "Children" in name:
        if "not complete" in reason or ("expected" in reason.lower() and "Unexpected" not in reason):
            return ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
        return ErrorCode.FORMAT_VIOLATION
    if "Decode" in name or "Encode" in name:
        return ErrorCode.TYPE_CONSTRAINT_VIOLATION
    return ErrorCode.PROPERTY_CONSTRAINT_VIOLATION


def _describe(error: Exception) -> str:
    reason = str(getattr(error, "reason", None) or error).strip()
    path = getattr(error, "path", None)
    return f"{reason} (at {path})" if path else reason


def violation_from(errors: list[Exception], *, action: str | None, message_id: str | None,
                   answerable: bool) -> Violation | None:
    """One :class:`Violation` summing up schema ``errors`` (``None`` when there are none)."""
    if not errors:
        return None
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return Violation(_code_for(first), f"envelope does not match the WSDL schema: {_describe(first)}{more}",
                     message_id=message_id, action=action, answerable=answerable,
                     details={"schema_errors": [_describe(e) for e in errors[:10]]})


def problems(schema: xmlschema.XMLSchema, element: etree._Element) -> list[Exception]:
    """Every schema violation of ``element`` (a body element or the ``chargeBoxIdentity`` header)."""
    return list(schema.iter_errors(element))  # type: ignore[arg-type]  # lxml elements are supported


def decode(xsd: xmlschema.XsdElement, element: etree._Element, ns: str) -> tuple[dict[str, Any], list[Exception]]:
    """The JSON payload of body ``element`` and the schema violations found while reading it."""
    result = xsd.decode(element, validation="lax", decimal_type=float,  # type: ignore[arg-type]  # lxml is fine
                        namespaces={"": ns})
    data, errors = result if isinstance(result, tuple) else (result, [])
    payload = data if isinstance(data, dict) else {}
    payload = {k: v for k, v in payload.items() if not k.startswith("@")}
    return _plain(payload), list(errors)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not k.startswith("@")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    return value
