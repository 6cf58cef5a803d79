"""Generate the pydantic v2 payload models in ``ocppemu/ocpp/models/`` from the vendored OCA schemas.

Usage (from the repository root)::

    python tools/generate_models.py           # rewrite ocppemu/ocpp/models/{v16,v201,v21}.py
    python tools/generate_models.py --check   # exit 1 if the files on disk differ from a fresh generation

The generator understands exactly the JSON-schema subset the OCA schemas use (``type``, ``properties``,
``required``, ``additionalProperties``, ``items``, ``minItems``/``maxItems``, ``maxLength``/``minLength``,
``minimum``/``maximum``, ``multipleOf``, ``enum``, ``format``, ``$ref`` to ``#/definitions/...``, ``anyOf``/
``oneOf`` of references) and fails loudly on anything else, so a schema update that needs new support is noticed
rather than silently mistranslated.

Translation rules (the contract ``tests/ocpp/test_models.py`` checks):

* one class per action message: ``{Action}Request`` / ``{Action}Response`` (1.6 files are ``Action.json`` and
  ``ActionResponse.json``; 2.x files already carry the suffix);
* ``definitions`` are shared per version module (the OCA files repeat them; they must agree up to descriptions);
  objects become classes named like the definition, enums become ``TypeAlias = Literal[...]`` named like the
  definition; objects defined inline (1.6) become ``{Parent}{Property}`` classes;
* field names are the wire keys, unchanged; a key that is not a usable Python name gets ``_`` appended and an
  alias (the models set ``populate_by_name``);
* ``additionalProperties: false`` gives ``extra="forbid"``, otherwise ``extra="allow"``;
* strings stay ``str`` (``date-time`` and ``uri`` included, so payloads round-trip byte for byte);
  ``integer`` is ``int``, ``number`` is ``float``, constraints become ``Field`` arguments;
* optional properties default to ``None`` and are left out by ``to_wire()``.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
OUT = ROOT / "ocppemu" / "ocpp" / "models"
VERSIONS = {"v16": "1.6", "v201": "2.0.1", "v21": "2.1"}

_HANDLED = {
    "$schema", "$id", "id", "title", "comment", "description", "javaType", "type", "properties", "required",
    "additionalProperties", "items", "additionalItems", "minItems", "maxItems", "maxLength", "minLength",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "enum", "format", "$ref",
    "definitions", "default", "anyOf", "oneOf",
}
_RESERVED = {
    "model_config", "model_fields", "model_dump", "model_validate", "to_wire", "dict", "json", "copy", "schema",
    "construct", "validate", "fields", "parse_obj", "parse_raw", "parse_file", "from_orm", "update_forward_refs",
    "schema_json",
}


class SchemaError(Exception):
    """A schema uses something this generator does not translate."""


@dataclass(slots=True)
class FieldSpec:
    wire: str
    py: str
    annotation: str
    required: bool
    kwargs: list[str]
    description: str | None


@dataclass(slots=True)
class ClassSpec:
    name: str
    description: str | None
    extra: str
    fields: list[FieldSpec] = field(default_factory=list)


def _doc(text: object) -> str | None:
    if not isinstance(text, str):
        return None
    clean = " ".join(text.split())
    return clean or None


def _strip_docs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_docs(v) for k, v in node.items() if k not in ("description", "javaType", "comment")}
    if isinstance(node, list):
        return [_strip_docs(v) for v in node]
    return node


def _py_name(wire: str) -> str:
    name = re.sub(r"\W", "_", wire)
    if not name or name[0].isdigit():
        name = "f_" + name
    if name.startswith("model_"):
        name = "field_" + name
    if keyword.iskeyword(name) or name in _RESERVED:
        name += "_"
    return name


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _literal(values: list[Any]) -> str:
    return "Literal[" + ", ".join(json.dumps(v) for v in values) + "]"


class VersionModule:
    """Collects the classes and aliases of one version and renders the module text."""

    def __init__(self, version_dir: str) -> None:
        self.version_dir = version_dir
        self.definitions: dict[str, tuple[dict[str, Any], str]] = {}
        self.classes: dict[str, ClassSpec] = {}
        self.aliases: dict[str, str] = {}
        self.in_progress: set[str] = set()
        self.requests: dict[str, str] = {}
        self.responses: dict[str, str] = {}
        self.imports: set[str] = set()

    # -- schema walking --------------------------------------------------------------------------------------
    def add_file(self, path: Path) -> None:
        schema = json.loads(path.read_text(encoding="utf-8-sig"))
        stem = path.stem
        kind = "response" if stem.endswith("Response") else "request"
        action = stem.removesuffix("Response") if kind == "response" else stem.removesuffix("Request")
        if self.version_dir == "v16":
            class_name = action + ("Request" if kind == "request" else "Response")
            if schema.get("title", class_name) != class_name:
                raise SchemaError(f"{path}: title {schema['title']!r} does not match {class_name}")
        else:
            # 2.x file names are the message names; 2.1's SEND message NotifyPeriodicEventStream has no suffix.
            class_name = stem
        for name, definition in schema.get("definitions", {}).items():
            known = self.definitions.get(name)
            if known is not None and _strip_docs(known[0]) != _strip_docs(definition):
                raise SchemaError(f"{path}: definition {name} differs from the one in {known[1]}")
            if known is None:
                self.definitions[name] = (definition, path.name)
        if class_name in self.classes or class_name in self.definitions:
            raise SchemaError(f"{path}: class name {class_name} is already taken")
        self._object_class(class_name, schema, str(path))
        (self.requests if kind == "request" else self.responses)[action] = class_name

    def _check_keys(self, node: dict[str, Any], where: str) -> None:
        unknown = set(node) - _HANDLED
        if unknown:
            raise SchemaError(f"{where}: unsupported keywords {sorted(unknown)}")

    def _object_class(self, name: str, node: dict[str, Any], where: str) -> str:
        self._check_keys(node, where)
        if name in self.classes:
            return name
        if name in self.in_progress:
            raise SchemaError(f"{where}: recursive reference to {name} is not supported")
        self.in_progress.add(name)
        extra = "forbid" if node.get("additionalProperties") is False else "allow"
        spec = ClassSpec(name=name, description=_doc(node.get("description")), extra=extra)
        required = set(node.get("required", []))
        props: dict[str, Any] = node.get("properties", {})
        missing = required - set(props)
        if missing:
            raise SchemaError(f"{where}: required but not described: {sorted(missing)}")
        for wire, sub in props.items():
            annotation, kwargs = self._annotation(sub, name + _cap(wire), f"{where}.{wire}")
            py = _py_name(wire)
            if py != wire:
                kwargs = [f"alias={json.dumps(wire)}", *kwargs]
            spec.fields.append(
                FieldSpec(wire=wire, py=py, annotation=annotation, required=wire in required, kwargs=kwargs,
                          description=_doc(sub.get("description")))
            )
        self.in_progress.discard(name)
        self.classes[name] = spec
        return name

    def _ref(self, ref: str, where: str) -> tuple[str, list[str]]:
        prefix = "#/definitions/"
        if not ref.startswith(prefix):
            raise SchemaError(f"{where}: unsupported $ref {ref}")
        name = ref[len(prefix):]
        if name not in self.definitions:
            raise SchemaError(f"{where}: $ref to unknown definition {name}")
        definition = self.definitions[name][0]
        if definition.get("type") == "object" or "properties" in definition:
            return self._object_class(name, definition, f"{where}->{name}"), []
        if "enum" in definition:
            self._check_keys(definition, where)
            self.aliases.setdefault(name, _literal(definition["enum"]))
            self.imports.add("Literal")
            return name, []
        return self._annotation(definition, name, f"{where}->{name}")

    def _annotation(self, node: dict[str, Any], hint: str, where: str) -> tuple[str, list[str]]:
        """The annotation for ``node`` and the ``Field`` constraint arguments that apply to it."""
        self._check_keys(node, where)
        if "$ref" in node:
            return self._ref(node["$ref"], where)
        for key in ("anyOf", "oneOf"):
            if key in node:
                parts = [self._annotation(sub, f"{hint}{i}", where)[0] for i, sub in enumerate(node[key])]
                return " | ".join(parts), []
        kind = node.get("type")
        kwargs: list[str] = []
        if kind == "object":
            if not node.get("properties") and node.get("additionalProperties") is not False:
                self.imports.add("Any")
                return "dict[str, Any]", []
            return self._object_class(hint, node, where), []
        if kind == "array":
            items = node.get("items")
            if not isinstance(items, dict):
                raise SchemaError(f"{where}: array without a single items schema")
            item_ann, item_kwargs = self._annotation(items, hint, where + "[]")
            if item_kwargs:
                self.imports.add("Annotated")
                item_ann = f"Annotated[{item_ann}, Field({', '.join(item_kwargs)})]"
            if "minItems" in node:
                kwargs.append(f"min_length={node['minItems']}")
            if "maxItems" in node:
                kwargs.append(f"max_length={node['maxItems']}")
            return f"list[{item_ann}]", kwargs
        if "enum" in node:
            self.imports.add("Literal")
            return _literal(node["enum"]), []
        if kind == "string":
            if "minLength" in node:
                kwargs.append(f"min_length={node['minLength']}")
            if "maxLength" in node:
                kwargs.append(f"max_length={node['maxLength']}")
            return "str", kwargs
        if kind in ("integer", "number"):
            for key, arg in (("minimum", "ge"), ("maximum", "le")):
                if key in node:
                    exclusive = node.get("exclusive" + _cap(key))
                    kwargs.append(f"{'gt' if exclusive is True else arg}={node[key]!r}")
            for key, arg in (("exclusiveMinimum", "gt"), ("exclusiveMaximum", "lt")):
                if isinstance(node.get(key), (int, float)) and not isinstance(node.get(key), bool):
                    kwargs.append(f"{arg}={node[key]!r}")
            if "multipleOf" in node:
                kwargs.append(f"multiple_of={node['multipleOf']!r}")
            return ("int" if kind == "integer" else "float"), kwargs
        if kind == "boolean":
            return "bool", []
        if kind is None and not set(node) - {"description", "javaType", "comment"}:
            self.imports.add("Any")
            return "Any", []
        raise SchemaError(f"{where}: unsupported type {kind!r}")

    # -- rendering -------------------------------------------------------------------------------------------
    def render(self) -> str:
        version = VERSIONS[self.version_dir]
        typing_names = sorted(self.imports | {"TypeAlias"} if self.aliases else self.imports)
        lines = [
            f'"""Pydantic models of the OCPP {version} payloads, one class per request and response.',
            "",
            f"GENERATED by tools/generate_models.py from schemas/{self.version_dir}/*.json -- do not edit by hand.",
            "Regenerate with: python tools/generate_models.py",
            '"""',
            "",
            "from __future__ import annotations",
            "",
        ]
        if typing_names:
            lines.append(f"from typing import {', '.join(typing_names)}")
            lines.append("")
        lines += [
            "from pydantic import ConfigDict, Field",
            "",
            "from ocppemu.ocpp.models.base import OcppPayload",
            "",
        ]
        for name in sorted(self.aliases):
            lines += ["", f"{name}: TypeAlias = {self.aliases[name]}"]
        lines.append("")
        for spec in self.classes.values():
            lines += ["", *self._render_class(spec)]
        for title, table in (("REQUESTS", self.requests), ("RESPONSES", self.responses)):
            lines += ["", "", f"{title}: dict[str, type[OcppPayload]] = {{"]
            lines += [f'    "{action}": {table[action]},' for action in sorted(table)]
            lines.append("}")
        return "\n".join(lines) + "\n"

    def _render_class(self, spec: ClassSpec) -> list[str]:
        out = [f"class {spec.name}(OcppPayload):"]
        if spec.description:
            out.append(f"    {_docstring(spec.description)}")
            out.append("")
        out.append(f'    model_config = ConfigDict(extra="{spec.extra}")')
        for f in spec.fields:
            annotation = f.annotation if f.required or f.annotation == "Any" else f"{f.annotation} | None"
            kwargs = list(f.kwargs) if f.required else ["default=None", *f.kwargs]
            if f.description:
                kwargs.append(f"description={json.dumps(f.description, ensure_ascii=False)}")
            if not kwargs:
                out.append(f"    {f.py}: {annotation}")
            elif kwargs == ["default=None"]:
                out.append(f"    {f.py}: {annotation} = None")
            elif len(one_line := f"    {f.py}: {annotation} = Field({', '.join(kwargs)})") <= 110:
                out.append(one_line)
            else:
                out.append(f"    {f.py}: {annotation} = Field(")
                out += [f"        {kw}," for kw in kwargs]
                out.append("    )")
        out.append("")
        return out


def _docstring(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text += " "
    return f'"""{text}"""'


def generate(version_dir: str) -> str:
    """Return the module text for one version folder (``v16``, ``v201``, ``v21``)."""
    module = VersionModule(version_dir)
    files = sorted((SCHEMAS / version_dir).glob("*.json"))
    # Definitions first, so that $refs from any file resolve against the merged table.
    for path in files:
        for name, definition in json.loads(path.read_text(encoding="utf-8-sig")).get("definitions", {}).items():
            module.definitions.setdefault(name, (definition, path.name))
    for path in files:
        module.add_file(path)
    return module.render()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only compare, exit 1 if the files are stale")
    args = parser.parse_args(argv)
    stale = []
    for version_dir in VERSIONS:
        text = generate(version_dir)
        target = OUT / f"{version_dir}.py"
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(str(target.relative_to(ROOT)))
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print("stale generated models (run python tools/generate_models.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
