"""ipywidgets components of the notebook workbench; each takes a :class:`~ocppemu.workbench.interface.WorkbenchAPI`.

Needs the ``ui`` extra (ipywidgets, plotly, anywidget). Components never block the kernel: callbacks schedule
workbench calls on the running event loop (see :mod:`ocppemu.widgets.tasks`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocppemu.widgets.app import Page, open_page
    from ocppemu.widgets.config_panel import ConfigPanel
    from ocppemu.widgets.dashboard import Dashboard
    from ocppemu.widgets.message_crafter import MessageCrafter
    from ocppemu.widgets.message_inspector import MessageInspector
    from ocppemu.widgets.scenario_runner import ScenarioRunner, run_scenario
    from ocppemu.widgets.session import WorkbenchSession, open_workbench, wait_for_state
    from ocppemu.widgets.station_cards import StationCards
    from ocppemu.widgets.station_manager import StationManager

# Imported on first use: a dashboard page loads only what its view needs (page start-up time).
_WHERE = {"Page": "app", "open_page": "app", "ConfigPanel": "config_panel", "Dashboard": "dashboard",
          "MessageCrafter": "message_crafter", "MessageInspector": "message_inspector",
          "ScenarioRunner": "scenario_runner", "run_scenario": "scenario_runner", "WorkbenchSession": "session",
          "open_workbench": "session",
          "wait_for_state": "session", "StationCards": "station_cards", "StationManager": "station_manager"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = ["ConfigPanel", "Dashboard", "MessageCrafter", "MessageInspector", "Page", "ScenarioRunner",
           "StationCards", "StationManager", "WorkbenchSession", "open_page", "open_workbench", "run_scenario",
           "wait_for_state"]
