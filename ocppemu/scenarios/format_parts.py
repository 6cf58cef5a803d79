"""Building blocks of the scenario format (version 1): versions, station selectors, assertions, captures, answers
to CSMS calls and requests to the CSMS's own API. :mod:`ocppemu.scenarios.format` puts them together into steps
and files."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from ocppemu.scenarios.paths import JSON_TYPES, PathError, parse_path

VERSIONS = ("1.6", "2.0.1", "2.1")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
VARIABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def version_text(v: object) -> object:
    # YAML reads an unquoted 1.6 or 2.1 as a number; a tester should not have to know that.
    if isinstance(v, float) and not isinstance(v, bool):
        v = {1.6: "1.6", 2.1: "2.1"}.get(v, str(v))
    if isinstance(v, str):
        t = v.strip().lower().removeprefix("ocpp").removeprefix("v")
        v = {"16": "1.6", "201": "2.0.1", "21": "2.1"}.get(t, t)
    return v


#: An OCPP version: "1.6", "2.0.1" or "2.1" (an unquoted YAML 1.6 / 2.1 is accepted too).
OcppVersion = Annotated[
    Literal["1.6", "2.0.1", "2.1"], BeforeValidator(version_text),
    WithJsonSchema({"anyOf": [{"enum": list(VERSIONS)}, {"enum": [1.6, 2.1]}],
                    "description": "OCPP version: \"1.6\", \"2.0.1\" or \"2.1\""}),
]


def as_list(v: object) -> object:
    return [v] if isinstance(v, str | int | float) and not isinstance(v, bool) else v


#: One station id, a glob (``CP-*``), ``all``, or a list of those.
Selector = Annotated[
    list[str], BeforeValidator(as_list),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                    "description": "Station id, glob (CP-*), 'all', or a list of them"}),
]


def many(item: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [item, {"type": "array", "items": item}]})


#: One or more strings (a single string is a list of one).
Names = Annotated[list[str], BeforeValidator(as_list), many({"type": "string"})]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# -- assertions, captures, answers -----------------------------------------------------------------------------

OPERATORS = ("equals", "not_equals", "in", "not_in", "gt", "ge", "lt", "le", "matches", "contains", "type",
             "length", "exists")


class Assertion(Strict):
    """A check on the value a ``path`` selects in the step's subject (a response or a CSMS call's payload), or on a
    ``value`` (typically a ``${variable}``). Every comparison given must hold; with a ``[*]`` path, for every
    selected value. A selected value must exist unless ``exists: false``."""

    path: str | None = Field(default=None, description="JSONPath-like path into the subject, e.g. $.idTagInfo.status")
    value: Any = Field(default=None, description="A literal or ${variable} to check instead of a path")
    equals: Any = None
    not_equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    gt: float | str | None = None
    ge: float | str | None = None
    lt: float | str | None = None
    le: float | str | None = None
    matches: str | None = Field(default=None, description="A regular expression searched in the value")
    contains: Any = None
    type: Literal["string", "number", "integer", "boolean", "object", "array", "null"] | None = None
    length: int | None = Field(default=None, ge=0)
    exists: bool | None = None
    message: str | None = Field(default=None, description="Shown instead of the generic failure text")

    @field_validator("path")
    @classmethod
    def _check_path(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                parse_path(v)
            except PathError as exc:
                raise ValueError(str(exc)) from None
        return v

    @field_validator("matches")
    @classmethod
    def _check_regex(cls, v: str | None) -> str | None:
        if v is not None and "${" not in v:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return v

    @model_validator(mode="after")
    def _one_subject_some_check(self) -> Assertion:
        given = self.model_fields_set
        if ("path" in given) == ("value" in given):
            raise ValueError("an assertion has either 'path' (into the step's subject) or 'value'")
        ops = [op for op in OPERATORS if (op if op != "in" else "in_") in given]
        if not ops:
            raise ValueError(f"an assertion needs at least one comparison: {', '.join(OPERATORS)}")
        return self

    def comparisons(self) -> list[tuple[str, Any]]:
        """The ``(operator, expected)`` pairs given, in a fixed order (``exists`` excluded)."""
        out: list[tuple[str, Any]] = []
        for op in OPERATORS:
            attr = "in_" if op == "in" else op
            if op != "exists" and attr in self.model_fields_set:
                out.append((op, getattr(self, attr)))
        return out


Capture = Annotated[dict[Annotated[str, Field(pattern=VARIABLE_PATTERN)], str],
                    Field(description="variable name -> path into the step's subject")]


def check_captures(v: dict[str, str]) -> dict[str, str]:
    for name, path in v.items():
        try:
            parse_path(path)
        except PathError as exc:
            raise ValueError(f"capture {name}: {exc}") from None
    return v


class Answer(Strict):
    """How the station answers an expected CSMS call. ``respond``: ``default`` (the station's own behaviour),
    ``accept`` / ``reject`` (its answer with the status set to Accepted / Rejected), ``none`` (no answer at all);
    or an explicit ``payload``; or a ``call_error`` code. ``delay`` seconds pass before the answer."""

    respond: Literal["default", "accept", "reject", "none"] = "default"
    payload: dict[str, Any] | None = None
    call_error: str | None = Field(default=None, description="A CallError code, e.g. NotImplemented")
    description: str = ""
    delay: float = Field(default=0.0, ge=0, le=3600)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: object) -> object:
        return {"respond": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _one_way(self) -> Answer:
        ways = ["respond"] if "respond" in self.model_fields_set else []
        ways += [w for w in ("payload", "call_error") if getattr(self, w) is not None]
        if len(ways) > 1:
            raise ValueError(f"an answer is one of respond, payload or call_error; got {', '.join(ways)}")
        return self


class HttpRequest(Strict):
    """A call to the CSMS's own API (to make it act). ``url`` may be relative to the scenario's
    ``csms_api.base_url``; ``body`` is sent as JSON unless it is a string. Strings may hold ``${variables}``."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    expect_status: Annotated[list[int], BeforeValidator(as_list), many({"type": "integer"})] = Field(
        default_factory=lambda: list(range(200, 300)), description="Acceptable HTTP status codes (default any 2xx)")


class Trigger(Strict):
    """What makes the CSMS send the expected call: an ``http`` request to its API or a ``prompt`` to the operator."""

    http: HttpRequest | None = None
    prompt: str | None = Field(default=None, description="Shown to the operator, who confirms when done")

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        if (self.http is None) == (self.prompt is None):
            raise ValueError("a trigger is either 'http' or 'prompt'")
        return self


#: JSON type names a ``type`` assertion takes.
TYPE_NAMES = tuple(JSON_TYPES)
