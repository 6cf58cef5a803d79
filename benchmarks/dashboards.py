"""Time to real content of every dashboard page, in headless Chromium (prints figures; asserts nothing).

Starts ``ocppemu serve --demo-csms`` with a few connected stations and the dashboards as ``ocppemu ui`` serves
them, then opens each view ``--rounds`` times (one tab after the other, through ``tests/browser/pages.mjs``) and
prints, per page, when the app's shell (the navigation bar) arrived and when the view's real content showed.

    python benchmarks/dashboards.py [--rounds 3] [--stations 3]

Needs what the browser tests need (voila, node with tests/browser/node_modules, /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.daemon import spawn_daemon  # noqa: E402
from tests.browser.harness import missing_browser_parts, run_pages, ui_server  # noqa: E402

#: view -> (selector of its real content, text it must contain)
PAGES: dict[str, tuple[str, str | None]] = {
    "overview": (".ocppemu-card .ocppemu-connector-status", None),
    "stations": (".ocppemu-station-table", "BENCH-1"),
    "messages": (".ocppemu-feed", "BootNotification"),
    "crafter": (".ocppemu-live-check", "valid"),
    "scenarios": (".ocppemu-scenarios", None),
    "dashboard": (".ocppemu-rate-chart svg", None),
    "system": (".ocppemu-system-box", "store"),
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--stations", type=int, default=3)
    args = p.parse_args()
    missing = missing_browser_parts()
    if missing:
        print("cannot run: " + "; ".join(missing), file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ocppemu-bench-") as tmp:
        daemon = spawn_daemon(Path(tmp) / "data")
        try:
            async def setup(wb: Any) -> None:
                from ocppemu.widgets.session import wait_for_state

                for i in range(1, args.stations + 1):
                    await wb.create_station({"station_id": f"BENCH-{i}"})
                    await wb.start_station(f"BENCH-{i}")
                for i in range(1, args.stations + 1):
                    await wait_for_state(wb, f"BENCH-{i}", "connected")

            daemon.call(setup)
            with ui_server(ROOT / "dashboards", env=daemon.env()) as (server, _proc):
                pages = [{"url": server.render_url(f"{view}.ipynb"), "selector": sel, "text": text}
                         for view, (sel, text) in PAGES.items()]
                run_pages({"pages": pages[:1]})  # warm-up: first imports, template compilation
                result = run_pages({"pages": pages, "repeat": args.rounds})
        finally:
            daemon.stop()
    by_view: dict[str, list[dict[str, Any]]] = {}
    for entry in result["pages"]:
        by_view.setdefault(entry["url"].rsplit("/", 1)[1].removesuffix(".ipynb"), []).append(entry)
    print(f"{'page':<10} {'shell ms (median)':>18} {'content ms (median)':>20} {'min':>7} {'max':>7}  errors")
    for view, entries in by_view.items():
        shell = [e["shell_ms"] for e in entries if e["shell_ms"] is not None]
        content = [e["content_ms"] for e in entries if e["content_ms"] is not None]
        errors = sum(e["error"] is not None for e in entries)
        print(f"{view:<10} {statistics.median(shell) if shell else float('nan'):>18.0f} "
              f"{statistics.median(content) if content else float('nan'):>20.0f} "
              f"{min(content, default=0):>7} {max(content, default=0):>7}  {errors}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
