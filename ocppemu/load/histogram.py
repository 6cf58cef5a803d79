"""A mergeable histogram of latencies with logarithmic buckets (HDR-style).

A value ``v`` (milliseconds, > 0) falls in bucket ``floor(log(v / LOWEST) / log(1 + RESOLUTION))``: every bucket
is ``RESOLUTION`` (1 %) wider than the one below, so a percentile read from the buckets is within 1 % of the true
value, whatever the range (microseconds to minutes). Buckets are a sparse ``dict``; merging two histograms adds
their counts, so the merge of the shards' histograms is exactly the histogram of all values (to the bucket
resolution), unlike averaging percentiles. Plain data in, plain data out: ``to_doc`` / ``from_doc`` for the wire.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

RESOLUTION = 0.01
LOWEST = 0.001  # ms; smaller values count in bucket 0
_LOG_BASE = math.log1p(RESOLUTION)


def bucket_of(value_ms: float) -> int:
    if value_ms <= LOWEST:
        return 0
    return int(math.log(value_ms / LOWEST) / _LOG_BASE)


def bucket_value(index: int) -> float:
    """The representative value of a bucket: the middle of its bounds (ms)."""
    low = LOWEST * math.exp(index * _LOG_BASE)
    return low * (1 + RESOLUTION / 2)


class Histogram:
    """Counts of values per logarithmic bucket, with the exact count, sum, minimum and maximum."""

    __slots__ = ("buckets", "count", "max", "min", "total")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = 0.0

    def record(self, value_ms: float) -> None:
        b = bucket_of(value_ms)
        self.buckets[b] = self.buckets.get(b, 0) + 1
        self.count += 1
        self.total += value_ms
        if value_ms < self.min:
            self.min = value_ms
        if value_ms > self.max:
            self.max = value_ms

    def merge(self, other: Histogram) -> Histogram:
        """Add ``other``'s counts into this histogram (returns self)."""
        for b, n in other.buckets.items():
            self.buckets[b] = self.buckets.get(b, 0) + n
        self.count += other.count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        return self

    @classmethod
    def merged(cls, parts: Iterable[Histogram]) -> Histogram:
        out = cls()
        for p in parts:
            out.merge(p)
        return out

    def percentile(self, q: float) -> float | None:
        """The value at quantile ``q`` (0..1, nearest rank) to the bucket resolution; None when empty."""
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for b in sorted(self.buckets):
            seen += self.buckets[b]
            if seen >= rank:
                return min(max(bucket_value(b), self.min), self.max)
        return self.max

    def summary(self) -> dict[str, float | int | None]:
        """count, mean, min, max, p50, p95, p99 (ms, rounded to 0.01)."""
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 2)
        return {"count": self.count, "mean": r(self.total / self.count) if self.count else None,
                "min": r(self.min) if self.count else None, "max": r(self.max) if self.count else None,
                "p50": r(self.percentile(0.50)), "p95": r(self.percentile(0.95)), "p99": r(self.percentile(0.99))}

    def to_doc(self) -> dict[str, Any]:
        return {"buckets": {str(k): v for k, v in self.buckets.items()}, "count": self.count, "total": self.total,
                "min": self.min if self.count else None, "max": self.max}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Histogram:
        h = cls()
        h.buckets = {int(k): int(v) for k, v in doc.get("buckets", {}).items()}
        h.count = int(doc.get("count", 0))
        h.total = float(doc.get("total", 0.0))
        h.min = float(doc["min"]) if doc.get("min") is not None else math.inf
        h.max = float(doc.get("max", 0.0))
        return h
