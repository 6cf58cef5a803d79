"""The predefined scenario library: every file loads for each version it targets, names real OCA ids, and the
coverage document is generated from exactly these declarations."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from ocppemu.scenarios.loader import load

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = sorted((ROOT / "scenarios" / "library").glob("*.yaml"))
NAMED = ("complete-session", "remote-start-stop", "authorization-failure", "network-interruption", "firmware-update",
         "diagnostics-upload", "connector-fault", "concurrent-transactions", "reservation", "smart-charging-limit",
         "reset-during-transaction", "boot-pending-rejected", "csms-robustness")


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("octt_coverage", ROOT / "tools" / "octt_coverage.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _versions(path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [{1.6: "1.6", 2.1: "2.1"}.get(v, str(v)) for v in doc.get("ocpp", ["1.6", "2.0.1", "2.1"])]


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_scenario_loads_for_every_version_it_targets(path: Path) -> None:
    for version in _versions(path):
        scenario = load(path, ocpp=version)
        assert scenario is not None


def test_named_scenarios_exist_for_every_version_where_they_apply() -> None:
    names = {p.stem: _versions(p) for p in LIBRARY}
    for name in NAMED:
        assert name in names, name
        assert {"1.6", "2.0.1"} <= set(names[name]), name


def test_file_names_are_scenario_names() -> None:
    for path in LIBRARY:
        assert yaml.safe_load(path.read_text(encoding="utf-8"))["name"] == path.stem


def test_declared_ids_exist_and_the_coverage_document_is_current() -> None:
    tool = _tool()
    ids = json.loads((ROOT / "tools" / "octt_ids.json").read_text(encoding="utf-8"))
    known = {tc for groups in ids.values() for tcs in groups.values() for tc in tcs}
    declared = tool.declared()
    assert set(declared) <= known, sorted(set(declared) - known)
    assert tool.main(["--check"]) == 0, "run: python tools/octt_coverage.py"
    doc = (ROOT / "docs" / "OCTT_COVERAGE.md").read_text(encoding="utf-8")
    for tc in known:  # every id of 1.6 and 2.0.1 is listed, with a scenario or a reason
        line = next(x for x in doc.splitlines() if x.startswith(f"| {tc} |"))
        assert "`" in line or "none: " in line


def test_whole_v16_core_and_v201_blocks_have_a_scenario_or_a_reason() -> None:
    tool = _tool()
    ids = json.loads((ROOT / "tools" / "octt_ids.json").read_text(encoding="utf-8"))
    declared = tool.declared()
    groups = [ids["1.6"]["Core"]] + [tcs for name, tcs in ids["2.0.1"].items() if name[0] in "BCEFGJ"]
    for tcs in groups:
        for tc in tcs:
            assert tc in declared or tool.reason(tc), tc
    assert sum(tc in declared for tc in ids["1.6"]["Core"]) >= 30
