"""Every row of every state table, the refusals they give, and the station machines under random actions."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ocppemu.station.state_tables import (
    ALL_TABLES,
    CONNECTOR_16,
    TX_START_POINTS,
    TX_STOP_POINTS,
    IllegalTransition,
    StateTable,
    start_point_reached,
    stop_point_reached,
)
from ocppemu.station.v16.station import Station16
from ocppemu.station.v201.station import Station201
from tests.station.virtual import VirtualCsms, config

ROWS = [(t, s, e, n) for t in ALL_TABLES for (s, e), n in t.rows.items()]


@pytest.mark.parametrize(("table", "state", "event", "nxt"), ROWS,
                         ids=[f"{t.name}:{s}->{e}" for t, s, e, _ in ROWS])
def test_every_row(table: StateTable, state: str, event: str, nxt: str) -> None:
    assert table.allows(state, event)
    assert table.fire(state, event) == nxt


@pytest.mark.parametrize("table", ALL_TABLES, ids=[t.name for t in ALL_TABLES])
def test_every_missing_row_is_a_named_refusal(table: StateTable) -> None:
    refused = 0
    for state in table.states:
        for event in table.events() | {"NoSuchEvent"}:
            if table.allows(state, event):
                continue
            with pytest.raises(IllegalTransition) as info:
                table.fire(state, event, connector=3)
            assert info.value.table == table.name and info.value.state == state and info.value.event == event
            assert table.name in str(info.value) and "connector=3" in str(info.value)
            refused += 1
    assert refused > 0


@pytest.mark.parametrize("point", sorted(TX_START_POINTS))
def test_every_tx_start_point(point: str) -> None:
    need = set(TX_START_POINTS[point])
    assert start_point_reached([point], need)
    for missing in need:
        assert not start_point_reached([point], need - {missing})
    assert not start_point_reached(["NoSuchPoint"], {"plugged", "authorized"})


@pytest.mark.parametrize("point", sorted(TX_STOP_POINTS))
def test_every_tx_stop_point(point: str) -> None:
    lost = TX_STOP_POINTS[point]
    assert stop_point_reached([point], lost)
    assert not stop_point_reached([point], "plugged" if lost == "authorized" else "authorized")


# -- issue 13: a remote start on a connector reserved for that idTag -------------------------------------------


def test_v16_remote_start_on_a_reserved_connector_passes_preparing_and_answers_once() -> None:
    d = VirtualCsms(config("1.6"))
    d.boot()
    core = d.core
    assert isinstance(core, Station16)
    assert d.csms_call("ReserveNow", {"connectorId": 1, "expiryDate": d.csms_iso(3600), "idTag": "RES",
                                      "reservationId": 5}) == {"status": "Accepted"}
    before = len(d.sent("StatusNotification"))
    assert d.csms_call("RemoteStartTransaction", {"connectorId": 1, "idTag": "RES"}) == {"status": "Accepted"}
    d.advance(1)
    statuses = [p["status"] for p in d.sent("StatusNotification")[before:] if p["connectorId"] == 1]
    assert statuses == ["Preparing", "Charging"]
    start = d.sent("StartTransaction")[-1]
    assert start["reservationId"] == 5 and start["idTag"] == "RES"
    assert core.connectors[1].status == "Charging" and core.connectors[1].reservation is None
    assert core.last_error is None


# -- random action sequences --------------------------------------------------------------------------------------

TAGS = st.sampled_from(["A", "B"])
CONNECTORS = st.sampled_from([1, 2])
FAULTS_16 = st.sampled_from(["GroundFailure", "OverCurrentFailure", "OtherError"])


class Station16Machine(RuleBasedStateMachine):
    """A 1.6 charge point with two connectors under any sequence of driver, fault, CSMS and clock actions."""

    def __init__(self) -> None:
        super().__init__()
        self.d = VirtualCsms(config("1.6", connectors=[{"id": 1}, {"id": 2}]))
        self.d.boot()
        core = self.d.core
        assert isinstance(core, Station16)
        self.core = core

    def act(self, name: str, *args: Any) -> None:
        getattr(self.core, name)(*args, self.d.now)
        self.d.pump()

    @rule(c=CONNECTORS)
    def plug(self, c: int) -> None:
        self.act("plug_in", c)

    @rule(c=CONNECTORS)
    def unplug(self, c: int) -> None:
        self.act("unplug", c)

    @rule(c=CONNECTORS, tag=TAGS)
    def present(self, c: int, tag: str) -> None:
        self.act("present_id_tag", c, tag)

    @rule(c=CONNECTORS)
    def stop(self, c: int) -> None:
        self.act("stop_session", c)

    @rule(c=CONNECTORS, code=FAULTS_16)
    def fault(self, c: int, code: str) -> None:
        self.act("fault", c, code)

    @rule(c=CONNECTORS)
    def recover(self, c: int) -> None:
        self.act("clear_fault", c)

    @rule(c=CONNECTORS, by=st.sampled_from(["EV", "EVSE"]))
    def suspend(self, c: int, by: str) -> None:
        self.act("suspend", c, by)

    @rule(c=CONNECTORS)
    def resume(self, c: int) -> None:
        self.act("resume", c)

    @rule(c=CONNECTORS, tag=TAGS)
    def remote_start(self, c: int, tag: str) -> None:
        self.d.csms_call("RemoteStartTransaction", {"connectorId": c, "idTag": tag})

    @rule()
    def remote_stop(self) -> None:
        ids = [c.tx.transaction_id for c in self.core.connectors.values() if c.tx and c.tx.transaction_id]
        self.d.csms_call("RemoteStopTransaction", {"transactionId": ids[0] if ids else 999})

    @rule(c=CONNECTORS, tag=TAGS, rid=st.integers(1, 3))
    def reserve(self, c: int, tag: str, rid: int) -> None:
        self.d.csms_call("ReserveNow", {"connectorId": c, "expiryDate": self.d.csms_iso(600), "idTag": tag,
                                        "reservationId": rid})

    @rule(rid=st.integers(1, 3))
    def cancel(self, rid: int) -> None:
        self.d.csms_call("CancelReservation", {"reservationId": rid})

    @rule(c=st.sampled_from([0, 1, 2]), kind=st.sampled_from(["Inoperative", "Operative"]))
    def availability(self, c: int, kind: str) -> None:
        self.d.csms_call("ChangeAvailability", {"connectorId": c, "type": kind})

    @rule(seconds=st.sampled_from([1, 30, 90, 700]))
    def wait(self, seconds: int) -> None:
        self.d.advance(seconds)

    @invariant()
    def one_transaction_per_connector_and_a_valid_status_history(self) -> None:
        running = [t for t in self.core.transactions.values() if not t.stopping]
        assert len({t.connector_id for t in running}) == len(running)
        for cid in (1, 2):
            seen = [p["status"] for p in self.d.sent("StatusNotification") if p["connectorId"] == cid]
            for a, b in pairwise(seen):
                assert a == b or CONNECTOR_16.allows(a, b), (cid, seen)
        assert self.core.last_error is None or "internal error" not in self.core.last_error, self.core.last_error


class Station201Machine(RuleBasedStateMachine):
    """A 2.0.1 station with two EVSEs under random actions."""

    def __init__(self) -> None:
        super().__init__()
        self.d = VirtualCsms(config("2.0.1", connectors=[{"id": 1}, {"id": 2}]))
        self.d.boot()
        core = self.d.core
        assert isinstance(core, Station201)
        self.core = core

    def act(self, name: str, *args: Any) -> None:
        getattr(self.core, name)(*args, self.d.now)
        self.d.pump()

    @rule(e=CONNECTORS)
    def plug(self, e: int) -> None:
        self.act("plug_in", e)

    @rule(e=CONNECTORS)
    def unplug(self, e: int) -> None:
        self.act("unplug", e)

    @rule(e=CONNECTORS, tag=TAGS)
    def present(self, e: int, tag: str) -> None:
        self.act("present_id_token", e, tag)

    @rule(e=CONNECTORS)
    def stop(self, e: int) -> None:
        self.act("stop_session", e)

    @rule(e=CONNECTORS)
    def fault(self, e: int) -> None:
        self.act("fault", e)

    @rule(e=CONNECTORS)
    def recover(self, e: int) -> None:
        self.act("clear_fault", e)

    @rule(e=CONNECTORS, tag=TAGS, rid=st.integers(1, 100))
    def remote_start(self, e: int, tag: str, rid: int) -> None:
        self.d.csms_call("RequestStartTransaction", {"evseId": e, "remoteStartId": rid,
                                                     "idToken": {"idToken": tag, "type": "ISO14443"}})

    @rule(e=CONNECTORS, tag=TAGS, rid=st.integers(1, 3))
    def reserve(self, e: int, tag: str, rid: int) -> None:
        self.d.csms_call("ReserveNow", {"id": rid, "evseId": e, "expiryDateTime": self.d.csms_iso(600),
                                        "idToken": {"idToken": tag, "type": "ISO14443"}})

    @rule(kind=st.sampled_from(["Inoperative", "Operative"]), e=CONNECTORS)
    def availability(self, kind: str, e: int) -> None:
        self.d.csms_call("ChangeAvailability", {"operationalStatus": kind, "evse": {"id": e}})

    @rule(seconds=st.sampled_from([1, 30, 200, 700]))
    def wait(self, seconds: int) -> None:
        self.d.advance(seconds)

    @invariant()
    def one_transaction_per_evse_and_ordered_events(self) -> None:
        per_tx: dict[str, list[str]] = {}
        for p in self.d.sent("TransactionEvent"):
            per_tx.setdefault(p["transactionInfo"]["transactionId"], []).append(p["eventType"])
        open_now = [t for t, events in per_tx.items() if events[-1] != "Ended"]
        assert len(open_now) <= 2
        for events in per_tx.values():
            assert events[0] == "Started" and events.count("Started") == 1 and events.count("Ended") <= 1
            assert "Ended" not in events[:-1]
        for evse in self.core.evses.values():
            assert evse.tx is None or evse.tx.state in ("Active", "Ended")
        assert self.core.last_error is None or "internal error" not in self.core.last_error, self.core.last_error


_SETTINGS = settings(max_examples=40, stateful_step_count=30, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])
TestStation16Machine = Station16Machine.TestCase
TestStation16Machine.settings = _SETTINGS
TestStation201Machine = Station201Machine.TestCase
TestStation201Machine.settings = _SETTINGS
