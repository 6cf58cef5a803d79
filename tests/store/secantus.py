"""A SecantusDB (MongoDB wire protocol) server process for the tests, and URL helpers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pymongo import MongoClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _secantus_command() -> list[str]:
    exe = shutil.which("secantusd-py") or str(Path(sys.executable).with_name("secantusd-py"))
    if not Path(exe).exists():
        pytest.fail("secantusd-py not found: install the dev extra (pip install -e '.[dev]')")
    return [exe]


class SecantusServer:
    """A ``secantusd-py`` process on 127.0.0.1:``port`` keeping its data in ``storage`` across restarts."""

    def __init__(self, storage: Path, port: int | None = None) -> None:
        self.storage = storage
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = storage.with_suffix(".log")

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        cmd = [*_secantus_command(), "--host", "127.0.0.1", "--port", str(self.port),
               "--storage-path", str(self.storage), "--log-level", "WARNING"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"secantusd-py exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with MongoClient(self.url, serverSelectionTimeoutMS=500) as client:
                    client.admin.command("ping")
                return
            except Exception:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"secantusd-py did not answer on {self.url} within {timeout}s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def mongo_db_url(base: str, database: str, timeout_ms: int = 3000) -> str:
    """``base`` (``mongodb://host:port``) with a database path and a short server-selection timeout."""
    if base.count("/") > 2:
        base = base[: base.index("/", len("mongodb://"))]
    return f"{base}/{database}?serverSelectionTimeoutMS={timeout_ms}"


def drop_database(url: str) -> None:
    base, rest = url.rsplit("/", 1)
    with MongoClient(base, serverSelectionTimeoutMS=3000) as client:
        client.drop_database(rest.split("?", 1)[0])
