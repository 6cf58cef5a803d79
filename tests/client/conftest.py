"""``wb``: the same workbench interface, in-process or through the HTTP client of a served API (same loop)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from ocppemu.api.app import ApiContext, make_app
from ocppemu.config.app import AppConfig
from ocppemu.workbench import Workbench
from ocppemu.workbench.client import RemoteWorkbench
from ocppemu.workbench.interface import WorkbenchAPI


@pytest.fixture(params=["in-process", "http"])
async def wb(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[WorkbenchAPI]:
    config = AppConfig.model_validate({"application": {"max_stations": 4, "batch_insert_interval": 0.05},
                                       "csms": {"default_url": "ws://127.0.0.1:9/ocpp"}})
    local = Workbench(f"sqlite:///{tmp_path / 'c.db'}", config=config)
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
