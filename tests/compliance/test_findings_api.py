"""Findings are queryable the same way in-process, over the REST API (remote client) and as a DataFrame."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from ocppemu.analysis import findings_frame
from ocppemu.api.app import ApiContext, make_app
from ocppemu.config.app import AppConfig
from ocppemu.workbench import Workbench
from ocppemu.workbench.client import RemoteWorkbench
from ocppemu.workbench.interface import InvalidRequest, SendMessageRequest, WorkbenchAPI
from tests.peers.faulty_csms import FaultyCsms, started, wait_until


@pytest.fixture
async def faulty() -> AsyncIterator[FaultyCsms]:
    csms = await started("missing-field")
    yield csms
    await csms.stop()


@pytest.fixture(params=["in-process", "http"])
async def wb(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[WorkbenchAPI]:
    config = AppConfig.model_validate({"application": {"batch_insert_interval": 0.05, "debug_mode": True}})
    local = Workbench(f"sqlite:///{tmp_path / 'f.db'}", config=config)
    await local.start()
    if request.param == "in-process":
        yield local
    else:
        sockets = bind_sockets(0, "127.0.0.1")
        server = HTTPServer(make_app(ApiContext(local, "secret-token", False)))
        server.add_sockets(sockets)
        remote = RemoteWorkbench(f"http://127.0.0.1:{sockets[0].getsockname()[1]}", "secret-token")
        yield remote
        await remote.close()
        server.stop()
    await local.close()


async def test_findings_query_and_dataframe(wb: WorkbenchAPI, faulty: FaultyCsms) -> None:
    await wb.create_station({"station_id": "Q1", "csms_url": faulty.url, "auto_start": True,
                             "simulation": {"compliance_checks": True}})

    async def accepted() -> bool:
        return (await wb.get_station("Q1")).runtime.registration_status == "Accepted"

    await wait_until(accepted)
    await wb.send_message("Q1", SendMessageRequest(action="Heartbeat", payload={}, timeout=2))

    async def found() -> bool:
        return bool((await wb.findings("Q1", rule="schema")).items)

    await wait_until(found)
    page = await wb.findings("Q1", severity="error", rule="schema.response")
    assert page.counts.get("error", 0) == len(page.items) >= 1
    f = page.items[0]
    assert f.action == "Heartbeat" and "4.2.2" in f.reference and f.frame.startswith("[3,")
    assert (await wb.findings("nobody")).items == []
    assert (await wb.findings("Q1", rule="rpc")).items == []
    df = await findings_frame(wb, "Q1")
    assert list(df["rule"]) == [x.rule for x in (await wb.findings("Q1")).items]
    assert str(df["timestamp"].dtype).startswith("datetime64")
    with pytest.raises(InvalidRequest):
        await wb.findings("Q1", severity="fatal")
