"""Charging profiles: installation rules, clearing, stacking and the composite schedule, for 1.6 and 2.x."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import fastjsonschema
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocppemu.ocpp.versions import Version
from ocppemu.station.smart_charging import ProfileError, ProfileStore, parse_profile

T0 = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC)
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def p16(pid: int, purpose: str, periods: list[tuple[int, float]], *, stack: int = 0, unit: str = "W",
        kind: str = "Absolute", start: datetime | None = T0, **extra: Any) -> dict[str, Any]:
    schedule: dict[str, Any] = {"chargingRateUnit": unit,
                                "chargingSchedulePeriod": [{"startPeriod": s, "limit": lim} for s, lim in periods]}
    if start is not None:
        schedule["startSchedule"] = iso(start)
    for key in ("duration", "minChargingRate"):
        if key in extra:
            schedule[key] = extra.pop(key)
    return {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
            "chargingProfileKind": kind, "chargingSchedule": schedule, **extra}


def p201(pid: int, purpose: str, periods: list[tuple[int, float]], *, stack: int = 0, unit: str = "W",
         kind: str = "Absolute", start: datetime | None = T0, **extra: Any) -> dict[str, Any]:
    one = p16(pid, purpose, periods, stack=stack, unit=unit, kind=kind, start=start, **extra)
    wire = {k: v for k, v in one.items() if k != "chargingProfileId"}
    wire["id"] = pid
    wire["chargingSchedule"] = [{"id": 1, **one["chargingSchedule"]}]
    return wire


def limits(schedule: dict[str, Any]) -> list[tuple[int, float]]:
    return [(p["startPeriod"], p["limit"]) for p in schedule["chargingSchedulePeriod"]]


def store16() -> ProfileStore:
    return ProfileStore(Version.V16, connector_ids=[1, 2])


# -- installation ------------------------------------------------------------------------------------------------


def test_station_max_only_on_connector_0() -> None:
    s = store16()
    r = s.install(1, p16(1, "ChargePointMaxProfile", [(0, 10000)]), now=T0)
    assert r.status == "Rejected" and r.reason is not None and "connector 0" in r.reason
    assert s.install(0, p16(1, "ChargePointMaxProfile", [(0, 10000)]), now=T0).accepted


def test_tx_profile_needs_active_transaction_in_16_and_is_bound_to_it() -> None:
    s = store16()
    r = s.install(1, p16(5, "TxProfile", [(0, 16)], unit="A"), now=T0)
    assert not r.accepted and r.reason is not None and "active transaction" in r.reason
    r = s.install(1, p16(5, "TxProfile", [(0, 16)], unit="A", transactionId=99), now=T0,
                  active_transaction_id=7)
    assert not r.accepted and r.reason is not None and "99" in r.reason
    assert s.install(1, p16(5, "TxProfile", [(0, 16)], unit="A"), now=T0, active_transaction_id=7).accepted
    assert s.profiles[0].profile.transaction_id == "7"
    assert s.end_transaction(7) == [5]
    assert len(s) == 0


def test_same_id_replaces_and_same_purpose_stack_replaces_in_16() -> None:
    s = store16()
    s.install(1, p16(1, "TxDefaultProfile", [(0, 10000)], stack=1), now=T0)
    r = s.install(2, p16(1, "TxDefaultProfile", [(0, 9000)], stack=3), now=T0)
    assert r.replaced == (1,)
    assert [(ip.connector_id, ip.profile.stack_level) for ip in s.profiles] == [(2, 3)]
    r = s.install(2, p16(2, "TxDefaultProfile", [(0, 8000)], stack=3), now=T0)
    assert r.accepted and r.replaced == (1,)
    assert [ip.profile.id for ip in s.profiles] == [2]
    r = s.install(1, p16(3, "TxDefaultProfile", [(0, 8000)], stack=3), now=T0)
    assert r.replaced == ()  # other connector
    assert len(s) == 2


def test_2x_refuses_duplicate_stack_level_with_overlapping_validity() -> None:
    s = ProfileStore("2.0.1")
    assert s.install(1, p201(1, "TxDefaultProfile", [(0, 10000)], stack=1), now=T0).accepted
    r = s.install(1, p201(2, "TxDefaultProfile", [(0, 9000)], stack=1), now=T0)
    assert not r.accepted and r.reason is not None and "K01.FR.06" in r.reason
    later = p201(3, "TxDefaultProfile", [(0, 9000)], stack=1, validFrom=iso(T0 + timedelta(days=1)))
    s.install(1, p201(1, "TxDefaultProfile", [(0, 10000)], stack=1, validTo=iso(T0 + timedelta(days=1))), now=T0)
    assert s.install(1, later, now=T0).accepted


@pytest.mark.parametrize(("wire", "connector", "needle"), [
    (p201(1, "TxProfile", [(0, 16)], unit="A"), 1, "needs a transactionId"),
    (p201(1, "TxProfile", [(0, 16)], unit="A", transactionId="other"), 1, "not the transaction"),
    (p201(1, "TxProfile", [(0, 16)], unit="A", transactionId="tx-1"), 0, "not 0"),
    (p201(1, "ChargingStationExternalConstraints", [(0, 16)], unit="A"), 0, "external system"),
    (p201(1, "TxDefaultProfile", [(10, 16)], unit="A"), 1, "K01.FR.31"),
    (p201(1, "TxDefaultProfile", [(0, 16), (0, 8)], unit="A"), 1, "increasing order"),
    (p201(1, "TxDefaultProfile", [(0, 16)], unit="A", kind="Recurring"), 1, "recurrencyKind"),
    (p201(1, "ChargePointMaxProfile", [(0, 16)]), 0, "is not one of OCPP 2.0.1"),
    (p201(1, "TxDefaultProfile", [(0, 16)], validFrom="yesterday"), 1, "not a valid date-time"),
    (p201(1, "TxDefaultProfile", [(0, 16)]), 9, "does not exist"),
    ({"id": "x"}, 1, "must be an integer"),
])
def test_2x_rejections_have_reasons(wire: dict[str, Any], connector: int, needle: str) -> None:
    s = ProfileStore(Version.V201, connector_ids=[1])
    r = s.install(connector, wire, now=T0, active_transaction_id="tx-1")
    assert not r.accepted
    assert r.reason is not None and needle in r.reason
    assert len(s) == 0


def test_remote_start_profile_is_bound_to_the_new_transaction() -> None:
    s = ProfileStore(Version.V201)
    wire = p201(7, "TxProfile", [(0, 16)], unit="A")
    assert s.rejection_reason(1, wire, active_transaction_id="tx-9") == "a TxProfile needs a transactionId"
    r = s.install(1, wire, now=T0, active_transaction_id="tx-9", remote_start=True)
    assert r.accepted and s.profiles[0].profile.transaction_id == "tx-9"
    same_level = p201(8, "TxProfile", [(0, 16)], unit="A", transactionId="tx-9")
    assert "K01.FR.39" in (s.rejection_reason(1, same_level, active_transaction_id="tx-9") or "")
    other_level = p201(8, "TxProfile", [(0, 16)], stack=1, unit="A", transactionId="tx-9")
    assert s.rejection_reason(1, other_level, active_transaction_id="tx-9") is None
    assert len(s) == 1
    assert s.end_transaction("tx-9") == [7]


def test_external_constraints_set_locally_and_not_cleared_by_csms() -> None:
    s = ProfileStore(Version.V201)
    assert s.install(0, p201(-1, "ChargingStationExternalConstraints", [(0, 5000)]), now=T0, source="EMS",
                     from_csms=False).accepted
    assert s.clear() == []
    assert s.find(sources=["EMS"])[0].profile.id == -1
    assert s.clear(from_csms=False) == [-1]


def test_21_extra_fields_and_purposes_are_accepted() -> None:
    wire = p201(4, "PriorityCharging", [(0, 7000)], maxOfflineDuration=60, dynUpdateInterval=10)
    wire["chargingSchedule"][0]["randomizedDelay"] = 5
    wire["chargingSchedule"][0]["chargingSchedulePeriod"].append({"startPeriod": 60, "setpoint": 3000})
    s = ProfileStore(Version.V21)
    assert s.install(1, wire, now=T0).accepted
    c = s.composite_schedule(1, T0, 120, "W", max_limit_w=22000)
    assert limits(c) == [(0, 22000.0)]  # PriorityCharging is kept but not composed
    assert s.find(purpose="PriorityCharging")[0].profile.schedule.periods[1].limit == float("inf")


def test_parse_profile_raises_readable_error() -> None:
    with pytest.raises(ProfileError, match="chargingRateUnit must be W or A"):
        parse_profile(p16(1, "TxDefaultProfile", [(0, 1)], unit="kW"), "1.6")


# -- clear and find ----------------------------------------------------------------------------------------------


def test_clear_by_id_and_by_criteria() -> None:
    s = store16()
    s.install(0, p16(1, "ChargePointMaxProfile", [(0, 20000)]), now=T0)
    s.install(0, p16(2, "TxDefaultProfile", [(0, 10000)], stack=1), now=T0)
    s.install(1, p16(3, "TxDefaultProfile", [(0, 10000)], stack=2), now=T0)
    s.install(2, p16(4, "TxDefaultProfile", [(0, 10000)], stack=2), now=T0)
    assert s.clear(profile_id=42) == []
    assert s.clear(profile_id=1, connector_id=2) == [1]  # criteria ignored with an id
    assert s.clear(connector_id=1, purpose="TxProfile") == []
    assert s.clear(connector_id=0, purpose="TxDefaultProfile") == [2]
    assert s.clear(stack_level=2) == [3, 4]
    assert len(s) == 0


def test_find_selects_like_get_charging_profiles() -> None:
    s = ProfileStore(Version.V201)
    s.install(0, p201(1, "ChargingStationMaxProfile", [(0, 20000)]), now=T0)
    s.install(1, p201(2, "TxDefaultProfile", [(0, 10000)], stack=1), now=T0)
    s.install(2, p201(3, "TxDefaultProfile", [(0, 10000)], stack=2), now=T0)
    assert [ip.profile.id for ip in s.find()] == [1, 2, 3]
    assert [ip.profile.id for ip in s.find(connector_id=0)] == [1]
    assert [ip.profile.id for ip in s.find(purpose="TxDefaultProfile", stack_level=2)] == [3]
    assert [ip.profile.id for ip in s.find(purpose="ChargePointMaxProfile")] == [1]  # either spelling
    assert [ip.profile.id for ip in s.find(profile_ids=[2, 3], connector_id=1)] == [2]
    assert s.find(sources=["EMS"]) == []
    assert s.find(connector_id=1)[0].profile.wire["id"] == 2


def test_purge_expired() -> None:
    s = store16()
    s.install(1, p16(1, "TxDefaultProfile", [(0, 1000)], validTo=iso(T0 + timedelta(hours=1))), now=T0)
    assert s.purge_expired(T0) == []
    assert s.purge_expired(T0 + timedelta(hours=1)) == [1]


# -- composite ---------------------------------------------------------------------------------------------------


def test_no_profile_gives_rated_power() -> None:
    c = store16().composite_schedule(1, T0, 3600, "W", max_limit_w=11000)
    assert c == {"startSchedule": "2025-03-10T12:00:00Z", "duration": 3600, "chargingRateUnit": "W",
                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000.0}]}


def test_highest_stack_level_wins_and_lower_shows_through_after_its_duration() -> None:
    s = store16()
    s.install(1, p16(1, "TxDefaultProfile", [(0, 10000)], stack=0), now=T0)
    s.install(1, p16(2, "TxDefaultProfile", [(0, 4000), (600, 5000)], stack=5, duration=1200), now=T0)
    c = s.composite_schedule(1, T0, 3600, "W", max_limit_w=22000)
    assert limits(c) == [(0, 4000.0), (600, 5000.0), (1200, 10000.0)]


def test_connector_profile_beats_station_wide_default_at_equal_stack() -> None:
    s = store16()
    s.install(0, p16(1, "TxDefaultProfile", [(0, 3000)], stack=1), now=T0)
    s.install(1, p16(2, "TxDefaultProfile", [(0, 6000)], stack=1), now=T0)
    assert limits(s.composite_schedule(1, T0, 60, "W", max_limit_w=22000)) == [(0, 6000.0)]
    assert limits(s.composite_schedule(2, T0, 60, "W", max_limit_w=22000)) == [(0, 3000.0)]


def test_tx_profile_overrides_default_only_for_its_transaction() -> None:
    s = store16()
    s.install(0, p16(1, "TxDefaultProfile", [(0, 3000)], stack=9), now=T0)
    s.install(1, p16(2, "TxProfile", [(0, 8000)], stack=0), now=T0, active_transaction_id=11)
    assert limits(s.composite_schedule(1, T0, 60, "W", max_limit_w=22000, active_transaction_id=11)) == \
        [(0, 8000.0)]
    assert limits(s.composite_schedule(1, T0, 60, "W", max_limit_w=22000)) == [(0, 3000.0)]


def test_result_is_min_with_station_max_and_external() -> None:
    s = ProfileStore(Version.V201)
    s.install(0, p201(1, "ChargingStationMaxProfile", [(0, 9000), (1800, 20000)]), now=T0)
    s.install(1, p201(2, "TxDefaultProfile", [(0, 11000), (900, 7000), (2700, 15000)]), now=T0)
    s.install(1, p201(3, "ChargingStationExternalConstraints", [(0, 30000), (3000, 5000)]), now=T0,
              from_csms=False)
    c = s.composite_schedule(1, T0, 3600, "W", max_limit_w=22000)
    assert limits(c) == [(0, 9000.0), (900, 7000.0), (2700, 15000.0), (3000, 5000.0)]
    assert limits(s.composite_schedule(0, T0, 3600, "W", max_limit_w=50000)) == [(0, 9000.0), (1800, 20000.0)]


def test_rated_power_caps_the_composite() -> None:
    s = store16()
    s.install(1, p16(1, "TxDefaultProfile", [(0, 50000), (60, 3000)]), now=T0)
    assert limits(s.composite_schedule(1, T0, 120, "W", max_limit_w=22000)) == [(0, 22000.0), (60, 3000.0)]


def test_w_and_a_conversion() -> None:
    s = store16()
    s.install(0, p16(1, "ChargePointMaxProfile", [(0, 32)], unit="A"), now=T0)
    s.install(1, p16(2, "TxDefaultProfile", [(0, 6900), (60, 30000)]), now=T0)
    amps = s.composite_schedule(1, T0, 120, "A", max_limit_w=22080)
    assert limits(amps) == [(0, 10.0), (60, 32.0)]
    watts = s.composite_schedule(1, T0, 120, "W", max_limit_w=50000)
    assert limits(watts) == [(0, 6900.0), (60, 22080.0)]
    one_phase = s.composite_schedule(1, T0, 120, "A", max_limit_w=50000, phases=1)
    assert limits(one_phase) == [(0, 30.0), (60, 32.0)]
    assert s.current_limit(1, T0 + timedelta(seconds=90)) == pytest.approx(22080.0)


def test_number_phases_of_a_period_is_used_and_reported() -> None:
    s = store16()
    wire = p16(1, "TxDefaultProfile", [(0, 16)], unit="A")
    wire["chargingSchedule"]["chargingSchedulePeriod"][0]["numberPhases"] = 1
    s.install(1, wire, now=T0)
    c = s.composite_schedule(1, T0, 60, "W", max_limit_w=22000)
    assert c["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 3680.0, "numberPhases": 1}]


def test_recurring_daily_wraps_around_midnight() -> None:
    s = store16()
    night = datetime(2025, 3, 1, 22, 0, tzinfo=UTC)
    s.install(1, p16(1, "TxDefaultProfile", [(0, 11000), (8 * 3600, 3000)], kind="Recurring", start=night,
                     recurrencyKind="Daily"), now=T0)
    start = datetime(2025, 3, 10, 4, 0, tzinfo=UTC)
    c = s.composite_schedule(1, start, 24 * 3600, "W", max_limit_w=22000)
    # 04:00 still in last night's 11 kW window, 06:00 day limit, 22:00 the next night.
    assert limits(c) == [(0, 11000.0), (2 * 3600, 3000.0), (18 * 3600, 11000.0)]
    assert s.current_limit(1, datetime(2025, 3, 12, 23, 30, tzinfo=UTC)) == 11000.0
    assert s.current_limit(1, datetime(2025, 3, 12, 12, 0, tzinfo=UTC)) == 3000.0


def test_recurring_weekly_with_duration() -> None:
    s = store16()
    monday = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
    s.install(1, p16(1, "TxDefaultProfile", [(0, 2000)], kind="Recurring", start=monday,
                     recurrencyKind="Weekly", duration=3600), now=T0)
    assert s.current_limit(1, datetime(2025, 3, 17, 8, 30, tzinfo=UTC)) == 2000.0
    assert s.current_limit(1, datetime(2025, 3, 17, 9, 30, tzinfo=UTC)) is None
    assert s.current_limit(1, datetime(2025, 3, 18, 8, 30, tzinfo=UTC)) is None


def test_relative_profile_runs_from_transaction_start() -> None:
    s = store16()
    s.install(1, p16(1, "TxProfile", [(0, 4000), (600, 8000)], kind="Relative", start=None), now=T0,
              active_transaction_id=3)
    tx_start = T0 - timedelta(seconds=300)
    c = s.composite_schedule(1, T0, 900, "W", max_limit_w=22000, active_transaction_id=3,
                             transaction_start=tx_start)
    assert limits(c) == [(0, 4000.0), (300, 8000.0)]
    assert s.current_limit(1, T0, active_transaction_id=3, transaction_start=tx_start) == 4000.0
    assert s.next_change(1, T0, active_transaction_id=3, transaction_start=tx_start) == T0 + timedelta(seconds=300)


def test_relative_default_without_transaction_starts_with_the_window() -> None:
    s = store16()
    s.install(1, p16(1, "TxDefaultProfile", [(0, 4000), (600, 8000)], kind="Relative", start=None), now=T0)
    assert limits(s.composite_schedule(1, T0 + timedelta(hours=5), 900, "W", max_limit_w=22000)) == \
        [(0, 4000.0), (600, 8000.0)]


def test_absolute_without_start_runs_from_installation() -> None:
    s = store16()
    s.install(1, p16(1, "TxDefaultProfile", [(0, 4000), (600, 8000)], start=None), now=T0)
    later = T0 + timedelta(seconds=300)
    assert limits(s.composite_schedule(1, later, 900, "W", max_limit_w=22000)) == [(0, 4000.0), (300, 8000.0)]


def test_validity_window_bounds_a_profile() -> None:
    s = store16()
    s.install(1, p16(1, "TxDefaultProfile", [(0, 4000)], validFrom=iso(T0 + timedelta(minutes=10)),
                     validTo=iso(T0 + timedelta(minutes=20))), now=T0)
    c = s.composite_schedule(1, T0, 3600, "W", max_limit_w=22000)
    assert limits(c) == [(0, 22000.0), (600, 4000.0), (1200, 22000.0)]


def test_composite_over_many_periods_is_merged_and_truncated() -> None:
    s = store16()
    periods = [(i * 60, 1000.0 * (1 + i // 2)) for i in range(20)]  # pairs of equal limits
    s.install(1, p16(1, "TxDefaultProfile", periods), now=T0)
    c = s.composite_schedule(1, T0, 1200, "W", max_limit_w=22000)
    assert limits(c) == [(i * 120, 1000.0 * (1 + i)) for i in range(10)]
    cut = s.composite_schedule(1, T0, 1200, "W", max_limit_w=22000, max_periods=3)
    assert len(cut["chargingSchedulePeriod"]) == 3 and cut["duration"] == 360


def test_composite_validates_against_both_schemas() -> None:
    s = store16()
    s.install(0, p16(1, "ChargePointMaxProfile", [(0, 32.3)], unit="A"), now=T0)
    s.install(1, p16(2, "TxDefaultProfile", [(0, 7333.33), (600, 10000)]), now=T0)
    for unit in ("W", "A"):
        sched = s.composite_schedule(1, T0 + timedelta(microseconds=5), 1800, unit, max_limit_w=22000)
        v16 = orjson.loads((SCHEMAS / "v16" / "GetCompositeScheduleResponse.json").read_bytes())
        fastjsonschema.validate(v16, {"status": "Accepted", "connectorId": 1, "scheduleStart":
                                      sched["startSchedule"], "chargingSchedule": sched})
        v201 = orjson.loads((SCHEMAS / "v201" / "GetCompositeScheduleResponse.json").read_bytes())
        body = {k: v for k, v in sched.items() if k != "startSchedule"}
        fastjsonschema.validate(v201, {"status": "Accepted", "schedule": {
            "evseId": 1, "scheduleStart": sched["startSchedule"], **body}})


# -- property ----------------------------------------------------------------------------------------------------

_period_lists = st.lists(st.tuples(st.integers(0, 7200), st.floats(0, 60000, allow_nan=False)), min_size=1,
                         max_size=6).map(lambda ps: sorted({s: lim for s, lim in [(0, ps[0][1]), *ps]}.items()))


@settings(max_examples=150, deadline=None)
@given(
    station=_period_lists,
    others=st.lists(st.tuples(_period_lists, st.integers(0, 5), st.sampled_from(["W", "A"]),
                              st.sampled_from(["Absolute", "Relative", "Recurring"]), st.integers(-3600, 3600)),
                    max_size=5),
    unit=st.sampled_from(["W", "A"]),
    probe=st.integers(0, 3 * 3600),
)
def test_composite_never_exceeds_station_max(station: list[tuple[int, float]],
                                             others: list[tuple[list[tuple[int, float]], int, str, str, int]],
                                             unit: Literal["W", "A"], probe: int) -> None:
    s = store16()
    assert s.install(0, p16(1, "ChargePointMaxProfile", station), now=T0).accepted
    for i, (periods, stack, u, kind, shift) in enumerate(others):
        extra: dict[str, Any] = {"recurrencyKind": "Daily"} if kind == "Recurring" else {}
        start = None if kind == "Relative" else T0 + timedelta(seconds=shift)
        wire = p16(10 + i, "TxDefaultProfile", periods, stack=stack, unit=u, kind=kind, start=start, **extra)
        s.install(1 + i % 2, wire, now=T0)
    c = s.composite_schedule(1, T0, 3 * 3600, unit, max_limit_w=100000)
    station_at = [lim for st_, lim in station if st_ <= probe][-1]
    cap = station_at if unit == "W" else station_at / 690.0
    composite_at = [p["limit"] for p in c["chargingSchedulePeriod"] if p["startPeriod"] <= probe][-1]
    assert composite_at <= round(cap, 1) + 1e-9
    live = s.current_limit(1, T0 + timedelta(seconds=probe))
    assert live is not None and live <= station_at + 1e-6
