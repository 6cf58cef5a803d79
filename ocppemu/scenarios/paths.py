"""JSONPath-like paths into OCPP payloads, and the comparisons a scenario's assertions make on what they select.

A path starts at ``$`` (the payload) and goes down with ``.key``, ``['key']`` (any characters), ``[n]`` (a list
index, negative from the end) and ``[*]`` (every element of a list or every value of an object). Examples:
``$.idTagInfo.status``, ``$.transactionInfo.transactionId``, ``$.meterValue[0].sampledValue[*].measurand``.
Sans-I/O: parsing and evaluation take data and return data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_INDEX = re.compile(r"\[(-?\d+)\]")
_QUOTED = re.compile(r"\[(['\"])(.*?)\1\]")

WILDCARD = "*"


class PathError(ValueError):
    """A path that does not parse; the message says where."""


@dataclass(frozen=True, slots=True)
class Path:
    """A parsed path: its text and its segments (``str`` key, ``int`` index or :data:`WILDCARD`)."""

    text: str
    segments: tuple[str | int, ...]

    @property
    def has_wildcard(self) -> bool:
        return WILDCARD in self.segments

    def select(self, doc: Any) -> list[Any]:
        """Every value the path selects in ``doc`` (empty when a key or index is missing)."""
        current = [doc]
        for seg in self.segments:
            nxt: list[Any] = []
            for value in current:
                if seg == WILDCARD:
                    if isinstance(value, list):
                        nxt.extend(value)
                    elif isinstance(value, dict):
                        nxt.extend(value.values())
                elif isinstance(seg, int):
                    if isinstance(value, list) and -len(value) <= seg < len(value):
                        nxt.append(value[seg])
                elif isinstance(value, dict) and seg in value:
                    nxt.append(value[seg])
            current = nxt
        return current


def parse_path(text: str) -> Path:
    """Parse ``text``; raises :class:`PathError` naming the position that is wrong."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathError(f"a path starts with '$' (the payload), e.g. '$.status'; got {text!r}")
    segments: list[str | int] = []
    i = 1
    while i < len(text):
        if text[i] == ".":
            if text.startswith(".*", i):
                segments.append(WILDCARD)
                i += 2
                continue
            m = _NAME.match(text, i + 1)
            if m is None:
                raise PathError(f"path {text!r}: a name is expected after '.' at position {i + 1}")
            segments.append(m.group(0))
            i = m.end()
        elif text.startswith("[*]", i):
            segments.append(WILDCARD)
            i += 3
        elif (m := _INDEX.match(text, i)) is not None:
            segments.append(int(m.group(1)))
            i = m.end()
        elif (m := _QUOTED.match(text, i)) is not None:
            segments.append(m.group(2))
            i = m.end()
        else:
            raise PathError(f"path {text!r}: unexpected {text[i]!r} at position {i} "
                            "(use .name, ['name'], [index] or [*])")
    return Path(text, tuple(segments))


# -- comparisons ---------------------------------------------------------------------------------------------------

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,),
    "object": (dict,), "array": (list,), "null": (type(None),),
}


def json_type_is(value: Any, name: str) -> bool:
    """Whether ``value`` is of JSON type ``name`` (booleans are not numbers)."""
    if isinstance(value, bool) and name in ("number", "integer"):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, JSON_TYPES[name])


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    return None


def same(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1`` (Python's ``True == 1`` is not what a tester means)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def compare(op: str, actual: Any, expected: Any) -> str | None:
    """``None`` when ``actual`` satisfies ``op`` against ``expected``, else a sentence saying why not.

    ``op`` is one of ``equals``, ``not_equals``, ``in``, ``not_in``, ``gt``, ``ge``, ``lt``, ``le``, ``matches``
    (a regular expression searched in the value's text), ``contains`` (a list element or a substring), ``type``
    (a JSON type name) and ``length`` (of a string, list or object).
    """
    shown = repr(actual)
    if op == "equals":
        return None if same(actual, expected) else f"is {shown}, expected {expected!r}"
    if op == "not_equals":
        return f"is {shown}, expected anything else" if same(actual, expected) else None
    if op == "in":
        return None if any(same(actual, e) for e in expected) else f"is {shown}, expected one of {expected!r}"
    if op == "not_in":
        return f"is {shown}, which is one of {expected!r}" if any(same(actual, e) for e in expected) else None
    if op in ("gt", "ge", "lt", "le"):
        a, e = _num(actual), _num(expected)
        if a is None or e is None:
            return f"is {shown}, not a number to compare with {expected!r}"
        ok = {"gt": a > e, "ge": a >= e, "lt": a < e, "le": a <= e}[op]
        sign = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op]
        return None if ok else f"is {shown}, expected {sign} {expected!r}"
    if op == "matches":
        text = actual if isinstance(actual, str) else repr(actual)
        return None if re.search(expected, text) else f"is {shown}, which does not match /{expected}/"
    if op == "contains":
        if isinstance(actual, list | str | dict):
            return None if expected in actual else f"is {shown}, which does not contain {expected!r}"
        return f"is {shown}, which is not a string, list or object"
    if op == "type":
        return None if json_type_is(actual, expected) else f"is {shown}, expected a JSON {expected}"
    if op == "length":
        if not isinstance(actual, list | str | dict):
            return f"is {shown}, which has no length"
        return None if len(actual) == expected else f"has length {len(actual)}, expected {expected}"
    raise ValueError(f"unknown comparison {op!r}")
