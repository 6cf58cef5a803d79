"""``${name}`` references in scenario values: finding them (to check a file before it runs) and filling them in.

A string that is exactly one reference (``"${tx_id}"``) becomes the variable's value with its own type (a number
stays a number); a reference inside a longer string is replaced by the value's text. ``${env.NAME}`` reads the
environment the runner was given; ``$${`` writes a literal ``${``. Sans-I/O: the variables come in as a mapping.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

REFERENCE = re.compile(r"\$(\$?)\{([^}]*)\}")
NAME = re.compile(r"^(?:env\.[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*)$")

#: Variables every station scope has; documented in docs/SCENARIOS.md.
BUILTINS = frozenset({"station_id", "index", "iteration", "run_id", "seed", "csms_url", "ocpp"})


class UnknownVariable(KeyError):
    """A reference to a variable the scope does not hold."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown variable ${{{self.name}}}"


def references(text: str) -> Iterator[str]:
    """The names referenced in ``text`` (``$${`` escapes excluded); raises ``ValueError`` for a malformed one."""
    for m in REFERENCE.finditer(text):
        if m.group(1):
            continue
        name = m.group(2).strip()
        if not NAME.match(name):
            raise ValueError(f"${{{m.group(2)}}} is not a variable reference (names are letters, digits and _, "
                             "or env.NAME)")
        yield name


def _lookup(name: str, scope: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    if name.startswith("env."):
        key = name[4:]
        if key not in env:
            raise UnknownVariable(name)
        return env[key]
    if name not in scope:
        raise UnknownVariable(name)
    return scope[name]


def render_text(text: str, scope: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    """``text`` with its references filled in (see the module doc for typing); raises :class:`UnknownVariable`."""
    whole = REFERENCE.fullmatch(text)
    if whole is not None and not whole.group(1):
        return _lookup(whole.group(2).strip(), scope, env)

    def sub(m: re.Match[str]) -> str:
        if m.group(1):
            return "${" + m.group(2) + "}"
        value = _lookup(m.group(2).strip(), scope, env)
        return value if isinstance(value, str) else _text(value)

    return REFERENCE.sub(sub, text)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, separators=(",", ":"))
    return str(value)


def render(value: Any, scope: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    """A deep copy of ``value`` (dicts, lists, strings) with every string rendered; keys are rendered too."""
    if isinstance(value, str):
        return render_text(value, scope, env)
    if isinstance(value, dict):
        return {(_text(render_text(k, scope, env)) if isinstance(k, str) else k): render(v, scope, env)
                for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, scope, env) for v in value]
    return value
