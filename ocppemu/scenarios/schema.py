"""The JSON Schema of scenario files, generated from :mod:`ocppemu.scenarios.format`.

The committed copy is ``scenario.schema.json`` beside this module (editors and CI linters can use it: it is the
``$id``). ``python -m ocppemu.scenarios.schema`` rewrites it; ``--check`` exits 1 when it is out of date, and a
test does the same, so the models and the published schema cannot drift apart. The generated schema is the
models' own, with the shorthands the models accept added (a bare step name, a scalar for a step's main option,
an empty step).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ocppemu.scenarios.format import FORMAT_VERSION, STEP_KINDS, STEP_WRAPPERS, ScenarioFile
from ocppemu.scenarios.format_parts import VARIABLE_PATTERN

SCHEMA_PATH = Path(__file__).with_name("scenario.schema.json")
SCHEMA_ID = "https://ocppemu.dev/schemas/scenario-v1.schema.json"


def scenario_schema() -> dict[str, Any]:
    """The schema as a JSON-ready dict (stable key order)."""
    schema = ScenarioFile.model_json_schema(by_alias=True)
    defs: dict[str, Any] = schema["$defs"]
    bare: list[str] = []
    for kind, args in STEP_KINDS.items():
        name = args.__name__
        obj = defs[name]
        alternatives: list[dict[str, Any]] = [obj]
        required = bool(obj.get("required"))
        if not required:
            alternatives.append({"type": "null"})
        if args.shorthand is not None:
            alternatives.append(obj["properties"][args.shorthand])
        if len(alternatives) > 1:
            defs[name] = {"title": obj.get("title", name), "description": obj.get("description", ""),
                          "anyOf": alternatives}
        if not required:
            bare.append(kind)
    # A step is a one-key object naming its kind (or a bare kind): said this way, a validator reports an unknown
    # kind or a bad option at its place instead of "not valid under any of the given schemas".
    wrappers = {w.__name__ for w in STEP_WRAPPERS.values()}
    for w in wrappers:
        defs.pop(w, None)
    defs["Step"] = {
        "title": "Step", "description": "A one-key object {kind: options}, or a bare kind for a step without "
        "required options",
        "anyOf": [{"type": "object", "minProperties": 1, "maxProperties": 1,
                   "propertyNames": {"enum": list(STEP_KINDS)},
                   "properties": {k: {"$ref": f"#/$defs/{a.__name__}"} for k, a in STEP_KINDS.items()}},
                  {"enum": bare}]}
    # set: {name: value} without the 'vars' level
    set_def = defs["SetArgs"]
    defs["SetArgs"] = {"title": "SetArgs", "description": set_def.get("description", ""),
                       "anyOf": [set_def, {"type": "object", "propertyNames": {"pattern": VARIABLE_PATTERN}}]}
    answer = defs["Answer"]
    defs["Answer"] = {"title": "Answer", "description": answer.get("description", ""),
                      "anyOf": [answer, answer["properties"]["respond"]]}
    _replace_unions(schema, wrappers)
    out = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
           "title": f"ocppemu scenario (format version {FORMAT_VERSION})"}
    out.update({k: v for k, v in schema.items() if k != "title"})
    return out


def _replace_unions(node: Any, wrappers: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in list(node.items()):
            alts = value.get("oneOf") if isinstance(value, dict) else None
            if isinstance(alts, list) and alts and all(
                    isinstance(a, dict) and a.get("$ref", "").rsplit("/", 1)[-1] in wrappers for a in alts):
                node[key] = {"$ref": "#/$defs/Step"}
            else:
                _replace_unions(value, wrappers)
    elif isinstance(node, list):
        for item in node:
            _replace_unions(item, wrappers)


def render() -> str:
    return json.dumps(scenario_schema(), indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != text:
            print(f"{SCHEMA_PATH} is out of date: run python -m ocppemu.scenarios.schema", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
