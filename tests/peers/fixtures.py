"""Shared pytest fixtures for the independent peers; import them into a conftest.py.

* ``tls_material``: certificates made with ``trustme`` in ``tmp_path`` (see :class:`TlsMaterial`).
* ``peer_csms``: a factory ``await peer_csms(**PeerCsms kwargs) -> PeerCsms`` that starts an oracle CSMS on
  127.0.0.1 and a free port inside the test's event loop; every peer made is stopped at teardown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.peers.ocpp_csms import PeerCsms
from tests.peers.tls_material import TlsMaterial, make_tls_material

PeerFactory = Callable[..., Awaitable[PeerCsms]]


@pytest.fixture
def tls_material(tmp_path: Path) -> TlsMaterial:
    return make_tls_material(tmp_path / "tls")


@pytest.fixture
async def peer_csms() -> AsyncIterator[PeerFactory]:
    made: list[PeerCsms] = []

    async def make(**kwargs: Any) -> PeerCsms:
        peer = PeerCsms(**kwargs)
        made.append(peer)
        return await peer.start()

    yield make
    for peer in made:
        await peer.stop()
