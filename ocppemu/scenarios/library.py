"""The predefined scenario library: where its files are, what they hold, and resolving a name to a file.

The library is the ``scenarios/`` folder of the source tree (shipped in the wheel as ``ocppemu/_scenarios``);
``OCPPEMU_SCENARIOS`` (a path list) adds folders in front of it; the examples beside this module (the charging
sessions the dashboard offers) come last. A scenario is named by its ``name`` field or its
file name without ``.yaml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ocppemu.scenarios.loader import ScenarioError, load

_PACKAGE = Path(__file__).resolve().parents[1]


def library_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("OCPPEMU_SCENARIOS", "").split(os.pathsep) if p]
    return [*extra, _PACKAGE / "_scenarios", _PACKAGE.parent / "scenarios", Path(__file__).with_name("examples")]


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    name: str
    path: Path
    versions: list[str]
    oca: list[str]
    description: str
    problem: str | None = None


def entries() -> list[LibraryEntry]:
    """Every scenario file of the library (a file that does not load is listed with its problem)."""
    out: list[LibraryEntry] = []
    seen: set[str] = set()
    for d in library_dirs():
        if not d.is_dir():
            continue
        for path in sorted([*d.rglob("*.yaml"), *d.rglob("*.yml")]):
            try:
                s = load(path)
            except ScenarioError as exc:
                if path.stem not in seen:
                    seen.add(path.stem)
                    out.append(LibraryEntry(path.stem, path, [], [], "", exc.first.message))
                continue
            if s.name in seen:
                continue
            seen.add(s.name)
            out.append(LibraryEntry(s.name, path, list(s.model.ocpp), list(s.model.oca), s.model.description))
    return out


def find(name: str) -> Path | None:
    """The library file of the scenario called ``name`` (never a path given by the caller)."""
    for d in library_dirs():
        for candidate in (d / f"{name}.yaml", d / f"{name}.yml"):
            if candidate.is_file():
                return candidate
    for e in entries():
        if e.name == name:
            return e.path
    return None


def resolve(name_or_path: str) -> Path:
    """The file ``name_or_path`` names: an existing path, else a library scenario of that name (the path as given
    when none matches, so that loading it reports the missing file)."""
    p = Path(name_or_path)
    if p.exists() or p.suffix in (".yaml", ".yml", ".json") or os.sep in name_or_path:
        return p
    return find(name_or_path) or p
