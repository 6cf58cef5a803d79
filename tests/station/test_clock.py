"""One clock: every version's station in virtual time with the CSMS's clock an hour ahead or behind.

The station dates everything on the clock the CSMS set (BootNotification/Heartbeat currentTime); timers run on the
runtime's time. Days pass in milliseconds here: nothing reads the wall clock.
"""

from __future__ import annotations

from typing import Any

import pytest

from ocppemu.station.v16.station import Station16
from ocppemu.station.v21.station import Station21
from ocppemu.station.v201.station import Station201
from tests.station.virtual import VirtualCsms, config

OFFSETS = [3600.0, -3600.0]
HOUR = 3600.0
DAY = 86400.0


def v16(offset: float, **kw: Any) -> tuple[VirtualCsms, Station16]:
    d = VirtualCsms(config("1.6", **kw), offset=offset)
    d.boot()
    assert isinstance(d.core, Station16)
    return d, d.core


def v2(version: str, offset: float, **kw: Any) -> tuple[VirtualCsms, Station201]:
    d = VirtualCsms(config(version, **kw), offset=offset)
    d.boot()
    assert isinstance(d.core, Station201)
    return d, d.core


def offered_16(core: Station16, connector: int = 1) -> float:
    meter = core.connectors[connector].meter
    assert meter is not None
    return meter.offered_w


def schedule(kind: str, periods: list[tuple[int, float]], **extra: Any) -> dict[str, Any]:
    return {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": s, "limit": w} for s, w in periods],
            **extra}


# -- 1.6 ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", OFFSETS)
def test_v16_station_clock_follows_the_csms(offset: float) -> None:
    d, core = v16(offset)
    assert core.clock.offset == offset
    core.plug_in(1, d.now)
    d.pump()
    status = d.sent("StatusNotification")[-1]
    assert status["timestamp"] == d.csms_iso()


@pytest.mark.parametrize("offset", OFFSETS)
def test_v16_relative_tx_profile_is_anchored_on_the_csms_clock(offset: float) -> None:
    d, core = v16(offset)
    assert d.act(core.start_session, 1, "TAG").ok
    d.advance(1)
    tid = core.connectors[1].tx.transaction_id  # type: ignore[union-attr]
    profile = {"chargingProfileId": 7, "transactionId": tid, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
               "chargingProfileKind": "Relative",
               "chargingSchedule": schedule("Relative", [(0, 1000.0), (2 * 3600, 5000.0)])}
    assert d.csms_call("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile}) == {
        "status": "Accepted"}
    assert offered_16(core) == 1000.0
    d.advance(HOUR)
    assert offered_16(core) == 1000.0
    d.advance(HOUR + 60)
    assert offered_16(core) == 5000.0
    composite = d.csms_call("GetCompositeSchedule", {"connectorId": 1, "duration": 60, "chargingRateUnit": "W"})
    assert composite["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 5000.0
    assert composite["scheduleStart"][:19] == d.csms_iso()[:19]


@pytest.mark.parametrize("offset", OFFSETS)
def test_v16_absolute_default_profile_starts_at_its_csms_time(offset: float) -> None:
    d, core = v16(offset)
    profile = {"chargingProfileId": 3, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
               "chargingProfileKind": "Absolute",
               "chargingSchedule": schedule("Absolute", [(0, 2000.0)], startSchedule=d.csms_iso(30 * 60))}
    assert d.csms_call("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile}) == {
        "status": "Accepted"}
    assert d.act(core.start_session, 1, "TAG").ok
    d.advance(20 * 60)
    assert offered_16(core) > 2000.0
    d.advance(20 * 60)
    assert offered_16(core) == 2000.0


@pytest.mark.parametrize("offset", OFFSETS)
def test_v16_recurring_daily_profile_follows_the_csms_time_of_day(offset: float) -> None:
    # The CSMS's clock reads 11:30; the daily profile halves the power from 12:00.
    d, core = v16(offset)
    d.now -= offset  # so that the CSMS's clock reads 11:30 exactly
    midnight = d.csms_iso()[:10] + "T00:00:00.000Z"
    profile = {"chargingProfileId": 4, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
               "chargingProfileKind": "Recurring", "recurrencyKind": "Daily",
               "chargingSchedule": schedule("Recurring", [(0, 3000.0), (12 * 3600, 6000.0)],
                                            startSchedule=midnight)}
    assert d.csms_call("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile}) == {
        "status": "Accepted"}
    assert d.act(core.start_session, 1, "TAG").ok
    d.advance(10)
    assert offered_16(core) == 3000.0
    d.advance(HOUR)  # 12:30 on the CSMS's clock
    assert offered_16(core) == 6000.0
    d.advance(DAY)  # the next day, 12:30
    assert offered_16(core) == 6000.0
    d.advance(12 * HOUR)  # 00:30
    assert offered_16(core) == 3000.0


@pytest.mark.parametrize("offset", OFFSETS)
def test_v16_offline_cache_honours_expiry_on_the_virtual_clock(offset: float) -> None:
    d, core = v16(offset)
    d.answers["Authorize"] = lambda p: {"idTagInfo": {"status": "Accepted", "expiryDate": d.csms_iso(HOUR)}}
    assert d.act(core.present_id_tag, 1, "CARD").data == {"authorizing": True}
    d.pump()
    assert core.connectors[1].status == "Preparing"
    d.advance(120)  # ConnectionTimeOut lapses the authorization
    d.go_offline()
    assert d.act(core.present_id_tag, 1, "CARD").data == {"local": "Cache"}
    d.advance(120)
    d.advance(3 * HOUR)  # two hours after its expiryDate
    result = d.act(core.present_id_tag, 1, "CARD")
    assert not result.ok and "CARD" in (result.error or "")


@pytest.mark.parametrize("offset", OFFSETS)
def test_v16_reservation_expires_at_its_csms_expiry_date(offset: float) -> None:
    d, core = v16(offset)
    answer = d.csms_call("ReserveNow", {"connectorId": 1, "expiryDate": d.csms_iso(30 * 60), "idTag": "CARD",
                                        "reservationId": 11})
    assert answer == {"status": "Accepted"}
    assert core.connectors[1].status == "Reserved"
    d.advance(29 * 60)
    assert core.connectors[1].status == "Reserved"
    d.advance(2 * 60)
    assert core.connectors[1].status == "Available"


# -- 2.0.1 and 2.1 ---------------------------------------------------------------------------------------------


def offered_2(core: Station201, evse: int = 1) -> float:
    return core.evses[evse].meter.offered_w


def v2_profile(pid: int, purpose: str, kind: str, periods: list[tuple[int, float]], **extra: Any) -> dict[str, Any]:
    sched_extra = {k: extra.pop(k) for k in ("startSchedule",) if k in extra}
    return {"id": pid, "stackLevel": 0, "chargingProfilePurpose": purpose, "chargingProfileKind": kind,
            "chargingSchedule": [{"id": pid, **schedule(kind, periods, **sched_extra)}], **extra}


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
@pytest.mark.parametrize("offset", OFFSETS)
def test_v2_relative_tx_profile(version: str, offset: float) -> None:
    d, core = v2(version, offset)
    assert d.act(core.start_session, 1, "TAG").ok
    tx = core.evses[1].active_tx
    assert tx is not None
    profile = v2_profile(5, "TxProfile", "Relative", [(0, 1000.0), (2 * 3600, 5000.0)],
                         transactionId=tx.transaction_id)
    assert d.csms_call("SetChargingProfile", {"evseId": 1, "chargingProfile": profile})["status"] == "Accepted"
    assert offered_2(core) == 1000.0
    d.advance(HOUR)
    assert offered_2(core) == 1000.0
    d.advance(HOUR + 60)
    assert offered_2(core) == 5000.0


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
@pytest.mark.parametrize("offset", OFFSETS)
def test_v2_absolute_and_recurring_profiles(version: str, offset: float) -> None:
    d, core = v2(version, offset)
    d.now -= offset  # the CSMS's clock reads 11:30
    midnight = d.csms_iso()[:10] + "T00:00:00.000Z"
    recurring = v2_profile(6, "TxDefaultProfile", "Recurring", [(0, 3000.0), (12 * 3600, 6000.0)],
                           startSchedule=midnight, recurrencyKind="Daily")
    assert d.csms_call("SetChargingProfile", {"evseId": 1, "chargingProfile": recurring})["status"] == "Accepted"
    absolute = v2_profile(7, "ChargingStationMaxProfile", "Absolute", [(0, 2000.0)],
                          startSchedule=d.csms_iso(3 * HOUR))
    assert d.csms_call("SetChargingProfile", {"evseId": 0, "chargingProfile": absolute})["status"] == "Accepted"
    assert d.act(core.start_session, 1, "TAG").ok
    d.advance(10)
    assert offered_2(core) == 3000.0
    d.advance(HOUR)  # 12:30
    assert offered_2(core) == 6000.0
    d.advance(2 * HOUR)  # 14:30: the station maximum of 2 kW applies from 14:30
    assert offered_2(core) == 2000.0
    d.advance(2 * DAY)
    assert offered_2(core) == 2000.0


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
@pytest.mark.parametrize("offset", OFFSETS)
def test_v2_offline_cache_expiry(version: str, offset: float) -> None:
    d, core = v2(version, offset)
    d.answers["Authorize"] = lambda p: {"idTokenInfo": {"status": "Accepted", "cacheExpiryDateTime": d.csms_iso(HOUR)}}
    assert d.act(core.present_id_token, 1, "CARD").data == {"authorizing": True}
    d.advance(200)  # EVConnectionTimeOut lapses the authorization
    assert core.evses[1].auth_token is None
    d.go_offline()
    assert d.act(core.present_id_token, 1, "CARD").data == {"local": "Cache"}
    d.advance(200)
    d.advance(3 * HOUR)
    assert not d.act(core.present_id_token, 1, "CARD").ok


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
@pytest.mark.parametrize("offset", OFFSETS)
def test_v2_reservation_expiry(version: str, offset: float) -> None:
    d, core = v2(version, offset)
    answer = d.csms_call("ReserveNow", {"id": 21, "evseId": 1, "expiryDateTime": d.csms_iso(30 * 60),
                                        "idToken": {"idToken": "CARD", "type": "ISO14443"}})
    assert answer == {"status": "Accepted"}
    assert core.evses[1].connectors[1].status == "Reserved"
    d.advance(29 * 60)
    assert core.evses[1].connectors[1].status == "Reserved"
    d.advance(2 * 60)
    assert core.evses[1].connectors[1].status == "Available"
    assert d.sent("ReservationStatusUpdate") == [{"reservationId": 21, "reservationUpdateStatus": "Expired"}]


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
@pytest.mark.parametrize("offset", OFFSETS)
def test_v2_display_message_window(version: str, offset: float) -> None:
    d, core = v2(version, offset)
    msg = {"id": 9, "priority": "NormalCycle", "message": {"format": "UTF8", "content": "Happy hour"},
           "startDateTime": d.csms_iso(10 * 60), "endDateTime": d.csms_iso(20 * 60)}
    assert d.csms_call("SetDisplayMessage", {"message": msg}) == {"status": "Accepted"}
    assert core.displayed_messages(d.now) == []
    d.advance(11 * 60)
    assert [m["id"] for m in core.displayed_messages(d.now)] == [9]
    d.advance(10 * 60)
    assert core.displayed_messages(d.now) == []
    assert d.csms_call("GetDisplayMessages", {"requestId": 1}) == {"status": "Unknown"}
    assert core.dm.get_value("DisplayMessageCtrlr", "DisplayMessages") == "0"


@pytest.mark.parametrize("offset", OFFSETS)
def test_v21_default_tariff_applies_from_its_valid_from(offset: float) -> None:
    d, core = v2("2.1", offset)
    assert isinstance(core, Station21)
    tariff = {"tariffId": "T-later", "currency": "EUR", "validFrom": d.csms_iso(HOUR),
              "energy": {"prices": [{"priceKwh": 0.3}]}}
    assert d.csms_call("SetDefaultTariff", {"evseId": 0, "tariff": tariff}) == {"status": "Accepted"}
    assert d.act(core.start_session, 1, "TAG").ok
    started = [p for p in d.sent("TransactionEvent") if p["eventType"] == "Started"]
    assert "tariffId" not in started[-1]["transactionInfo"]
    assert d.act(core.stop_session, 1).ok
    d.act(core.unplug, 1)
    d.advance(HOUR + 60)
    assert d.act(core.start_session, 1, "TAG").ok
    started = [p for p in d.sent("TransactionEvent") if p["eventType"] == "Started"]
    assert started[-1]["transactionInfo"]["tariffId"] == "T-later"
