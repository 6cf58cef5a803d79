"""The workbench daemon for browser tests: ``ocppemu serve`` with the demo CSMS and a temporary SQLite store, in a
subprocess of its own (so a test can kill it and start it again on the same port)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Daemon:
    def __init__(self, url: str, token: str, proc: subprocess.Popen[str], data: Path) -> None:
        self.url, self.token, self.proc, self.data = url, token, proc, data

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def env(self) -> dict[str, str]:
        """What a Voila attached to this daemon needs in its environment."""
        return {"OCPPEMU_URL": self.url, "OCPPEMU_TOKEN": self.token, "PYTHONPATH": str(ROOT)}

    def call(self, coro_fn: Callable[[Any], Any]) -> Any:
        """Run ``coro_fn(client)`` against the daemon with the package's own client."""
        import ocppemu

        async def go() -> Any:
            wb = await ocppemu.connect(self.url, token=self.token)
            try:
                return await coro_fn(wb)
            finally:
                await wb.close()

        return asyncio.run(go())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def kill(self) -> None:
        """End the daemon abruptly (SIGKILL), as a crash would."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def spawn_daemon(data: Path, port: int = 0) -> Daemon:
    """Start ``ocppemu serve --demo-csms`` on ``port`` (0: a free one) with its store and token in ``data``."""
    data.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ocppemu", "serve", "--port", str(port), "--data-dir", str(data),
         "--store", f"sqlite:///{str(data / 'ocppemu.db').lstrip('/')}", "--demo-csms", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=data)
    url = None
    deadline = time.monotonic() + 60
    lines: list[str] = []
    assert proc.stdout is not None
    while url is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if m:
            url = m.group(1)
    if url is None:
        proc.kill()
        pytest.fail("the daemon did not start:\n" + "".join(lines))
    # keep reading its output so a chatty daemon never blocks on a full pipe
    import threading

    threading.Thread(target=lambda: [None for _ in proc.stdout or []], daemon=True).start()
    token = (data / "api-token").read_text().strip()
    return Daemon(url, token, proc, data)


def ensure_connected(daemon: Daemon, station_id: str, **config: Any) -> None:
    async def go(wb: Any) -> None:
        ids = {v.station_id for v in (await wb.list_stations()).stations}
        if station_id not in ids:
            await wb.create_station({"station_id": station_id, **config})
        await wb.start_station(station_id)
        from ocppemu.widgets.session import wait_for_state

        await wait_for_state(wb, station_id, "connected")

    daemon.call(go)
