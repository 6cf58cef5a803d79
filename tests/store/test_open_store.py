"""Choosing a backend by URL, the default location, and the pure query builders."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from ocppemu.store import default_store_url, open_store, sqlite_path
from ocppemu.store.base import MessageFilter, nearest_rank
from ocppemu.store.codec import decode_cursor, encode_cursor, new_record_id
from ocppemu.store.errors import InvalidCursorError
from ocppemu.store.mongo import MongoRepository
from ocppemu.store.mongo_queries import message_query
from ocppemu.store.sqlite import SqliteRepository
from ocppemu.store.sqlite_schema import message_where


def test_default_url_is_a_file_in_the_user_data_dir() -> None:
    url = default_store_url()
    path = Path(sqlite_path(url))
    assert path.name == "ocppemu.db"
    assert path.parent == Path(platformdirs.user_data_dir("ocppemu", appauthor=False))
    assert isinstance(open_store(), SqliteRepository)


@pytest.mark.parametrize(("url", "path"), [
    ("sqlite:///tmp/a.db", "/tmp/a.db"),
    ("sqlite:////tmp/a.db", "/tmp/a.db"),
    ("sqlite:rel/a.db", "rel/a.db"),
    ("sqlite:///:memory:", ":memory:"),
])
def test_sqlite_urls(url: str, path: str) -> None:
    assert sqlite_path(url) == path


def test_scheme_picks_backend_and_database() -> None:
    repo = open_store("mongodb://127.0.0.1:1/mydb?serverSelectionTimeoutMS=10")
    assert isinstance(repo, MongoRepository) and repo.database_name == "mydb"
    assert isinstance(open_store("mongodb://127.0.0.1:1"), MongoRepository)
    assert open_store("mongodb://127.0.0.1:1").database_name == "ocpp_emu"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="unsupported store URL"):
        open_store("postgres://x")
    with pytest.raises(ValueError, match="host"):
        sqlite_path("sqlite://server/x.db")


async def test_memory_sqlite_store_works() -> None:
    async with open_store("sqlite:///:memory:") as repo:
        assert (await repo.health()).ok
        assert await repo.count_messages() == 0


async def test_unreachable_mongodb_reports_unhealthy_without_raising() -> None:
    repo = open_store("mongodb://127.0.0.1:1/x?serverSelectionTimeoutMS=100")
    report = await repo.health()
    assert not report.ok and "cannot be reached" in report.detail
    await repo.close()


def test_mongo_query_uses_text_index_only_when_the_server_has_one() -> None:
    flt = MessageFilter(station_id="CP1", text="auth failed")
    plain = message_query(flt, text_index=False)
    assert "$text" not in str(plain)
    with_index = message_query(flt, text_index=True)
    assert {"$text": {"$search": '"auth" "failed"'}} in with_index["$and"]
    assert sum("$regex" in str(c) for c in with_index["$and"]) == 2  # same substring rule kept
    assert message_query(MessageFilter(), text_index=True) == {}


def test_sqlite_like_patterns_escape_wildcards() -> None:
    where, params = message_where(MessageFilter(text="100%_x"))
    assert "ESCAPE" in where[0] and params[0] == "%100\\%\\_x%"
    where, params = message_where(MessageFilter(text="Ärger"))
    assert "ocppemu_icontains" in where[0] and params[0] == "Ärger"


def test_cursor_round_trip_and_garbage() -> None:
    rid = new_record_id()
    assert decode_cursor(encode_cursor(1234, rid)) == (1234, rid)
    for bad in ("", "abc", encode_cursor(1, "zz")):
        with pytest.raises(InvalidCursorError):
            decode_cursor(bad)


def test_nearest_rank_percentile() -> None:
    assert nearest_rank([], 0.95) is None
    assert nearest_rank([5.0], 0.95) == 5.0
    assert nearest_rank([float(i) for i in range(1, 21)], 0.95) == 19.0
    assert nearest_rank([float(i) for i in range(1, 101)], 0.95) == 95.0
