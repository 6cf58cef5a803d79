"""Scenarios drive a 1.6 station over SOAP exactly as over WebSocket: only the transport differs.

The library's ``complete-session`` runs against the independent SOAP Central System (built from the official WSDLs
with lxml and zeep, no ocppemu code), which validates every envelope the station sends.
"""

from __future__ import annotations

from pathlib import Path

from ocppemu.config.app import AppConfig
from ocppemu.scenarios.runner import run_scenario
from ocppemu.workbench import Workbench
from tests.peers.soap_csms import SoapPeerCsms

CONFIG = AppConfig.model_validate({"application": {"batch_insert_interval": 0.05}})


async def test_library_session_passes_over_soap(tmp_path: Path) -> None:
    peer = await SoapPeerCsms(heartbeat_interval=60).start()
    try:
        async with Workbench(f"sqlite:///{tmp_path / 'w.db'}", config=CONFIG) as wb:
            report = await run_scenario(wb, "complete-session", csms_url=peer.url, ocpp="1.6", seed=1)
        failed = [(s.key, s.station_id, s.message) for s in report.steps if s.status != "passed"]
        assert failed == []
        assert report.verdict == "passed" and report.exit_code() == 0
        actions = [r.action for r in peer.received]
        assert actions.count("StartTransaction") == 2 and actions.count("StopTransaction") == 2
        assert "Authorize" in actions
        starts = [r.payload for r in peer.received if r.action == "StartTransaction"]
        stops = [r.payload for r in peer.received if r.action == "StopTransaction"]
        assert [s["reason"] for s in stops] == ["Local", "Local"]
        assert all(int(b["meterStop"]) > int(a["meterStart"]) for a, b in zip(starts, stops, strict=True))
        assert peer.errors == []
    finally:
        await peer.stop()
