"""The 1.6 durable snapshot and its restore, driven without a network (virtual time, real station core)."""

from __future__ import annotations

from datetime import UTC, datetime

from ocppemu.config.station import StationConfig
from ocppemu.station.core import Sinks
from ocppemu.station.factory import build_core
from ocppemu.station.offline_queue import QueuedMessage
from ocppemu.station.v16 import durable
from ocppemu.station.v16.station import Station16

T0 = 1_750_000_000.0


def station(policy: str = "end") -> Station16:
    cfg = StationConfig.model_validate({"station_id": "D16", "connectors": [{"id": 1}, {"id": 2}],
                                        "configuration_overrides": {"LocalAuthorizeOffline": "true",
                                                                    "AuthorizationCacheEnabled": "true"},
                                        "simulation": {"after_restart": policy}})
    core = build_core(cfg, Sinks(), registers_wh={1: 1500.0, 2: 0.0})
    assert isinstance(core, Station16)
    return core


def saved(**kw: object) -> durable.DurableState16:
    tx = {"local_key": "L3", "connector_id": 1, "id_tag": "TAG", "started_at": T0, "meter_start": 1000,
          "transaction_id": 41, "running": True}
    tx.update(kw)  # type: ignore[arg-type]
    return durable.DurableState16(next_local=4, transactions=[durable.SavedTransaction16(**tx)],  # type: ignore[arg-type]
                                  auth_cache=[{"id_tag": "CACHED", "info": {"status": "Accepted"},
                                               "at": datetime.fromtimestamp(T0, UTC).isoformat()}])


def actions(core: Station16) -> list[tuple[str, str | None, dict[str, object]]]:
    return [(e.action, e.local_tx, core.prepare_queued(e) or {}) for e in core.queue]


def test_snapshot_round_trips_through_json() -> None:
    state = saved()
    assert durable.DurableState16.from_doc(state.to_doc()) == state


def test_running_transaction_is_ended_once_with_powerloss_and_its_csms_id() -> None:
    core = station()
    mv = QueuedMessage(7, "MeterValues", {"connectorId": 1, "transactionId": 0, "meterValue": []}, "L3")
    notes = durable.restore(core, saved(), [mv], T0 + 60)
    got = actions(core)
    assert [(a, k) for a, k, _ in got] == [("MeterValues", "L3"), ("StopTransaction", "L3")]
    assert all(p["transactionId"] == 41 for _, _, p in got)
    stop = got[1][2]
    assert stop["reason"] == "PowerLoss" and stop["meterStop"] == 1500
    assert notes == ["transaction 41 ended (PowerLoss)"]
    assert core.connectors[1].tx is None
    # local keys continue after the highest in use: the next transaction is L4 (or later), never L1
    core.plug_in(2, T0 + 61)
    core.present_id_tag(2, "CACHED", T0 + 62)  # offline: accepted from the restored cache
    tx = core.connectors[2].tx
    assert tx is not None and tx.local_key == "L4"


def test_a_clean_stop_ends_with_reboot_and_continue_keeps_the_transaction() -> None:
    clean = saved()
    clean.clean = True
    core = station()
    durable.restore(core, clean, [], T0 + 5)
    assert actions(core)[-1][2]["reason"] == "Reboot"
    core = station("continue")
    assert durable.restore(core, saved(), [], T0 + 5, "continue") == ["transaction 41 continues"]
    assert core.connectors[1].tx is not None and core.connectors[1].tx.transaction_id == 41
    assert len(core.queue) == 0 and core.connectors[1].status == "Charging"


def test_a_start_whose_answer_was_lost_is_sent_again_first() -> None:
    core = station()
    notes = durable.restore(core, saved(transaction_id=None), [], T0 + 5)
    got = actions(core)
    assert [a for a, _, _ in got] == ["StartTransaction", "StopTransaction"]
    assert got[0][2]["meterStart"] == 1000 and got[0][2]["idTag"] == "TAG"
    assert "sent again" in notes[0]


def test_a_message_whose_transaction_id_is_lost_is_dropped_not_sent_with_0() -> None:
    core = station()
    orphan = QueuedMessage(3, "MeterValues", {"connectorId": 2, "transactionId": 0, "meterValue": []}, "L2")
    notes = durable.restore(core, saved(running=False), [orphan], T0 + 5)
    assert len(core.queue) == 0 and "dropped queued MeterValues of L2" in notes[0]


def test_re_registration_keeps_the_meter_values_timer() -> None:
    """A reconnect's BootNotification Accepted does not restart sampling (it stretched 8% of intervals)."""
    core = station()
    core.cfg.set_local("MeterValueSampleInterval", "10")
    durable.restore(core, saved(), [], T0, "continue")
    due = core.timers.due_at(("sample", 1))
    assert due == T0 + 10
    core.on_registered(T0 + 7)
    assert core.timers.due_at(("sample", 1)) == due
