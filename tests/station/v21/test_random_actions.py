"""Table-driven: every CSMS->station 2.1 action with schema-valid random payloads; every answer validates against
the 2.1 response schema, every message the station sends afterwards validates too, and the station survives.

A wide sweep against the sans-I/O core, and a few seeds of every action through a real WebSocket against the
independent CSMS (the `ocpp` package's 2.1 schemas check the answers).
"""

from __future__ import annotations

import random

import pytest
from websockets.exceptions import ConnectionClosed

from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.payload_templates import random_payload
from ocppemu.ocpp.validation import validate
from ocppemu.ocpp.versions import Version
from tests.peers.ocpp_csms import PeerCallError
from tests.station.probe import call_across_reboot
from tests.station.v21.helpers import Driver, Harness, station_config

CAT = catalogue(Version.V21)
ACTIONS = CAT.csms_initiated()


def test_every_csms_action_has_a_handler() -> None:
    core = Driver().core
    assert len(ACTIONS) == len(catalogue(Version.V201).csms_initiated()) + 15
    assert [a for a in ACTIONS if a not in core.handlers.calls] == []


@pytest.mark.parametrize("action", ACTIONS)
def test_random_payloads_against_the_core(action: str) -> None:
    spec = CAT[action]
    for seed in range(8):
        d = Driver()
        d.boot()
        d.act("start_session", 1, "TOK")  # a transaction is running: more handlers have something to act on
        d.act("open_event_stream", 1, period=1, values=2)
        payload = random_payload(spec.request_schema, random.Random(seed))
        answer = d.csms_call(action, payload, message_id=f"r{seed}")
        assert "error" not in answer, (action, payload, answer)
        assert validate(Version.V21, action, "response", answer) is None
        d.advance(30.0)  # let the behaviour that follows run (sequences, reboots, timers, streams)
        for sent_action, sent in d.calls + d.sends:
            assert validate(Version.V21, sent_action, "request", sent) is None, (action, sent_action, sent)
        assert d.core.last_error is None or "invalid" not in d.core.last_error, (action, d.core.last_error)
        if d.core.take_requests() or not d.core.is_connected:  # a reset or firmware update asked for a reboot
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
    peer = await peer_csms(versions=("2.1",))
    async with Harness(station_config(peer.url)) as h:
        for seed in range(2):
            rng = random.Random(2000 + seed)
            for action in ACTIONS:
                assert await h.runtime.wait_connected(20), (action, seed)
                await peer.wait_for_station("CS001")
                payload = random_payload(CAT[action].request_schema, rng)
                session = h.runtime.connected_since
                try:
                    await call_across_reboot(peer, h.runtime, "CS001", action, payload)
                except PeerCallError as exc:
                    raise AssertionError(f"{action} {payload}: {exc}") from None
                except (TimeoutError, ConnectionClosed):
                    # A reboot an earlier action scheduled (firmware installed once a transaction ended, a reset)
                    # dropped the connection under this CALL: call again on the new connection, which must answer.
                    assert await h.runtime.wait_connected(20), (action, seed)
                    assert h.runtime.connected_since != session, f"{action} {payload}: no answer"
                    await peer.wait_for_station("CS001")
                    await peer.call("CS001", action, payload)
                assert await h.runtime.wait_connected(20), (action, seed)
                await peer.wait_for_station("CS001")
                probe = await call_across_reboot(peer, h.runtime, "CS001", "TriggerMessage",
                                                 {"requestedMessage": "Heartbeat"})
                assert probe["status"] in ("Accepted", "Rejected")
    assert peer.errors == []
