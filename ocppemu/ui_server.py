"""The Voila application behind ``ocppemu ui``: Voila with a working kernel shutdown and an orphan-kernel culler.

Every dashboard page runs in a kernel of its own. Voila's page asks for that kernel's shutdown when it unloads
(``navigator.sendBeacon`` to ``voila/api/shutdown/<id>``) and puts the ``_xsrf`` cookie's value in the request,
but Voila never sets that cookie on a rendered page, so the request is refused with 403 and the kernel lives on
(~150 MiB and its polling loops, for ever). Two fixes, both here:

* the render handler sets the ``_xsrf`` cookie (a Voila pre-launch hook touching ``handler.xsrf_token``), so the
  shutdown request on page close is accepted and the kernel ends at once;
* a culler ends every kernel that has had no browser connected for ``orphan_timeout`` seconds (a tab killed
  without unloading, a browser that crashed, a lost network): live dashboards are never idle in Jupyter's sense
  (their widgets keep talking), so Jupyter's own idle culling would never catch them.

Run as ``python -m ocppemu.ui_server [voila options] DASHBOARDS`` (what ``ocppemu ui`` does). Needs the ``ui`` extra.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from tornado.ioloop import PeriodicCallback
from traitlets import Float
from voila.app import Voila

log = logging.getLogger(__name__)


def with_xsrf_cookie(previous: Callable[..., Any] | None) -> Callable[..., Any]:
    """A Voila pre-launch hook that sets the ``_xsrf`` cookie on the page's response, then runs ``previous``."""

    def hook(handler: Any, notebook: Any, cwd: str) -> Any:
        _ = handler.xsrf_token  # tornado sets the cookie the first time the token is read in a request
        return previous(handler, notebook, cwd) if previous is not None else notebook

    return hook


class OrphanTracker:
    """Which kernels have had no connection for long enough (pure bookkeeping; the clock comes in).

    ``observe(kernel_id, connections, busy, now)`` for every kernel at each round, then :meth:`orphans` lists the
    kernels to end. A busy kernel (still executing the notebook before its page connects) is never an orphan.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._alone_since: dict[str, float] = {}

    def observe(self, kernel_id: str, connections: int, busy: bool, now: float) -> None:
        if connections > 0 or busy:
            self._alone_since.pop(kernel_id, None)
        else:
            self._alone_since.setdefault(kernel_id, now)

    def forget_missing(self, alive: set[str]) -> None:
        for kid in [k for k in self._alone_since if k not in alive]:
            del self._alone_since[kid]

    def orphans(self, now: float) -> list[str]:
        return [kid for kid, since in self._alone_since.items() if now - since >= self.timeout]


class DashboardsApp(Voila):  # type: ignore[misc]
    """Voila for ``ocppemu ui`` (see the module docstring)."""

    name = "ocppemu-ui"
    orphan_timeout = Float(60.0, config=True,
                           help="End a dashboard kernel that has had no page connected for this many seconds")
    orphan_check_interval = Float(5.0, config=True, help="How often the orphan-kernel culler looks, seconds")

    def initialize(self, argv: list[str] | None = None) -> None:
        super().initialize(argv)
        cfg = self.voila_configuration
        cfg.prelaunch_hook = with_xsrf_cookie(cfg.prelaunch_hook)
        self._orphans = OrphanTracker(self.orphan_timeout)

    def listen(self) -> None:
        # Voila's listen() starts the IOLoop and only returns when it stops: the culler is armed just before.
        PeriodicCallback(self._cull_orphans, self.orphan_check_interval * 1000).start()
        super().listen()

    async def _cull_orphans(self) -> None:
        km = self.kernel_manager
        now = time.monotonic()
        ids = set(km.list_kernel_ids())
        self._orphans.forget_missing(ids)
        for kid in ids:
            try:
                model = km.kernel_model(kid)
            except KeyError:
                continue
            self._orphans.observe(kid, int(model.get("connections") or 0),
                                  model.get("execution_state") == "busy", now)
        for kid in self._orphans.orphans(now):
            self.log.info("ending kernel %s: no page connected for %.0f s", kid, self.orphan_timeout)
            try:
                await km.shutdown_kernel(kid)
            except Exception as exc:  # already gone, or dying: forget it either way
                self.log.warning("kernel %s did not shut down cleanly: %s", kid, exc)
            self._orphans.forget_missing(set(km.list_kernel_ids()))


def main(argv: list[str] | None = None) -> None:
    DashboardsApp.launch_instance(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
