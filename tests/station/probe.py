"""Calls for tests that throw random CSMS actions at a station over a real connection."""

from __future__ import annotations

from typing import Any

from websockets.exceptions import ConnectionClosed

from ocppemu.runtime.station_runtime import StationRuntime
from tests.peers.ocpp_csms import PeerCsms


async def call_across_reboot(peer: PeerCsms, runtime: StationRuntime, station_id: str, action: str,
                             payload: dict[str, Any]) -> dict[str, Any]:
    """``peer.call`` that tolerates exactly one thing: the station rebooting while the call is in flight.

    An earlier action may have asked for a reboot (a Reset, also one scheduled for when the station is idle, a
    firmware install) that lands while this call is outstanding; a rebooting charger does not answer. Then the call
    is repeated once on the new connection, and only after the station really booted again.
    """
    boots = len(peer.received(station_id, "BootNotification"))
    try:
        return await peer.call(station_id, action, payload)
    except (TimeoutError, ConnectionClosed):
        await peer.wait_for(station_id, "BootNotification", count=boots + 1, timeout=20)
        assert await runtime.wait_connected(20)
        await peer.wait_for_station(station_id)
        return await peer.call(station_id, action, payload)
