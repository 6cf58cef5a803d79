"""Connector status tables: every allowed transition passes, every other is a named refusal."""

from __future__ import annotations

import pytest

from ocppemu.ocpp.versions import Version
from ocppemu.station.connector_status import TRANSITIONS_16, IllegalTransition, check_transition, valid_statuses


@pytest.mark.parametrize("current", list(TRANSITIONS_16))
@pytest.mark.parametrize("target", list(TRANSITIONS_16))
def test_16_table(current: str, target: str) -> None:
    if current == target or target in TRANSITIONS_16[current]:
        check_transition(Version.V16, 1, current, target)
    else:
        with pytest.raises(IllegalTransition) as info:
            check_transition(Version.V16, 1, current, target)
        assert f"{current} -> {target}" in str(info.value)


def test_16_specific_rules() -> None:
    with pytest.raises(IllegalTransition):
        check_transition(Version.V16, 1, "Available", "Finishing")
    with pytest.raises(IllegalTransition):
        check_transition(Version.V16, 1, "Preparing", "Reserved")
    with pytest.raises(IllegalTransition):
        check_transition(Version.V16, 0, "Available", "Charging")  # connector 0 is the whole charge point
    check_transition(Version.V16, 0, "Available", "Unavailable")


def test_2x_any_status_to_any_other() -> None:
    for a in valid_statuses(Version.V201):
        for b in valid_statuses(Version.V201):
            check_transition(Version.V201, 1, a, b)
    with pytest.raises(IllegalTransition):
        check_transition(Version.V201, 1, "Charging", "Available")
