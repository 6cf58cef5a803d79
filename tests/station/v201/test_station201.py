"""The 2.0.1 station core driven with plain calls: the device model really steers the engine."""

from __future__ import annotations

from typing import Any

from ocppemu.config.station import StationConfig
from ocppemu.ocpp.versions import Version
from ocppemu.station.factory import build_core
from ocppemu.station.v201.station import Station201
from tests.station.v201.helpers import Driver, station_config


def tx_events(d: Driver) -> list[dict[str, Any]]:
    return d.sent("TransactionEvent")


def set_var(d: Driver, component: str, variable: str, value: str) -> str:
    answer = d.csms_call("SetVariables", {"setVariableData": [
        {"component": {"name": component}, "variable": {"name": variable}, "attributeValue": value}]})
    return str(answer["setVariableResult"][0]["attributeStatus"])


def test_factory_builds_a_201_station() -> None:
    core = build_core(StationConfig(station_id="X", protocol_version=Version.V201))
    assert isinstance(core, Station201)
    assert core.boot_payload()["reason"] == "PowerUp"


def test_topology_groups_connectors_by_evse() -> None:
    cfg = station_config(connectors=[{"id": 1, "evse_id": 1}, {"id": 2, "evse_id": 1, "type": "CCS2"},
                                     {"id": 2}])
    d = Driver(cfg)
    assert sorted(d.core.evses) == [1, 2]
    assert sorted(d.core.evses[1].connectors) == [1, 2] and list(d.core.evses[2].connectors) == [1]
    d.boot()
    reported = {(p["evseId"], p["connectorId"]) for p in d.sent("StatusNotification")}
    assert reported == {(1, 1), (1, 2), (2, 1)}


def test_default_start_points_start_on_plug_in_and_authorize_later() -> None:
    d = Driver()
    d.boot()
    d.act("plug_in", 1)
    started = tx_events(d)[0]
    assert started["eventType"] == "Started" and started["triggerReason"] == "CablePluggedIn"
    assert started["transactionInfo"]["chargingState"] == "EVConnected" and "idToken" not in started
    d.act("present_id_token", 1, "TOK")
    assert d.sent("Authorize")[-1]["idToken"] == {"idToken": "TOK", "type": "ISO14443"}
    updated = tx_events(d)[1]
    assert updated["triggerReason"] == "Authorized" and updated["transactionInfo"]["chargingState"] == "Charging"
    assert updated["seqNo"] == 1 and updated["idToken"]["idToken"] == "TOK"
    d.act("unplug", 1)
    ended = tx_events(d)[-1]
    assert ended["eventType"] == "Ended" and ended["triggerReason"] == "EVCommunicationLost"
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert [e["seqNo"] for e in tx_events(d)] == list(range(len(tx_events(d))))


def test_start_point_authorized_only_waits_for_the_token() -> None:
    d = Driver()
    d.boot()
    assert set_var(d, "TxCtrlr", "TxStartPoint", "Authorized") == "Accepted"
    d.act("plug_in", 1)
    assert tx_events(d) == []
    d.act("present_id_token", 1, "TOK")
    started = tx_events(d)[0]
    assert started["eventType"] == "Started" and started["triggerReason"] == "Authorized"
    assert started["idToken"]["idToken"] == "TOK" and started["transactionInfo"]["chargingState"] == "Charging"


def test_auth_disabled_charges_on_plug_in() -> None:
    d = Driver()
    d.boot()
    assert set_var(d, "AuthCtrlr", "Enabled", "false") == "Accepted"
    assert d.act("start_session", 1, None).ok
    assert d.sent("Authorize") == []
    assert tx_events(d)[0]["transactionInfo"]["chargingState"] == "Charging"


def test_sampled_interval_paces_updated_events_and_read_only_is_rejected() -> None:
    d = Driver()
    d.boot()
    assert set_var(d, "SampledDataCtrlr", "TxUpdatedInterval", "5") == "Accepted"
    assert set_var(d, "ChargingStation", "VendorName", "x") == "Rejected"
    d.act("start_session", 1, "TOK")
    d.advance(16)
    periodic = [e for e in tx_events(d) if e["triggerReason"] == "MeterValuePeriodic"]
    assert len(periodic) == 3
    assert all(mv["sampledValue"][0]["context"] == "Sample.Periodic" for e in periodic for mv in e["meterValue"])


def test_heartbeat_interval_variable_sets_the_heartbeat() -> None:
    d = Driver()
    d.boot()
    assert set_var(d, "OCPPCommCtrlr", "HeartbeatInterval", "2") == "Accepted"
    d.advance(6.5)
    assert len(d.sent("Heartbeat")) == 3


def test_events_produced_offline_are_flagged_and_queued() -> None:
    d = Driver()
    d.boot()
    d.act("start_session", 1, "TOK")
    online_count = len(tx_events(d))
    d.core.disconnected(d.now)
    d.advance(3)
    d.act("stop_session", 1)
    queued = [e.payload for e in d.core.queue]
    assert len(queued) >= 3 and all(p["offline"] is True for p in queued)
    d.core.connected(d.now)
    d.advance(1)
    sent = tx_events(d)[online_count:]
    assert [p["seqNo"] for p in sent] == [p["seqNo"] for p in queued]
    assert sent[-1]["eventType"] == "Ended" and len(d.core.queue) == 0


def test_remote_start_echoes_remote_start_id_and_rejects_while_pending() -> None:
    d = Driver()
    d.answers["BootNotification"] = {"currentTime": "2030-01-01T00:00:00Z", "interval": 5, "status": "Pending"}
    d.core.connected(d.now)
    d.advance(0)
    req = {"idToken": {"idToken": "R1", "type": "Central"}, "remoteStartId": 5, "evseId": 1}
    assert d.csms_call("RequestStartTransaction", req)["status"] == "Rejected"
    d.answers["BootNotification"] = {"currentTime": "2030-01-01T00:00:00Z", "interval": 60, "status": "Accepted"}
    d.advance(6)
    assert d.core.online
    assert d.csms_call("RequestStartTransaction", req, "m2") == {"status": "Accepted"}
    started = tx_events(d)[0]
    assert started["triggerReason"] == "RemoteStart" and started["transactionInfo"]["remoteStartId"] == 5
    assert all("remoteStartId" not in e["transactionInfo"] for e in tx_events(d)[1:])
    tid = started["transactionInfo"]["transactionId"]
    status = d.csms_call("GetTransactionStatus", {"transactionId": tid}, "m3")
    assert status == {"messagesInQueue": False, "ongoingIndicator": True}
    assert d.csms_call("RequestStopTransaction", {"transactionId": tid}, "m4") == {"status": "Accepted"}
    assert tx_events(d)[-1]["transactionInfo"]["stoppedReason"] == "Remote"


def test_invalid_token_in_transaction_event_answer_ends_the_transaction() -> None:
    d = Driver()
    d.answers["TransactionEvent"] = {"idTokenInfo": {"status": "Blocked"}}
    d.boot()
    d.act("start_session", 1, "BAD")
    ended = tx_events(d)[-1]
    assert ended["eventType"] == "Ended" and ended["transactionInfo"]["stoppedReason"] == "DeAuthorized"


def test_reset_on_idle_is_scheduled_and_change_availability_waits() -> None:
    d = Driver()
    d.boot()
    d.act("start_session", 1, "TOK")
    assert d.csms_call("ChangeAvailability", {"operationalStatus": "Inoperative"}) == {"status": "Scheduled"}
    assert d.csms_call("Reset", {"type": "OnIdle"}, "m2") == {"status": "Scheduled"}
    assert d.core.take_requests() == []
    d.act("stop_session", 1)
    d.act("unplug", 1)
    d.advance(1)
    assert [r.kind for r in d.core.take_requests()] == ["reboot"]
    assert d.sent("StatusNotification")[-1]["connectorStatus"] == "Unavailable"


def test_reservation_expires_with_status_update() -> None:
    d = Driver()
    d.boot()
    answer = d.csms_call("ReserveNow", {"id": 3, "expiryDateTime": "2030-01-01T00:00:05Z", "evseId": 1,
                                        "idToken": {"idToken": "R", "type": "ISO14443"}})
    assert answer == {"status": "Accepted"}
    assert d.sent("StatusNotification")[-1]["connectorStatus"] == "Reserved"
    d.advance(6)
    assert d.sent("ReservationStatusUpdate") == [{"reservationId": 3, "reservationUpdateStatus": "Expired"}]
    assert d.sent("StatusNotification")[-1]["connectorStatus"] == "Available"


def test_availability_change_trips_the_factory_monitor() -> None:
    d = Driver()
    d.boot()
    assert d.csms_call("ChangeAvailability", {"operationalStatus": "Inoperative"}) == {"status": "Accepted"}
    events = [e for p in d.sent("NotifyEvent") for e in p["eventData"]]
    assert any(e["component"]["name"] == "ChargingStation" and e["actualValue"] == "Unavailable" for e in events)


def test_display_messages_cost_and_customer_information() -> None:
    d = Driver()
    d.boot()
    msg = {"id": 1, "priority": "NormalCycle", "message": {"format": "UTF8", "content": "Hello"}}
    assert d.csms_call("SetDisplayMessage", {"message": msg}) == {"status": "Accepted"}
    assert d.csms_call("GetDisplayMessages", {"requestId": 4}, "m2") == {"status": "Accepted"}
    assert d.sent("NotifyDisplayMessages")[0]["messageInfo"][0]["message"]["content"] == "Hello"
    assert d.csms_call("ClearDisplayMessage", {"id": 1}, "m3") == {"status": "Accepted"}
    assert d.csms_call("ClearDisplayMessage", {"id": 1}, "m4") == {"status": "Unknown"}
    d.act("start_session", 1, "TOK")
    tid = tx_events(d)[0]["transactionInfo"]["transactionId"]
    assert d.csms_call("CostUpdated", {"totalCost": 1.5, "transactionId": tid}, "m5") == {}
    assert d.core.evses[1].active_tx.total_cost == 1.5  # type: ignore[union-attr]
    answer = d.csms_call("CustomerInformation", {"requestId": 8, "report": True, "clear": True,
                                                 "customerIdentifier": "TOK"}, "m6")
    assert answer == {"status": "Accepted"}
    report = d.sent("NotifyCustomerInformation")[0]
    assert report["requestId"] == 8 and "TOK" in report["data"] and report["tbc"] is False


def test_ev_charging_needs_and_local_list() -> None:
    d = Driver()
    d.boot()
    assert d.act("notify_ev_charging_needs", 1).ok
    assert d.sent("NotifyEVChargingNeeds")[0]["chargingNeeds"]["requestedEnergyTransfer"] == "AC_three_phase"
    assert d.act("notify_ev_charging_schedule", 1).ok
    entry = {"idToken": {"idToken": "L1", "type": "ISO14443"}, "idTokenInfo": {"status": "Accepted"}}
    assert d.csms_call("SendLocalList", {"versionNumber": 4, "updateType": "Full",
                                         "localAuthorizationList": [entry]}) == {"status": "Accepted"}
    assert d.csms_call("GetLocalListVersion", {}, "m2") == {"versionNumber": 4}
    assert d.core.dm.get_value("LocalAuthListCtrlr", "Entries") == "1"
