"""Local authorization: the local list (SendLocalList), the cache, the wire converters and the decision table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest

from ocppemu.config.station import StationConfig
from ocppemu.station.authorization import (
    AuthFlags,
    AuthInfo,
    AuthorizationCache,
    AuthorizationDataError,
    IdToken,
    ListUpdate,
    LocalAuthList,
    decide,
    flags_from_values,
    from_id_tag_info,
    from_id_token_info,
    list_update_from_v2,
    list_update_from_v16,
    to_id_tag_info,
    to_id_token_info,
)
from ocppemu.station.configuration_keys import ConfigurationStore

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
EARLIER = NOW - timedelta(days=1)

ACCEPTED = AuthInfo("Accepted")
BLOCKED = AuthInfo("Blocked")


def tag(value: str) -> IdToken:
    return IdToken(value)


def full(version: int, *entries: tuple[str, AuthInfo | None]) -> ListUpdate:
    return ListUpdate(version, "Full", tuple((tag(t), i) for t, i in entries))


def diff(version: int, *entries: tuple[str, AuthInfo | None]) -> ListUpdate:
    return ListUpdate(version, "Differential", tuple((tag(t), i) for t, i in entries))


# ------------------------------------------------------------------------------------------------ local list


def test_full_update_replaces_the_list() -> None:
    lst = LocalAuthList()
    assert lst.reported_version() == 0
    assert lst.apply(full(1, ("A", ACCEPTED), ("B", BLOCKED))) == "Accepted"
    assert lst.apply(full(2, ("C", ACCEPTED))) == "Accepted"
    assert lst.version == 2
    assert lst.reported_version() == 2
    assert lst.lookup(tag("A")) is None
    assert lst.lookup(tag("c")) == ACCEPTED  # identifiers are case-insensitive


def test_full_update_may_go_to_any_version_and_empty_list_reports_zero() -> None:
    lst = LocalAuthList()
    lst.apply(full(5, ("A", ACCEPTED)))
    assert lst.apply(full(3)) == "Accepted"
    assert len(lst) == 0
    assert lst.reported_version() == 0


def test_differential_adds_updates_and_removes() -> None:
    lst = LocalAuthList()
    lst.apply(full(1, ("A", ACCEPTED), ("B", ACCEPTED)))
    assert lst.apply(diff(2, ("A", BLOCKED), ("B", None), ("C", ACCEPTED), ("Z", None))) == "Accepted"
    assert lst.version == 2
    assert lst.lookup(tag("A")) == BLOCKED
    assert lst.lookup(tag("B")) is None
    assert lst.lookup(tag("C")) == ACCEPTED
    assert len(lst) == 2


@pytest.mark.parametrize("version", [1, 2])
def test_differential_with_old_version_is_a_mismatch(version: int) -> None:
    lst = LocalAuthList()
    lst.apply(full(2, ("A", ACCEPTED)))
    assert lst.apply(diff(version, ("B", ACCEPTED))) == "VersionMismatch"
    assert lst.lookup(tag("B")) is None
    assert lst.version == 2


def test_failed_updates_leave_the_list_unchanged() -> None:
    lst = LocalAuthList(max_length=2, max_items_per_message=3)
    lst.apply(full(1, ("A", ACCEPTED)))
    assert lst.apply(full(2, ("B", None))) == "Failed"  # Full entries need their info
    assert lst.apply(full(2, ("B", ACCEPTED), ("b", BLOCKED))) == "Failed"  # duplicate (case-insensitive)
    assert lst.apply(diff(2, ("B", ACCEPTED), ("C", ACCEPTED))) == "Failed"  # list would hold 3 > 2
    assert lst.apply(full(2, ("B", ACCEPTED), ("C", ACCEPTED), ("D", ACCEPTED), ("E", ACCEPTED))) == "Failed"
    assert lst.apply(full(-1)) == "Failed"
    assert lst.version == 1
    assert [t.id for t, _ in lst] == ["A"]


def test_disabled_or_unsupported_list() -> None:
    disabled = LocalAuthList(enabled=False)
    assert disabled.apply(full(1, ("A", ACCEPTED))) == "NotSupported"
    assert len(disabled) == 0
    unsupported = LocalAuthList(supported=False)
    assert unsupported.apply(full(1, ("A", ACCEPTED))) == "NotSupported"
    assert unsupported.reported_version() == -1


def test_v16_send_local_list_payload() -> None:
    validate = fastjsonschema.compile(json.loads((SCHEMAS / "v16" / "SendLocalList.json").read_text()))
    payload: dict[str, Any] = {"listVersion": 3, "updateType": "Full", "localAuthorizationList": [
        {"idTag": "TAG1", "idTagInfo": {"status": "Accepted", "expiryDate": "2030-01-01T00:00:00Z",
                                        "parentIdTag": "GROUP"}},
        {"idTag": "TAG2", "idTagInfo": {"status": "Blocked"}},
    ]}
    validate(payload)
    update = list_update_from_v16(payload)
    lst = LocalAuthList()
    assert lst.apply(update) == "Accepted"
    info = lst.lookup(tag("tag1"))
    assert info is not None
    assert info.parent == IdToken("GROUP")
    assert info.expiry == datetime(2030, 1, 1, tzinfo=UTC)
    removal = list_update_from_v16({"listVersion": 4, "updateType": "Differential",
                                    "localAuthorizationList": [{"idTag": "TAG2"}]})
    assert lst.apply(removal) == "Accepted"
    assert lst.lookup(tag("TAG2")) is None


def test_v2_send_local_list_payload_types_matter() -> None:
    validate = fastjsonschema.compile(
        json.loads((SCHEMAS / "v201" / "SendLocalListRequest.json").read_text()))
    payload: dict[str, Any] = {"versionNumber": 1, "updateType": "Full", "localAuthorizationList": [
        {"idToken": {"idToken": "ABC", "type": "ISO14443"},
         "idTokenInfo": {"status": "Accepted", "evseId": [1], "groupIdToken": {"idToken": "G", "type": "Central"}}},
    ]}
    validate(payload)
    lst = LocalAuthList()
    assert lst.apply(list_update_from_v2(payload)) == "Accepted"
    info = lst.lookup(IdToken("abc", "ISO14443"))
    assert info is not None
    assert info.evse_ids == (1,)
    assert lst.lookup(IdToken("ABC", "eMAID")) is None


@pytest.mark.parametrize("payload", [
    {"listVersion": "1", "updateType": "Full"},
    {"listVersion": 1, "updateType": "Partial"},
    {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [{"idTag": 5}]},
    {"listVersion": 1, "updateType": "Full",
     "localAuthorizationList": [{"idTag": "A", "idTagInfo": {"status": "Maybe"}}]},
    {"listVersion": 1, "updateType": "Full",
     "localAuthorizationList": [{"idTag": "A", "idTagInfo": {"status": "Accepted", "expiryDate": "tomorrow"}}]},
    "not an object",
])
def test_bad_payloads_raise_a_readable_error(payload: Any) -> None:
    with pytest.raises(AuthorizationDataError):
        list_update_from_v16(payload)


# ----------------------------------------------------------------------------------------------- converters


def test_id_tag_info_round_trip() -> None:
    wire = {"status": "Accepted", "expiryDate": "2030-01-01T00:00:00Z", "parentIdTag": "P"}
    assert to_id_tag_info(from_id_tag_info(wire)) == wire
    assert to_id_tag_info(AuthInfo("Accepted")) == {"status": "Accepted"}


def test_id_token_info_round_trip_and_cross_version() -> None:
    wire = {"status": "NotAtThisTime", "cacheExpiryDateTime": "2030-01-01T00:00:00Z", "chargingPriority": 2,
            "language1": "en", "evseId": [1, 2], "groupIdToken": {"idToken": "G", "type": "Local"},
            "language2": "nl", "personalMessage": {"format": "UTF8", "content": "hi"}}
    info = from_id_token_info(wire)
    assert to_id_token_info(info) == wire
    # 1.6 has no such status nor 2.x-only fields
    assert to_id_tag_info(info) == {"status": "Invalid", "expiryDate": "2030-01-01T00:00:00Z", "parentIdTag": "G"}
    # a 1.6 parent becomes a typed group token
    assert to_id_token_info(from_id_tag_info({"status": "Accepted", "parentIdTag": "P"})) == {
        "status": "Accepted", "groupIdToken": {"idToken": "P", "type": "Central"}}


def test_converted_infos_validate_against_the_response_schemas() -> None:
    v16 = fastjsonschema.compile(json.loads((SCHEMAS / "v16" / "AuthorizeResponse.json").read_text()))
    v201 = fastjsonschema.compile(json.loads((SCHEMAS / "v201" / "AuthorizeResponse.json").read_text()))
    info = AuthInfo("NoCredit", expiry=LATER, parent=IdToken("P"), evse_ids=(1,), charging_priority=1)
    v16({"idTagInfo": to_id_tag_info(info)})
    v201({"idTokenInfo": to_id_token_info(info)})


def test_naive_datetimes_are_taken_as_utc() -> None:
    info = AuthInfo("Accepted", expiry=datetime(2030, 1, 1))
    assert to_id_tag_info(info)["expiryDate"] == "2030-01-01T00:00:00Z"
    assert info.is_valid(NOW)


# -------------------------------------------------------------------------------------------------- cache


def test_cache_expiry_turns_accepted_into_expired() -> None:
    cache = AuthorizationCache()
    cache.put(tag("A"), AuthInfo("Accepted", expiry=NOW + timedelta(minutes=5)), NOW)
    hit = cache.get(tag("a"), NOW)
    assert hit is not None and hit.status == "Accepted"
    expired = cache.get(tag("A"), NOW + timedelta(minutes=5))
    assert expired is not None and expired.status == "Expired"


def test_cache_lifetime_drops_old_entries() -> None:
    cache = AuthorizationCache(lifetime=timedelta(hours=1))
    cache.put(tag("A"), ACCEPTED, NOW)
    assert cache.get(tag("A"), NOW + timedelta(minutes=59)) == ACCEPTED
    assert cache.get(tag("A"), NOW + timedelta(hours=1)) is None
    assert len(cache) == 0


def test_cache_clear() -> None:
    cache = AuthorizationCache()
    cache.put(tag("A"), ACCEPTED, NOW)
    cache.put(tag("B"), BLOCKED, NOW)
    cache.clear()
    assert len(cache) == 0
    assert cache.get(tag("A"), NOW) is None


def test_cache_evicts_least_recently_used() -> None:
    cache = AuthorizationCache(max_entries=2)
    cache.put(tag("A"), ACCEPTED, NOW)
    cache.put(tag("B"), ACCEPTED, NOW)
    assert cache.get(tag("A"), NOW) is not None  # A is now the most recently used
    cache.put(tag("C"), ACCEPTED, NOW)
    assert [t.id for t in cache.tokens()] == ["A", "C"]
    assert cache.get(tag("B"), NOW) is None


def test_cache_update_replaces_the_entry() -> None:
    cache = AuthorizationCache()
    cache.put(tag("A"), ACCEPTED, NOW)
    cache.put(tag("A"), BLOCKED, NOW)
    assert cache.get(tag("A"), NOW) == BLOCKED
    assert len(cache) == 1


# ----------------------------------------------------------------------------------------------- decision


def setup(list_entries: dict[str, AuthInfo], cache_entries: dict[str, AuthInfo]
          ) -> tuple[LocalAuthList, AuthorizationCache]:
    lst = LocalAuthList()
    lst.apply(full(1, *list_entries.items()))
    cache = AuthorizationCache()
    for token, info in cache_entries.items():
        cache.put(tag(token), info, NOW)
    return lst, cache


LIST = {"LISTOK": ACCEPTED, "LISTBLOCKED": BLOCKED, "LISTOLD": AuthInfo("Accepted", expiry=EARLIER),
        "BOTH": BLOCKED}
CACHE = {"CACHEOK": ACCEPTED, "CACHEBAD": AuthInfo("Invalid"), "BOTH": ACCEPTED}

PRE = AuthFlags(local_pre_authorize=True)
NO_PRE = AuthFlags(local_pre_authorize=False)
OFFLINE = AuthFlags(local_authorize_offline=True, allow_offline_tx_for_unknown_id=False)
OFFLINE_UNKNOWN = AuthFlags(local_authorize_offline=True, allow_offline_tx_for_unknown_id=True)
OFFLINE_NO_LOCAL = AuthFlags(local_authorize_offline=False, allow_offline_tx_for_unknown_id=False)
NO_CACHE = AuthFlags(local_pre_authorize=True, authorization_cache_enabled=False)
NO_LIST = AuthFlags(local_pre_authorize=True, local_auth_list_enabled=False)


@pytest.mark.parametrize(("token", "online", "flags", "outcome", "source", "status"), [
    # online without LocalPreAuthorize: always ask
    ("LISTOK", True, NO_PRE, "AskCsms", "None", None),
    # online with LocalPreAuthorize
    ("LISTOK", True, PRE, "Accepted", "LocalList", "Accepted"),
    ("CACHEOK", True, PRE, "Accepted", "Cache", "Accepted"),
    ("LISTBLOCKED", True, PRE, "AskCsms", "LocalList", "Blocked"),
    ("LISTOLD", True, PRE, "AskCsms", "LocalList", "Expired"),
    ("CACHEBAD", True, PRE, "AskCsms", "Cache", "Invalid"),
    ("UNKNOWN", True, PRE, "AskCsms", "None", None),
    ("BOTH", True, PRE, "AskCsms", "LocalList", "Blocked"),  # the list wins over the cache
    ("CACHEOK", True, NO_CACHE, "AskCsms", "None", None),
    ("LISTOK", True, NO_LIST, "AskCsms", "None", None),
    ("BOTH", True, NO_LIST, "Accepted", "Cache", "Accepted"),
    # offline
    ("LISTOK", False, OFFLINE, "Accepted", "LocalList", "Accepted"),
    ("CACHEOK", False, OFFLINE, "Accepted", "Cache", "Accepted"),
    ("LISTBLOCKED", False, OFFLINE, "Rejected", "LocalList", "Blocked"),
    ("LISTOLD", False, OFFLINE, "Rejected", "LocalList", "Expired"),
    ("LISTBLOCKED", False, OFFLINE_UNKNOWN, "Rejected", "LocalList", "Blocked"),  # known, so not "unknown"
    ("UNKNOWN", False, OFFLINE, "Rejected", "None", "Invalid"),
    ("UNKNOWN", False, OFFLINE_UNKNOWN, "Accepted", "OfflineUnknown", "Accepted"),
    ("LISTOK", False, OFFLINE_NO_LOCAL, "Rejected", "None", "Invalid"),
])
def test_decision_table(token: str, online: bool, flags: AuthFlags, outcome: str, source: str,
                        status: str | None) -> None:
    lst, cache = setup(LIST, CACHE)
    decision = decide(tag(token), online=online, flags=flags, now=NOW, local_list=lst, cache=cache)
    assert (decision.outcome, decision.source) == (outcome, source), decision.reason
    assert (decision.info.status if decision.info else None) == status
    assert decision.reason


def test_decision_without_list_or_cache() -> None:
    decision = decide(tag("X"), online=False, flags=OFFLINE_UNKNOWN, now=NOW)
    assert decision.outcome == "Accepted"


def test_flags_follow_the_configuration_store() -> None:
    store = ConfigurationStore.for_station(StationConfig(station_id="CP1", configuration_overrides={
        "LocalPreAuthorize": "true", "AllowOfflineTxForUnknownId": "true", "AuthorizationCacheEnabled": "false"}))
    flags = flags_from_values(store.get_bool)
    assert flags == AuthFlags(local_pre_authorize=True, local_authorize_offline=True,
                              allow_offline_tx_for_unknown_id=True, authorization_cache_enabled=False,
                              local_auth_list_enabled=True)
