"""SQLite: templates and scenario runs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ocppemu.store import codec
from ocppemu.store.sqlite_core import SqliteCore, now_ms

log = logging.getLogger(__name__)


class SqliteDocs(SqliteCore):
    # -- templates ---------------------------------------------------------------------------------------
    async def save_template(self, name: str, doc: Mapping[str, Any], kind: str = "station") -> None:
        text = self._checked(f"template {name!r}", doc)
        now = now_ms()

        def write() -> None:
            with self._conn as db:
                db.execute(
                    "INSERT INTO templates(name, kind, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, doc = excluded.doc, "
                    "updated_at = excluded.updated_at", (name, kind, text, now, now))

        await self._run(write)

    async def get_template(self, name: str) -> dict[str, Any] | None:
        row = await self._run(
            lambda: self._conn.execute("SELECT doc FROM templates WHERE name = ?", (name,)).fetchone()
        )
        return None if row is None else dict(codec.loads(row[0]))

    async def list_templates(self, kind: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        sql = "SELECT name, kind, doc FROM templates" + (" WHERE kind = ?" if kind is not None else "")
        params = [kind] if kind is not None else []
        rows = await self._run(lambda: self._conn.execute(sql + " ORDER BY name", params).fetchall())
        return [(r[0], r[1], dict(codec.loads(r[2]))) for r in rows]

    async def delete_template(self, name: str) -> bool:
        return await self._run(self._delete_sync, "templates", "name", name)

    # -- scenario runs -----------------------------------------------------------------------------------
    async def create_scenario_run(self, doc: Mapping[str, Any]) -> str:
        run_id = codec.new_record_id()
        created = datetime.now(UTC)
        full = codec.json_ready({**doc, "id": run_id, "created_at": codec.trunc_ms(created)})
        text = self._checked(f"scenario run {run_id}", full)
        scenario = full.get("scenario")

        def write() -> None:
            with self._conn as db:
                db.execute("INSERT INTO scenario_runs(id, scenario, created_at, doc) VALUES (?, ?, ?, ?)",
                           (run_id, scenario if isinstance(scenario, str) else None, codec.to_ms(created), text))

        await self._run(write)
        return run_id

    async def get_scenario_run(self, run_id: str) -> dict[str, Any] | None:
        row = await self._run(
            lambda: self._conn.execute("SELECT doc FROM scenario_runs WHERE id = ?", (run_id,)).fetchone()
        )
        return None if row is None else dict(codec.loads(row[0]))

    async def update_scenario_run(self, run_id: str, changes: Mapping[str, Any]) -> bool:
        ready = codec.json_ready(changes)
        ready.pop("id", None)
        ready.pop("created_at", None)

        def write() -> bool:
            with self._conn as db:
                row = db.execute("SELECT doc FROM scenario_runs WHERE id = ?", (run_id,)).fetchone()
                if row is None:
                    return False
                doc = {**codec.loads(row[0]), **ready}
                text = self._checked(f"scenario run {run_id}", doc)
                scenario = doc.get("scenario")
                db.execute("UPDATE scenario_runs SET doc = ?, scenario = ? WHERE id = ?",
                           (text, scenario if isinstance(scenario, str) else None, run_id))
                return True

        return await self._run(write)

    async def list_scenario_runs(self, scenario: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        sql = "SELECT doc FROM scenario_runs" + (" WHERE scenario = ?" if scenario is not None else "")
        params: list[Any] = [scenario] if scenario is not None else []
        params.append(limit)
        rows = await self._run(
            lambda: self._conn.execute(sql + " ORDER BY created_at DESC, id DESC LIMIT ?", params).fetchall()
        )
        return [dict(codec.loads(r[0])) for r in rows]

    async def delete_scenario_run(self, run_id: str) -> bool:
        return await self._run(self._delete_sync, "scenario_runs", "id", run_id)

