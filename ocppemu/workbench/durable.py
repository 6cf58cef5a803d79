"""The durable state of station cores across emulator restarts, as the workbench and ``station run`` use it.

:func:`snapshot` takes what a core must keep (see :mod:`ocppemu.station.v16.durable`) as a JSON-ready dict for
:class:`~ocppemu.config.station.StationRuntimeState`; :func:`resume` puts a saved run back into a new core:
the durable state and offline queue together, so that restored transaction messages carry the CSMS's ids.
OCPP 2.0.1 / 2.1 cores end a transaction that was running (:mod:`ocppemu.station.v201.durable`).
"""

from __future__ import annotations

from typing import Any

from ocppemu.station.core import StationCore
from ocppemu.station.v16 import durable as durable16
from ocppemu.station.v16.station import Station16
from ocppemu.station.v201 import durable as durable2
from ocppemu.station.v201.station import Station201
from ocppemu.workbench.recording import SavedStation


def snapshot(core: StationCore, *, clean: bool = False) -> dict[str, Any] | None:
    """The core's durable state (``clean`` marks the last snapshot of a clean stop), or None if it has none."""
    if isinstance(core, Station16):
        state = durable16.durable_state(core)
        state.clean = clean
        return state.to_doc()
    if isinstance(core, Station201):  # 2.0.1 and 2.1
        state2 = durable2.durable_state(core)
        state2.clean = clean
        return state2.to_doc()
    return None


def resume(core: StationCore, saved: SavedStation, now: float) -> list[str]:
    """Restore ``saved`` (queue, durable state) into ``core``; returns one sentence per thing done."""
    doc = saved.state.durable if saved.state is not None else None
    if isinstance(core, Station16) and doc and doc.get("kind") == "v16":
        policy = core.config.simulation.after_restart
        return durable16.restore(core, durable16.DurableState16.from_doc(doc), saved.queue, now, policy)
    if isinstance(core, Station201) and doc and doc.get("kind") == "v2":
        return durable2.restore(core, durable2.DurableState201.from_doc(doc), saved.queue, now)
    core.queue.restore(saved.queue)
    return []
