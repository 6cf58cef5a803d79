"""A liveness probe for tests that throw random CSMS actions at a station over a real connection."""

from __future__ import annotations

from typing import Any

from ocppemu.runtime.station_runtime import StationRuntime
from tests.peers.ocpp_csms import PeerCsms


async def probe_heartbeat(peer: PeerCsms, runtime: StationRuntime, station_id: str, boots: int) -> dict[str, Any]:
    """TriggerMessage Heartbeat on the station's current connection.

    The action just sent may have asked for a reboot (a Reset, a firmware install) that lands while the probe is in
    flight; a rebooting charger does not answer, so then the probe is repeated once on the new connection, and only
    after the station really booted again (``boots`` is the count of BootNotifications before the action).
    """
    try:
        return await peer.call(station_id, "TriggerMessage", {"requestedMessage": "Heartbeat"})
    except TimeoutError:
        await peer.wait_for(station_id, "BootNotification", count=boots + 1, timeout=20)
        assert await runtime.wait_connected(20)
        await peer.wait_for_station(station_id)
        return await peer.call(station_id, "TriggerMessage", {"requestedMessage": "Heartbeat"})
