"""Browser test harness: Voila on 127.0.0.1, driven by Debian's headless Chromium through ``drive.mjs``.

Parts (all installed by ``scripts/setup.sh``): ``voila`` next to the running Python, ``node`` with
``tests/browser/node_modules/playwright-core``, and ``/usr/bin/chromium`` (or ``$OCPPEMU_CHROMIUM``).
When a part is missing, :func:`require_browser_parts` fails the test under CI (``CI`` set) and skips it
elsewhere, naming what is missing.

Voila is started with the ``ocppemu-offline`` template (``tests/browser/jupyter/voila/templates``), which drops
the CDN links of Voila's stock ``lab`` template, so a page loads nothing but 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "drive.mjs"
JUPYTER_DATA_DIR = HERE / "jupyter"
OFFLINE_TEMPLATE = "ocppemu-offline"
CHROMIUM = Path(os.environ.get("OCPPEMU_CHROMIUM", "/usr/bin/chromium"))

# Chromium's net errors that mean "tried to reach something that is not here": a page depending on the internet.
OFFLINE_ERROR_MARKERS = (
    "ERR_NAME_NOT_RESOLVED",
    "ERR_INTERNET_DISCONNECTED",
    "ERR_BLOCKED_BY_CLIENT",
    "ERR_ADDRESS_UNREACHABLE",
    "ERR_NETWORK_ACCESS_DENIED",
    "ERR_PROXY_CONNECTION_FAILED",
)


def voila_executable() -> Path:
    """The ``voila`` script of the environment running the tests."""
    return Path(sys.executable).parent / "voila"


def missing_browser_parts() -> list[str]:
    """What the browser tests need and cannot find, as sentences; empty when everything is there."""
    missing: list[str] = []
    if not voila_executable().exists():
        missing.append(f"voila is not installed next to {sys.executable}")
    if shutil.which("node") is None:
        missing.append("node is not on PATH")
    if not (HERE / "node_modules" / "playwright-core" / "package.json").exists():
        missing.append("tests/browser/node_modules/playwright-core is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} is not installed (Debian package chromium)")
    return missing


def require_browser_parts() -> None:
    """Fail (under CI) or skip (elsewhere) the calling test when a browser part is missing."""
    missing = missing_browser_parts()
    if not missing:
        return
    message = "browser test parts missing: " + "; ".join(missing) + " (run scripts/setup.sh)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class VoilaServer:
    """A running Voila: where it answers and where it logs."""

    base_url: str
    port: int
    log_path: Path

    def render_url(self, notebook: str) -> str:
        """URL of ``notebook`` (a path relative to the served directory) rendered as a dashboard."""
        return f"{self.base_url}voila/render/{quote(notebook)}"

    def log_tail(self, chars: int = 4000) -> str:
        """The end of Voila's log, for assertion messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError as exc:
            return f"(no log: {exc})"


def _wait_until_answering(url: str, proc: subprocess.Popen[bytes], deadline: float) -> str | None:
    """Poll ``url`` until it answers 200; return None then, or why it never did."""
    last = "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"voila exited with code {proc.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return None
                last = f"HTTP {resp.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.2)
    return f"voila did not answer within the startup timeout ({last})"


def _descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (Linux /proc), children first; kernels run in sessions of their own."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name (field 2) may hold spaces: the parent id is the 2nd field after its closing ')'
        parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == current]
        found.extend(kids)
        frontier.extend(kids)
    return found


def _signal(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop Voila, then any of its kernels that outlived its own shutdown (each by its process id)."""
    kernels = _descendants(proc.pid) if proc.poll() is None else []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    deadline = time.monotonic() + 5
    for pid in kernels:
        _signal(pid, signal.SIGTERM)
    for pid in kernels:
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        _signal(pid, signal.SIGKILL)


@contextmanager
def voila_server(
    notebook_dir: Path,
    *,
    template: str = OFFLINE_TEMPLATE,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 90.0,
) -> Iterator[VoilaServer]:
    """Serve ``notebook_dir`` with Voila on 127.0.0.1 (a free port) for the duration of the ``with`` block.

    Waits until Voila answers; raises ``RuntimeError`` with its log if it does not within ``startup_timeout``
    seconds. On exit Voila and its kernels are stopped. ``env`` adds variables (for example where the
    workbench daemon listens) to the environment Voila and its kernels inherit.
    """
    workdir = Path(tempfile.mkdtemp(prefix="ocppemu-voila-"))
    log_path = workdir / "voila.log"
    port = free_port()
    cmd = [
        str(voila_executable()),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        f"--template={template}",
        "--show_tracebacks=True",
        str(Path(notebook_dir).resolve()),
        *extra_args,
    ]
    child_env = dict(os.environ)
    child_env.update(env or {})
    child_env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(JUPYTER_DATA_DIR), child_env.get("JUPYTER_PATH")) if p)
    child_env["JUPYTER_RUNTIME_DIR"] = str(workdir / "runtime")
    child_env["JUPYTER_PLATFORM_DIRS"] = "1"
    child_env["PYTHONUNBUFFERED"] = "1"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = VoilaServer(base_url=f"http://127.0.0.1:{port}/", port=port, log_path=log_path)
    try:
        problem = _wait_until_answering(server.base_url, proc, time.monotonic() + startup_timeout)
        if problem is not None:
            raise RuntimeError(f"{problem}; command: {' '.join(cmd)}\n--- voila log ---\n{server.log_tail()}")
        yield server
    finally:
        _stop(proc)
        shutil.rmtree(workdir / "runtime", ignore_errors=True)


@contextmanager
def ui_server(
    dashboards: Path,
    *,
    env: Mapping[str, str] | None = None,
    orphan_timeout: float = 60.0,
    startup_timeout: float = 90.0,
) -> Iterator[tuple[VoilaServer, subprocess.Popen[bytes]]]:
    """The dashboards served the way ``ocppemu ui`` serves them (:func:`ocppemu.ui.voila_command`: the
    ``DashboardsApp`` with its kernel shutdown and culler, the packaged template, the page extensions), on a free
    port; yields the server and its process. ``env`` adds variables (the daemon's URL and token)."""
    import argparse

    from ocppemu.ui import ui_environment, voila_command

    workdir = Path(tempfile.mkdtemp(prefix="ocppemu-ui-"))
    log_path = workdir / "voila.log"
    port = free_port()
    args = argparse.Namespace(port=port, no_browser=True, orphan_timeout=orphan_timeout, url=None, token=None,
                              data_dir=None)
    cmd = [*voila_command(args, Path(dashboards).resolve()), "--Voila.port_retries=0", "--show_tracebacks=True"]
    base_env = dict(os.environ)
    base_env.update(env or {})
    child_env = ui_environment(args) | base_env | {
        "JUPYTER_PATH": ui_environment(args)["JUPYTER_PATH"],
        "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"), "JUPYTER_PLATFORM_DIRS": "1", "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=workdir, env=child_env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
    server = VoilaServer(base_url=f"http://127.0.0.1:{port}/", port=port, log_path=log_path)
    try:
        problem = _wait_until_answering(server.base_url, proc, time.monotonic() + startup_timeout)
        if problem is not None:
            raise RuntimeError(f"{problem}; command: {' '.join(cmd)}\n--- voila log ---\n{server.log_tail()}")
        yield server, proc
    finally:
        _stop(proc)
        shutil.rmtree(workdir / "runtime", ignore_errors=True)


def kernel_pids(proc: subprocess.Popen[bytes]) -> list[int]:
    """Process ids of the kernels a Voila process runs now (its child processes)."""
    return _descendants(proc.pid) if proc.poll() is None else []


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return 0
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


def run_pages(job: Mapping[str, Any], *, timeout: float = 900.0) -> dict[str, Any]:
    """Run ``pages.mjs`` (open pages one after the other, time them, close them) and return its result."""
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    proc = subprocess.run(["node", str(HERE / "pages.mjs"), "-"], input=json.dumps(job), capture_output=True,
                          text=True, cwd=HERE, env=env, timeout=timeout, check=False)
    lines = proc.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        result = {}
    if "ok" not in result:
        raise RuntimeError(f"pages.mjs failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return result


def run_browser(job: Mapping[str, Any], *, timeout: float = 180.0) -> dict[str, Any]:
    """Run one job (see ``drive.mjs`` for its fields) in headless Chromium and return the driver's result.

    A failing step is not an exception: the result has ``ok`` false and ``error`` saying which step failed and
    why. Raises ``RuntimeError`` only when the driver itself could not run or did not print a result.
    """
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    proc = subprocess.run(
        ["node", str(DRIVER), "-"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=HERE,
        env=env,
        timeout=timeout,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        result = {}
    if proc.returncode not in (0, 1) or "ok" not in result:
        raise RuntimeError(
            f"browser driver failed (exit {proc.returncode}): {result.get('error', '')}\n"
            f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
        )
    return result


def offline_violations(result: Mapping[str, Any]) -> list[str]:
    """Everything in a driver result showing that the page reached (or tried to reach) beyond 127.0.0.1."""
    found = [f"external request: {url}" for url in result.get("external_requests", [])]
    for err in result.get("console_errors", []):
        if any(marker in err.get("text", "") for marker in OFFLINE_ERROR_MARKERS):
            found.append(f"console error: {err.get('text')} ({err.get('url')})")
    for req in result.get("failed_requests", []):
        if any(marker in req.get("error", "") for marker in OFFLINE_ERROR_MARKERS):
            found.append(f"failed request: {req.get('url')} ({req.get('error')})")
    return found


def describe(result: Mapping[str, Any]) -> str:
    """A driver result as readable text for assertion messages."""
    return json.dumps(dict(result), indent=2)[:6000]


@pytest.fixture
def start_voila() -> Iterator[Callable[..., VoilaServer]]:
    """Start Voila servers (same arguments as :func:`voila_server`); each is stopped after the test."""
    require_browser_parts()
    with ExitStack() as stack:

        def start(notebook_dir: Path, **kwargs: Any) -> VoilaServer:
            return stack.enter_context(voila_server(notebook_dir, **kwargs))

        yield start
