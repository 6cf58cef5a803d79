"""The workbench: the engine of many stations (:mod:`.engine`), its typed interface (:mod:`.interface`) and the
remote client of a daemon (:mod:`.client`), with history, views, recording, templates and events.

``from ocppemu.workbench import Workbench`` is the public spelling; it is resolved lazily so that importing the
interface or the remote client does not load the station engines and the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocppemu.workbench.engine import Workbench

__all__ = ["Workbench"]


def __getattr__(name: str) -> Any:
    if name == "Workbench":
        from ocppemu.workbench.engine import Workbench

        return Workbench
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
