"""The live terminal view of a load run: rich when available and the output is a terminal, plain lines else.

It only reads the samples the run takes (one per second) and never slows a station: it runs in the
coordinator's process, the stations in the workers.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, TextIO

from ocppemu.load.metrics import latency_summary


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


class LiveView:
    """``update(sample, final_metrics)`` once per second; a context manager around the run."""

    def __init__(self, out: TextIO | None = None, *, enabled: bool = True, plain_every: float = 5.0) -> None:
        self.out = out or sys.stderr
        self.enabled = enabled
        self.plain_every = plain_every
        self._live: Any = None
        self._last_plain = -1e9
        try:
            from rich.console import Console
            from rich.live import Live
        except ImportError:
            return
        if enabled and self.out.isatty():
            self._live = Live(console=Console(file=self.out), refresh_per_second=2, transient=False)

    def __enter__(self) -> LiveView:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.__exit__(et, ev, tb)

    def update(self, sample: dict[str, Any], metrics: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if self._live is not None:
            self._live.update(self._table(sample, metrics))
            return
        if sample["t"] - self._last_plain >= self.plain_every:
            self._last_plain = sample["t"]
            print(f"[{sample['t']:7.1f}s] connecting {sample['connecting']} connected {sample['connected']} "
                  f"booted {sample['booted']} | sent/s {sample['sent_per_s']:.0f} received/s "
                  f"{sample['received_per_s']:.0f} | p95 {_fmt(sample.get('p95'))} ms | CallErrors "
                  f"{metrics.get('call_errors_received', 0)} disconnects {metrics.get('disconnects', 0)} "
                  f"reconnects {metrics.get('reconnects', 0)} | recorded {sample['recorded']} dropped "
                  f"{sample['dropped']}", file=self.out, flush=True)

    def _table(self, sample: dict[str, Any], metrics: dict[str, Any]) -> Any:
        from rich.table import Table

        head = Table(title=f"ocppemu load - {sample['t']:.0f} s", show_header=False)
        for k, v in (("connecting / connected / booted",
                      f"{sample['connecting']} / {sample['connected']} / {sample['booted']}"),
                     ("frames/s sent / received", f"{sample['sent_per_s']:.0f} / {sample['received_per_s']:.0f}"),
                     ("CallErrors received", str(metrics.get("call_errors_received", 0))),
                     ("disconnects / reconnects", f"{metrics.get('disconnects', 0)} / {metrics.get('reconnects', 0)}"),
                     ("frames recorded / dropped", f"{sample['recorded']} / {sample['dropped']}")):
            head.add_row(k, v)
        lat = Table(title="CSMS latency (ms)")
        for col in ("action", "count", "p50", "p95", "p99"):
            lat.add_column(col, justify="right")
        for action, s in latency_summary(metrics).items():
            lat.add_row(action, str(s["count"]), _fmt(s["p50"]), _fmt(s["p95"]), _fmt(s["p99"]))
        grid = Table.grid()
        grid.add_row(head)
        grid.add_row(lat)
        return grid
