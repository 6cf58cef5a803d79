"""ocppemu: a workbench that emulates OCPP charging stations for testing CSMS servers.

>>> wb = await ocppemu.connect()                                  # an in-process workbench (started)
>>> wb = await ocppemu.connect("http://127.0.0.1:8080", token=t)   # a client of a running daemon
>>> wb = await ocppemu.connect("ray://head:10001")                 # a Ray cluster's coordinator (ocppemu[ray])

All satisfy :class:`ocppemu.workbench.interface.WorkbenchAPI`; call ``await wb.close()`` when done.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ocppemu.version import __version__

__all__ = ["__version__", "connect"]

if TYPE_CHECKING:
    from ocppemu.workbench.interface import WorkbenchAPI


async def connect(url: str | None = None, *, token: str | None = None, store: str | None = None,
                  config: Any = None) -> WorkbenchAPI:
    """A started in-process :class:`~ocppemu.workbench.Workbench` (``url`` None; ``store`` URL and ``config``
    :class:`~ocppemu.config.app.AppConfig` optional), or a :class:`~ocppemu.workbench.client.RemoteWorkbench` of the
    daemon at ``url`` (``http(s)://host:port``), or the coordinator of a Ray cluster (``ray://head:10001``, the
    ``ocppemu[ray]`` extra; :class:`~ocppemu.cluster.ClusterError` when it cannot attach). Raises ``ValueError``
    for a URL that is neither http(s) nor ray."""
    if url is None:
        from ocppemu.workbench import Workbench

        wb = Workbench(store, config=config)
        await wb.start()
        return wb
    if url.startswith("ray://"):
        # by name: the package root is imported by every layer (for __version__), and the cluster layer sits above
        # them; it is also an optional extra (Ray is imported only there)
        cluster = importlib.import_module("ocppemu.cluster.coordinator")
        attached: WorkbenchAPI = await cluster.attach(url)
        return attached
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"connect() takes the daemon's http(s):// URL or a Ray cluster's ray:// address, not {url!r}")
    from ocppemu.workbench.client import RemoteWorkbench

    return RemoteWorkbench(url, token)
