"""Mergeable latency histograms and the shard metrics: merged shards equal one histogram of all values."""

from __future__ import annotations

import random

from ocppemu.load.histogram import RESOLUTION, Histogram
from ocppemu.load.metrics import LoadMetrics, merge_snapshots
from ocppemu.station.core import StationEvent


def test_merged_shards_give_exactly_the_histogram_of_all_values() -> None:
    rng = random.Random(3)
    values = [rng.lognormvariate(1.5, 1.0) for _ in range(20_000)]
    whole = Histogram()
    parts = [Histogram() for _ in range(3)]
    for i, v in enumerate(values):
        whole.record(v)
        parts[i % 3].record(v)
    merged = Histogram.merged(Histogram.from_doc(p.to_doc()) for p in parts)
    assert merged.buckets == whole.buckets and merged.count == whole.count == 20_000
    ordered = sorted(values)
    for q in (0.5, 0.95, 0.99):
        exact = ordered[int(q * len(ordered)) - 1]
        assert merged.percentile(q) == whole.percentile(q)
        assert abs(merged.percentile(q) - exact) <= exact * RESOLUTION  # type: ignore[operator]
    assert Histogram().percentile(0.5) is None


def test_meter_values_due_counts_the_samples_a_punctual_station_sends() -> None:
    m = LoadMetrics(clock=lambda: 1000.0, meter_interval=10.0)
    # started 95 s ago and still charging: samples at +10 ... +90, of which +40 ... +90 (6) are in the window
    m.on_event(StationEvent("A", "transaction", {"event": "started", "connector_id": 1}, 905.0))
    # 900..975 stopped 25 s ago: samples +10 ... +70 at 910 ... 970, of which 940 ... 970 (4) in the window
    m.on_event(StationEvent("A", "transaction", {"event": "started", "connector_id": 2}, 900.0))
    m.on_event(StationEvent("A", "transaction", {"event": "stopped", "connector_id": 2}, 975.0))
    assert m.meter_values_due() == 10.0
    other = LoadMetrics(clock=lambda: 1000.0, meter_interval=10.0)
    other.on_event(StationEvent("B", "transaction", {"event": "started", "evse_id": 1}, 995.0))  # none due yet
    merged = merge_snapshots([m.snapshot(), other.snapshot()])
    assert merged["meter_values_due_60s"] == 10.0
