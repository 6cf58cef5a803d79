"""Fixtures for the store tests: a real SecantusDB (MongoDB wire protocol) server and a repository per backend.

The MongoDB side talks to ``MONGODB_URI`` when it is set, otherwise to ``secantusd-py`` (from the ``secantusdb``
package) started on a free 127.0.0.1 port for the session. Every test gets its own database, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ocppemu.store import Repository, open_store
from tests.store.secantus import SecantusServer, drop_database, mongo_db_url


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
