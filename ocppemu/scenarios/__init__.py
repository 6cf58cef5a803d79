"""Scenario files (format, loader, JSON Schema), the runner, its reports and the runs service.

``await run_scenario(wb, "charging-session", csms_url=...)`` runs a scenario on an in-process workbench and returns
its report (see :func:`ocppemu.scenarios.runner.run_scenario`).
"""

from __future__ import annotations

from typing import Any


async def run_scenario(wb: Any, scenario: Any, **options: Any) -> Any:
    """Run ``scenario`` (a path, a library name or a loaded scenario) on ``wb``; see
    :func:`ocppemu.scenarios.runner.run_scenario`."""
    from ocppemu.scenarios.runner import run_scenario as run

    return await run(wb, scenario, **options)
