"""Catalogues are complete: every schema file has its action, every action both schemas and a direction."""

from __future__ import annotations

import pytest

from ocppemu.ocpp.catalogue import Direction, catalogue, schema_root
from ocppemu.ocpp.versions import Version


@pytest.mark.parametrize("version", list(Version))
def test_every_schema_file_has_its_action(version: Version) -> None:
    cat = catalogue(version)
    folder = schema_root() / version.schema_dir
    files = sorted(p.name for p in folder.glob("*.json"))
    for name in files:
        stem = name.removesuffix(".json")
        action = stem.removesuffix("Response") if stem.endswith("Response") else (
            stem if version is Version.V16 else stem.removesuffix("Request"))
        if cat[action].send_only:
            assert version is Version.V21 and not name.endswith(("Request.json", "Response.json"))
        assert action in cat, f"{name} has no action in the {version.value} catalogue"
    sends = sum(1 for a in cat.actions.values() if a.send_only)
    assert len(files) == 2 * len(cat.actions) - sends


def test_counts_and_directions() -> None:
    assert len(catalogue(Version.V16).actions) == 39
    assert len(catalogue(Version.V201).actions) == 64
    assert len(catalogue(Version.V21).actions) == 91
    assert catalogue(Version.V21)["NotifyPeriodicEventStream"].send_only
    c16 = catalogue(Version.V16)
    assert c16["BootNotification"].direction is Direction.STATION_TO_CSMS
    assert c16["RemoteStartTransaction"].direction is Direction.CSMS_TO_STATION
    assert c16["DataTransfer"].direction is Direction.BOTH
    c201 = catalogue(Version.V201)
    assert c201["TransactionEvent"].station_sends and not c201["TransactionEvent"].csms_sends
    assert c201["RequestStartTransaction"].csms_sends
    assert catalogue(Version.V21)["NotifyDERAlarm"].station_sends


@pytest.mark.parametrize("version", list(Version))
def test_2x_extends_consistently(version: Version) -> None:
    cat = catalogue(version)
    assert set(cat.station_initiated()) | set(cat.csms_initiated()) == set(cat.names())
    if version is Version.V21:
        assert set(catalogue(Version.V201).names()) <= set(cat.names())
