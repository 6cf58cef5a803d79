"""One line for a notebook or dashboard to get a workbench: the daemon's when one is configured, else a local one.

:func:`open_workbench` returns a :class:`WorkbenchSession`. With a URL (argument or ``OCPPEMU_URL``, token from
``OCPPEMU_TOKEN``) it is a client of that daemon; without one it is an in-process workbench on a temporary SQLite
file with the bundled demo CSMS on a free port of 127.0.0.1 as the default CSMS of new stations, so a notebook
runs top to bottom with nothing else running.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ocppemu

if TYPE_CHECKING:
    from ocppemu.demo_csms import DemoCsms
    from ocppemu.workbench.interface import WorkbenchAPI

URL_ENV = "OCPPEMU_URL"
TOKEN_ENV = "OCPPEMU_TOKEN"


@dataclass(slots=True)
class WorkbenchSession:
    """A workbench plus what was started for it (a demo CSMS, a temporary store); :meth:`close` ends them."""

    wb: WorkbenchAPI
    remote: bool
    csms: DemoCsms | None = None
    csms_url: str | None = None
    workdir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        """Close the workbench, then the demo CSMS, then remove the temporary store. Safe to call twice."""
        await self.wb.close()
        if self.csms is not None:
            await self.csms.close()
            self.csms = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


async def open_workbench(url: str | None = None, *, token: str | None = None, demo_csms: bool = True,
                         max_stations: int = 50) -> WorkbenchSession:
    """Attach to the daemon at ``url`` (default ``$OCPPEMU_URL``) or start a local workbench.

    Local: a temporary SQLite store and, with ``demo_csms``, the demo CSMS on 127.0.0.1 (its URL becomes the
    default ``csms_url`` of new stations and ``session.csms_url``). Raises what :func:`ocppemu.connect` raises.
    """
    url = url or os.environ.get(URL_ENV) or None
    if url:
        wb = await ocppemu.connect(url, token=token or os.environ.get(TOKEN_ENV) or None)
        return WorkbenchSession(wb=wb, remote=True)
    from ocppemu.config.app import AppConfig

    workdir = Path(tempfile.mkdtemp(prefix="ocppemu-nb-"))
    csms = None
    config = AppConfig()
    config.application.max_stations = max_stations
    config.application.batch_insert_interval = 0.2
    if demo_csms:
        from ocppemu.demo_csms import serve_demo_csms

        csms = await serve_demo_csms("127.0.0.1", 0, heartbeat_interval=30)
        config.csms.default_url = f"ws://127.0.0.1:{csms.port}/ocpp"
    store = "sqlite:///" + str(workdir / "ocppemu.db").lstrip("/")
    wb = await ocppemu.connect(store=store, config=config)
    return WorkbenchSession(wb=wb, remote=False, csms=csms,
                            csms_url=config.csms.default_url if demo_csms else None, workdir=workdir)


async def wait_for_state(wb: WorkbenchAPI, station_id: str, state: str = "connected", timeout: float = 20.0) -> str:
    """Poll until the station's runtime state is ``state``; returns it, raises ``TimeoutError`` naming the last."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        current = (await wb.get_station(station_id)).runtime.state
        if current == state:
            return current
        if loop.time() > deadline:
            raise TimeoutError(f"station {station_id} is {current!r}, not {state!r}, after {timeout:g}s")
        await asyncio.sleep(0.1)
