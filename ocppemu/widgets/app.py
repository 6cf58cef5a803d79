"""The pages of the dashboards app: each view in one frame with the daemon's connection state.

A dashboard notebook is two lines: ``page = await ow.open_page("overview")`` then ``page``. :func:`open_page`
attaches to the daemon (``$OCPPEMU_URL``, as set by ``ocppemu ui``; else a local workbench), and builds the view
once the daemon answers. A page opened while the daemon is down says so in a sentence and builds the view by
itself when it comes back; while the daemon is away the view is greyed out and the bar says how old its data is;
when it returns the view reloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ocppemu.widgets.connection import ConnectionBar
from ocppemu.widgets.session import URL_ENV, WorkbenchSession, open_workbench
from ocppemu.workbench.interface import WorkbenchAPI


def _overview(wb: WorkbenchAPI) -> w.Widget:
    from ocppemu.widgets.station_cards import StationCards

    return StationCards(wb)


def _stations(wb: WorkbenchAPI) -> w.Widget:
    from ocppemu.widgets.station_manager import StationManager

    return StationManager(wb)


def _messages(wb: WorkbenchAPI) -> w.Widget:
    from ocppemu.widgets.message_inspector import MessageInspector

    return MessageInspector(wb)


def _crafter(wb: WorkbenchAPI) -> w.Widget:
    from ocppemu.widgets.message_crafter import MessageCrafter

    return MessageCrafter(wb)


def _scenarios(wb: WorkbenchAPI) -> w.Widget:
    from ocppemu.widgets.scenario_runner import ScenarioRunner

    return ScenarioRunner(wb)


def _dashboard(wb: WorkbenchAPI) -> w.Widget:
    from ocppemu.widgets.dashboard import Dashboard

    return Dashboard(wb)


def _system(wb: WorkbenchAPI) -> w.Widget:
    from ocppemu.widgets.config_panel import ConfigPanel

    return ConfigPanel(wb)


#: view name -> (title, builder). The titles match the navigation bar of the ``ocppemu`` Voila template.
VIEWS: dict[str, tuple[str, Callable[[WorkbenchAPI], w.Widget]]] = {
    "overview": ("Overview", _overview), "stations": ("Stations", _stations), "messages": ("Messages", _messages),
    "crafter": ("Crafter", _crafter), "scenarios": ("Scenarios", _scenarios), "dashboard": ("Charts", _dashboard),
    "system": ("System", _system),
}


class Page(w.VBox):
    """A view with the connection bar above it. ``view`` is None until the daemon first answers."""

    def __init__(self, name: str, session: WorkbenchSession, url: str) -> None:
        if name not in VIEWS:
            raise ValueError(f"no view {name!r}; the views are {', '.join(VIEWS)}")
        self.name = name
        self.session = session
        self.title, self._build = VIEWS[name]
        self.bar = ConnectionBar(session.wb, url)
        self.view: Any = None
        self.holder = w.VBox()
        self.holder.add_class("ocppemu-view")
        super().__init__([self.bar, self.holder])
        self.add_class("ocppemu-page")
        self.add_class(f"ocppemu-page-{name}")
        self.bar.watch(self.holder)
        self.bar.on_change(self._daemon_changed)

    def _daemon_changed(self, up: bool) -> None:
        if not up:
            return
        if self.view is None:
            self.view = self._build(self.session.wb)
            self.holder.children = [self.view]
        elif hasattr(self.view, "refresh"):
            self.view.refresh()

    async def start(self) -> None:
        """First look at the daemon (builds the view if it answers), then keep watching it."""
        await self.bar.check()
        self.bar.start()

    async def ready(self, timeout: float = 30.0) -> bool:
        """Wait for the view's first data (True), or return False at once when the daemon is not reachable."""
        if self.view is None:
            return False
        tasks = getattr(self.view, "tasks", None)
        if tasks is not None:
            with contextlib.suppress(TimeoutError):
                await tasks.idle(timeout)
        return True

    async def close(self) -> None:
        await self.bar.close()
        if self.view is not None and hasattr(self.view, "close"):
            await self.view.close()
        await self.session.close()


async def open_page(name: str, url: str | None = None, *, token: str | None = None) -> Page:
    """The view ``name`` (see :data:`VIEWS`) in its page frame, attached to the daemon at ``url`` (default
    ``$OCPPEMU_URL``; without one, a local workbench with the demo CSMS). Never raises for an unreachable daemon:
    the page says so and recovers by itself. Raises ``ValueError`` for an unknown view."""
    if name not in VIEWS:
        raise ValueError(f"no view {name!r}; the views are {', '.join(VIEWS)}")
    session = await open_workbench(url, token=token)
    where = url or os.environ.get(URL_ENV) or "this notebook (in-process workbench)"
    page = Page(name, session, where)
    await page.start()
    await asyncio.sleep(0)
    return page
