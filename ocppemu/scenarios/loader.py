"""Loading a scenario file: YAML with positions, validation against the format, and the checks that need the whole
file (stations, selectors, variables, versions). Everything wrong is reported at once, each problem with file, line,
column and a sentence, as one :class:`ScenarioError`; nothing runs until a file is clean.

YAML is read with YAML 1.2 booleans (only ``true`` / ``false``), so ``on: CP-1`` is the key ``on`` and ``no`` is a
string; duplicate keys are an error instead of silently keeping the last one.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.versions import Version
from ocppemu.scenarios import format as fmt
from ocppemu.scenarios.format_parts import VERSIONS, Strict, version_text
from ocppemu.scenarios.templating import BUILTINS, references
from ocppemu.workbench.templates import BUILTIN_TEMPLATES, deep_merge, render

Position = tuple[int, int]
Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a file; ``line`` and ``column`` count from 1 (0 when unknown)."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class ScenarioError(Exception):
    """A scenario file that cannot run; :attr:`problems` lists every problem found (at least one)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def first(self) -> Problem:
        return self.problems[0]


@dataclass(frozen=True, slots=True)
class StationPlan:
    """One station a run creates: its id, version, full configuration document and initial variables."""

    station_id: str
    version: str
    config: dict[str, Any]
    variables: dict[str, Any]
    index: int
    spec_index: int


@dataclass(slots=True)
class Scenario:
    """A loaded, checked scenario: the validated model, the expanded stations, and where things are in the file."""

    file: str
    model: fmt.ScenarioFile
    raw: dict[str, Any]
    stations: list[StationPlan]
    positions: dict[Loc, Position] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.model.name

    def position(self, loc: Loc) -> Position:
        """The line/column of ``loc`` (or of the deepest part of it that the file has)."""
        while loc and loc not in self.positions:
            loc = loc[:-1]
        return self.positions.get(loc, (0, 0))


# -- YAML with positions ----------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
for _first in "tTfF":
    _Loader.yaml_implicit_resolvers.setdefault(_first, []).insert(
        0, ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")))


def _pos(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


def parse_yaml(text: str, file: str) -> tuple[Any, dict[Loc, Position], dict[Loc, Position]]:
    """The document in ``text`` with the position of every value and of every mapping key, by path.

    Raises :class:`ScenarioError` for a syntax error or a duplicate key.
    """
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise ScenarioError([Problem(file, 0, 0, f"the file holds a character YAML does not allow: {exc.reason} "
                                     f"(at character {exc.position})")]) from None
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        lines = text.splitlines()
        if 0 < line <= len(lines) and "${" in lines[line - 1]:
            reason += " (inside [ ] or { }, quote a value that holds ${...}: \"CP-${index}\")"
        raise ScenarioError([Problem(file, line, col, f"YAML syntax error: {reason}")]) from None
    except yaml.reader.ReaderError as exc:
        raise ScenarioError([Problem(file, 0, 0, f"the file holds a character YAML does not allow: {exc.reason} "
                                     f"(at character {exc.position})")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(file, 0, 0, f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()
    if node is None:
        raise ScenarioError([Problem(file, 1, 1, "the file is empty (a scenario starts with 'version: 1')")])
    values: dict[Loc, Position] = {}
    keys: dict[Loc, Position] = {}
    problems: list[Problem] = []

    def build(n: yaml.Node, loc: Loc, depth: int) -> Any:
        values[loc] = _pos(n)
        if depth > 100:
            problems.append(Problem(file, *_pos(n), "the document is nested too deeply"))
            return None
        if isinstance(n, yaml.MappingNode):
            loader.flatten_mapping(n)
            out: dict[Any, Any] = {}
            for k_node, v_node in n.value:
                key = loader.construct_object(k_node, deep=True)
                if not isinstance(key, str | int | float | bool) or key is None:
                    problems.append(Problem(file, *_pos(k_node), "mapping keys must be plain text"))
                    continue
                if key in out:
                    problems.append(Problem(file, *_pos(k_node), f"duplicate key {key!r}"))
                    continue
                part = key if isinstance(key, str | int) else str(key)
                keys[(*loc, part)] = _pos(k_node)
                out[key] = build(v_node, (*loc, part), depth + 1)
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(item, (*loc, i), depth + 1) for i, item in enumerate(n.value)]
        return loader.construct_object(n, deep=True)

    try:
        data = build(node, (), 0)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise ScenarioError([Problem(file, line, col, f"YAML error: {exc.problem}")]) from None
    if problems:
        raise ScenarioError(problems)
    return data, values, keys


# -- pydantic errors as sentences at positions ----------------------------------------------------------------


def _display(path: Loc) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "the document"


def _resolve(loc: Loc, data: Any) -> tuple[Loc, Loc]:
    """Split a pydantic ``loc`` into the part that exists in ``data`` and the rest (union tags dropped)."""
    path: list[str | int] = []
    rest: list[str | int] = []
    node = data
    for part in loc:
        if rest:
            if not rest or rest[-1] != part:
                rest.append(part)
            continue
        if (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)):
            path.append(part)
            node = node[part]  # type: ignore[index]
        elif path and part == path[-1]:
            continue  # the discriminator's tag repeats the step kind
        else:
            rest.append(part)
    return tuple(path), tuple(rest)


def _fields_of(path: Loc) -> list[str]:
    """The option names valid where ``path`` points (for "did you mean")."""
    if len(path) <= 1:
        return [f.alias or n for n, f in fmt.ScenarioFile.model_fields.items()]
    owner: type[Strict] | None = None
    for i, part in enumerate(path[:-1]):
        prev = path[i - 1] if i else None
        if part in fmt.STEP_KINDS and isinstance(prev, int):
            owner = fmt.STEP_KINDS[str(part)]
        elif part == "stations" and i == 0:
            owner = fmt.StationSpec
        elif part == "settings" and i == 0:
            owner = fmt.Settings
    if owner is None:
        return []
    return [f.alias or n for n, f in owner.model_fields.items()]


def _message(err: Mapping[str, Any], path: Loc, rest: Loc, data: Any) -> str:
    kind, msg, given = err["type"], str(err["msg"]), err.get("input")
    where = _display(path + rest)
    if kind == "union_tag_invalid":
        name: Any = fmt.step_kind_of(given)
        close = difflib.get_close_matches(str(name), fmt.STEP_KINDS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; known steps: {', '.join(fmt.STEP_KINDS)}"
        return f"{where}: unknown step '{name}'{hint}"
    if kind == "union_tag_not_found":
        if isinstance(given, dict):
            return (f"{where}: a step is a mapping with one key, the step kind; this one has "
                    f"{len(given)} keys ({', '.join(map(str, given)) or 'none'}): indent the options under the "
                    "kind, e.g. '- plug_in: {connector: 1}'")
        return f"{where}: a step is a step kind or a mapping {{kind: options}}, not {type(given).__name__}"
    if kind == "extra_forbidden":
        name = path[-1] if path else rest[-1] if rest else "?"
        close = difflib.get_close_matches(str(name), _fields_of(path), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{_display(path[:-1])}: unknown option '{name}'{hint}"
    if kind == "missing":
        return f"{_display(path)}: '{rest[-1] if rest else path[-1]}' is required"
    if kind == "literal_error" and path and path[-1] == "version" and len(path) == 1:
        return f"version: this ocppemu reads scenario format version {fmt.FORMAT_VERSION}, not {given!r}"
    if kind == "value_error":
        return f"{where}: {msg.removeprefix('Value error, ')}"
    shown = repr(given)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{where}: {msg[:1].lower() + msg[1:]} (got {shown})"


def _validation_problems(exc: ValidationError, data: Any, file: str,
                         values: dict[Loc, Position], keys: dict[Loc, Position]) -> list[Problem]:
    out: list[Problem] = []
    seen: set[tuple[Loc, str]] = set()
    for err in exc.errors():
        path, rest = _resolve(tuple(err["loc"]), data)
        message = _message(err, path, rest, data)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        pos = keys.get(path) if err["type"] == "extra_forbidden" else None
        while pos is None:
            pos = values.get(path)
            if pos is None:
                if not path:
                    pos = (1, 1)
                path = path[:-1]
        out.append(Problem(file, pos[0], pos[1], message))
    return out


# -- stations -----------------------------------------------------------------------------------------------------


def expand_stations(model: fmt.ScenarioFile, *, ocpp: str | None = None, stations: int | None = None,
                    templates: Mapping[str, Mapping[str, Any]] | None = None, csms_url: str | None = None,
                    max_stations: int | None = None) -> tuple[list[StationPlan], list[tuple[Loc, str]]]:
    """The stations ``model`` defines, with the run's overrides (``--ocpp``, ``--stations``, ``--csms``); and the
    problems found, each at a path of the file."""
    known = dict(BUILTIN_TEMPLATES) | dict(templates or {})
    plans: list[StationPlan] = []
    problems: list[tuple[Loc, str]] = []
    seen: dict[str, Loc] = {}
    for si, spec in enumerate(model.stations):
        loc: Loc = ("stations", si)
        base: dict[str, Any] = {}
        if spec.template is not None:
            tpl = known.get(spec.template)
            if tpl is None:
                close = difflib.get_close_matches(spec.template, known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f"; known: {', '.join(sorted(known))}"
                problems.append(((*loc, "template"), f"unknown template '{spec.template}'{hint}"))
                continue
            base = dict(tpl.get("station", {}))
        version = ocpp or spec.ocpp or base.get("protocol_version") or model.ocpp[0]
        version = str(version_text(version))
        count = stations if stations is not None else spec.count
        if max_stations is not None and len(plans) + count > max_stations:
            problems.append(((*loc, "count"), f"the scenario needs more than the {max_stations} stations this "
                                              "workbench may hold (application.max_stations)"))
            break
        for index in range(1, count + 1):
            sid = spec.id.replace("${index}", str(index))
            if "${index}" not in spec.id and count > 1:
                sid = f"{sid}-{index}"
            if sid in seen:
                problems.append(((*loc, "id"), f"station id {sid!r} is defined twice"))
                break
            seen[sid] = loc
            doc = deep_merge(base, spec.config)
            if sid in spec.per_station:
                doc = deep_merge(doc, spec.per_station[sid])
            doc["protocol_version"] = version
            if csms_url is not None:
                doc["csms_url"] = csms_url
            try:
                cfg = render({"station": doc}, sid)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                msg = str(first["msg"]).removeprefix("Value error, ")
                problems.append(((*loc, "config"), f"station {sid}: {where + ': ' if where else ''}{msg}"))
                break
            plans.append(StationPlan(station_id=sid, version=version,
                                     config=cfg.model_dump(mode="json", exclude_none=True),
                                     variables=dict(spec.variables), index=index, spec_index=si))
    for sid in {k for spec in model.stations for k in spec.per_station} - set(seen):
        problems.append((("stations",), f"per_station names {sid!r}, which is not one of the stations"))
    return plans, problems


def select(selector: list[str], plans: list[StationPlan]) -> list[StationPlan]:
    """The stations a step's ``on`` selects, in the order they are defined."""
    if "all" in selector:
        return list(plans)
    return [p for p in plans if any(fnmatch.fnmatchcase(p.station_id, s) for s in selector)]


# -- whole-file checks -------------------------------------------------------------------------------------------


def _strings(value: Any, loc: Loc, skip: frozenset[str] = frozenset()) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k in skip:
                continue
            if isinstance(k, str):
                yield (*loc, k), k
            yield from _strings(v, (*loc, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*loc, i))


class _Checker:
    def __init__(self, model: fmt.ScenarioFile, raw: dict[str, Any], plans: list[StationPlan]) -> None:
        self.model, self.raw, self.plans = model, raw, plans
        self.problems: list[tuple[Loc, str]] = []

    def refs(self, value: Any, loc: Loc, known: set[str], skip: frozenset[str] = frozenset()) -> None:
        for where, text in _strings(value, loc, skip):
            try:
                names = list(references(text))
            except ValueError as exc:
                self.problems.append((where, str(exc)))
                continue
            for name in names:
                if name.startswith("env."):
                    continue
                if name not in known:
                    close = difflib.get_close_matches(name, known, n=1)
                    hint = f" (did you mean ${{{close[0]}}}?)" if close else ""
                    self.problems.append((where, f"unknown variable ${{{name}}}{hint}: define it under "
                                                 "'variables', or capture/set it in an earlier step"))

    def steps(self, steps: list[fmt.StepWrapper], raws: list[Any], loc: Loc, known: set[str],
              default_on: list[str] | None) -> set[str]:
        for i, (step, raw) in enumerate(zip(steps, raws, strict=True)):
            here: Loc = (*loc, i, step.kind)
            args = step.args
            raw_args: Any = raw.get(step.kind) if isinstance(raw, dict) else None
            on = default_on if default_on is not None and "on" not in args.model_fields_set else getattr(
                args, "on", None)
            targets = self.targets(on, (*here, "on")) if args.station_step and on is not None else self.plans
            only = getattr(args, "ocpp", None)
            if only is not None:
                targets = [p for p in targets if p.version in only]
            if isinstance(args, fmt.RepeatArgs):
                known |= self.steps(args.steps, raw_args["steps"], (*here, "steps"), known | {"iteration"},
                                    default_on) - {"iteration"}
                continue
            if isinstance(args, fmt.ParallelArgs):
                added: set[str] = set()
                raw_branches = raw_args if isinstance(raw_args, list) else raw_args["branches"]
                prefix: Loc = here if isinstance(raw_args, list) else (*here, "branches")
                for b, (branch, raw_branch) in enumerate(zip(args.branches, raw_branches, strict=True)):
                    bon = branch.on if branch.on is not None else default_on
                    if branch.on is not None:
                        self.targets(branch.on, (*prefix, b, "on"))
                    added |= self.steps(branch.steps, raw_branch["steps"], (*prefix, b, "steps"), set(known), bon)
                known |= added
                continue
            self.refs(raw_args, here, known, frozenset({"capture"}) if isinstance(raw_args, dict) else frozenset())
            self.versions(args, here, targets)
            if isinstance(args, fmt.Checked):
                known |= set(args.capture)
            if isinstance(args, fmt.SetArgs):
                known |= set(args.vars)
        return known

    def targets(self, selector: list[str], loc: Loc) -> list[StationPlan]:
        for s in selector:
            if s != "all" and not select([s], self.plans):
                close = difflib.get_close_matches(s, [p.station_id for p in self.plans], n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.problems.append((loc, f"'{s}' selects no station{hint}"))
        return select(selector, self.plans)

    def versions(self, args: fmt.StepArgs, loc: Loc, targets: list[StationPlan]) -> None:
        versions = sorted({p.version for p in targets})
        if isinstance(args, fmt.ParkingBayArgs) and "1.6" in versions:
            self.problems.append((loc, "parking_bay: OCPP 1.6 has no parking-bay sensor (2.0.1 and 2.1 do)"))
        if isinstance(args, fmt.ExpectCallArgs):
            for v in versions:
                offered = catalogue(Version.parse(v)).csms_initiated()
                if not any(a in offered or "${" in a for a in args.action):
                    close = difflib.get_close_matches(args.action[0], offered, n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    self.problems.append(((*loc, "action"), f"OCPP {v} has no CSMS-initiated action "
                                          f"{' or '.join(repr(a) for a in args.action)}{hint}"))
        if isinstance(args, fmt.SendArgs) and args.validate_ and "${" not in args.action:
            for v in versions:
                cat = catalogue(Version.parse(v))
                if args.action not in cat.station_initiated():
                    close = difflib.get_close_matches(args.action, cat.station_initiated(), n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else " (set validate: false to send it anyway)"
                    self.problems.append(((*loc, "action"),
                                          f"OCPP {v} has no station-initiated action '{args.action}'{hint}"))
        if isinstance(args, fmt.ConnectorArgs) and args.connector > 0:
            for p in targets:
                ids = {c.get("evse_id") or c["id"] if p.version != "1.6" else c["id"] for c in p.config["connectors"]}
                if args.connector not in ids:
                    self.problems.append(((*loc, "connector"), f"station {p.station_id} has no "
                                          f"{'connector' if p.version == '1.6' else 'EVSE'} {args.connector}"))
                    break


def check(model: fmt.ScenarioFile, raw: dict[str, Any], plans: list[StationPlan]) -> list[tuple[Loc, str]]:
    """Whole-file problems: selectors that select nothing, unknown variables, steps a target version lacks."""
    c = _Checker(model, raw, plans)
    base = set(BUILTINS) - {"iteration"} | set(model.variables)
    for si, spec in enumerate(model.stations):
        raw_spec = raw["stations"][si] if "stations" in raw else {}
        c.refs(raw_spec, ("stations", si), base | {"index"} | set(spec.variables))
    known = base | {k for spec in model.stations for k in spec.variables}
    if model.csms_api is not None:
        c.refs(raw["csms_api"], ("csms_api",), known)
    c.steps(model.steps, raw["steps"], ("steps",), known, None)
    return c.problems


# -- entry points ------------------------------------------------------------------------------------------------


def loads(text: str, file: str = "<scenario>", *, ocpp: str | None = None, stations: int | None = None,
          templates: Mapping[str, Mapping[str, Any]] | None = None, csms_url: str | None = None,
          max_stations: int | None = None) -> Scenario:
    """Parse, validate and check a scenario; raises :class:`ScenarioError` listing every problem."""
    data, values, keys = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise ScenarioError([Problem(file, 1, 1, "a scenario is a mapping that starts with 'version: 1'")])
    try:
        model = fmt.ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_validation_problems(exc, data, file, values, keys)) from None
    problems: list[tuple[Loc, str]] = []
    if ocpp is not None:
        ocpp = str(version_text(ocpp))
        if ocpp not in VERSIONS:
            raise ScenarioError([Problem(file, 0, 0, f"--ocpp {ocpp}: not an OCPP version (1.6, 2.0.1, 2.1)")])
        if ocpp not in model.ocpp:
            problems.append((("ocpp",), f"the scenario is written for OCPP {', '.join(model.ocpp)}, not {ocpp}"))
    plans, station_problems = expand_stations(model, ocpp=ocpp, stations=stations, templates=templates,
                                              csms_url=csms_url, max_stations=max_stations)
    problems += station_problems
    if not station_problems:
        problems += check(model, data, plans)
    if problems:
        out = []
        for loc, message in problems:
            pos = values.get(loc) or keys.get(loc)
            probe = loc
            while pos is None:
                probe = probe[:-1]
                pos = values.get(probe) or (1, 1) if not probe else values.get(probe)
            out.append(Problem(file, pos[0], pos[1], f"{_display(loc)}: {message}"))
        raise ScenarioError(out)
    return Scenario(file=file, model=model, raw=data, stations=plans, positions=values)


def load(path: str | Path, **options: Any) -> Scenario:
    """:func:`loads` on a file; a file that cannot be read is a :class:`ScenarioError` too."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError([Problem(str(p), 0, 0, f"cannot read the scenario: {reason}")]) from None
    return loads(text, str(p), **options)
