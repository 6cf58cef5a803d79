"""The hot path of a frame: core -> RPC -> outbox -> transport, once; recorded as sent when the transport wrote it."""

from __future__ import annotations

import json

from ocppemu.config.station import StationConfig
from ocppemu.ocpp.records import FrameRecord
from ocppemu.runtime.station_runtime import StationRuntime
from ocppemu.station.core import Sinks
from ocppemu.station.v16.station import Station16
from ocppemu.transport.base import Transport
from ocppemu.transport.websocket import WebSocketTransport
from tests.peers.fixtures import PeerFactory
from tests.station.v16.helpers import station_config, until


async def test_frames_are_written_once_and_recorded_as_sent_after_the_write(peer_csms: PeerFactory) -> None:
    peer = await peer_csms(versions=("1.6",))
    journal: list[tuple[str, str]] = []  # ("written" | "recorded", frame text), in the order it happened

    class JournalTransport(WebSocketTransport):
        async def send(self, text: str) -> None:
            await super().send(text)
            journal.append(("written", text))

    def factory(config: StationConfig) -> Transport:
        return JournalTransport.from_config(config)

    def on_frame(record: FrameRecord) -> None:
        if record.direction == "sent":
            journal.append(("recorded", record.raw))

    core = Station16(station_config(peer.url), Sinks(frame=on_frame))
    runtime = StationRuntime(core, factory)
    await runtime.start()
    try:
        assert await runtime.wait_connected(10)
        runtime.act(core.start_session, 1, None)
        await until(lambda: sum('"MeterValues"' in text for kind, text in journal if kind == "recorded") >= 2,
                    what="two MeterValues recorded")
    finally:
        await runtime.stop()

    written = [text for kind, text in journal if kind == "written"]
    recorded = [text for kind, text in journal if kind == "recorded"]
    assert len(written) == len(set(written))  # each frame crossed to the transport once
    assert recorded == written  # every written frame recorded as sent, in the same order, and nothing else
    for i, (kind, text) in enumerate(journal):
        if kind == "recorded":
            assert journal[i - 1] == ("written", text)  # recorded right after its write, never before it
    actions = [json.loads(text)[2] for text in written if json.loads(text)[0] == 2]
    assert actions[:1] == ["BootNotification"] and "StartTransaction" in actions and "MeterValues" in actions
    assert [m.payload["meterValue"] for m in peer.received("CP001", "MeterValues")]
