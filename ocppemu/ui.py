"""``ocppemu ui``: Voila on 127.0.0.1 serving the dashboards, attached to a running workbench daemon.

The daemon's URL and token reach the dashboard kernels through ``OCPPEMU_URL`` / ``OCPPEMU_TOKEN`` (read by
:func:`ocppemu.widgets.session.open_workbench`). Voila uses the packaged ``ocppemu`` template (a navigation bar
between the views, a landing page, nothing loaded from the internet) and runs as
:class:`ocppemu.ui_server.DashboardsApp`, which ends each page's kernel when the page closes and culls kernels no
page is connected to. The dashboards ship inside the package (``ocppemu/_dashboards`` in a wheel, with the example
notebooks in its ``examples/``), so ``ocppemu ui`` works from any folder. Needs the ``ui`` extra.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

# Read by ocppemu.widgets.session.open_workbench in the dashboard kernels (kept here too: this module must import
# without the ``ui`` extra, so that ``ocppemu --help`` works in a minimal install).
URL_ENV = "OCPPEMU_URL"
TOKEN_ENV = "OCPPEMU_TOKEN"
TEMPLATE = "ocppemu"
# The JupyterLab extensions a dashboard page loads: the widget managers and anywidget (the JSON editor). Voila loads
# every installed extension otherwise, e.g. jupyterlab-plotly's 4.8 MB bundle on every page, charts or not.
PAGE_EXTENSIONS = ("@jupyter-widgets/jupyterlab-manager", "@voila-dashboards/widgets-manager8", "anywidget")
JUPYTER_DATA = Path(__file__).resolve().parent / "widgets" / "jupyter"
PACKAGED_DASHBOARDS = Path(__file__).resolve().parent / "_dashboards"
CHECKOUT_DASHBOARDS = Path(__file__).resolve().parent.parent / "dashboards"


def default_dashboards() -> Path:
    """The dashboards shipped in the package (a wheel), else ``dashboards/`` of the source checkout."""
    return PACKAGED_DASHBOARDS if PACKAGED_DASHBOARDS.is_dir() else CHECKOUT_DASHBOARDS


def add_ui_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=None,
                        help=f"daemon URL (default ${URL_ENV}, else http://127.0.0.1:8080)")
    parser.add_argument("--token", default=None,
                        help=f"API token (default ${TOKEN_ENV}, else the daemon's token file in --data-dir)")
    parser.add_argument("--data-dir", default=None, help="where the daemon keeps its api-token")
    parser.add_argument("--port", type=int, default=8866, help="Voila port on 127.0.0.1 (default 8866)")
    parser.add_argument("--dashboards", default=None, help="folder of dashboard notebooks (default dashboards/)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument("--orphan-timeout", type=float, default=60.0,
                        help="end a page's kernel after this many seconds with no page connected (default 60)")


def _token(args: argparse.Namespace) -> str | None:
    if args.token:
        return str(args.token)
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV]
    try:
        from ocppemu.config.app import AppConfig

        cfg = AppConfig(data_dir=args.data_dir) if args.data_dir else AppConfig()
        return (cfg.resolved_data_dir() / "api-token").read_text(encoding="utf-8").strip() or None
    except (OSError, ValueError):
        return None


def voila_command(args: argparse.Namespace, dashboards: Path) -> list[str]:
    """The Voila command line (no shell): :mod:`ocppemu.ui_server` on 127.0.0.1 only, the offline template, the
    orphan-kernel culler, the dashboards folder."""
    timeout = getattr(args, "orphan_timeout", 60.0)
    cmd = [sys.executable, "-m", "ocppemu.ui_server", f"--port={args.port}", "--Voila.ip=127.0.0.1",
           f"--template={TEMPLATE}", f"--DashboardsApp.orphan_timeout={timeout}",
           f"--DashboardsApp.orphan_check_interval={min(5.0, max(timeout / 4, 0.5))}",
           "--VoilaConfiguration.extension_allowlist=" + json.dumps(list(PAGE_EXTENSIONS)), str(dashboards)]
    if args.no_browser:
        cmd.insert(3, "--no-browser")
    return cmd


def voila_installed() -> bool:
    return importlib.util.find_spec("voila") is not None


def ui_environment(args: argparse.Namespace) -> dict[str, str]:
    """The environment of Voila and its kernels: daemon URL and token, and where the template lives."""
    env = dict(os.environ)
    env[URL_ENV] = args.url or os.environ.get(URL_ENV) or "http://127.0.0.1:8080"
    token = _token(args)
    if token:
        env[TOKEN_ENV] = token
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(JUPYTER_DATA), env.get("JUPYTER_PATH")) if p)
    return env


def run_ui(args: argparse.Namespace) -> int:
    """Run Voila until interrupted; returns its exit code (2 when Voila or the dashboards are missing)."""
    dashboards = Path(args.dashboards) if args.dashboards else default_dashboards()
    if not dashboards.is_dir():
        print(f"error: no dashboards folder at {dashboards} (pass --dashboards)", file=sys.stderr)
        return 2
    cmd = voila_command(args, dashboards)
    if not voila_installed():
        print("error: voila is not installed: pip install 'ocppemu[ui]'", file=sys.stderr)
        return 2
    env = ui_environment(args)
    print(f"dashboards of {env[URL_ENV]} on http://127.0.0.1:{args.port}/", flush=True)
    proc = subprocess.Popen(cmd, env=env)

    def forward(signum: int, _frame: object) -> None:
        proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
