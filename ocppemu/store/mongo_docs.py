"""MongoDB: templates and scenario runs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING

from ocppemu.store import codec
from ocppemu.store.mongo_core import MongoCore
from ocppemu.store.mongo_queries import errors

log = logging.getLogger(__name__)
_DUPLICATE_KEY = 11000


class MongoDocs(MongoCore):
    # -- templates ---------------------------------------------------------------------------------------
    async def save_template(self, name: str, doc: Mapping[str, Any], kind: str = "station") -> None:
        ready = self._checked(f"template {name!r}", doc)
        now = datetime.now(UTC)
        with errors(self._display):
            await self._c("templates").update_one(
                {"name": name}, {"$set": {"kind": kind, "doc": ready, "updated_at": now},
                                 "$setOnInsert": {"created_at": now}}, upsert=True)

    async def get_template(self, name: str) -> dict[str, Any] | None:
        with errors(self._display):
            doc = await self._c("templates").find_one({"name": name})
        return None if doc is None else dict(doc["doc"])

    async def list_templates(self, kind: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        query = {"kind": kind} if kind is not None else {}
        with errors(self._display):
            docs = await self._c("templates").find(query).sort("name", ASCENDING).to_list()
        return [(d["name"], d["kind"], dict(d["doc"])) for d in docs]

    async def delete_template(self, name: str) -> bool:
        with errors(self._display):
            res = await self._c("templates").delete_one({"name": name})
        return res.deleted_count > 0

    # -- scenario runs -----------------------------------------------------------------------------------
    async def create_scenario_run(self, doc: Mapping[str, Any]) -> str:
        oid = ObjectId()
        created = codec.trunc_ms(datetime.now(UTC))
        full = self._checked(f"scenario run {oid}", {**doc, "id": str(oid), "created_at": created})
        scenario = full.get("scenario")
        with errors(self._display):
            await self._c("scenario_runs").insert_one({
                "_id": oid, "scenario": scenario if isinstance(scenario, str) else None,
                "created_at": created, "doc": full})
        return str(oid)

    async def get_scenario_run(self, run_id: str) -> dict[str, Any] | None:
        if not codec.is_record_id(run_id):
            return None
        with errors(self._display):
            doc = await self._c("scenario_runs").find_one({"_id": ObjectId(run_id)})
        return None if doc is None else dict(doc["doc"])

    async def update_scenario_run(self, run_id: str, changes: Mapping[str, Any]) -> bool:
        current = await self.get_scenario_run(run_id)
        if current is None:
            return False
        ready = codec.json_ready(changes)
        ready.pop("id", None)
        ready.pop("created_at", None)
        merged = self._checked(f"scenario run {run_id}", {**current, **ready})
        scenario = merged.get("scenario")
        with errors(self._display):
            res = await self._c("scenario_runs").update_one(
                {"_id": ObjectId(run_id)},
                {"$set": {"doc": merged, "scenario": scenario if isinstance(scenario, str) else None}})
        return res.matched_count > 0

    async def list_scenario_runs(self, scenario: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query = {"scenario": scenario} if scenario is not None else {}
        with errors(self._display):
            docs = await self._c("scenario_runs").find(query).sort(
                [("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit).to_list()
        return [dict(d["doc"]) for d in docs]

    async def delete_scenario_run(self, run_id: str) -> bool:
        if not codec.is_record_id(run_id):
            return False
        with errors(self._display):
            res = await self._c("scenario_runs").delete_one({"_id": ObjectId(run_id)})
        return res.deleted_count > 0

