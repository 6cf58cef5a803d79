"""pandas + plotly helpers for analysis notebooks, over any :class:`~ocppemu.workbench.interface.WorkbenchAPI`.

The ``*_frame`` coroutines fetch through the workbench interface (so they work against a daemon as well as
in-process) and return DataFrames; the other functions are pure transformations and figures of those frames.
Timestamps are tz-aware UTC ``datetime64``. Needs plotly (the ``ui`` extra) only for the ``*_figure`` functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ocppemu.workbench.interface import MessageQuery, WorkbenchAPI

if TYPE_CHECKING:
    import plotly.graph_objects as go

ENERGY = "Energy.Active.Import.Register"
PERCENTILES = (0.5, 0.9, 0.95, 0.99)


def _times(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        if c in df:
            df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601")
    return df


async def messages_frame(wb: WorkbenchAPI, query: MessageQuery | None = None, max_rows: int = 50_000) -> pd.DataFrame:
    """Messages matching ``query`` (all when None), newest first, at most ``max_rows``, one row per frame."""
    q = (query or MessageQuery()).model_copy(update={"limit": min(max_rows, 10_000), "cursor": None})
    rows: list[dict[str, Any]] = []
    while len(rows) < max_rows:
        page = await wb.query_messages(q)
        rows.extend(m.model_dump() for m in page.items)
        if not page.next_cursor:
            break
        q = q.model_copy(update={"cursor": page.next_cursor})
    cols = ["id", "timestamp", "station_id", "direction", "message_type",
            "message_id", "action", "correlation_id", "rtt_ms", "error_code",
            "validation_error", "payload", "protocol_version"]
    df = pd.DataFrame(rows[:max_rows], columns=cols)
    return _times(df, "timestamp")


async def meter_frame(wb: WorkbenchAPI, station_ids: list[str] | None = None, measurand: str | None = ENERGY,
                      transaction_id: str | None = None) -> pd.DataFrame:
    """Meter samples of the stations (all when None), one row per sample, oldest first."""
    ids = station_ids if station_ids is not None else [v.station_id for v in (await wb.list_stations()).stations]
    rows: list[dict[str, Any]] = []
    for sid in ids:
        rows.extend(s.model_dump() for s in (await wb.meter_values(sid, transaction_id, measurand)).samples)
    cols = ["timestamp", "station_id", "connector_id", "transaction_id", "measurand", "value", "unit", "context",
            "phase", "location", "format"]
    df = _times(pd.DataFrame(rows, columns=cols), "timestamp")
    return df.sort_values("timestamp", kind="stable").reset_index(drop=True)


async def transactions_frame(wb: WorkbenchAPI, station_id: str | None = None) -> pd.DataFrame:
    """Transactions (one row each) with start/stop times, meter start/stop and energy consumed (Wh)."""
    txs = (await wb.transactions(station_id)).transactions
    cols = ["station_id", "transaction_id", "connector_id", "id_tag", "status", "start_timestamp", "stop_timestamp",
            "meter_start", "meter_stop", "energy_consumed", "reason", "protocol_version"]
    df = pd.DataFrame([t.model_dump() for t in txs], columns=cols)
    return _times(df, "start_timestamp", "stop_timestamp")


async def findings_frame(wb: WorkbenchAPI, station_id: str | None = None, severity: str | None = None,
                         rule: str | None = None, limit: int = 10_000) -> pd.DataFrame:
    """Compliance findings (oldest first), one row per finding: rule, severity, reference, frame, ..."""
    page = await wb.findings(station_id, severity, rule, limit)
    cols = ["timestamp", "station_id", "protocol_version", "severity", "rule", "action", "message_id",
            "description", "reference", "frame", "seq"]
    return _times(pd.DataFrame([f.model_dump() for f in page.items], columns=cols), "timestamp")


def transaction_energy(meter: pd.DataFrame) -> pd.DataFrame:
    """Per (station, transaction): first and last energy register reading and their difference, Wh."""
    m = meter[(meter["measurand"] == ENERGY) & meter["transaction_id"].notna()]
    g = m.sort_values("timestamp").groupby(["station_id", "transaction_id"], sort=True)["value"]
    out = pd.DataFrame({"first_wh": g.first(), "last_wh": g.last(), "samples": g.size()})
    out["energy_wh"] = out["last_wh"] - out["first_wh"]
    return out.reset_index()


def energy_per_station(transactions: pd.DataFrame) -> pd.DataFrame:
    """Energy consumed per station (sum over its finished transactions, Wh) and how many transactions."""
    g = transactions.groupby("station_id", sort=True)
    out = pd.DataFrame({"transactions": g.size(), "energy_wh": g["energy_consumed"].sum(min_count=1).fillna(0.0)})
    return out.reset_index()


def response_times(messages: pd.DataFrame) -> pd.DataFrame:
    """Answers (CallResult / CallError) with a round-trip time: action, direction, rtt_ms, is_error."""
    m = messages[messages["message_type"].isin(["CallResult", "CallError"]) & messages["rtt_ms"].notna()]
    out = m[["timestamp", "station_id", "action", "rtt_ms"]].copy()
    out["is_error"] = m["message_type"] == "CallError"
    out["rtt_ms"] = out["rtt_ms"].astype(float)
    return out.reset_index(drop=True)


def rtt_percentiles(rtts: pd.DataFrame, percentiles: tuple[float, ...] = PERCENTILES) -> pd.DataFrame:
    """Per action: count, mean and the given percentiles of the round-trip time (columns ``p50`` ...), ms."""
    g = rtts.groupby("action", sort=True)["rtt_ms"]
    out = pd.DataFrame({"count": g.size(), "mean_ms": g.mean()})
    for p in percentiles:
        out[f"p{round(p * 100):d}"] = g.quantile(p)
    return out.reset_index()


def message_mix(messages: pd.DataFrame, freq: str = "1min") -> pd.DataFrame:
    """Frames per time bucket (``freq``) and action: a wide table, one column per action, zero-filled."""
    m = messages.assign(action=messages["action"].fillna("(none)"))
    counts = m.groupby([pd.Grouper(key="timestamp", freq=freq), "action"]).size()
    return counts.unstack("action", fill_value=0).sort_index()


# -- figures -------------------------------------------------------------------------------------------------------


def meter_curves_figure(meter: pd.DataFrame) -> go.Figure:
    """Energy register over time, one line per transaction."""
    import plotly.express as px

    m = meter[(meter["measurand"] == ENERGY) & meter["transaction_id"].notna()].copy()
    m["session"] = m["station_id"].astype(str) + " / " + m["transaction_id"].astype(str)
    fig = px.line(m, x="timestamp", y="value", color="session", markers=True,
                  labels={"value": "energy register (Wh)", "session": "station / transaction"})
    return fig.update_layout(title="Meter values per transaction")


def rtt_histogram_figure(rtts: pd.DataFrame) -> go.Figure:
    import plotly.express as px

    fig = px.histogram(rtts, x="rtt_ms", color="action", nbins=40, labels={"rtt_ms": "round trip (ms)"})
    return fig.update_layout(title="Response times by action", barmode="overlay")


def message_mix_figure(mix: pd.DataFrame) -> go.Figure:
    import plotly.express as px

    long = mix.reset_index().melt(id_vars="timestamp", var_name="action", value_name="frames")
    fig = px.bar(long, x="timestamp", y="frames", color="action")
    return fig.update_layout(title="Message mix over time")


def energy_figure(energy: pd.DataFrame) -> go.Figure:
    import plotly.express as px

    fig = px.bar(energy, x="station_id", y="energy_wh", labels={"energy_wh": "energy (Wh)", "station_id": "station"})
    return fig.update_layout(title="Energy per station")
