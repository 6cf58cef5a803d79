"""Frame-rate bookkeeping for live views (pure): frames per second per station over a sliding window."""

from __future__ import annotations

from collections import defaultdict


class RateWindow:
    """Counts events per (station, whole second) and keeps the last ``seconds`` seconds (bounded memory)."""

    def __init__(self, seconds: int = 60) -> None:
        self.seconds = seconds
        self._counts: dict[str, dict[int, int]] = defaultdict(dict)

    def add(self, station_id: str, timestamp: float) -> None:
        sec = int(timestamp)
        per = self._counts[station_id]
        per[sec] = per.get(sec, 0) + 1

    def series(self, now: float) -> dict[str, tuple[list[int], list[int]]]:
        """Per station: (seconds relative to ``now``, -seconds+1 .. 0; frames in that second), oldest first."""
        end = int(now)
        start = end - self.seconds + 1
        out: dict[str, tuple[list[int], list[int]]] = {}
        for sid, per in list(self._counts.items()):
            for sec in [s for s in per if s < start]:
                del per[sec]
            out[sid] = (list(range(start - end, 1)), [per.get(s, 0) for s in range(start, end + 1)])
        return out
