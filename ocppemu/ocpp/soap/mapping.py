"""JSON payloads <-> OCPP 1.6 SOAP body elements, by the WSDL's XML Schema.

The 1.6 JSON schemas and the 1.6 WSDLs use the same field names: a JSON object is an element whose children are
its keys, a JSON array is a repeated element, numbers/booleans/strings are the element text. The schema gives the
order of children and the type of each value.

:func:`encode` is lenient on purpose (the crafter sends invalid payloads): keys the schema does not know are
written after the known ones, values of the wrong type are written as text. Whether the result is valid is
:func:`problems`' business (libxml2 through lxml: fast, and the same verdict as any XSD validator).
:func:`decode` reads the element tree with the value types of the ``xmlschema`` model; a value that does not parse
stays text (the validation reports it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
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


_CHILDREN: dict[int, dict[str, xmlschema.XsdElement]] = {}
_SCALARS: dict[int, Callable[[str], Any]] = {}


def _children(xsd: xmlschema.XsdElement | None) -> dict[str, xmlschema.XsdElement]:
    """The child elements of ``xsd`` in schema order (cached: the compiled schemas live for the process)."""
    if xsd is None:
        return {}
    known = _CHILDREN.get(id(xsd))
    if known is None:
        known = {}
        if isinstance(xsd.type, xmlschema.validators.XsdComplexType):
            content = xsd.type.content
            if isinstance(content, xmlschema.validators.XsdGroup):
                known = {str(c.local_name): c for c in content.iter_elements() if isinstance(c, xmlschema.XsdElement)}
        _CHILDREN[id(xsd)] = known
    return known


def _to_bool(text: str) -> Any:
    return {"true": True, "1": True, "false": False, "0": False}.get(text, text)


def _to_number(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return kind(text)
        except ValueError:
            return text  # reported by validation; the raw text is kept for the record
    return convert


def _scalar_reader(xsd: xmlschema.XsdElement | None) -> Callable[[str], Any]:
    if xsd is None:
        return str
    reader = _SCALARS.get(id(xsd))
    if reader is None:
        kind: Any = None
        t: Any = xsd.type
        while t is not None and kind is None:  # the first built-in type up the restriction chain decides
            if isinstance(t, xmlschema.validators.XsdAtomicBuiltin):
                kind = t.python_type
            t = getattr(t, "base_type", None)
        if kind is bool:
            reader = _to_bool
        elif kind is int:
            reader = _to_number(int)
        elif kind is Decimal or kind is float:
            reader = _to_number(float)
        else:
            reader = str
        _SCALARS[id(xsd)] = reader
    return reader


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


@dataclass(slots=True, frozen=True)
class SchemaError:
    """One libxml2 schema validation error: its message, the XPath of the element, libxml2's error type."""

    message: str
    path: str
    kind: str


def _code_for(error: SchemaError) -> ErrorCode:
    text = error.message
    if "Missing child element" in text:
        return ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
    if "not expected" in text or "ELEMENT_CONTENT" in error.kind:
        return ErrorCode.FORMAT_VIOLATION
    if "[facet" in text:
        return ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    if "atomic type" in text or "DATATYPE" in error.kind:
        return ErrorCode.TYPE_CONSTRAINT_VIOLATION
    return ErrorCode.PROPERTY_CONSTRAINT_VIOLATION


def _describe(error: SchemaError) -> str:
    text = error.message.strip()
    return f"{text} (at {error.path})" if error.path else text


def violation_from(errors: list[SchemaError], *, action: str | None, message_id: str | None,
                   answerable: bool) -> Violation | None:
    """One :class:`Violation` summing up schema ``errors`` (``None`` when there are none)."""
    if not errors:
        return None
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return Violation(_code_for(first), f"envelope does not match the WSDL schema: {_describe(first)}{more}",
                     message_id=message_id, action=action, answerable=answerable,
                     details={"schema_errors": [_describe(e) for e in errors[:10]]})


def problems(schema: etree.XMLSchema, element: etree._Element) -> list[SchemaError]:
    """Every schema violation of ``element`` (a body element or a header) found by libxml2."""
    if schema.validate(element):
        return []
    return [SchemaError(e.message, e.path or "", e.type_name) for e in schema.error_log]


def decode(xsd: xmlschema.XsdElement, element: etree._Element) -> dict[str, Any]:
    """The JSON payload of body ``element``: children by name, repeated ones as lists, values typed by the schema."""
    value = _read(element, xsd)
    return value if isinstance(value, dict) else {}


def _read(element: etree._Element, xsd: xmlschema.XsdElement | None) -> Any:
    kids = [c for c in element if isinstance(c.tag, str)]
    known = _children(xsd)
    if not kids and not known:
        return _scalar_reader(xsd)((element.text or "").strip())
    out: dict[str, Any] = {}
    for child in kids:
        name = etree.QName(child).localname
        child_xsd = known.get(name)
        value = _read(child, child_xsd)
        repeated = child_xsd is not None and (child_xsd.max_occurs is None or child_xsd.max_occurs > 1)
        if repeated:
            out.setdefault(name, []).append(value)
        elif name in out:  # not allowed by the schema (validation says so); keep every value
            previous = out[name]
            out[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[name] = value
    return out
