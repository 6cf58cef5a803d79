"""ocppemu.analysis: pure frame transformations on hand-made data, and the fetchers against a real workbench."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

from ocppemu import analysis
from ocppemu.workbench.interface import ActionRequest, MessageQuery

T0 = pd.Timestamp("2025-01-01T10:00:00Z")


def _messages() -> pd.DataFrame:
    rows = []
    for i in range(10):
        rows.append({"timestamp": T0 + pd.Timedelta(seconds=30 * i), "station_id": "A", "action": "Heartbeat",
                     "message_type": "CallResult", "rtt_ms": float(i + 1)})
    rows.append({"timestamp": T0, "station_id": "A", "action": "Authorize", "message_type": "CallError",
                 "rtt_ms": 50.0})
    rows.append({"timestamp": T0, "station_id": "A", "action": "Heartbeat", "message_type": "Call", "rtt_ms": None})
    return pd.DataFrame(rows)


def test_response_times_and_percentiles_by_action() -> None:
    rtts = analysis.response_times(_messages())
    assert len(rtts) == 11 and rtts["is_error"].sum() == 1
    table = analysis.rtt_percentiles(rtts).set_index("action")
    assert table.loc["Heartbeat", "count"] == 10
    assert table.loc["Heartbeat", "p50"] == pytest.approx(5.5)
    assert table.loc["Heartbeat", "p90"] == pytest.approx(9.1)
    assert table.loc["Authorize", "mean_ms"] == 50.0


def test_message_mix_buckets_frames_per_action() -> None:
    mix = analysis.message_mix(_messages(), freq="1min")
    assert list(mix.columns) == ["Authorize", "Heartbeat"]
    assert mix["Heartbeat"].tolist() == [3, 2, 2, 2, 2] and mix["Authorize"].sum() == 1


def test_energy_per_station_and_transaction_energy() -> None:
    tx = pd.DataFrame({"station_id": ["A", "A", "B"], "energy_consumed": [100.0, 50.0, None]})
    e = analysis.energy_per_station(tx).set_index("station_id")
    assert e.loc["A", "energy_wh"] == 150.0 and e.loc["B", "energy_wh"] == 0.0 and e.loc["A", "transactions"] == 2
    meter = pd.DataFrame({"timestamp": [T0, T0 + pd.Timedelta(seconds=5), T0], "station_id": ["A", "A", "A"],
                          "transaction_id": ["1", "1", None], "measurand": [analysis.ENERGY] * 3,
                          "value": [10.0, 25.0, 3.0]})
    te = analysis.transaction_energy(meter)
    assert te.to_dict("records") == [{"station_id": "A", "transaction_id": "1", "first_wh": 10.0, "last_wh": 25.0,
                                      "samples": 2, "energy_wh": 15.0}]


async def test_frames_and_figures_from_a_real_session(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("plotly")
    from ocppemu.widgets.session import open_workbench

    monkeypatch.delenv("OCPPEMU_URL", raising=False)
    s = await open_workbench()
    try:
        wb = s.wb
        await wb.create_station({"station_id": "AN-1", "meter_values_config": {"interval": 1},
                                 "simulation": {"energy_delivery_rate": 36000}})
        await wb.start_station("AN-1")
        for _ in range(100):
            if (await wb.get_station("AN-1")).runtime.state == "connected":
                break
            await asyncio.sleep(0.05)
        assert (await wb.station_action("AN-1", ActionRequest(action="start_transaction"))).ok
        await asyncio.sleep(3.5)
        assert (await wb.station_action("AN-1", ActionRequest(action="stop_transaction"))).ok
        await asyncio.sleep(0.5)
        msgs = await analysis.messages_frame(wb, MessageQuery(station_id="AN-1"))
        assert {"BootNotification", "StartTransaction", "MeterValues", "StopTransaction"} <= set(msgs["action"])
        assert str(msgs["timestamp"].dtype).startswith("datetime64")
        meter = await analysis.meter_frame(wb)
        energy = analysis.transaction_energy(meter)
        assert len(energy) == 1 and energy["energy_wh"].iloc[0] > 0
        tx = await analysis.transactions_frame(wb)
        assert tx["energy_consumed"].iloc[0] > 0
        table = analysis.rtt_percentiles(analysis.response_times(msgs))
        assert "StartTransaction" in set(table["action"])
        for fig in (analysis.meter_curves_figure(meter), analysis.rtt_histogram_figure(analysis.response_times(msgs)),
                    analysis.message_mix_figure(analysis.message_mix(msgs, "1s")),
                    analysis.energy_figure(analysis.energy_per_station(tx))):
            assert len(fig.data) >= 1
    finally:
        await s.close()
