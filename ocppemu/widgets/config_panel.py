"""Configuration panel: the running configuration (secrets masked), store health, open connections, memory and
version, refreshed on demand."""

from __future__ import annotations

import json
from typing import Any

import ipywidgets as w

from ocppemu.config.masking import mask_secrets
from ocppemu.widgets import render
from ocppemu.widgets.tasks import TaskRunner
from ocppemu.workbench.interface import SystemStatus, WorkbenchAPI


def status_html(s: SystemStatus) -> str:
    mem = f"{s.memory_rss_bytes / 2**20:.1f} MiB" if s.memory_rss_bytes else "unknown"
    store = s.store
    ok = render.badge("connected" if store.get("ok") else "error", "healthy" if store.get("ok") else "unhealthy")
    rows = [["version", render.esc(s.version)], ["uptime", f"{s.uptime_s:.0f} s"],
            ["store", f"{ok} {render.esc(store.get('backend'))} · {render.esc(store.get('detail'))} · schema "
                      f"{render.esc(store.get('schema_version'))} · dropped writes "
                      f"{render.esc(store.get('dropped_writes'))} · failed writes "
                      f"{render.esc(store.get('failed_writes'))}"],
            ["stations", f"{s.stations} ({s.running_stations} running, {s.connected_stations} connected, "
                         f"max {s.max_stations})"],
            ["open connections", f"{s.open_connections} ({s.stream_clients} stream clients)"],
            ["memory (RSS)", mem], ["events", f"{s.events_published} published, {s.events_dropped} dropped"]]
    return render.table(["", ""], rows, css_class="ocppemu-system")


class ConfigPanel(w.VBox):
    def __init__(self, wb: WorkbenchAPI) -> None:
        self.wb = wb
        self.tasks = TaskRunner()
        self.status_box = w.HTML()
        self.status_box.add_class("ocppemu-system-box")
        self.config_box = w.HTML()
        self.config_box.add_class("ocppemu-config-box")
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.last: SystemStatus | None = None
        super().__init__([w.HTML("<h3>System</h3>"), self.refresh_button, self.tasks.status, self.status_box,
                          w.HTML("<h3>Running configuration</h3>"), self.config_box])
        self.add_class("ocppemu-config-panel")
        self.refresh()

    def refresh(self) -> None:
        self.tasks.spawn(self._refresh(), "status")

    async def _refresh(self) -> None:
        s = await self.wb.status()
        self.last = s
        self.status_box.value = status_html(s)
        stations = await self.wb.export_stations(include_secrets=False)
        doc: dict[str, Any] = {"application": mask_secrets(s.config)}
        doc["stations"] = mask_secrets(stations.stations)
        self.config_box.value = render.json_block(json.dumps(doc, indent=2), max_height="520px")
