"""Registered handlers: one per CSMS action and version, checked against the catalogue; one answer per CALL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.framing import Call
from ocppemu.ocpp.versions import Version
from ocppemu.station.core import SecondAnswer
from ocppemu.station.handlers import HandlerTable, HandlerTableError
from ocppemu.station.v16.registry import HANDLERS as H16
from ocppemu.station.v16.station import Station16
from ocppemu.station.v21.registry import HANDLERS as H21
from ocppemu.station.v21.station import Station21
from ocppemu.station.v201.registry import HANDLERS as H201
from ocppemu.station.v201.station import Station201
from tests.station.virtual import VirtualCsms, config

TABLES = [(Version.V16, H16, Station16), (Version.V201, H201, Station201), (Version.V21, H21, Station21)]


@pytest.mark.parametrize(("version", "table", "cls"), TABLES)
def test_every_csms_action_has_exactly_one_answer(version: Version, table: HandlerTable[Any], cls: type) -> None:
    actions = catalogue(version).csms_initiated()
    assert table.missing() == []
    assert sorted(set(table.calls) | set(table.unimplemented)) == actions
    assert not set(table.calls) & set(table.unimplemented)
    assert cls.handlers is table


def test_21_extends_201_and_overrides_explicitly() -> None:
    assert set(H201.calls) < set(H21.calls)
    assert H21.calls["Reset"] is H201.calls["Reset"]
    assert H21.calls["SetVariableMonitoring"] is not H201.calls["SetVariableMonitoring"]
    assert H21.results["TransactionEvent"] is not H201.results["TransactionEvent"]


def _noop(station: Any, call: Call, now: float) -> None:
    station.answer(call, {}, now)


def test_table_refuses_what_breaks_its_rules() -> None:
    table: HandlerTable[Any] = HandlerTable(Version.V16)
    table.call("Reset")(_noop)
    with pytest.raises(HandlerTableError, match="already has a handler"):
        table.call("Reset")(_noop)
    with pytest.raises(HandlerTableError, match="no handler to override"):
        table.call("ClearCache", override=True)(_noop)
    with pytest.raises(HandlerTableError, match="no action"):
        table.call("Teleport")(_noop)
    with pytest.raises(HandlerTableError, match="never sends"):
        table.call("BootNotification")(_noop)
    with pytest.raises(HandlerTableError, match="has a handler"):
        table.not_implemented("Reset", "no")
    table.not_implemented("ClearCache", "this charger keeps no cache")
    with pytest.raises(HandlerTableError, match="no handler for"):
        table.check_complete()
    assert "ClearCache" not in table.missing() and "Reset" not in table.missing()


# -- one answer per CALL ------------------------------------------------------------------------------------------

SPECIAL: HandlerTable[Any] = HandlerTable(Version.V16, parent=H16)


@SPECIAL.call("DataTransfer", override=True)
def _data_transfer(station: Any, call: Call, now: float) -> None:
    mode = call.payload.get("messageId")
    if mode in ("twice", "raise-after"):
        station.answer(call, {"status": "Accepted"}, now)
    if mode == "twice":
        station.answer(call, {"status": "Rejected"}, now)
    if mode in ("raise-after", "raise-before"):
        raise RuntimeError("boom")


SPECIAL.not_implemented("ClearCache", "declared not implemented for this test", override=True)


class _Special(Station16):
    handlers = SPECIAL


def _driver() -> VirtualCsms:
    d = VirtualCsms(config("1.6"))
    d.core = _Special(d.core.config, d.core.sinks)
    d.boot()
    return d


@pytest.mark.parametrize(("mode", "expected"), [
    ("twice", {"status": "Accepted"}),
    ("raise-after", {"status": "Accepted"}),
    ("raise-before", "InternalError"),
    ("silent", "InternalError"),
])
def test_a_call_gets_exactly_one_answer_whatever_the_handler_does(mode: str, expected: Any) -> None:
    d = _driver()
    answer = d.csms_call("DataTransfer", {"vendorId": "x", "messageId": mode})  # asserts exactly one answer
    if isinstance(expected, str):
        assert answer["error"] == expected
    else:
        assert answer == expected
    assert d.core.online  # the station lives on


def test_a_declared_not_implemented_action_says_why() -> None:
    d = _driver()
    answer = d.csms_call("ClearCache", {})
    assert answer["error"] == "NotImplemented" and "declared not implemented" in answer["description"]


def test_second_answer_is_a_named_error() -> None:
    d = _driver()
    call = Call("m-x", "DataTransfer", {"vendorId": "x"})
    d.core._answering, d.core._answers = "m-x", 0
    d.core.answer(call, {"status": "Accepted"}, d.now)
    with pytest.raises(SecondAnswer, match="exactly one answer"):
        d.core.answer(call, {"status": "Accepted"}, d.now)
    assert [json.loads(t)[1] for t in d.core.take_outbox()] == ["m-x"]
