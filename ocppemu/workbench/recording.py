"""Where stations' outputs go: the store (through bounded buffers), a JSON-lines file, and live subscribers.

A :class:`Recorder` hands each station a :class:`~ocppemu.station.core.Sinks` whose callbacks return at once:
frames the recording level keeps (:mod:`ocppemu.store.levels`) go to the
:class:`~ocppemu.store.buffer.MessageBuffer`; transactions, meter samples and offline-queue changes go to one
background writer that batches them (all meter samples gathered since the last round in one write, transaction
updates coalesced); subscribers get every frame and event synchronously and must not block (the workbench's event
bus gives each subscriber its own bounded queue). Nothing here makes a station fail: a store outage is counted and
retried, never raised. A store that is slower than the stations pushes back (:meth:`Recorder.pressure`) instead of
losing frames; frames are lost only at the buffer's hard limit, and then counted per station.

The meter samples handed over within one round (at most 0.5 s) cost one store write together. The offline queue is
mirrored to the store only for what can outlive a connection: an entry queued while the station is offline is
written at once; one queued while online (the usual MeterValues or TransactionEvent, sent at once) is written only
if it is still unanswered after ``queue_grace`` seconds, so a message the CSMS answers in time costs no queue write
at all. A crash of the emulator can lose at most ``queue_grace`` seconds of online messages, as it can lose that
much of the message log (``batch_interval``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, get_args

from ocppemu.config.masking import mask_secrets
from ocppemu.config.station import StationRuntimeState
from ocppemu.ocpp.framing import dumps
from ocppemu.ocpp.records import (
    AuthorizationRecord,
    AuthSource,
    FrameRecord,
    MeterSample,
    SessionRecord,
    TransactionRecord,
)
from ocppemu.station.core import Sinks, StationEvent
from ocppemu.station.offline_queue import QueuedMessage, QueueSink
from ocppemu.store.base import Repository
from ocppemu.store.buffer import MessageBuffer
from ocppemu.store.errors import StoreUnavailableError
from ocppemu.store.levels import RecordingPolicy

log = logging.getLogger(__name__)
AUTH_SOURCES = frozenset(get_args(AuthSource))

FrameListener = Callable[[FrameRecord], None]
EventListener = Callable[[StationEvent], None]


class _QueueMirror:
    __slots__ = ("recorder", "station_id")

    def __init__(self, recorder: Recorder, station_id: str) -> None:
        self.recorder, self.station_id = recorder, station_id

    def pushed(self, entry: QueuedMessage) -> None:
        if self.recorder.repo is None:
            return
        if entry.offline:
            self.recorder.save_queued(self.station_id, entry)
        else:
            self.recorder.defer_queued(self.station_id, entry)

    def removed(self, entry: QueuedMessage) -> None:
        repo = self.recorder.repo
        if repo is None or self.recorder.forget_queued(self.station_id, entry):
            return  # answered before it was ever written: nothing to remove either
        self.recorder.write(lambda: repo.queue_remove(self.station_id, f"{entry.key:012d}"))


@dataclass(slots=True)
class SavedStation:
    """What the store kept of a station's last run: its runtime state, energy registers and offline queue."""

    state: StationRuntimeState | None
    registers: dict[int, float] | None
    queue: list[QueuedMessage]


async def load_saved(repo: Repository, station_id: str) -> SavedStation:
    state = await repo.get_runtime_state(station_id)
    registers = {int(k): float(v) for k, v in state.energy_register_wh.items()} if state else None
    queue = [QueuedMessage.from_doc(item.doc) for item in await repo.queue_list(station_id)]
    if registers is not None:
        connector_of = {t.get("local_key"): t.get("connector_id")
                        for t in ((state.durable or {}).get("transactions", []) if state else [])}
        for connector, wh in queued_registers(queue, connector_of).items():
            if wh > registers.get(connector, 0.0):
                registers[connector] = wh  # a queued meter value is newer than the last saved register
    return SavedStation(state, registers, queue)


def queued_registers(queue: list[QueuedMessage], connector_of: dict[Any, Any]) -> dict[int, float]:
    """The highest energy register (Wh) per connector (1.6) or EVSE (2.x) in queued MeterValues,
    StopTransaction and TransactionEvent payloads."""
    out: dict[int, float] = {}
    for entry in queue:
        p = entry.payload
        evse = p.get("evse")
        connector = p.get("connectorId", p.get("evseId", evse.get("id") if isinstance(evse, dict) else
                                                connector_of.get(entry.local_tx)))
        if not isinstance(connector, int):
            continue
        values: list[float] = []
        if entry.action == "StopTransaction" and isinstance(p.get("meterStop"), int | float):
            values.append(float(p["meterStop"]))
        for mv in list(p.get("meterValue") or []) + list(p.get("transactionData") or []):
            for sv in mv.get("sampledValue", []) if isinstance(mv, dict) else []:
                if sv.get("measurand", "Energy.Active.Import.Register") != "Energy.Active.Import.Register":
                    continue
                try:
                    value = float(sv["value"])
                except (KeyError, TypeError, ValueError):
                    continue
                values.append(value * 1000 if sv.get("unit") == "kWh" else value)
        if values:
            out[connector] = max(out.get(connector, 0.0), *values)
    return out


@dataclass(slots=True, frozen=True)
class Unwritten:
    """What a bounded shutdown could not write: frames and other record writes."""

    frames: int = 0
    writes: int = 0

    def __bool__(self) -> bool:
        return bool(self.frames or self.writes)

    def sentence(self) -> str:
        return (f"the store was unreachable at shutdown: {self.frames} frame(s) and {self.writes} other record "
                f"write(s) could not be written")


class Recorder:
    """Fan-out of station outputs. ``repo`` may be None (no store: subscribers and the JSON-lines file only)."""

    def __init__(self, repo: Repository | None, *, buffer_size: int = 100_000, batch_interval: float = 1.0,
                 jsonl_path: str | Path | None = None, max_pending_writes: int = 100000,
                 queue_grace: float | None = None, high_water: int | None = None, level: str = "all") -> None:
        self.repo = repo
        self.policy = RecordingPolicy(level)
        #: Seconds an entry queued while online may stay unanswered before it is mirrored to the store.
        self.queue_grace = batch_interval if queue_grace is None else queue_grace
        self._unsaved: dict[tuple[str, int], tuple[float, QueuedMessage]] = {}
        self._unsaved_timer: asyncio.TimerHandle | None = None
        self.buffer = MessageBuffer(repo, max_size=buffer_size, interval=batch_interval,
                                    high_water=high_water) if repo else None
        self.batch_interval = batch_interval
        self.frames_seen = 0
        self.frames_skipped = 0
        self._samples: list[MeterSample] = []
        self._batcher: asyncio.Task[None] | None = None
        self._jsonl: IO[str] | None = open(jsonl_path, "a", encoding="utf-8") if jsonl_path else None  # noqa: SIM115
        self._frame_listeners: list[FrameListener] = []
        self._event_listeners: list[EventListener] = []
        self._writes: asyncio.Queue[Callable[[], Awaitable[Any]]] = asyncio.Queue(max_pending_writes)
        self._writer: asyncio.Task[None] | None = None
        self._pending_tx: dict[tuple[str, str], TransactionRecord] = {}
        self._open_sessions: dict[str, tuple[str | None, SessionRecord]] = {}
        self._busy = False
        self.dropped_writes = 0
        self.failed_writes = 0

    async def start(self) -> None:
        if self.buffer is not None:
            self.buffer.start()
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name="recorder-writer")
        if self._batcher is None and self.repo is not None:
            self._batcher = asyncio.create_task(self._batch_loop(), name="recorder-batcher")

    async def aclose(self, timeout: float | None = None) -> Unwritten:
        """Write everything still pending, then stop. With ``timeout`` (seconds) it returns by then even if the
        store never comes back: what could not be written is logged and returned (frames are also counted as
        dropped by the buffer)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - loop.time())

        if self._batcher is not None:
            self._batcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._batcher
            self._batcher = None
        self._hand_over()
        self._save_unsaved(everything=True)  # the offline queue's unsaved entries are written like the rest
        lost_writes = 0
        if self._writer is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._writes.join(), left())
            lost_writes = int(self._busy)  # the write being retried when the time ran out
            self._writer.cancel()
            await asyncio.wait({self._writer}, timeout=1.0)  # never wait for ever on a driver
            self._writer = None
            while not self._writes.empty():
                self._writes.get_nowait()
                self._writes.task_done()
                lost_writes += 1
            self._busy = False
        lost_frames = 0
        if self.buffer is not None:
            before = self.buffer.dropped
            await self.buffer.aclose(timeout=left())
            lost_frames = self.buffer.dropped - before
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None
        if lost_writes:
            self.dropped_writes += lost_writes
            log.error("store unreachable at shutdown: %d record writes (transactions, meter values, sessions, "
                      "authorizations, offline-queue changes) not written", lost_writes)
        return Unwritten(lost_frames, lost_writes)

    async def flush(self) -> None:
        """Wait until every record handed over so far is in the store (offline-queue entries included)."""
        self._save_unsaved(everything=True)
        self._hand_over()
        await self._writes.join()
        if self.buffer is not None:
            await self.buffer.flush()

    # -- subscribers -----------------------------------------------------------------------------------------------

    def on_frame(self, listener: FrameListener) -> Callable[[], None]:
        self._frame_listeners.append(listener)
        return lambda: self._frame_listeners.remove(listener) if listener in self._frame_listeners else None

    def on_event(self, listener: EventListener) -> Callable[[], None]:
        self._event_listeners.append(listener)
        return lambda: self._event_listeners.remove(listener) if listener in self._event_listeners else None

    # -- sinks -------------------------------------------------------------------------------------------------------

    def sinks(self) -> Sinks:
        return Sinks(frame=self.frame, event=self.event, transaction=self.transaction, meter=self.meter)

    def queue_sink(self, station_id: str) -> QueueSink:
        return _QueueMirror(self, station_id)

    def frame(self, record: FrameRecord) -> None:
        self.frames_seen += 1
        if self.buffer is not None:
            if self.policy.keep(record):
                self.buffer.add(record)
            else:
                self.frames_skipped += 1
        if self._jsonl is not None:
            doc = record.to_doc()
            doc["timestamp"] = record.timestamp.isoformat()
            self._jsonl.write(dumps(doc) + "\n")
        for listener in self._frame_listeners:
            try:
                listener(record)
            except Exception:
                log.exception("frame listener failed")

    def event(self, event: StationEvent) -> None:
        if self.repo is not None:
            if event.kind == "session":
                self._session(self.repo, event)
            elif event.kind == "authorize":
                self._authorization(self.repo, event)
        for listener in self._event_listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed")

    def transaction(self, record: TransactionRecord) -> None:
        repo = self.repo
        if repo is None:
            return
        key = (record.station_id, record.created_at.isoformat())
        first = key not in self._pending_tx
        self._pending_tx[key] = record
        if first:
            async def upsert() -> None:
                rec = self._pending_tx.pop(key, record)
                await repo.upsert_transaction(rec)
            self.write(upsert)

    def _session(self, repo: Repository, event: StationEvent) -> None:
        """A connection opened (a new ``sessions`` record) or closed (that record completed)."""
        sid, data, at = event.station_id, event.data, datetime.fromtimestamp(event.timestamp, UTC)
        if data.get("status") == "opened":
            record = SessionRecord(
                station_id=sid, csms_url=str(mask_secrets(str(data.get("csms_url", "")))), connected_at=at,
                protocol_version=str(data.get("protocol_version") or ""), subprotocol=data.get("subprotocol"),
                reconnect_attempts=int(data.get("reconnect_attempts") or 0))
            if not record.protocol_version and record.subprotocol:
                record.protocol_version = record.subprotocol.removeprefix("ocpp")
            self._open_sessions[sid] = (None, record)

            async def add() -> None:
                session_id = await repo.add_session(record)
                current = self._open_sessions.get(sid)
                if current is not None and current[1] is record:
                    self._open_sessions[sid] = (session_id, record)
                elif record.status == "disconnected":  # closed before the insert was written
                    await repo.update_session(session_id, record)
            self.write(add)
            return
        entry = self._open_sessions.pop(sid, None)
        if entry is None:
            return
        session_id, record = entry
        record.status = "disconnected"
        record.disconnected_at = at
        record.close_code = data.get("close_code")
        record.close_reason = data.get("close_reason")
        if session_id is not None:
            self.write(lambda: repo.update_session(session_id, record))

    def _authorization(self, repo: Repository, event: StationEvent) -> None:
        data = event.data
        token = data.get("id_tag", data.get("id_token"))
        if token is None:
            return
        source = data.get("source", "CSMS")
        record = AuthorizationRecord(
            timestamp=datetime.fromtimestamp(event.timestamp, UTC), station_id=event.station_id,
            id_token=str(token), result=str(data.get("status")), source=source if source in AUTH_SOURCES else "None",
            connector_id=data.get("connector_id", data.get("evse_id")), token_type=data.get("token_type"),
            reason=data.get("reason"))
        self.write(lambda: repo.add_authorizations([record]))

    def meter(self, samples: list[MeterSample]) -> None:
        if self.repo is not None and samples:
            self._samples.extend(samples)

    def pressure(self) -> asyncio.Event | None:
        """None while stations may go on; else an event to wait on (the store is behind). See MessageBuffer."""
        return self.buffer.pressure() if self.buffer is not None else None

    def stats(self) -> dict[str, Any]:
        """Recording counters for status views: frames seen, skipped by the level, recorded, dropped."""
        buf = self.buffer.stats() if self.buffer is not None else None
        dropped = self.buffer.dropped_by_station() if self.buffer is not None else {}
        return {
            "recording_level": self.policy.level,
            "frames_seen": self.frames_seen,
            "frames_skipped_by_level": self.frames_skipped,
            "frames_recorded": buf.written if buf else 0,
            "frames_pending": buf.pending if buf else 0,
            "frames_dropped": buf.dropped if buf else 0,
            "frames_rejected": buf.rejected if buf else 0,
            "stations_with_dropped_frames": len(dropped),
            "frames_dropped_by_station": dict(sorted(dropped.items(), key=lambda kv: -kv[1])[:20]),
        }

    def _hand_over(self) -> None:
        """Turn what was gathered since the last round into store writes (one per kind and round)."""
        repo = self.repo
        if repo is None:
            return
        if self._samples:
            samples, self._samples = self._samples, []
            self.write(lambda: repo.add_meter_samples(samples))

    async def _batch_loop(self) -> None:
        while True:
            await asyncio.sleep(min(self.batch_interval, 0.5))
            self._hand_over()

    # -- the offline queue's mirror ------------------------------------------------------------------------------

    def save_queued(self, station_id: str, entry: QueuedMessage) -> None:
        repo = self.repo
        if repo is not None:
            doc = entry.to_doc()
            self.write(lambda: repo.queue_push(station_id, f"{entry.key:012d}", doc))

    def defer_queued(self, station_id: str, entry: QueuedMessage) -> None:
        """Mirror ``entry`` only if it is still queued ``queue_grace`` seconds from now."""
        self._unsaved[(station_id, entry.key)] = (time.monotonic() + self.queue_grace, entry)
        if self._unsaved_timer is None:
            self._unsaved_timer = asyncio.get_running_loop().call_later(self.queue_grace, self._save_unsaved)

    def forget_queued(self, station_id: str, entry: QueuedMessage) -> bool:
        """``entry`` left the queue: True when it had never been written (so nothing is to be removed)."""
        return self._unsaved.pop((station_id, entry.key), None) is not None

    def _save_unsaved(self, everything: bool = False) -> None:
        if self._unsaved_timer is not None:
            self._unsaved_timer.cancel()
            self._unsaved_timer = None
        now = time.monotonic()
        due = [k for k, (at, _) in self._unsaved.items() if everything or at <= now]
        for key in due:
            _, entry = self._unsaved.pop(key)
            self.save_queued(key[0], entry)
        if self._unsaved:
            wait = max(0.0, min(at for at, _ in self._unsaved.values()) - now)
            self._unsaved_timer = asyncio.get_running_loop().call_later(wait, self._save_unsaved)

    def write(self, op: Callable[[], Awaitable[Any]]) -> bool:
        """Queue a store write; dropped (counted, False returned) when the queue is full."""
        try:
            self._writes.put_nowait(op)
        except asyncio.QueueFull:
            self.dropped_writes += 1
            return False
        return True

    async def _write_loop(self) -> None:
        while True:
            op = await self._writes.get()
            self._busy = True
            try:
                delay = 0.1
                while True:
                    try:
                        await op()
                        break
                    except StoreUnavailableError as exc:  # outage: keep the write, retry until the store is back
                        log.debug("store unavailable, retrying in %.1fs: %s", delay, exc)
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, 5.0)
                    except Exception as exc:  # the store refused this record: report it, never loop on it
                        self.failed_writes += 1
                        log.warning("store refused a write: %s", exc)
                        break
            finally:
                self._busy = False
                self._writes.task_done()
