"""A bounded in-memory buffer between the stations' frame logging and the store.

Stations call :meth:`MessageBuffer.add` for every frame; it returns at once (O(1), no I/O, no await). A single
background task writes the frames in batches every ``interval`` seconds, or as soon as half of ``high_water`` frames
are held.
If the store fails, the batch goes back to the head of the buffer and is retried with exponential back-off, so
stations keep running through an outage and writing resumes when the store comes back.

Memory is bounded by ``max_size`` frames (held + being written), a hard limit. Before it is reached, the buffer
pushes back: from ``high_water`` frames held (while the store is reachable) :meth:`MessageBuffer.pressure`
returns an awaitable that the stations' runtimes wait on before reading or writing more frames, so a store that is
slower than the stations slows the stations instead of losing frames. During a store outage there is no
back-pressure (waiting would not help): frames are held up to ``max_size``. A frame added while the buffer is full
is dropped, counted in :attr:`BufferStats.dropped` and per station (:meth:`MessageBuffer.dropped_by_station`), and
the first drop is logged: never lost silently. Every frame gets its store id
when it is added, so a batch retried after a failure that happened after the store had written it is stored
once (the repository ignores ids it already has).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass

from ocppemu.ocpp.records import FrameRecord
from ocppemu.store.base import Repository, WriteResult
from ocppemu.store.codec import new_record_id
from ocppemu.store.errors import StoreUnavailableError

log = logging.getLogger(__name__)
_CANCEL_GRACE = 1.0  # seconds a timed-out close waits for the cancelled writer
_SPLIT_AFTER = 3  # failures of one batch with an unexpected error before it is written frame by frame


@dataclass(slots=True)
class BufferStats:
    """Counters since the buffer was made. ``pending`` frames are held in memory (including a batch being
    written); ``dropped`` were refused because the buffer was full (or left unwritten by a timed-out close);
    ``rejected`` were refused by the store (oversize, unencodable) and logged with the reason."""

    pending: int
    written: int
    duplicates: int
    dropped: int
    rejected: int
    failures: int
    store_available: bool
    last_error: str | None


class MessageBuffer:
    """One buffer for all stations in front of ``repo``.

    ``max_size`` bounds memory (frames); ``interval`` is the longest a frame waits before a write is attempted
    (seconds); ``max_batch`` caps one write. ``add`` must be called from the event loop's thread.
    """

    def __init__(
        self,
        repo: Repository,
        *,
        max_size: int = 1000,
        interval: float = 5.0,
        high_water: int | None = None,
        max_batch: int = 5000,
        retry_initial: float = 0.1,
        retry_max: float = 5.0,
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.repo = repo
        self.max_size = max_size
        self.high_water = max(1, min(high_water if high_water is not None else max_size, max_size))
        self.interval = interval
        self.max_batch = max(1, max_batch)
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._pending: deque[tuple[str, FrameRecord]] = deque()
        self._inflight = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._added = 0
        self._settled = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._written = 0
        self._duplicates = 0
        self._dropped = 0
        self._rejected = 0
        self._failures = 0
        self._available = True
        self._last_error: str | None = None
        self._dropped_by_station: dict[str, int] = {}
        self._writable: asyncio.Event | None = None

    # -- producer side -----------------------------------------------------------------------------------
    def add(self, record: FrameRecord) -> bool:
        """Queue ``record`` for writing. Returns False (and counts a drop) when the buffer is full or closed."""
        if self._closed or self._closing or len(self._pending) + self._inflight >= self.max_size:
            self._drop(record)
            return False
        self._pending.append((new_record_id(), record))
        self._added += 1
        if self._task is None:
            self.start()
        held = len(self._pending) + self._inflight
        if held * 2 >= self.high_water:
            self._wake.set()
            if held >= self.high_water and self._writable is not None:
                self._writable.clear()
        return True

    def _drop(self, record: FrameRecord) -> None:
        self._dropped += 1
        sid = record.station_id
        self._dropped_by_station[sid] = self._dropped_by_station.get(sid, 0) + 1
        if self._dropped == 1:
            log.error(
                "message buffer full (%d frames) or closed: dropped frame %s of station %s; further drops are "
                "counted per station (system status: store.frames_dropped) and not logged again",
                self.max_size, record.message_id, sid,
            )

    @property
    def dropped(self) -> int:
        return self._dropped

    def dropped_by_station(self) -> dict[str, int]:
        """Frames dropped per station id (only stations that lost any)."""
        return dict(self._dropped_by_station)

    def dropped_of(self, station_id: str) -> int:
        return self._dropped_by_station.get(station_id, 0)

    @property
    def added(self) -> int:
        """Frames accepted so far (written, held, or rejected by the store later)."""
        return self._added

    def pressure(self) -> asyncio.Event | None:
        """None while frames may flow; else an event set when the buffer is below ``high_water`` again.

        Back-pressure applies only while the store is reachable and the buffer is open."""
        held = len(self._pending) + self._inflight
        if held < self.high_water or not self._available or self._closing or self._closed:
            return None
        if self._writable is None:
            self._writable = asyncio.Event()
        if held >= self.high_water:
            self._writable.clear()
        return self._writable

    def _release(self) -> None:
        if self._writable is not None and (
                len(self._pending) + self._inflight < self.high_water or not self._available or self._closing):
            self._writable.set()

    def stats(self) -> BufferStats:
        return BufferStats(
            pending=len(self._pending) + self._inflight, written=self._written, duplicates=self._duplicates,
            dropped=self._dropped, rejected=self._rejected, failures=self._failures,
            store_available=self._available, last_error=self._last_error,
        )

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the background writer (done by the first :meth:`add` if not called; needs a running loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ocppemu-message-buffer")

    async def flush(self) -> None:
        """Wait until every frame added before this call is written (or rejected). Waits through outages."""
        target = self._added
        if self._settled >= target:
            return
        self.start()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, fut))
        self._wake.set()
        await fut

    async def aclose(self, timeout: float | None = None) -> None:
        """Write everything held, then stop. With ``timeout`` (seconds), frames still unwritten when it runs
        out (store down) are counted as dropped and logged. Later :meth:`add` calls count as drops."""
        if self._closed:
            return
        self._closing = True
        self._wake.set()
        self._release()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
                # A driver may be slow to honour the cancellation (pymongo waiting for a server): give it a
                # moment, never wait for ever; a batch still in its hands is counted as lost below.
                await asyncio.wait({self._task}, timeout=_CANCEL_GRACE)
        lost = len(self._pending) + (self._inflight if self._task is not None and not self._task.done() else 0)
        if lost:
            self._dropped += lost
            for _, rec in self._pending:
                sid = rec.station_id
                self._dropped_by_station[sid] = self._dropped_by_station.get(sid, 0) + 1
            log.error("message buffer closed with the store unreachable: %d frames not written (counted as "
                      "dropped)", lost)
            self._pending.clear()
        self._closed = True
        self._settle(0, force=True)

    # -- writer side -------------------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            if not self._closing:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.interval):  # not wait_for: no inner task per wake-up (3.11)
                        await self._wake.wait()
            self._wake.clear()
            await self._drain()
            if self._closing and not self._pending:
                return

    async def _drain(self) -> None:
        delay = self.retry_initial
        odd_failures = 0
        while self._pending:
            n = min(len(self._pending), self.max_batch)
            batch = [self._pending.popleft() for _ in range(n)]
            self._inflight = n
            try:
                if odd_failures >= _SPLIT_AFTER:
                    await self._write_one_by_one(batch)
                    odd_failures = 0
                else:
                    self._account(batch, await self.repo.add_messages([r for _, r in batch], [i for i, _ in batch]))
            except asyncio.CancelledError:
                self._pending.extendleft(reversed(batch))
                self._inflight = 0
                raise
            except Exception as exc:
                self._pending.extendleft(reversed(batch))
                self._inflight = 0
                self._failures += 1
                self._last_error = str(exc)
                if not isinstance(exc, StoreUnavailableError):
                    odd_failures += 1
                    log.exception("writing %d frames failed; will retry", n)
                if self._available:
                    log.warning("store unavailable (%s); holding %d frames and retrying", exc, len(self._pending))
                self._available = False
                self._release()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            self._inflight = 0
            delay = self.retry_initial
            if not self._available:
                log.info("store reachable again; writing %d held frames", len(self._pending))
            self._available = True
            self._settle(n)
            self._release()

    async def _write_one_by_one(self, batch: list[tuple[str, FrameRecord]]) -> None:
        for rid, rec in batch:
            try:
                self._account([(rid, rec)], await self.repo.add_messages([rec], [rid]))
            except StoreUnavailableError:
                raise
            except Exception as exc:
                self._rejected += 1
                log.error("frame %s of station %s cannot be stored and is skipped: %s",
                          rec.message_id, rec.station_id, exc)

    def _account(self, batch: list[tuple[str, FrameRecord]], result: WriteResult) -> None:
        self._written += result.inserted
        self._duplicates += result.duplicates
        for index, reason in result.rejected:
            self._rejected += 1
            rec = batch[index][1]
            log.error("frame %s of station %s rejected by the store: %s", rec.message_id, rec.station_id, reason)

    def _settle(self, n: int, force: bool = False) -> None:
        self._settled += n
        keep: list[tuple[int, asyncio.Future[None]]] = []
        for target, fut in self._waiters:
            if force or self._settled >= target:
                if not fut.done():
                    fut.set_result(None)
            else:
                keep.append((target, fut))
        self._waiters = keep
