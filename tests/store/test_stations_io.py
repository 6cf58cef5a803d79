"""Contract: station configuration import/export with a validation report; bad data changes nothing."""

from __future__ import annotations

import json

from ocppemu.config.station import CsmsAuth, StationConfig
from ocppemu.store import Repository, open_store
from ocppemu.store.stations_io import export_stations, import_stations, validate_stations


def entry(sid: str, **kw: object) -> dict[str, object]:
    return {"station_id": sid, **kw}


async def ids(repo: Repository) -> list[str]:
    return [s.station_id for s in await repo.list_stations()]


async def test_valid_file_is_imported(repo: Repository) -> None:
    report = await import_stations(repo, json.dumps([entry("A"), entry("B", protocol_version="ocpp2.0.1")]))
    assert report.ok and report.accepted == ["A", "B"]
    b = await repo.get_station("B")
    assert b is not None and b.protocol_version.value == "2.0.1"


async def test_malformed_json_is_reported_and_changes_nothing(repo: Repository) -> None:
    await repo.create_station(StationConfig(station_id="KEEP"))
    for bad in ('[{"station_id": "A",', '{"stations": 3}', '"just text"', '{"format": "other", "stations": []}'):
        report = await import_stations(repo, bad)
        assert not report.ok and report.accepted == []
        assert report.rejected[0].index is None and report.rejected[0].reason
    assert await ids(repo) == ["KEEP"]


async def test_invalid_entries_are_rejected_with_field_and_reason(repo: Repository) -> None:
    data = [
        entry("GOOD"),
        entry("BADURL", csms_url="ftp://x"),
        entry("GAPS", connectors=[{"id": 1}, {"id": 3}]),
        "not an object",
        entry("", name="empty id"),
        entry("EXTRA", unknown_field=1),
    ]
    report = await import_stations(repo, json.dumps(data))
    assert report.accepted == ["GOOD"]
    reasons = {r.index: r for r in report.rejected}
    assert sorted(reasons) == [1, 2, 3, 4, 5]
    assert "csms_url" in reasons[1].reason and reasons[1].station_id == "BADURL"
    assert "1..N" in reasons[2].reason
    assert "JSON object" in reasons[3].reason
    assert "station_id" in reasons[4].reason
    assert "unknown_field" in reasons[5].reason
    assert "entry 1 (station 'BADURL')" in report.summary()
    assert await ids(repo) == ["GOOD"]


async def test_duplicate_ids_in_file_and_in_store(repo: Repository) -> None:
    await repo.create_station(StationConfig(station_id="OLD", name="original"))
    data = [entry("TWICE", name="1"), entry("NEW"), entry("TWICE", name="2"), entry("OLD", name="changed")]
    report = await import_stations(repo, json.dumps(data))
    assert report.accepted == ["NEW"]
    assert [(r.index, r.station_id) for r in report.rejected] == [(0, "TWICE"), (2, "TWICE"), (3, "OLD")]
    assert "more than once" in report.rejected[0].reason and "already exists" in report.rejected[2].reason
    old = await repo.get_station("OLD")
    assert old is not None and old.name == "original"
    assert await ids(repo) == ["NEW", "OLD"]
    replaced = await import_stations(repo, json.dumps([entry("OLD", name="changed")]), replace=True)
    assert replaced.accepted == ["OLD"]
    old = await repo.get_station("OLD")
    assert old is not None and old.name == "changed"


async def test_oversize_configuration_is_rejected(store_url: str) -> None:
    repo = open_store(store_url, max_document_bytes=4096)
    await repo.init()
    try:
        big = entry("BIG", configuration_overrides={f"K{i}": "v" * 100 for i in range(100)})
        report = await import_stations(repo, json.dumps([big, entry("SMALL")]))
        assert report.accepted == ["SMALL"]
        assert report.rejected[0].station_id == "BIG" and "limit" in report.rejected[0].reason
        assert await ids(repo) == ["SMALL"]
    finally:
        await repo.close()


async def test_export_masks_secrets_and_reimport_keeps_stored_ones(repo: Repository) -> None:
    await repo.create_station(StationConfig(
        station_id="CP1", csms_auth=CsmsAuth(type="basic", username="u", password="pw")))
    text = await export_stations(repo)
    doc = json.loads(text)
    assert doc["format"] == "ocppemu-stations" and doc["stations"][0]["csms_auth"]["password"] == "**********"
    assert "runtime" not in doc["stations"][0]
    doc["stations"][0]["name"] = "renamed"
    report = await import_stations(repo, json.dumps(doc), replace=True)
    assert report.ok
    cp1 = await repo.get_station("CP1")
    assert cp1 is not None and cp1.name == "renamed"
    assert cp1.csms_auth.password is not None and cp1.csms_auth.password.get_secret_value() == "pw"
    doc["stations"][0]["station_id"] = "CP2"  # masked secret and nothing stored to keep
    report = await import_stations(repo, json.dumps(doc))
    assert report.accepted == [] and "masked" in report.rejected[0].reason
    full = json.loads(await export_stations(repo, ["CP1"], include_secrets=True))
    assert full["stations"][0]["csms_auth"]["password"] == "pw"


async def test_dry_run_validates_without_writing(repo: Repository) -> None:
    report = await import_stations(repo, json.dumps([entry("A"), entry("B", csms_url="x")]), dry_run=True)
    assert report.accepted == ["A"] and len(report.rejected) == 1 and report.dry_run
    assert "would import 1" in report.summary()
    assert await ids(repo) == []


def test_validate_is_pure_and_accepts_a_bare_list() -> None:
    valid, rejected = validate_stations(json.dumps([entry("A"), entry("A")]).encode())
    assert valid == [] and [r.index for r in rejected] == [0, 1]
