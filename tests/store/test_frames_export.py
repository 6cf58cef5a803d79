"""Contract: pandas views and streamed exports, on every backend."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc

import pandas as pd

from ocppemu.config.station import StationConfig
from ocppemu.store import MessageFilter, Repository
from ocppemu.store.export import CSV_COLUMNS, export_messages, export_messages_to_file
from ocppemu.store.frames import (
    ACTION_STATS_COLUMNS,
    MESSAGE_COLUMNS,
    METER_COLUMNS,
    SESSION_COLUMNS,
    STATION_COLUMNS,
    STATION_ENERGY_COLUMNS,
    TRANSACTION_COLUMNS,
    TRANSACTION_ENERGY_COLUMNS,
    action_stats_df,
    energy_by_station_df,
    energy_by_transaction_df,
    messages_df,
    meter_series_df,
    sessions_df,
    stations_df,
    transactions_df,
)
from tests.store.helpers import at, call, result, sample, tx


def assert_columns(df: pd.DataFrame, columns: dict[str, str]) -> None:
    assert list(df.columns) == list(columns)
    for col, dtype in columns.items():
        if dtype.startswith("datetime64"):
            assert isinstance(df[col].dtype, pd.DatetimeTZDtype) and str(df[col].dt.tz) == "UTC", col
        elif dtype != "object":
            assert df[col].dtype == pd.api.types.pandas_dtype(dtype), col


async def test_every_frame_has_documented_columns_even_when_empty(repo: Repository) -> None:
    assert_columns(await messages_df(repo), MESSAGE_COLUMNS)
    assert_columns(await transactions_df(repo), TRANSACTION_COLUMNS)
    assert_columns(await meter_series_df(repo, "CP1"), METER_COLUMNS)
    assert_columns(await action_stats_df(repo), ACTION_STATS_COLUMNS)
    assert_columns(await energy_by_transaction_df(repo), TRANSACTION_ENERGY_COLUMNS)
    assert_columns(await energy_by_station_df(repo), STATION_ENERGY_COLUMNS)
    assert_columns(await stations_df(repo), STATION_COLUMNS)
    assert_columns(await sessions_df(repo), SESSION_COLUMNS)


async def test_frames_hold_the_query_results(repo: Repository) -> None:
    req = call(1, payload={"k": 1})
    await repo.add_messages([req, result(req, rtt_ms=12.5), call(2)])
    await repo.upsert_transaction(tx("CP1", "1", 0, status="completed", meter_stop=2000, stop=10))
    await repo.add_meter_samples([sample("CP1", "1", 5, 1500)])
    await repo.create_station(StationConfig(station_id="CP1", tags=["lab"]))
    df = await messages_df(repo, MessageFilter(station_id="CP1"))
    assert_columns(df, MESSAGE_COLUMNS)
    assert len(df) == 3 and df["timestamp"].is_monotonic_decreasing
    assert df["timestamp"].iloc[-1] == pd.Timestamp(at(1))
    assert df["rtt_ms"].isna().sum() == 2 and df["rtt_ms"].max() == 12.5
    assert df["payload"].iloc[-1] == {"k": 1}
    assert (await messages_df(repo, limit=2)).shape[0] == 2
    tdf = await transactions_df(repo)
    assert_columns(tdf, TRANSACTION_COLUMNS)
    assert tdf.loc[0, "stop_timestamp"] == pd.Timestamp(at(10)) and tdf.loc[0, "meter_stop"] == 2000
    assert (await meter_series_df(repo, "CP1", "1"))["value"].tolist() == [1500.0]
    assert (await energy_by_station_df(repo))["energy_wh"].tolist() == [1000.0]
    stats = await action_stats_df(repo)
    assert stats.set_index("action").loc["Heartbeat", "count"] == 3
    sdf = await stations_df(repo)
    assert sdf.loc[0, "station_id"] == "CP1" and sdf.loc[0, "connectors"] == 1 and sdf.loc[0, "tags"] == ["lab"]


async def test_exports_in_three_formats_oldest_first(repo: Repository) -> None:
    req = call(1, payload={"a": "x,y"})
    await repo.add_messages([result(req, rtt_ms=3.0), req])
    jsonl = "".join([c async for c in export_messages(repo, fmt="jsonl")])
    lines = [json.loads(x) for x in jsonl.splitlines()]
    assert [x["message_type"] for x in lines] == ["Call", "CallResult"]
    assert lines[0]["timestamp"] == "2025-03-01T12:00:01.000Z" and lines[0]["payload"] == {"a": "x,y"}
    text = "".join([c async for c in export_messages(repo, fmt="csv")])
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 3
    assert json.loads(rows[1][CSV_COLUMNS.index("payload")]) == {"a": "x,y"}
    assert rows[2][CSV_COLUMNS.index("rtt_ms")] == "3.0"
    readable = "".join([c async for c in export_messages(repo, fmt="text")]).splitlines()
    assert readable[0].startswith("2025-03-01T12:00:01.000Z CP1 >> Call Heartbeat [CP1-1] [2,")
    assert " << CallResult " in readable[1]
    empty_csv = [c async for c in export_messages(repo, MessageFilter(station_id="none"), fmt="csv")]
    assert empty_csv == [",".join(CSV_COLUMNS) + "\n"]


async def test_export_streams_in_constant_memory(repo: Repository, tmp_path: object) -> None:
    n = 4000
    payload = {"meterValue": [{"sampledValue": [{"value": "123456.7", "measurand": "Energy"}] * 4}]}
    for start in range(0, n, 2000):
        await repo.add_messages([call(i, action="MeterValues", payload=payload) for i in range(start, start + 2000)])
    total = 0
    chunks = 0
    peak_early = 0
    tracemalloc.start()
    try:
        async for chunk in export_messages(repo, fmt="jsonl", chunk_rows=200):
            total += len(chunk)
            chunks += 1
            if chunks == 5:  # a quarter of the way: a streaming export has reached its steady state
                peak_early = tracemalloc.get_traced_memory()[1]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert chunks == n // 200
    # holding everything would add three quarters of the output (about 2.5 MB) to the peak
    assert peak - peak_early < total / 8, f"peak grew from {peak_early} to {peak} exporting {total} bytes"
    path = f"{tmp_path}/out.csv"
    written = await export_messages_to_file(repo, path, MessageFilter(action="MeterValues"), fmt="csv")
    with open(path, encoding="utf-8") as fh:
        assert sum(1 for _ in csv.reader(fh)) == n + 1
    assert written > 0
