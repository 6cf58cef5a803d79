from __future__ import annotations

import pytest

from ocppemu.scenarios.paths import PathError, compare, parse_path, same
from ocppemu.scenarios.templating import UnknownVariable, references, render

DOC = {"idTagInfo": {"status": "Accepted"}, "meterValue": [{"sampledValue": [{"value": "1"}, {"value": "2"}]}],
       "odd key": 3}


@pytest.mark.parametrize(("path", "expected"), [
    ("$", [DOC]),
    ("$.idTagInfo.status", ["Accepted"]),
    ("$['odd key']", [3]),
    ("$.meterValue[0].sampledValue[*].value", ["1", "2"]),
    ("$.meterValue[-1].sampledValue[1].value", ["2"]),
    ("$.idTagInfo.*", ["Accepted"]),
    ("$.missing.deeper", []),
    ("$.meterValue[5]", []),
])
def test_paths_select(path: str, expected: list[object]) -> None:
    assert parse_path(path).select(DOC) == expected


@pytest.mark.parametrize("bad", ["status", "$.", "$..a", "$[x]", "$.a b"])
def test_bad_paths_say_where(bad: str) -> None:
    with pytest.raises(PathError, match=r"path|starts with"):
        parse_path(bad)


def test_comparisons() -> None:
    assert compare("equals", "Accepted", "Accepted") is None
    assert compare("equals", True, 1) == "is True, expected 1"
    assert not same(1, True)
    assert compare("in", "Blocked", ["Invalid", "Blocked"]) is None
    assert compare("gt", 5, 3) is None
    assert compare("le", 5, 3) == "is 5, expected <= 3"
    assert compare("gt", "a", 3) is not None
    assert compare("matches", "2026-01-01T00:00:00Z", r"^\d{4}-") is None
    assert compare("type", 1.0, "integer") is None
    assert compare("type", True, "number") is not None
    assert compare("length", [1, 2], 2) is None
    assert compare("contains", ["a"], "b") is not None


def test_templating_keeps_types_and_reports_unknown_names() -> None:
    scope = {"tx": 42, "tag": "T1"}
    assert render({"transactionId": "${tx}", "text": "tx ${tx} by ${tag}", "esc": "$${tx}"}, scope, {}) == {
        "transactionId": 42, "text": "tx 42 by T1", "esc": "${tx}"}
    assert render("${env.HOME_X}", {}, {"HOME_X": "h"}) == "h"
    with pytest.raises(UnknownVariable, match="unknown variable"):
        render("${nope}", scope, {})
    assert list(references("a ${x} $${y} ${env.Z}")) == ["x", "env.Z"]
    with pytest.raises(ValueError, match="not a variable reference"):
        list(references("${a b}"))
