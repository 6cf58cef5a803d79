"""The read side of the workbench: messages, exports, transactions, meter values and statistics from the store.

Every query first flushes the recorder, so what a station did before the call is visible in its answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ocppemu.store import InvalidCursorError, Repository
from ocppemu.store import export as msg_export
from ocppemu.store.base import MessageFilter
from ocppemu.workbench.interface import (
    ActionStatOut,
    ExportFormat,
    InvalidRequest,
    MessagePage,
    MessageQuery,
    MeterValueList,
    Stats,
    TransactionList,
)
from ocppemu.workbench.recording import Recorder
from ocppemu.workbench.views import message_filter, message_out, sample_out, transaction_out


class HistoryMixin:
    """Needs ``repo`` and ``recorder`` attributes."""

    repo: Repository
    recorder: Recorder

    # -- history ----------------------------------------------------------------------------------------------

    async def query_messages(self, query: MessageQuery) -> MessagePage:
        flt = message_filter(query)
        await self.recorder.flush()
        try:
            page = await self.repo.query_messages(flt, query.limit, query.cursor or None)
        except InvalidCursorError as exc:
            raise InvalidRequest(f"cursor: {exc}") from None
        return MessagePage(items=[message_out(m) for m in page.items], next_cursor=page.next_cursor)

    async def export_messages(self, query: MessageQuery, fmt: ExportFormat = "jsonl") -> AsyncIterator[str]:
        """The matching messages, oldest first, in chunks of ``fmt`` text (constant memory)."""
        flt = message_filter(query)
        if fmt not in ("jsonl", "csv", "text"):
            raise InvalidRequest(f"format: {fmt!r} is not one of jsonl, csv, text")
        await self.recorder.flush()
        async for chunk in msg_export.export_messages(self.repo, flt, fmt):
            yield chunk

    async def transactions(self, station_id: str | None = None, status: str | None = None) -> TransactionList:
        await self.recorder.flush()
        rows = await self.repo.query_transactions(station_id=station_id or None, status=status or None)
        return TransactionList(transactions=[transaction_out(t) for t in rows])

    async def meter_values(self, station_id: str, transaction_id: str | None = None,
                           measurand: str | None = None) -> MeterValueList:
        await self.recorder.flush()
        rows = await self.repo.meter_series(station_id, transaction_id or None, measurand or None)
        return MeterValueList(samples=[sample_out(s) for s in rows])

    async def stats(self, station_id: str | None = None) -> Stats:
        await self.recorder.flush()
        sid = station_id or None
        actions = await self.repo.action_stats(sid)
        energy = await self.repo.energy_by_transaction(sid)
        return Stats(station_id=sid, messages=await self.repo.count_messages(MessageFilter(station_id=sid)),
                     actions=[ActionStatOut(action=a.action, count=a.count, errors=a.errors, mean_rtt_ms=a.mean_rtt_ms,
                                            p95_rtt_ms=a.p95_rtt_ms) for a in actions],
                     transactions=len(energy), energy_wh=sum(e.energy_wh for e in energy))
