"""ipywidgets components of the notebook workbench; each takes a :class:`~ocppemu.interface.WorkbenchAPI`.

Needs the ``ui`` extra (ipywidgets, plotly, anywidget). Components never block the kernel: callbacks schedule
workbench calls on the running event loop (see :mod:`ocppemu.widgets.tasks`).
"""

from __future__ import annotations

from ocppemu.widgets.app import Page, open_page
from ocppemu.widgets.config_panel import ConfigPanel
from ocppemu.widgets.dashboard import Dashboard
from ocppemu.widgets.message_crafter import MessageCrafter
from ocppemu.widgets.message_inspector import MessageInspector
from ocppemu.widgets.scenario_runner import ScenarioRunner
from ocppemu.widgets.session import WorkbenchSession, open_workbench, wait_for_state
from ocppemu.widgets.station_cards import StationCards
from ocppemu.widgets.station_manager import StationManager

__all__ = ["ConfigPanel", "Dashboard", "MessageCrafter", "MessageInspector", "Page", "ScenarioRunner",
           "StationCards", "StationManager", "WorkbenchSession", "open_page", "open_workbench", "wait_for_state"]
