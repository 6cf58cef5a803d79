"""The typed station-action interface, on every version: each action does exactly what it says."""

from __future__ import annotations

import pytest

from ocppemu.ocpp.versions import Version
from ocppemu.station.actions import StationActions
from ocppemu.station.core import StationCore
from tests.station.virtual import VirtualCsms, config

VERSIONS = ["1.6", "2.0.1", "2.1"]


def booted(version: str) -> tuple[VirtualCsms, StationActions]:
    d = VirtualCsms(config(version))
    d.boot()
    actions: StationActions = d.core  # every core is a StationActions (mypy checks this assignment)
    return d, actions


def running(core: StationCore) -> bool:
    return bool(core.active_transactions())


@pytest.mark.parametrize("version", VERSIONS)
def test_start_on_a_charging_connector_is_refused_and_the_session_goes_on(version: str) -> None:
    d, actions = booted(version)
    assert actions.start(1, "TAG", d.now).ok
    d.pump()
    assert running(d.core)
    again = actions.start(1, "TAG", d.now)
    assert not again.ok and "already charging" in (again.error or "")
    d.pump()
    assert running(d.core)


@pytest.mark.parametrize("version", VERSIONS)
def test_present_tag_is_the_swipe_that_stops_and_says_so(version: str) -> None:
    d, actions = booted(version)
    assert actions.start(1, "TAG", d.now).ok
    d.pump()
    result = actions.present_tag(1, "TAG", d.now)
    d.pump()
    assert result.ok and result.data.get("stopped") is True
    assert not running(d.core)


@pytest.mark.parametrize("version", VERSIONS)
def test_fault_codes_are_checked(version: str) -> None:
    d, actions = booted(version)
    bad = actions.inject_fault(1, "Gremlins", d.now)
    assert not bad.ok and "unknown fault error code 'Gremlins'" in (bad.error or "")
    assert "GroundFailure" in (bad.error or "")
    assert actions.inject_fault(1, "GroundFailure", d.now).ok
    d.pump()
    assert actions.recover(1, d.now).ok
    d.pump()
    assert set(actions.fault_codes()) >= {"GroundFailure", "OverCurrentFailure"}
    if d.core.version is Version.V16:
        status = [p for p in d.sent("StatusNotification") if p["connectorId"] == 1]
        assert [(p["status"], p["errorCode"]) for p in status][-2:] == [("Faulted", "GroundFailure"),
                                                                        ("Available", "NoError")]


@pytest.mark.parametrize("version", VERSIONS)
def test_power_loss_ends_sessions_with_power_loss_and_reboots(version: str) -> None:
    d, actions = booted(version)
    assert actions.start(1, "TAG", d.now).ok
    d.pump()
    assert actions.power_loss(d.now).ok
    d.pump()
    assert not running(d.core)
    if d.core.version is Version.V16:
        assert d.sent("StopTransaction")[-1]["reason"] == "PowerLoss"
    else:
        ended = [p for p in d.sent("TransactionEvent") if p["eventType"] == "Ended"]
        assert ended[-1]["transactionInfo"]["stoppedReason"] == "PowerLoss"
    assert [r.kind for r in d.core.take_requests()] == ["reboot"]


@pytest.mark.parametrize("version", VERSIONS)
def test_suspend_resume_network_drop_and_status(version: str) -> None:
    d, actions = booted(version)
    assert not actions.suspend(1, "EV", d.now).ok  # nothing to suspend
    assert actions.start(1, "TAG", d.now).ok
    d.pump()
    assert actions.suspend(1, "EV", d.now).ok
    assert actions.resume(1, d.now).ok
    assert actions.stop(1, d.now, "Local").ok
    assert not actions.stop(1, d.now).ok
    assert actions.unplug(1, d.now).ok
    assert actions.network_drop(30, d.now).data == {"offline_seconds": 30}
    assert [(r.kind, r.seconds) for r in d.core.take_requests()] == [("disconnect", 30)]
    status = actions.set_status(1, "Unavailable", "NoError", d.now)
    if d.core.version is Version.V16:
        assert status.ok
        bad = actions.set_status(1, "Finishing", "NoError", d.now)
        assert not bad.ok and "Unavailable -> Finishing" in (bad.error or "")
    else:
        assert not status.ok and "follows the EVSE" in (status.error or "")
