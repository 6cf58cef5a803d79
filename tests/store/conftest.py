"""Fixtures for the store tests: a real SecantusDB (MongoDB wire protocol) server and a repository per backend.

The MongoDB side talks to ``MONGODB_URI`` when it is set, otherwise to ``secantusd-py`` (from the ``secantusdb``
package) started on a free 127.0.0.1 port for the session. Every test gets its own database, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from ocppemu.store import Repository, open_store


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


@pytest.fixture(scope="session")
def mongo_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mongodb://host:port`` of the session's server (``MONGODB_URI`` if set)."""
    env = os.environ.get("MONGODB_URI")
    if env:
        yield env.split("?", 1)[0].rstrip("/")
        return
    server = SecantusServer(tmp_path_factory.mktemp("secantus") / "data")
    server.start()
    yield server.url
    server.stop()


def mongo_db_url(base: str, database: str, timeout_ms: int = 3000) -> str:
    """``base`` (``mongodb://host:port``) with a database path and a short server-selection timeout."""
    if base.count("/") > 2:
        base = base[: base.index("/", len("mongodb://"))]
    return f"{base}/{database}?serverSelectionTimeoutMS={timeout_ms}"


def drop_database(url: str) -> None:
    base, rest = url.rsplit("/", 1)
    with MongoClient(base, serverSelectionTimeoutMS=3000) as client:
        client.drop_database(rest.split("?", 1)[0])


@pytest.fixture(params=["sqlite", "mongodb"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store URL on each backend; the MongoDB database is dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
        return
    base = request.getfixturevalue("mongo_base_url")
    url = mongo_db_url(base, "ocppemu_test_" + uuid.uuid4().hex[:12])
    yield url
    drop_database(url)


@pytest.fixture
async def repo(store_url: str) -> AsyncIterator[Repository]:
    store = open_store(store_url)
    await store.init()
    yield store
    await store.close()
