"""Every connection is a ``sessions`` record and every identifier check an authorization record, on both backends.

A 1.6 station connects to the independent peer CSMS, has an idTag checked by the CSMS (Authorize), loses the
CSMS abruptly (close code 1006), comes back after failed reconnect attempts, and while the CSMS is down has a known
idTag accepted from its authorization cache and an unknown one refused. A 2.0.1 station records its idToken
check by the CSMS. Closing the workbench closes every open session record (code 1000).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocppemu.config.app import AppConfig
from ocppemu.store import open_store
from ocppemu.workbench import Workbench
from ocppemu.workbench.interface import ActionRequest
from tests.peers.fixtures import PeerFactory
from tests.store.conftest import mongo_base_url  # noqa: F401  (fixture)
from tests.store.secantus import drop_database, mongo_db_url


@pytest.fixture(params=["sqlite", "mongodb"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/s.db"
        return
    url = mongo_db_url(request.getfixturevalue("mongo_base_url"), "ocppemu_sess_" + uuid.uuid4().hex[:10])
    yield url
    drop_database(url)


def _config() -> AppConfig:
    return AppConfig.model_validate({"application": {"batch_insert_interval": 0.05, "state_sync_interval": 0.05}})


async def _until(pred: object, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if await pred():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_sessions_and_authorizations_are_recorded(store_url: str, peer_csms: PeerFactory) -> None:
    peer = await peer_csms(versions=("1.6", "2.0.1"))
    peer.behaviour.accepted_tags = {"GOOD"}
    station = {"station_id": "S1", "csms_url": peer.url, "auto_start": True,
               "connectors": [{"id": 1}, {"id": 2}, {"id": 3}],
               "configuration_overrides": {"LocalAuthorizeOffline": "true", "AuthorizationCacheEnabled": "true"},
               "simulation": {"reconnect_initial_delay": 0.2, "reconnect_max_delay": 0.3}}
    async with Workbench(store_url, config=_config()) as wb:
        await wb.create_station(station)
        await peer.wait_for("S1", "BootNotification")
        await asyncio.sleep(0.2)
        assert (await wb.station_action("S1", ActionRequest(action="authorize", id_tag="GOOD"))).ok
        await peer.wait_for("S1", "Authorize")
        await asyncio.sleep(0.2)
        await peer.stop(abrupt=True)

        async def offline() -> bool:
            return (await wb.get_station("S1")).runtime.state != "connected"
        await _until(offline)
        await asyncio.sleep(0.8)  # a few failed reconnect attempts
        cached = await wb.station_action("S1", ActionRequest(action="authorize", id_tag="GOOD", connector_id=2))
        refused = await wb.station_action("S1", ActionRequest(action="authorize", id_tag="NOPE", connector_id=3))
        assert cached.ok and not refused.ok
        await peer.start()

        async def back() -> bool:
            return len(await wb.repo.list_sessions("S1")) == 2
        await wb.recorder.flush()
        await _until(back, 20)
        await wb.create_station({"station_id": "S2", "csms_url": peer.url, "auto_start": True,
                                 "protocol_version": "2.0.1"})
        await peer.wait_for("S2", "BootNotification")
        await asyncio.sleep(0.2)
        assert (await wb.station_action("S2", ActionRequest(action="start_transaction", id_tag="GOOD"))).ok
        await peer.wait_for("S2", "Authorize")
        await asyncio.sleep(0.2)
        await wb.recorder.flush()
        repo = wb.repo
        sessions = sorted((s.record for s in await repo.list_sessions("S1")), key=lambda r: r.connected_at)
        assert len(sessions) == 2
        first, second = sessions
        assert (first.status, first.close_code, first.subprotocol) == ("disconnected", 1006, "ocpp1.6")
        assert first.csms_url == f"{peer.url.rstrip('/')}/S1" and first.protocol_version == "1.6"
        assert first.reconnect_attempts == 0 and second.reconnect_attempts >= 1
        assert second.status == "active" and second.disconnected_at is None
        checks = [(a.record.id_token, a.record.result, a.record.source) for a in await repo.list_authorizations("S1")]
        assert checks == [("GOOD", "Accepted", "CSMS"), ("GOOD", "Accepted", "Cache"), ("NOPE", "Invalid", "None")]
        s2 = [(a.record.id_token, a.record.result, a.record.source) for a in await repo.list_authorizations("S2")]
        assert s2 == [("GOOD", "Accepted", "CSMS")]
    # the workbench stopped: every session it had open is closed in the store, code 1000
    async with open_store(store_url) as repo:
        for sid in ("S1", "S2"):
            last = (await repo.list_sessions(sid))[0].record
            assert (last.status, last.close_code, last.close_reason) == ("disconnected", 1000, "station stopped")


async def test_2x_transaction_started_on_plug_in_records_its_id_tag(tmp_path: Path, peer_csms: PeerFactory) -> None:
    """2.0.1 starts a transaction on plug-in (TxStartPoint EVConnected); the identifier presented afterwards is
    in the stored transaction record (it was null)."""
    peer = await peer_csms(versions=("2.0.1",))
    async with Workbench(f"sqlite:///{tmp_path / 't.db'}", config=_config()) as wb:
        await wb.create_station({"station_id": "TX2", "csms_url": peer.url, "auto_start": True,
                                 "protocol_version": "2.0.1",
                                 "configuration_overrides": {"TxCtrlr.TxStartPoint": "EVConnected"}})
        await peer.wait_for("TX2", "BootNotification")
        await asyncio.sleep(0.2)
        assert (await wb.station_action("TX2", ActionRequest(action="plug_in"))).ok
        await peer.wait_for("TX2", "TransactionEvent")
        assert (await wb.station_action("TX2", ActionRequest(action="authorize", id_tag="DRIVER1"))).ok \
            or (await wb.station_action("TX2", ActionRequest(action="start_transaction", id_tag="DRIVER1"))).ok
        await peer.wait_for("TX2", "TransactionEvent", count=2)
        await asyncio.sleep(0.2)
        await wb.recorder.flush()
        txs = await wb.repo.query_transactions("TX2")
        assert len(txs) == 1 and txs[0].id_tag == "DRIVER1"
