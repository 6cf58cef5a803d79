"""Widget tests run the components in Python against an in-process workbench with the demo CSMS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

pytest.importorskip("ipywidgets")

from ocppemu.widgets.session import WorkbenchSession, open_workbench
from ocppemu.workbench.interface import StationView, WorkbenchAPI


@pytest.fixture
async def session(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WorkbenchSession]:
    monkeypatch.delenv("OCPPEMU_URL", raising=False)
    s = await open_workbench()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def wb(session: WorkbenchSession) -> WorkbenchAPI:
    return session.wb


async def eventually(check: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> None:
    """Wait until ``check()`` is truthy (polling); fails the test naming ``what`` after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def connected_station(wb: WorkbenchAPI, station_id: str = "CP-1", **extra: object) -> StationView:
    await wb.create_station({"station_id": station_id, **extra})
    await wb.start_station(station_id)
    for _ in range(200):
        v = await wb.get_station(station_id)
        if v.runtime.state == "connected":
            return v
        await asyncio.sleep(0.05)
    pytest.fail(f"{station_id} did not connect to the demo CSMS")
