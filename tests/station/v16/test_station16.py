"""The 1.6 station core driven with plain calls (no network): registration, sessions, offline queue, bad input."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocppemu.ocpp.records import FrameRecord
from ocppemu.station.core import Sinks
from ocppemu.station.v16.station import Station16
from tests.station.v16.helpers import station_config

T0 = 1_800_000_000.0


class FakeCsms:
    """Answers the station's CALLs like a permissive CSMS; lets tests inject frames."""

    def __init__(self, station: Station16, boot_status: str = "Accepted") -> None:
        self.st = station
        self.boot_status = boot_status
        self.calls: list[list[Any]] = []
        self.answers: list[list[Any]] = []
        self.next_tx = 100

    def pump(self, now: float, answer: bool = True) -> None:
        for _ in range(50):
            out = self.st.take_outbox()
            if not out:
                return
            for text in out:
                frame = json.loads(text)
                if frame[0] != 2:
                    self.answers.append(frame)
                    continue
                self.calls.append(frame)
                if answer:
                    self.st.receive(json.dumps([3, frame[1], self.reply(frame[2], frame[3])]), now)

    def reply(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action == "BootNotification":
            return {"status": self.boot_status, "currentTime": "2027-01-15T08:00:00Z", "interval": 60}
        if action == "Heartbeat":
            return {"currentTime": "2027-01-15T08:00:00Z"}
        if action == "Authorize":
            return {"idTagInfo": {"status": "Accepted" if payload["idTag"] != "BAD" else "Invalid"}}
        if action == "StartTransaction":
            self.next_tx += 1
            return {"transactionId": self.next_tx, "idTagInfo": {"status": "Accepted"}}
        if action == "StopTransaction":
            return {}
        return {}

    def actions(self) -> list[str]:
        return [c[2] for c in self.calls]


def make(**overrides: Any) -> tuple[Station16, FakeCsms, list[FrameRecord]]:
    frames: list[FrameRecord] = []
    st = Station16(station_config("ws://127.0.0.1:1/ocpp", **overrides), Sinks(frame=frames.append))
    return st, FakeCsms(st), frames


def boot(st: Station16, csms: FakeCsms, now: float = T0) -> None:
    st.connected(now)
    st.tick(now)
    csms.pump(now)


def test_boot_accepted_sends_status_of_every_connector() -> None:
    st, csms, _ = make(connectors=[{"id": 1}, {"id": 2}])
    boot(st, csms)
    assert st.online and st.heartbeat_interval == 60
    assert csms.actions() == ["BootNotification"] + ["StatusNotification"] * 3
    assert [c[3]["connectorId"] for c in csms.calls[1:]] == [0, 1, 2]
    assert st.next_deadline() is not None


def test_boot_pending_and_rejected_retry_and_send_nothing_else() -> None:
    for status in ("Pending", "Rejected"):
        st, csms, _ = make()
        csms.boot_status = status
        boot(st, csms)
        assert not st.online and csms.actions() == ["BootNotification"]
        assert st.timers.due_at("boot") == T0 + 60
        st.tick(T0 + 60)
        csms.boot_status = "Accepted"
        csms.pump(T0 + 60)
        assert st.online


def test_heartbeat_at_the_interval() -> None:
    st, csms, _ = make()
    boot(st, csms)
    st.tick(T0 + 59)
    csms.pump(T0 + 59)
    assert "Heartbeat" not in csms.actions()
    st.tick(T0 + 60)
    csms.pump(T0 + 60)
    assert csms.actions().count("Heartbeat") == 1


def test_full_session_and_meter_values() -> None:
    st, csms, _ = make()
    boot(st, csms)
    assert st.start_session(1, "TAG", T0 + 1).ok
    csms.pump(T0 + 1)
    assert st.connectors[1].tx is not None and st.connectors[1].tx.transaction_id == 101
    for i in range(2, 7):
        st.tick(T0 + i)
        csms.pump(T0 + i)
    meter_calls = [c[3] for c in csms.calls if c[2] == "MeterValues"]
    assert len(meter_calls) == 5 and all(m["transactionId"] == 101 for m in meter_calls)
    sampled = meter_calls[-1]["meterValue"][0]["sampledValue"]
    by = {s["measurand"]: float(s["value"]) for s in sampled}
    assert by["Power.Active.Import"] > 0
    assert abs(by["Power.Active.Import"] - by["Voltage"] * by["Current.Import"] * 3) < 0.02 * by["Power.Active.Import"] + 50
    assert st.stop_session(1, T0 + 7).ok
    csms.pump(T0 + 7)
    stop = [c[3] for c in csms.calls if c[2] == "StopTransaction"][0]
    assert stop["transactionId"] == 101 and stop["reason"] == "Local" and stop["meterStop"] > 0
    statuses = [c[3]["status"] for c in csms.calls if c[2] == "StatusNotification" and c[3]["connectorId"] == 1]
    assert statuses == ["Available", "Preparing", "Charging", "Finishing"]
    assert st.unplug(1, T0 + 8).ok
    csms.pump(T0 + 8)
    assert csms.calls[-1][3]["status"] == "Available"


def test_rejected_id_tag_does_not_start() -> None:
    st, csms, _ = make()
    boot(st, csms)
    st.start_session(1, "BAD", T0 + 1)
    csms.pump(T0 + 1)
    assert "StartTransaction" not in csms.actions() and st.connectors[1].tx is None


def test_offline_session_is_delivered_in_order_with_the_transaction_id_filled_in() -> None:
    st, csms, _ = make(configuration_overrides={"AllowOfflineTxForUnknownId": "true", "LocalAuthorizeOffline": "true"})
    boot(st, csms)
    st.disconnected(T0 + 1)
    assert st.start_session(1, "OFFLINE", T0 + 2).ok
    for i in range(3, 6):
        st.tick(T0 + i)
    st.stop_session(1, T0 + 6)
    assert [e.action for e in st.queue] == ["StartTransaction", "MeterValues", "MeterValues", "MeterValues",
                                            "StopTransaction"]
    assert all(e.offline for e in st.queue)
    st.take_outbox()
    csms.calls.clear()
    boot(st, csms, T0 + 10)
    tx = [c for c in csms.calls if c[2] in ("StartTransaction", "MeterValues", "StopTransaction")]
    assert [c[2] for c in tx] == ["StartTransaction", "MeterValues", "MeterValues", "MeterValues", "StopTransaction"]
    assert {c[3]["transactionId"] for c in tx[1:]} == {101}
    assert len(st.queue) == 0


def test_remote_start_reset_unlock_and_unknown_commands() -> None:
    st, csms, _ = make()
    boot(st, csms)
    st.receive(json.dumps([2, "r1", "RemoteStartTransaction", {"idTag": "R"}]), T0 + 1)
    csms.pump(T0 + 1)
    assert csms.answers[0] == [3, "r1", {"status": "Accepted"}]
    assert st.connectors[1].tx is not None
    st.receive(json.dumps([2, "r2", "RemoteStartTransaction", {"idTag": "R", "connectorId": 1}]), T0 + 2)
    csms.pump(T0 + 2)
    assert csms.answers[-1] == [3, "r2", {"status": "Rejected"}]  # already charging
    st.receive(json.dumps([2, "r3", "Reset", {"type": "Hard"}]), T0 + 3)
    csms.pump(T0 + 3)
    assert [c[3]["reason"] for c in csms.calls if c[2] == "StopTransaction"] == ["HardReset"]
    st.tick(T0 + 4)
    assert [r.kind for r in st.take_requests()] == ["reboot"]


def test_change_configuration_heartbeat_interval_takes_effect() -> None:
    st, csms, _ = make()
    boot(st, csms)
    st.receive(json.dumps([2, "c1", "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "5"}]), T0 + 1)
    csms.pump(T0 + 1)
    assert csms.answers[-1] == [3, "c1", {"status": "Accepted"}]
    st.tick(T0 + 6)
    csms.pump(T0 + 6)
    assert csms.actions().count("Heartbeat") == 1


def test_reservation_is_used_by_its_id_tag() -> None:
    st, csms, _ = make()
    boot(st, csms)
    st.receive(json.dumps([2, "v1", "ReserveNow", {"connectorId": 1, "expiryDate": "2027-01-15T09:00:00Z",
                                                   "idTag": "RES", "reservationId": 7}]), T0 + 1)
    csms.pump(T0 + 1)
    assert csms.answers[-1] == [3, "v1", {"status": "Accepted"}] and st.connectors[1].status == "Reserved"
    st.start_session(1, "RES", T0 + 2)
    csms.pump(T0 + 2)
    start = [c[3] for c in csms.calls if c[2] == "StartTransaction"][0]
    assert start["reservationId"] == 7


def test_smart_charging_limits_power_and_composite_schedule() -> None:
    st, csms, _ = make()
    boot(st, csms)
    st.start_session(1, "TAG", T0 + 1)
    csms.pump(T0 + 1)
    profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
               "chargingProfileKind": "Absolute",
               "chargingSchedule": {"chargingRateUnit": "W", "startSchedule": "2020-01-01T00:00:00Z",
                                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 3000}]}}
    st.receive(json.dumps([2, "s1", "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile}]), T0 + 2)
    csms.pump(T0 + 2)
    assert csms.answers[-1] == [3, "s1", {"status": "Accepted"}]
    assert st.connectors[1].meter is not None and st.connectors[1].meter.power_w <= 3000
    st.receive(json.dumps([2, "s2", "GetCompositeSchedule", {"connectorId": 1, "duration": 600}]), T0 + 3)
    csms.pump(T0 + 3)
    answer = csms.answers[-1][2]
    assert answer["status"] == "Accepted"
    assert answer["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 3000


frames_strategy = st.one_of(
    st.text(max_size=50),
    st.builds(lambda p: json.dumps([2, "id", "RemoteStopTransaction", p]),
              st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3)),
    st.builds(lambda t: json.dumps([t, "x", "Reset", {"type": "Soft"}]), st.integers(-5, 10).filter(lambda t: t != 2)),
    st.builds(lambda a: json.dumps([2, "y", a, {}]), st.text(max_size=20)),
    st.builds(lambda mid: json.dumps([3, mid, {"status": "Accepted"}]), st.text(max_size=10)),
    st.builds(lambda n: json.dumps([2, "z", "DataTransfer", {"vendorId": "v" * n}]), st.integers(0, 300)),
    st.just(json.dumps([2, "big", "DataTransfer", {"vendorId": "v", "data": "x" * 100_000}])),
    st.just("[4, \"q\", \"GenericError\", \"oops\", {}]"),
    st.just(json.dumps([2, "t", "ChangeConfiguration", {"key": 5, "value": None}])),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(frames_strategy, min_size=1, max_size=8))
def test_malformed_frames_never_crash_and_keep_the_transaction(texts: list[str]) -> None:
    st, csms, frames = make()
    boot(st, csms)
    st.start_session(1, "TAG", T0 + 1)
    csms.pump(T0 + 1)
    tx = st.connectors[1].tx
    assert tx is not None and tx.transaction_id == 101
    for text in texts:
        st.receive(text, T0 + 2)
        csms.pump(T0 + 2)
    assert st.connectors[1].tx is tx
    for answer in csms.answers:
        assert answer[0] in (3, 4)
        if answer[0] == 4:
            assert isinstance(answer[2], str) and answer[2]
    errors_for_calls = [a for a in csms.answers if a[0] == 4]
    assert len(errors_for_calls) <= len(texts)
    assert all(f.validation_error for f in frames if f.direction == "received" and f.message_type == "Invalid")
    st.tick(T0 + 3)  # still alive: timers keep working
    csms.pump(T0 + 3)
    assert st.online
