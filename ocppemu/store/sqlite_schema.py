"""SQLite layout (migrations, indexes) and the pure pieces of its queries: filters to SQL, rows to records."""

from __future__ import annotations

import sqlite3
from typing import Any

from ocppemu.ocpp.records import FrameRecord, MeterSample
from ocppemu.store import codec
from ocppemu.store.base import MessageFilter, StoredMessage, nearest_rank

MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE IF NOT EXISTS stations (
  station_id TEXT PRIMARY KEY, doc TEXT NOT NULL, runtime TEXT, connection_status TEXT,
  enabled INTEGER NOT NULL, auto_start INTEGER NOT NULL, protocol_version TEXT NOT NULL, tags TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS stations_status ON stations(connection_status);
CREATE INDEX IF NOT EXISTS stations_enabled ON stations(enabled, auto_start);
CREATE INDEX IF NOT EXISTS stations_version ON stations(protocol_version);
CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY, ts INTEGER NOT NULL, station_id TEXT NOT NULL, direction TEXT NOT NULL,
  message_type TEXT NOT NULL, message_id TEXT, action TEXT, protocol_version TEXT NOT NULL, payload TEXT,
  raw TEXT NOT NULL, correlation_id TEXT, error_code TEXT, error_description TEXT, validation_error TEXT,
  rtt_ms REAL, seq INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS messages_station_ts ON messages(station_id, ts, id);
CREATE INDEX IF NOT EXISTS messages_action_ts ON messages(action, ts, id);
CREATE INDEX IF NOT EXISTS messages_ts ON messages(ts, id);
CREATE INDEX IF NOT EXISTS messages_correlation ON messages(correlation_id);
CREATE INDEX IF NOT EXISTS messages_message_id ON messages(message_id);
CREATE INDEX IF NOT EXISTS messages_created ON messages(created_at);
CREATE TABLE IF NOT EXISTS transactions (
  station_id TEXT NOT NULL, transaction_id TEXT NOT NULL, status TEXT NOT NULL, id_tag TEXT,
  start_ts INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (station_id, transaction_id));
CREATE INDEX IF NOT EXISTS transactions_station_start ON transactions(station_id, start_ts);
CREATE INDEX IF NOT EXISTS transactions_status ON transactions(status);
CREATE INDEX IF NOT EXISTS transactions_id_tag ON transactions(id_tag);
CREATE TABLE IF NOT EXISTS meter_values (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, station_id TEXT NOT NULL, connector_id INTEGER NOT NULL,
  transaction_id TEXT, measurand TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL, context TEXT,
  phase TEXT, location TEXT, format TEXT);
CREATE INDEX IF NOT EXISTS meter_station_tx ON meter_values(station_id, transaction_id, measurand, ts);
CREATE INDEX IF NOT EXISTS meter_station_ts ON meter_values(station_id, ts);
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY, station_id TEXT NOT NULL, status TEXT NOT NULL, connected_at INTEGER NOT NULL,
  doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_station_status ON sessions(station_id, status);
CREATE INDEX IF NOT EXISTS sessions_status ON sessions(status);
CREATE TABLE IF NOT EXISTS templates (
  name TEXT PRIMARY KEY, kind TEXT NOT NULL, doc TEXT NOT NULL, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scenario_runs (
  id TEXT PRIMARY KEY, scenario TEXT, created_at INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS scenario_runs_scenario ON scenario_runs(scenario, created_at);
CREATE INDEX IF NOT EXISTS scenario_runs_created ON scenario_runs(created_at);
CREATE TABLE IF NOT EXISTS offline_queue (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, station_id TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL,
  created_at INTEGER NOT NULL, UNIQUE (station_id, key));
""",
    2: """
CREATE TABLE IF NOT EXISTS authorizations (
  id TEXT PRIMARY KEY, ts INTEGER NOT NULL, station_id TEXT NOT NULL, id_token TEXT NOT NULL,
  result TEXT NOT NULL, source TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS authorizations_station_ts ON authorizations(station_id, ts);
CREATE INDEX IF NOT EXISTS authorizations_token ON authorizations(id_token, ts);
""",
    3: """
CREATE TABLE transactions_v3 (
  station_id TEXT NOT NULL, transaction_id TEXT NOT NULL, status TEXT NOT NULL, id_tag TEXT,
  start_ts INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (station_id, transaction_id, start_ts));
INSERT INTO transactions_v3 SELECT station_id, transaction_id, status, id_tag, start_ts, doc FROM transactions;
DROP TABLE transactions;
ALTER TABLE transactions_v3 RENAME TO transactions;
CREATE INDEX IF NOT EXISTS transactions_station_start ON transactions(station_id, start_ts);
CREATE INDEX IF NOT EXISTS transactions_status ON transactions(status);
CREATE INDEX IF NOT EXISTS transactions_id_tag ON transactions(id_tag);
""",
}

MSG_COLS = (
    "id, ts, station_id, direction, message_type, message_id, action, protocol_version, payload, raw, "
    "correlation_id, error_code, error_description, validation_error, rtt_ms, seq"
)
_TEXT_COLS = ("raw", "action", "error_description", "validation_error")


class P95:
    """SQLite aggregate: nearest-rank 95th percentile of the non-NULL values."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: Any) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self) -> Any:
        return nearest_rank(self.values, 0.95)


def icontains(haystack: str | bytes | None, needle: str) -> bool:
    return haystack is not None and needle.casefold() in codec.read_text(haystack).casefold()


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def message_where(flt: MessageFilter) -> tuple[list[str], list[Any]]:
    """SQL conditions and parameters for ``flt`` (pure; exposed for tests)."""
    where: list[str] = []
    params: list[Any] = []
    for col in ("station_id", "action", "direction", "message_type", "correlation_id", "message_id"):
        value = getattr(flt, col)
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    if flt.since is not None:
        where.append("ts >= ?")
        params.append(codec.to_ms(flt.since))
    if flt.until is not None:
        where.append("ts < ?")
        params.append(codec.to_ms(flt.until))
    for term in flt.terms():
        if term.isascii():
            where.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in _TEXT_COLS) + ")")
            params.extend([_like(term)] * len(_TEXT_COLS))
        else:
            where.append("(" + " OR ".join(f"ocppemu_icontains({c}, ?)" for c in _TEXT_COLS) + ")")
            params.extend([term] * len(_TEXT_COLS))
    return where, params


def msg_from_row(row: sqlite3.Row) -> StoredMessage:
    text = codec.read_text
    rec = FrameRecord(
        timestamp=codec.from_ms(row["ts"]),
        station_id=text(row["station_id"]),
        direction=row["direction"],
        message_type=row["message_type"],
        message_id=text(row["message_id"]),
        action=text(row["action"]),
        protocol_version=row["protocol_version"],
        payload=codec.loads(text(row["payload"])),
        raw=text(row["raw"]),
        correlation_id=text(row["correlation_id"]),
        error_code=text(row["error_code"]),
        error_description=text(row["error_description"]),
        validation_error=text(row["validation_error"]),
        rtt_ms=row["rtt_ms"],
        seq=row["seq"],
    )
    return StoredMessage(row["id"], rec)


def sample_from_row(row: sqlite3.Row) -> MeterSample:
    return MeterSample(
        timestamp=codec.from_ms(row["ts"]),
        station_id=row["station_id"],
        connector_id=row["connector_id"],
        transaction_id=row["transaction_id"],
        measurand=row["measurand"],
        value=row["value"],
        unit=row["unit"],
        context=row["context"],
        phase=row["phase"],
        location=row["location"],
        format=row["format"],
    )
