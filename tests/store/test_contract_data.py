"""Contract: transactions, meter values, sessions, templates, scenario runs, offline queues and aggregates."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ocppemu.ocpp.records import SessionRecord
from ocppemu.store import PayloadTooLargeError, Repository
from tests.store.helpers import at, call, error, result, sample, tx


async def test_transactions_unique_per_station_and_queryable(repo: Repository) -> None:
    await repo.upsert_transaction(tx("CP1", "1", 0, id_tag="A"))
    await repo.upsert_transaction(tx("CP2", "1", 10, id_tag="B"))  # same id, other station: another row
    await repo.upsert_transaction(tx("CP1", "2", 20, id_tag="A", status="completed", meter_stop=1500, stop=30))
    assert len(await repo.query_transactions()) == 3
    assert [t.transaction_id for t in await repo.query_transactions(station_id="CP1")] == ["2", "1"]
    assert [(t.station_id, t.transaction_id) for t in await repo.query_transactions(id_tag="A")] == [
        ("CP1", "2"), ("CP1", "1")]
    assert [t.station_id for t in await repo.query_transactions(status="active")] == ["CP2", "CP1"]
    got = await repo.get_transaction("CP1", "2")
    assert got is not None and got.stop_timestamp == at(30) and got.meter_stop == 1500
    assert await repo.get_transaction("CP3", "1") is None


async def test_transaction_upsert_updates_in_place_keeping_created_at(repo: Repository) -> None:
    first = tx("CP1", "7", 0)
    await repo.upsert_transaction(first)
    done = tx("CP1", "7", 0, status="completed", meter_stop=4000, stop=60)
    done.created_at = at(999)
    done.energy_consumed = 3000
    await repo.upsert_transaction(done)
    rows = await repo.query_transactions(station_id="CP1")
    assert len(rows) == 1
    assert rows[0].status == "completed" and rows[0].energy_consumed == 3000
    assert rows[0].created_at == first.created_at


async def test_meter_series_per_transaction_and_measurand_oldest_first(repo: Repository) -> None:
    samples = [sample("CP1", "1", t, 1000 + t * 10) for t in (30, 10, 20)]
    samples += [sample("CP1", "1", 10, 7.2, "Power.Active.Import", "kW"), sample("CP1", "2", 40, 5000),
                sample("CP2", "1", 10, 1.0), sample("CP1", None, 5, 999)]
    assert await repo.add_meter_samples(samples) == 7
    energy = await repo.meter_series("CP1", "1", "Energy.Active.Import.Register")
    assert [(s.timestamp, s.value) for s in energy] == [(at(10), 1100), (at(20), 1200), (at(30), 1300)]
    assert energy[0].timestamp.tzinfo is not None and energy[0] == samples[1]
    assert len(await repo.meter_series("CP1", "1")) == 4
    assert len(await repo.meter_series("CP1")) == 6
    assert [s.value for s in await repo.meter_series("CP1", since=at(20), until=at(40))] == [1200, 1300]
    assert await repo.add_meter_samples([]) == 0


async def test_sessions_add_update_list(repo: Repository) -> None:
    s1 = SessionRecord(station_id="CP1", csms_url="ws://x/ocpp", connected_at=at(0), protocol_version="1.6",
                       subprotocol="ocpp1.6")
    s2 = SessionRecord(station_id="CP1", csms_url="ws://x/ocpp", connected_at=at(100), protocol_version="1.6",
                       subprotocol="ocpp1.6")
    id1 = await repo.add_session(s1)
    id2 = await repo.add_session(s2)
    s1.status = "disconnected"
    s1.disconnected_at = at(50)
    s1.close_reason = "1006"
    assert await repo.update_session(id1, s1) is True
    assert await repo.update_session("0" * 24, s1) is False
    listed = await repo.list_sessions("CP1")
    assert [s.id for s in listed] == [id2, id1]
    assert listed[1].record == s1
    assert [s.id for s in await repo.list_sessions(status="active")] == [id2]


async def test_templates_crud(repo: Repository) -> None:
    await repo.save_template("ac22", {"vendor": "ACME", "connectors": [{"id": 1}]})
    await repo.save_template("boot", {"action": "BootNotification"}, kind="message")
    await repo.save_template("ac22", {"vendor": "ACME2"})
    assert await repo.get_template("ac22") == {"vendor": "ACME2"}
    assert [n for n, _, _ in await repo.list_templates()] == ["ac22", "boot"]
    assert await repo.list_templates(kind="message") == [("boot", "message", {"action": "BootNotification"})]
    assert await repo.delete_template("ac22") is True
    assert await repo.delete_template("ac22") is False
    assert await repo.get_template("ac22") is None
    with pytest.raises(PayloadTooLargeError):
        await repo.save_template("huge", {"x": "y" * (repo.max_document_bytes + 1)})
    assert await repo.get_template("huge") is None


async def test_scenario_runs_crud_newest_first(repo: Repository) -> None:
    a = await repo.create_scenario_run({"scenario": "boot", "status": "running", "started": at(0)})
    b = await repo.create_scenario_run({"scenario": "charge", "status": "running"})
    run = await repo.get_scenario_run(a)
    assert run is not None and run["id"] == a and run["started"] == at(0).isoformat()
    assert isinstance(run["created_at"], str)
    assert await repo.update_scenario_run(a, {"status": "passed", "checks": [{"ok": True}]}) is True
    assert await repo.update_scenario_run("f" * 24, {"status": "x"}) is False
    run = await repo.get_scenario_run(a)
    assert run is not None and run["status"] == "passed" and run["checks"] == [{"ok": True}]
    assert [r["id"] for r in await repo.list_scenario_runs()] == [b, a]
    assert [r["id"] for r in await repo.list_scenario_runs(scenario="boot")] == [a]
    assert await repo.delete_scenario_run(b) is True
    assert await repo.get_scenario_run(b) is None
    assert await repo.get_scenario_run("not-an-id") is None


async def test_offline_queue_keeps_order_and_stores_a_key_once(repo: Repository) -> None:
    for i in range(5):
        await repo.queue_push("CP1", f"m{i}", {"action": "MeterValues", "n": i})
    await repo.queue_push("CP2", "m0", {"action": "StopTransaction"})
    await repo.queue_push("CP1", "m1", {"action": "MeterValues", "n": 11})  # retried push: same place
    items = await repo.queue_list("CP1")
    assert [i.key for i in items] == ["m0", "m1", "m2", "m3", "m4"]
    assert items[1].doc == {"action": "MeterValues", "n": 11}
    assert await repo.queue_remove("CP1", "m0") is True
    assert await repo.queue_remove("CP1", "m0") is False
    await repo.queue_push("CP1", "m0", {"again": True})  # a new push goes to the end
    assert [i.key for i in await repo.queue_list("CP1")] == ["m1", "m2", "m3", "m4", "m0"]
    assert [i.key for i in await repo.queue_list("CP2")] == ["m0"]


async def test_action_stats_counts_errors_mean_and_p95(repo: Repository) -> None:
    frames = []
    for i in range(20):
        req = call(i, action="Heartbeat")
        frames += [req, result(req, rtt_ms=float(i + 1))]
    boot = call(50, action="BootNotification")
    frames += [boot, error(boot, "InternalError", "x", rtt_ms=40.0), call(60, action="Authorize", station="CP2")]
    await repo.add_messages(frames)
    stats = {s.action: s for s in await repo.action_stats()}
    hb = stats["Heartbeat"]
    assert (hb.count, hb.errors, hb.mean_rtt_ms, hb.p95_rtt_ms) == (40, 0, 10.5, 19.0)
    assert (stats["BootNotification"].count, stats["BootNotification"].errors) == (2, 1)
    assert stats["BootNotification"].p95_rtt_ms == 40.0
    assert stats["Authorize"].mean_rtt_ms is None and stats["Authorize"].p95_rtt_ms is None
    assert [s.action for s in await repo.action_stats()] == ["Heartbeat", "BootNotification", "Authorize"]
    assert [s.action for s in await repo.action_stats(station_id="CP2")] == ["Authorize"]
    windowed = await repo.action_stats(since=at(0), until=at(10))
    assert [(s.action, s.count) for s in windowed] == [("Heartbeat", 20)]


async def test_energy_per_transaction_and_station(repo: Repository) -> None:
    done = tx("CP1", "1", 0, meter_start=1000, status="completed", meter_stop=4000, stop=100)
    recorded = tx("CP1", "2", 200, status="completed", meter_stop=9000, stop=300)
    recorded.energy_consumed = 2500.0
    live = tx("CP2", "1", 400, meter_start=500)
    for t in (done, recorded, live):
        await repo.upsert_transaction(t)
    await repo.add_meter_samples([sample("CP2", "1", 410, 1.0, unit="kWh"), sample("CP2", "1", 420, 1.7, unit="kWh")])
    energy = {(e.station_id, e.transaction_id): e.energy_wh for e in await repo.energy_by_transaction()}
    assert energy == {("CP1", "1"): 3000.0, ("CP1", "2"): 2500.0, ("CP2", "1"): pytest.approx(1200.0)}
    by_station = await repo.energy_by_station()
    assert [(s.station_id, s.transactions, s.energy_wh) for s in by_station] == [
        ("CP1", 2, 5500.0), ("CP2", 1, pytest.approx(1200.0))]
    assert [e.transaction_id for e in await repo.energy_by_transaction("CP1")] == ["2", "1"]
    assert (await repo.energy_by_transaction("CP1"))[0].start_timestamp == at(200)


async def test_queue_document_over_limit_is_refused(repo: Repository) -> None:
    with pytest.raises(PayloadTooLargeError, match="CP1"):
        await repo.queue_push("CP1", "big", {"x": "y" * (repo.max_document_bytes + 1)})
    assert await repo.queue_list("CP1") == []


def test_helpers_make_ms_precision_times() -> None:
    assert at(1.2345) - at(0) == timedelta(milliseconds=1235) - timedelta(milliseconds=1)


async def test_a_reused_csms_transaction_id_keeps_one_record_per_transaction(repo: Repository) -> None:
    """Some CSMSs reuse transaction ids: three transactions with id 1 are three records, each updated in place."""
    for start in (0, 100, 200):
        await repo.upsert_transaction(tx("CP1", "1", start, id_tag=f"T{start}"))
    await repo.upsert_transaction(tx("CP1", "1", 100, id_tag="T100", status="completed", meter_stop=2000, stop=150))
    rows = await repo.query_transactions(station_id="CP1")
    assert [(r.start_timestamp, r.id_tag, r.status) for r in rows] == [
        (at(200), "T200", "active"), (at(100), "T100", "completed"), (at(0), "T0", "active")]
    newest = await repo.get_transaction("CP1", "1")
    assert newest is not None and newest.start_timestamp == at(200)
