"""Table-driven: every CSMS->station 2.0.1 action with schema-valid random payloads; every answer validates and the
station survives.

Two layers: a wide sweep against the sans-I/O core (many seeds, answers checked with our schema validation), and a
few seeds through a real WebSocket against the independent CSMS (answers checked by the `ocpp` package).
"""

from __future__ import annotations

import random

import pytest

from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.payload_templates import random_payload
from ocppemu.ocpp.validation import validate
from ocppemu.ocpp.versions import Version
from tests.peers.ocpp_csms import PeerCallError
from tests.station.probe import call_across_reboot
from tests.station.v201.helpers import Driver, Harness, station_config

CAT = catalogue(Version.V201)
ACTIONS = CAT.csms_initiated()


def test_every_csms_action_has_a_handler() -> None:
    core = Driver().core
    missing = [a for a in ACTIONS if a not in core.handlers.calls]
    assert missing == []


@pytest.mark.parametrize("action", ACTIONS)
def test_random_payloads_against_the_core(action: str) -> None:
    spec = CAT[action]
    for seed in range(12):
        d = Driver()
        d.boot()
        d.act("start_session", 1, "TOK")  # a transaction is running: more handlers have something to act on
        payload = random_payload(spec.request_schema, random.Random(seed))
        answer = d.csms_call(action, payload, message_id=f"r{seed}")
        assert "error" not in answer, (action, payload, answer)
        assert validate(Version.V201, action, "response", answer) is None
        d.advance(30.0)  # let the behaviour that follows run (sequences, reboots, timers)
        if not d.core.is_connected:  # a reset or firmware update asked for a reboot: reconnect and boot again
            d.core.disconnected(d.now)
        if d.core.take_requests():
            d.core.disconnected(d.now)
        if not d.core.online:
            d.core.connected(d.now)
            d.advance(1.0)
        assert d.core.online, (action, payload)
        before = len(d.sent("Heartbeat"))
        d.core.send_call("Heartbeat", {}, d.now)
        d.pump()
        assert len(d.sent("Heartbeat")) == before + 1


async def test_random_payloads_against_the_independent_csms(peer_csms) -> None:  # type: ignore[no-untyped-def]
    peer = await peer_csms(versions=("2.0.1",))
    async with Harness(station_config(peer.url)) as h:
        for seed in range(3):
            rng = random.Random(1000 + seed)
            for action in ACTIONS:
                assert await h.runtime.wait_connected(20), (action, seed)
                payload = random_payload(CAT[action].request_schema, rng)
                try:
                    await call_across_reboot(peer, h.runtime, "CS001", action, payload)
                except PeerCallError as exc:  # a CallError is a valid answer only for schema-level problems
                    raise AssertionError(f"{action} {payload}: {exc}") from None
                assert await h.runtime.wait_connected(20), (action, seed)
                await peer.wait_for_station("CS001")
                probe = await call_across_reboot(peer, h.runtime, "CS001", "TriggerMessage",
                                                 {"requestedMessage": "Heartbeat"})
                assert probe["status"] in ("Accepted", "Rejected")
    assert peer.errors == []
