"""pandas views of the store's queries, for notebooks and dashboards.

Every function returns a DataFrame with exactly the columns documented in its ``*_COLUMNS`` mapping (name ->
dtype), in that order, even when there are no rows. Timestamps are ``datetime64[ms, UTC]`` (tz-aware), text is
the nullable ``string`` dtype, optional integers ``Int64``, numbers ``float64`` (NaN when missing), and JSON
values (``payload``) stay Python objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import pandas as pd
from pandas.api.types import pandas_dtype

from ocppemu.store.base import MessageFilter, Repository

_TS = "datetime64[ms, UTC]"

MESSAGE_COLUMNS: dict[str, str] = {
    "id": "string", "timestamp": _TS, "station_id": "string", "direction": "string", "message_type": "string",
    "action": "string", "message_id": "string", "correlation_id": "string", "protocol_version": "string",
    "rtt_ms": "float64", "error_code": "string", "error_description": "string", "validation_error": "string",
    "seq": "Int64", "payload": "object", "raw": "string",
}
TRANSACTION_COLUMNS: dict[str, str] = {
    "station_id": "string", "transaction_id": "string", "connector_id": "Int64", "evse_id": "Int64",
    "id_tag": "string", "status": "string", "start_timestamp": _TS, "stop_timestamp": _TS,
    "meter_start": "float64", "meter_stop": "float64", "energy_consumed": "float64", "reason": "string",
    "protocol_version": "string", "created_at": _TS, "updated_at": _TS,
}
METER_COLUMNS: dict[str, str] = {
    "timestamp": _TS, "station_id": "string", "connector_id": "Int64", "transaction_id": "string",
    "measurand": "string", "value": "float64", "unit": "string", "context": "string", "phase": "string",
    "location": "string", "format": "string",
}
ACTION_STATS_COLUMNS: dict[str, str] = {
    "action": "string", "count": "Int64", "errors": "Int64", "mean_rtt_ms": "float64", "p95_rtt_ms": "float64",
}
TRANSACTION_ENERGY_COLUMNS: dict[str, str] = {
    "station_id": "string", "transaction_id": "string", "status": "string", "start_timestamp": _TS,
    "energy_wh": "float64",
}
STATION_ENERGY_COLUMNS: dict[str, str] = {"station_id": "string", "transactions": "Int64", "energy_wh": "float64"}
STATION_COLUMNS: dict[str, str] = {
    "station_id": "string", "name": "string", "enabled": "boolean", "auto_start": "boolean",
    "protocol_version": "string", "vendor": "string", "model": "string", "connectors": "Int64",
    "csms_url": "string", "tags": "object", "created_at": _TS, "updated_at": _TS,
}
SESSION_COLUMNS: dict[str, str] = {
    "id": "string", "station_id": "string", "csms_url": "string", "status": "string", "connected_at": _TS,
    "disconnected_at": _TS, "last_message_at": _TS, "reconnect_attempts": "Int64", "protocol_version": "string",
    "subprotocol": "string", "close_reason": "string",
}


def to_frame(rows: Sequence[dict[str, Any]], columns: dict[str, str]) -> pd.DataFrame:
    """A DataFrame of ``rows`` with exactly ``columns`` (missing keys become NA), typed as documented."""
    df = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=list(columns))
    for col, dtype in columns.items():
        if dtype == _TS:
            df[col] = pd.to_datetime(df[col], utc=True).astype(pandas_dtype(_TS))
        elif dtype != "object":
            df[col] = df[col].astype(pandas_dtype(dtype))
    return df


async def messages_df(repo: Repository, flt: MessageFilter | None = None, limit: int = 10_000) -> pd.DataFrame:
    """Up to ``limit`` matching messages, newest first (:data:`MESSAGE_COLUMNS`)."""
    rows: list[dict[str, Any]] = []
    async for m in repo.iter_messages(flt, ascending=False, batch_size=min(limit, 5000)):
        rows.append(m.to_doc())
        if len(rows) >= limit:
            break
    return to_frame(rows, MESSAGE_COLUMNS)


async def transactions_df(
    repo: Repository, station_id: str | None = None, status: str | None = None, id_tag: str | None = None,
    limit: int = 10_000,
) -> pd.DataFrame:
    """Transactions, newest start first (:data:`TRANSACTION_COLUMNS`)."""
    txs = await repo.query_transactions(station_id=station_id, status=status, id_tag=id_tag, limit=limit)
    return to_frame([t.to_doc() for t in txs], TRANSACTION_COLUMNS)


async def meter_series_df(
    repo: Repository, station_id: str, transaction_id: str | None = None, measurand: str | None = None,
    since: datetime | None = None, until: datetime | None = None,
) -> pd.DataFrame:
    """Meter samples oldest first (:data:`METER_COLUMNS`)."""
    samples = await repo.meter_series(station_id, transaction_id, measurand, since, until)
    return to_frame([s.to_doc() for s in samples], METER_COLUMNS)


async def action_stats_df(
    repo: Repository, station_id: str | None = None, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """Per-action counts and response times (:data:`ACTION_STATS_COLUMNS`)."""
    stats = await repo.action_stats(station_id, since, until)
    return to_frame([asdict(s) for s in stats], ACTION_STATS_COLUMNS)


async def energy_by_transaction_df(repo: Repository, station_id: str | None = None) -> pd.DataFrame:
    """Energy per transaction in Wh (:data:`TRANSACTION_ENERGY_COLUMNS`)."""
    return to_frame([asdict(e) for e in await repo.energy_by_transaction(station_id)], TRANSACTION_ENERGY_COLUMNS)


async def energy_by_station_df(repo: Repository) -> pd.DataFrame:
    """Energy per station in Wh (:data:`STATION_ENERGY_COLUMNS`)."""
    return to_frame([asdict(e) for e in await repo.energy_by_station()], STATION_ENERGY_COLUMNS)


async def stations_df(repo: Repository, tags: Sequence[str] | None = None) -> pd.DataFrame:
    """Station configurations, one row each (:data:`STATION_COLUMNS`); secrets are never included."""
    rows = []
    for st in await repo.list_stations(tags=tags):
        doc: dict[str, Any] = st.export(include_secrets=False)
        doc["connectors"] = len(st.connectors)
        rows.append(doc)
    return to_frame(rows, STATION_COLUMNS)


async def sessions_df(
    repo: Repository, station_id: str | None = None, status: str | None = None, limit: int = 10_000
) -> pd.DataFrame:
    """Sessions, newest connection first (:data:`SESSION_COLUMNS`)."""
    sessions = await repo.list_sessions(station_id, status, limit)
    return to_frame([{**s.record.to_doc(), "id": s.id} for s in sessions], SESSION_COLUMNS)
