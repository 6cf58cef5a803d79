"""Contract: lifecycle, health and stations behave the same on every backend."""

from __future__ import annotations

import pytest

from ocppemu.config.station import ConnectorConfig, CsmsAuth, StationConfig, StationRuntimeState
from ocppemu.store import (
    SCHEMA_VERSION,
    DuplicateStationError,
    PayloadTooLargeError,
    Repository,
    open_store,
)


def station(sid: str, **kw: object) -> StationConfig:
    return StationConfig(station_id=sid, **kw)  # type: ignore[arg-type]


async def test_init_records_schema_version_and_is_idempotent(repo: Repository, store_url: str) -> None:
    assert await repo.schema_version() == SCHEMA_VERSION
    await repo.create_station(station("CP1"))
    await repo.init()
    again = open_store(store_url)
    await again.init()
    try:
        assert await again.schema_version() == SCHEMA_VERSION
        assert [s.station_id for s in await again.list_stations()] == ["CP1"]
    finally:
        await again.close()


async def test_health_reports_backend_and_what_the_server_supports(repo: Repository) -> None:
    report = await repo.health()
    assert report.ok
    assert report.backend == repo.backend
    assert report.schema_version == SCHEMA_VERSION
    assert set(report.capabilities) >= {"text_index", "timeseries", "ttl", "percentile"}
    for name, supported in report.capabilities.items():
        if not supported:
            assert report.notes.get(name), f"missing capability {name} must be explained"


async def test_create_get_and_secrets_kept_in_clear(repo: Repository) -> None:
    cfg = station("CP1", name="Lab", csms_auth=CsmsAuth(type="basic", username="u", password="s3cret"),
                  tags=["lab", "ac"])
    stored = await repo.create_station(cfg)
    assert stored.created_at is not None and stored.created_at.tzinfo is not None
    got = await repo.get_station("CP1")
    assert got is not None
    assert got.name == "Lab" and got.tags == ["lab", "ac"]
    assert got.csms_auth.password is not None and got.csms_auth.password.get_secret_value() == "s3cret"
    assert got.created_at == stored.created_at
    assert await repo.get_station("nope") is None


async def test_duplicate_station_is_refused_and_original_unchanged(repo: Repository) -> None:
    await repo.create_station(station("CP1", name="first"))
    with pytest.raises(DuplicateStationError, match="CP1"):
        await repo.create_station(station("CP1", name="second"))
    got = await repo.get_station("CP1")
    assert got is not None and got.name == "first"
    assert len(await repo.list_stations()) == 1


async def test_upsert_replaces_config_keeping_created_at_and_runtime(repo: Repository) -> None:
    first = await repo.upsert_station(station("CP1", name="a"))
    await repo.update_runtime_state(StationRuntimeState(station_id="CP1", connection_status="connected"))
    second = await repo.upsert_station(station("CP1", name="b", connectors=[ConnectorConfig(id=1),
                                                                              ConnectorConfig(id=2)]))
    assert second.created_at == first.created_at
    got = await repo.get_station("CP1")
    assert got is not None and got.name == "b" and len(got.connectors) == 2
    state = await repo.get_runtime_state("CP1")
    assert state is not None and state.connection_status == "connected"


async def test_list_filters_by_all_tags_and_enabled(repo: Repository) -> None:
    await repo.create_station(station("B", tags=["lab", "dc"]))
    await repo.create_station(station("A", tags=["lab"]))
    await repo.create_station(station("C", tags=["field"], enabled=False))
    assert [s.station_id for s in await repo.list_stations()] == ["A", "B", "C"]
    assert [s.station_id for s in await repo.list_stations(tags=["lab"])] == ["A", "B"]
    assert [s.station_id for s in await repo.list_stations(tags=["lab", "dc"])] == ["B"]
    assert [s.station_id for s in await repo.list_stations(enabled=False)] == ["C"]


async def test_runtime_state_round_trip_and_unknown_station(repo: Repository) -> None:
    state = StationRuntimeState(station_id="CP1", connection_status="error", last_error="boom",
                                active_transactions={1: "42"}, energy_register_wh={1: 1234.5})
    assert await repo.update_runtime_state(state) is False
    assert await repo.get_runtime_state("CP1") is None
    await repo.create_station(station("CP1"))
    assert await repo.update_runtime_state(state) is True
    assert await repo.get_runtime_state("CP1") == state


async def test_delete_station_removes_config_and_queue(repo: Repository) -> None:
    await repo.create_station(station("CP1"))
    await repo.queue_push("CP1", "k1", {"action": "StopTransaction"})
    assert await repo.delete_station("CP1") is True
    assert await repo.delete_station("CP1") is False
    assert await repo.get_station("CP1") is None
    assert await repo.queue_list("CP1") == []


async def test_oversize_station_is_refused_and_changes_nothing(store_url: str) -> None:
    repo = open_store(store_url, max_document_bytes=4096)
    await repo.init()
    try:
        await repo.create_station(station("CP1"))
        big = station("CP1", configuration_overrides={f"Key{i}": "x" * 100 for i in range(100)})
        with pytest.raises(PayloadTooLargeError, match="CP1"):
            await repo.upsert_station(big)
        with pytest.raises(PayloadTooLargeError):
            await repo.create_station(big.model_copy(update={"station_id": "CP2"}))
        got = await repo.get_station("CP1")
        assert got is not None and got.configuration_overrides == {}
        assert [s.station_id for s in await repo.list_stations()] == ["CP1"]
    finally:
        await repo.close()
