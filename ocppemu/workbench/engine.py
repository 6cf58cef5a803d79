"""The workbench: one asyncio engine that owns many stations, their store and their live event stream.

It loads station configurations from the store at :meth:`Workbench.start`, builds their engines, connects those
that are ``enabled`` and ``auto_start``, keeps each station's runtime state in memory and syncs it (with the
energy registers, so a restart keeps them monotonic) to the store. Stations are created, updated, deleted,
started, stopped, reset and cloned at run time; an update of a running station's connection settings reconnects
that station only. ``max_stations`` is enforced on every path that adds stations. Every frame, station event and
state change is published on an :class:`~ocppemu.workbench.events.EventBus` whose subscribers can never slow a station.

All methods follow :class:`~ocppemu.workbench.interface.WorkbenchAPI`; refusals raise its ``WorkbenchError`` subclasses
and leave nothing half-written (validation and engine construction happen before any store write).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from ocppemu.config.app import AppConfig
from ocppemu.config.masking import MASK, mask_secrets
from ocppemu.config.station import StationConfig, StationRuntimeState
from ocppemu.ocpp.errors import Violation
from ocppemu.ocpp.framing import Call
from ocppemu.ocpp.records import FrameRecord
from ocppemu.runtime.station_runtime import StationRuntime as Runtime
from ocppemu.runtime.station_runtime import TransportFactory
from ocppemu.station.actions import StationActions
from ocppemu.station.core import StationCore, StationEvent
from ocppemu.station.factory import build_core
from ocppemu.store import (
    DuplicateStationError,
    PayloadTooLargeError,
    Repository,
    open_store,
    stations_io,
)
from ocppemu.version import __version__
from ocppemu.workbench.action_checks import check_action
from ocppemu.workbench.auto_driver import AutoDriver, enabled_copy
from ocppemu.workbench.durable import resume, snapshot
from ocppemu.workbench.events import EventBus
from ocppemu.workbench.findings import FindingsMixin
from ocppemu.workbench.history import HistoryMixin
from ocppemu.workbench.interface import (
    ActionRequest,
    ActionResponse,
    CloneRequest,
    Conflict,
    Deleted,
    FromTemplateRequest,
    ImportRejection,
    ImportRequest,
    ImportResult,
    InvalidRequest,
    NotFound,
    SendMessageRequest,
    SendMessageResult,
    StationList,
    StationRuntime,
    StationsExport,
    StationView,
    SystemStatus,
    TemplateCreate,
    TemplateDeleted,
    TemplateList,
    TemplateUpdate,
    TemplateView,
    WorkbenchEvent,
)
from ocppemu.workbench.recording import Recorder, Unwritten, load_saved
from ocppemu.workbench.templates import BUILTIN_TEMPLATES, check_template, render
from ocppemu.workbench.views import explain, rss_bytes

log = logging.getLogger(__name__)

#: Fields whose change only needs a reconnection (the engine and its transactions are kept).
CONNECTION_FIELDS = frozenset({"csms_url", "csms_auth", "tls"})
#: Fields that change nothing in a running engine.
PASSIVE_FIELDS = frozenset({"name", "tags", "enabled", "auto_start", "created_at", "updated_at", "created_by",
                            "auto_transactions"})


@dataclass(slots=True)
class _Station:
    core: StationCore
    runtime: Runtime
    saved: StationRuntimeState | None = None

    @property
    def config(self) -> StationConfig:
        """The station's configuration, held once: by its core (the runtime reads it there too)."""
        return self.core.config


class Workbench(HistoryMixin, FindingsMixin):
    """The in-process implementation of :class:`~ocppemu.workbench.interface.WorkbenchAPI`.

    ``store`` is a URL or an open :class:`Repository` (not closed by :meth:`close` when passed in). Use
    ``async with Workbench(...) as wb`` or ``await wb.start()`` ... ``await wb.close()``.
    """

    def __init__(self, store: str | Repository | None = None, *, config: AppConfig | None = None,
                 transport_factory: TransportFactory | None = None) -> None:
        self.app = config or AppConfig()
        self._owns_repo = not isinstance(store, Repository)
        self.repo: Repository = store if isinstance(store, Repository) else open_store(
            store or self.app.store.url, max_document_bytes=self.app.store.max_document_bytes,
            retention_days=self.app.store.retention_days)
        a = self.app.application
        self.recorder = Recorder(self.repo, buffer_size=a.message_buffer_size, batch_interval=a.batch_insert_interval,
                                 high_water=a.message_buffer_high_water, level=self.app.store.record)
        self.bus = EventBus(queue_size=a.event_queue_size, history=a.event_history)
        self._init_findings()
        self._transport_factory = transport_factory
        self._stations: dict[str, _Station] = {}
        self.auto = AutoDriver()
        self._lock = asyncio.Lock()
        self.unwritten = Unwritten()
        self._clean_stop = False
        self._store_ok = True
        self._dirty = asyncio.Event()
        self._waiters: dict[tuple[str, str], asyncio.Future[FrameRecord]] = {}
        self._sync_task: asyncio.Task[None] | None = None
        self._started_at = time.time()
        self.skipped: dict[str, str] = {}

    @property
    def max_stations(self) -> int:
        return self.app.application.max_stations

    # -- life ------------------------------------------------------------------------------------------------------

    async def __aenter__(self) -> Workbench:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the store, load every station, connect the enabled auto-start ones."""
        await self.repo.init()
        await self.recorder.start()
        self.recorder.on_frame(self._on_frame)
        self.recorder.on_event(self._on_event)
        for config in await self.repo.list_stations():
            saved = await load_saved(self.repo, config.station_id)
            try:
                st = self._build(config, saved.registers)
            except NotImplementedError as exc:
                self.skipped[config.station_id] = str(exc)
                log.warning("station %s not loaded: %s", config.station_id, exc)
                continue
            st.saved = saved.state
            for note in resume(st.core, saved, time.time()):
                log.info("station %s after restart: %s", config.station_id, note)
            self._put(config.station_id, st)
        for st in self._stations.values():
            if st.config.enabled and st.config.auto_start:
                await st.runtime.start()
        self._sync_task = asyncio.create_task(self._sync_loop(), name="workbench-sync")
        log.info("workbench started with %d station(s)", len(self._stations))

    async def close(self) -> None:
        """Stop every station, save their state and registers, flush and close the store (if owned); bounded by
        ``application.shutdown_timeout`` (see :meth:`shutdown`)."""
        await self.shutdown()

    async def shutdown(self, timeout: float | None = None) -> Unwritten:
        """:meth:`close`, returning what could not be written.

        Bounded: after ``timeout`` seconds (``application.shutdown_timeout`` when None) it gives up on a store
        that does not answer; what could not be written is logged and returned (also kept in :attr:`unwritten`).
        """
        loop = asyncio.get_running_loop()
        budget = self.app.application.shutdown_timeout if timeout is None else timeout
        deadline = loop.time() + budget

        def left() -> float:
            return max(0.0, deadline - loop.time())

        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
            self._sync_task = None
        self.auto.close()
        for st in list(self._stations.values()):
            await st.runtime.stop()
        self._clean_stop = True
        try:
            await asyncio.wait_for(self._sync_all(), left() * 0.5)
        except TimeoutError:
            log.error("store unreachable at shutdown: runtime state of some stations not saved")
        self.unwritten = await self.recorder.aclose(timeout=left())
        if self.unwritten:
            log.error("%s", self.unwritten.sentence())
        if self._owns_repo:
            closing = asyncio.ensure_future(self.repo.close())
            await asyncio.wait({closing}, timeout=max(left(), 1.0))  # a driver stuck on a dead server: move on
        return self.unwritten

    # -- stations ----------------------------------------------------------------------------------------------

    def _build(self, config: StationConfig, registers: dict[int, float] | None = None) -> _Station:
        core = build_core(config, self._checked_sinks(config, self.recorder.sinks()), registers_wh=registers)
        core.queue.sink = self.recorder.queue_sink(config.station_id)
        runtime = Runtime(core, self._transport_factory)
        sid = config.station_id
        runtime.on_state = lambda rt: self._publish_state(sid, rt)
        runtime.before_send = lambda: self._sync_before_send(self._stations[sid])
        runtime.pressure = self.recorder.pressure
        return _Station(core, runtime)

    def _put(self, station_id: str, st: _Station) -> None:
        self._stations[station_id] = st
        self.auto.attach(st.config, st.core, st.runtime)

    def station_engine(self, station_id: str) -> tuple[StationCore, Runtime]:
        """A station's engine and runtime, for in-process drivers such as the scenario runner (raises NotFound)."""
        st = self._get(station_id)
        return st.core, st.runtime

    def _get(self, station_id: str) -> _Station:
        st = self._stations.get(station_id)
        if st is None:
            raise NotFound(f"no station {station_id!r}")
        return st

    def _validate(self, doc: dict[str, Any], *, defaults: bool = True) -> StationConfig:
        if not isinstance(doc, dict):
            raise InvalidRequest("a station configuration must be a JSON object")
        doc = dict(doc)
        if defaults and "csms_url" not in doc:
            doc["csms_url"] = self.app.csms.default_url
        try:
            return StationConfig.model_validate(doc)
        except ValidationError as exc:
            raise InvalidRequest(explain(exc)) from None

    def _try_build(self, config: StationConfig, registers: dict[int, float] | None = None) -> _Station:
        try:
            return self._build(config, registers)
        except NotImplementedError as exc:
            raise InvalidRequest(str(exc)) from None
        except ValueError as exc:  # the engine refuses a setting the model let through
            raise InvalidRequest(f"the station engine refuses this configuration: {exc}") from None

    def view(self, st: _Station, include_secrets: bool = False) -> StationView:
        snap = st.core.snapshot()
        state = self._state_of(st)
        # energy and SoC as the meter model has them now, not as of the last sample
        readings = st.core.meter_readings(time.time())
        for c in snap.get("connectors") or []:
            live = readings.get(c.get("id"))
            if live is not None:
                c["energy_wh"] = round(live[0], 1)
                if c.get("soc") is not None:
                    c["soc"] = round(live[2], 1)
        registers = {k: r[0] for k, r in readings.items()} or state.energy_register_wh
        return StationView(
            station_id=st.config.station_id, config=st.config.export(include_secrets), snapshot=snap,
            runtime=StationRuntime(
                running=st.runtime.running, state=st.runtime.state, connection_status=state.connection_status,
                registration_status=state.registration_status,
                last_heartbeat=state.last_heartbeat.isoformat() if state.last_heartbeat else None,
                last_error=state.last_error, queued_messages=len(st.core.queue),
                frames_dropped=self._dropped_of(st.config.station_id),
                auto_transactions=self.auto.status(st.config.station_id),
                active_transactions={str(k): v for k, v in state.active_transactions.items()},
                energy_register_wh={str(k): v for k, v in registers.items()}))

    def _dropped_of(self, station_id: str) -> int:
        buf = self.recorder.buffer
        return buf.dropped_of(station_id) if buf is not None else 0

    async def list_stations(self, include_secrets: bool = False) -> StationList:
        return StationList(stations=[self.view(self._stations[k], include_secrets) for k in sorted(self._stations)],
                           max_stations=self.max_stations)

    async def get_station(self, station_id: str, include_secrets: bool = False) -> StationView:
        return self.view(self._get(station_id), include_secrets)

    async def create_station(self, config: dict[str, Any] | StationConfig) -> StationView:
        """Validate, build and store a new station; start it if ``enabled`` and ``auto_start``."""
        cfg = config if isinstance(config, StationConfig) else self._validate(config)
        async with self._lock:
            st = self._admit(cfg)
            try:
                stored = await self.repo.create_station(cfg)
            except DuplicateStationError:
                raise Conflict(f"station {cfg.station_id!r} already exists") from None
            except PayloadTooLargeError as exc:
                raise InvalidRequest(str(exc)) from None
            st.core.config = stored
            self._put(cfg.station_id, st)
        if cfg.enabled and cfg.auto_start:
            await st.runtime.start()
        return self.view(st)

    def _admit(self, cfg: StationConfig, extra: int = 0) -> _Station:
        if cfg.station_id in self._stations or cfg.station_id in self.skipped:
            raise Conflict(f"station {cfg.station_id!r} already exists")
        if len(self._stations) + extra >= self.max_stations:
            raise Conflict(f"max_stations ({self.max_stations}) reached: delete a station or raise "
                           "application.max_stations")
        return self._try_build(cfg)

    async def update_station(self, station_id: str, config: dict[str, Any] | StationConfig) -> StationView:
        """Replace a station's configuration. Connection changes reconnect it (transactions kept); other engine
        changes rebuild its engine (energy registers and undelivered transaction messages kept)."""
        old = self._get(station_id)
        if isinstance(config, dict) and "station_id" not in config:
            config = {**config, "station_id": station_id}
        if isinstance(config, dict):
            config = _unmask(config, old.config)
        cfg = config if isinstance(config, StationConfig) else self._validate(config)
        if cfg.station_id != station_id:
            raise InvalidRequest(f"station_id: the body names {cfg.station_id!r}, the URL {station_id!r} "
                                 "(clone a station to change its id)")
        before, after = old.config.model_dump(), cfg.model_dump()
        changed = {k for k in after if after[k] != before.get(k)}
        rebuild = bool(changed - CONNECTION_FIELDS - PASSIVE_FIELDS)
        fresh = self._try_build(cfg, old.core.registers()) if rebuild else None
        async with self._lock:
            try:
                stored = await self.repo.upsert_station(cfg)
            except PayloadTooLargeError as exc:
                raise InvalidRequest(str(exc)) from None
            was_running = old.runtime.running
            if fresh is not None:
                await old.runtime.stop()
                fresh.core.queue.restore(list(old.core.queue))
                fresh.core.config = stored
                fresh.saved = old.saved
                self._put(station_id, fresh)
                st = fresh
            else:
                st = old
                st.core.config = stored
                if "auto_transactions" in changed:
                    self.auto.attach(stored, st.core, st.runtime)
                if was_running and changed & CONNECTION_FIELDS:
                    log.info("station %s: connection settings changed, reconnecting", station_id)
                    await st.runtime.stop()
            if stored.enabled and (was_running and not st.runtime.running):
                await st.runtime.start()
            elif not stored.enabled and st.runtime.running:
                await st.runtime.stop()
        return self.view(st)

    async def delete_station(self, station_id: str) -> Deleted:
        async with self._lock:
            st = self._get(station_id)
            await st.runtime.stop()
            del self._stations[station_id]
            self.auto.detach(station_id)
            self.compliance.detach(station_id)
            await self.recorder.flush()
            existed = await self.repo.delete_station(station_id)
        return Deleted(station_id=station_id, deleted=existed)

    async def start_station(self, station_id: str) -> StationView:
        st = self._get(station_id)
        if not st.config.enabled:
            raise Conflict(f"station {station_id!r} is disabled: enable it first")
        await st.runtime.start()
        return self.view(st)

    async def stop_station(self, station_id: str) -> StationView:
        st = self._get(station_id)
        await st.runtime.stop()
        await self._sync(st)
        return self.view(st)

    async def reset_station(self, station_id: str) -> StationView:
        """Rebuild the engine from its configuration: connectors idle, no transactions, the offline queue emptied;
        energy registers kept. Reconnects if it was running."""
        async with self._lock:
            old = self._get(station_id)
            fresh = self._try_build(old.config, old.core.registers())
            was_running = old.runtime.running
            await old.runtime.stop()
            sink = old.core.queue.sink
            for entry in list(old.core.queue):
                if sink is not None:
                    sink.removed(entry)
            self._put(station_id, fresh)
            if was_running:
                await fresh.runtime.start()
        return self.view(fresh)

    async def clone_station(self, station_id: str, request: CloneRequest) -> StationView:
        from ocppemu.workbench.templates import deep_merge

        src = self._get(station_id)
        doc = deep_merge(src.config.export(include_secrets=True), request.overrides)
        doc["station_id"] = request.station_id
        for k in ("created_at", "updated_at"):
            doc.pop(k, None)
        return await self.create_station(doc)

    # -- import / export ------------------------------------------------------------------------------------------

    async def import_stations(self, request: ImportRequest) -> ImportResult:
        """Import stations (all validated first; ``max_stations`` checked before anything is written)."""
        text = orjson.dumps({"format": "ocppemu-stations", "stations": request.stations})
        async with self._lock:
            check = await stations_io.import_stations(self.repo, text, replace=request.replace, dry_run=True)
            new = [s for s in check.accepted if s not in self._stations]
            problems: list[ImportRejection] = []
            for sid in check.accepted:
                raw = next(s for s in request.stations if isinstance(s, dict) and s.get("station_id") == sid)
                try:
                    self._try_build(self._validate(raw, defaults=False))
                except InvalidRequest as exc:
                    problems.append(ImportRejection(index=None, station_id=sid, reason=exc.message))
            if len(self._stations) + len(new) > self.max_stations:
                raise Conflict(f"importing {len(new)} new station(s) would exceed max_stations "
                               f"({self.max_stations}, {len(self._stations)} exist); nothing was imported")
            if problems:
                rejected = [ImportRejection(index=r.index, station_id=r.station_id, reason=r.reason)
                            for r in check.rejected] + problems
                return ImportResult(accepted=[], rejected=rejected, dry_run=request.dry_run)
            if request.dry_run:
                report = check
            else:
                report = await stations_io.import_stations(self.repo, text, replace=request.replace)
        if not request.dry_run:
            for sid in report.accepted:
                cfg = await self.repo.get_station(sid)
                if cfg is None:
                    continue
                if sid in self._stations:
                    await self.update_station(sid, cfg)
                else:
                    st = self._build(cfg)
                    self._put(sid, st)
                    if cfg.enabled and cfg.auto_start:
                        await st.runtime.start()
        return ImportResult(accepted=report.accepted, dry_run=request.dry_run, rejected=[
            ImportRejection(index=r.index, station_id=r.station_id, reason=r.reason) for r in report.rejected])

    async def export_stations(self, include_secrets: bool = False) -> StationsExport:
        return StationsExport(stations=[self._stations[k].config.export(include_secrets)
                                        for k in sorted(self._stations)])

    # -- templates ------------------------------------------------------------------------------------------------

    async def list_templates(self) -> TemplateList:
        out = [TemplateView(name=n, builtin=True, description=t["description"], station=t["station"])
               for n, t in BUILTIN_TEMPLATES.items()]
        for name, _kind, doc in await self.repo.list_templates(kind="station"):
            if name not in BUILTIN_TEMPLATES:
                out.append(TemplateView(name=name, builtin=False, description=str(doc.get("description", "")),
                                        station=dict(doc.get("station", {}))))
        return TemplateList(templates=out)

    async def save_template(self, template: TemplateCreate) -> TemplateView:
        if template.name in BUILTIN_TEMPLATES:
            raise Conflict(f"{template.name!r} is a built-in template; choose another name")
        doc = {"description": template.description, "station": template.station}
        try:
            check_template(doc)
        except ValidationError as exc:
            raise InvalidRequest(explain(exc, "station.")) from None
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        await self.repo.save_template(template.name, doc, kind="station")
        return TemplateView(name=template.name, builtin=False, description=template.description,
                            station=template.station)

    async def update_template(self, name: str, template: TemplateUpdate) -> TemplateView:
        """Replace a user template's description and station document; built-in templates cannot change."""
        if name in BUILTIN_TEMPLATES:
            raise Conflict(f"{name!r} is a built-in template and cannot be changed; save a copy under another name")
        if await self.repo.get_template(name) is None:
            raise NotFound(f"no user template {name!r}")
        return await self.save_template(TemplateCreate(name=name, description=template.description,
                                                       station=template.station))

    async def delete_template(self, name: str) -> TemplateDeleted:
        """Delete a user template (stations made from it are not touched); built-in templates cannot go."""
        if name in BUILTIN_TEMPLATES:
            raise Conflict(f"{name!r} is a built-in template and cannot be deleted")
        if not await self.repo.delete_template(name):
            raise NotFound(f"no user template {name!r}")
        return TemplateDeleted(name=name, deleted=True)

    async def create_from_template(self, name: str, request: FromTemplateRequest) -> StationView:
        doc = BUILTIN_TEMPLATES.get(name) or await self.repo.get_template(name)
        if doc is None:
            raise NotFound(f"no template {name!r}")
        base = {"csms_url": self.app.csms.default_url}
        try:
            cfg = render({"station": {**base, **doc.get("station", {})}}, request.station_id, request.overrides)
        except ValidationError as exc:
            raise InvalidRequest(explain(exc)) from None
        return await self.create_station(cfg)

    # -- actions and crafted messages ----------------------------------------------------------------------------

    async def station_action(self, station_id: str, request: ActionRequest) -> ActionResponse:
        """Apply a user action (see :class:`ActionRequest`); a refusal is ``ok=False`` with the reason."""
        st = self._get(station_id)
        check_action(st.config, request)
        core: StationActions = st.core
        rt, r, c = st.runtime, request, request.connector_id
        if r.action == "auto_transactions":
            return await self._auto_action(station_id, r)
        if r.action == "disconnect_network":
            if not rt.running:
                return ActionResponse(ok=False, error=f"station {station_id} is not running")
            rt.disconnect_network(r.seconds)
            return ActionResponse(ok=True, data={"offline_seconds": r.seconds})
        if r.action == "set_connector_status" and not r.status:
            raise InvalidRequest("status: required for set_connector_status")
        now = time.time()
        if r.action == "plug_in":
            result = core.plug_in(c, now)
        elif r.action == "unplug":
            result = core.unplug(c, now)
        elif r.action in ("authorize", "present_tag"):
            result = core.present_tag(c, r.id_tag, now)
        elif r.action == "start_transaction":
            result = core.start(c, r.id_tag, now)
        elif r.action == "stop_transaction":
            result = core.stop(c, now, r.reason)
        elif r.action == "suspend":
            result = core.suspend(c, r.by, now)
        elif r.action == "resume":
            result = core.resume(c, now)
        elif r.action == "fault":
            result = core.inject_fault(c, r.error_code, now)
        elif r.action in ("clear_fault", "recover"):
            result = core.recover(c, now)
        elif r.action == "power_loss":
            result = core.power_loss(now)
        else:  # set_connector_status
            result = core.set_status(c, r.status or "", r.error_code if r.status == "Faulted" else "NoError", now)
        rt.flush()
        return ActionResponse(ok=result.ok, error=result.error, data=dict(result.data))

    async def _auto_action(self, station_id: str, r: ActionRequest) -> ActionResponse:
        """Enable, disable or re-tune the station's automatic transactions (saved in its configuration)."""
        st = self._get(station_id)
        try:
            auto = enabled_copy(st.config.auto_transactions, r.enabled, r.settings)
        except ValidationError as exc:
            raise InvalidRequest(explain(exc, "settings.")) from None
        view = await self.update_station(station_id, {**st.config.export(include_secrets=True),
                                                      "auto_transactions": auto.model_dump()})
        return ActionResponse(ok=True, data={"auto_transactions": view.runtime.auto_transactions
                                             or {"enabled": False}})

    async def send_message(self, station_id: str, request: SendMessageRequest) -> SendMessageResult:
        """Send a crafted message and wait up to ``request.timeout`` for what answers it."""
        st = self._get(station_id)
        if not self.app.application.debug_mode:
            raise Conflict("custom messages are disabled (application.debug_mode is false)")
        if not st.core.is_connected:
            raise Conflict(f"station {station_id} is not connected")
        now = time.time()
        if request.mode == "validated":
            if not request.action:
                raise InvalidRequest("action: required when mode is 'validated'")
            pending = st.core.send_call(request.action, request.payload, now, validate=True)
            if isinstance(pending, Violation):
                raise InvalidRequest(f"payload of {request.action} is invalid: {pending}")
            key = pending.message_id
            sent = st.core.rpc.wire_text(Call(pending.message_id, request.action, request.payload), request.action)
        else:
            if request.raw is None:
                raise InvalidRequest("raw: required when mode is 'raw'")
            raw_pending = st.core.rpc.send_raw(request.raw, now)
            key = raw_pending.message_id if raw_pending is not None else "*"
            sent = request.raw
        fut: asyncio.Future[FrameRecord] = asyncio.get_running_loop().create_future()
        self._waiters[(station_id, key)] = fut
        st.runtime.flush()
        try:
            rec = await asyncio.wait_for(fut, request.timeout)
        except TimeoutError:
            return SendMessageResult(message_id=None if key == "*" else key, sent=sent,
                                     outcome="no_response" if key == "*" else "timeout")
        finally:
            self._waiters.pop((station_id, key), None)
        return SendMessageResult(
            message_id=None if key == "*" else key, sent=sent,
            outcome="result" if rec.message_type == "CallResult" else "error", response=rec.payload,
            error_code=rec.error_code, error_description=rec.error_description, response_raw=rec.raw,
            rtt_ms=rec.rtt_ms, validation_error=rec.validation_error)

    async def status(self) -> SystemStatus:
        health = await self.repo.health()
        connected = sum(1 for s in self._stations.values() if s.core.is_connected)
        return SystemStatus(
            version=__version__, uptime_s=round(time.time() - self._started_at, 3),
            store={"ok": health.ok, "backend": health.backend, "detail": health.detail,
                   "schema_version": health.schema_version, "dropped_writes": self.recorder.dropped_writes,
                   "failed_writes": self.recorder.failed_writes, **self.recorder.stats()},
            stations=len(self._stations), running_stations=sum(s.runtime.running for s in self._stations.values()),
            connected_stations=connected, open_connections=connected + self.bus.subscribers,
            stream_clients=self.bus.subscribers, memory_rss_bytes=rss_bytes(), events_published=self.bus.published,
            events_dropped=self.bus.dropped(), max_stations=self.max_stations,
            config=mask_secrets(self.app.model_dump(mode="json")))

    async def events(self, stations: list[str] | None = None, kinds: list[str] | None = None,
                     cursor: str | None = None) -> AsyncIterator[WorkbenchEvent]:
        """Live events (after ``cursor`` when given) until the caller stops iterating."""
        try:
            sub = self.bus.subscribe(stations, kinds, cursor=cursor)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        try:
            async for event in sub:
                yield WorkbenchEvent.model_validate(event.to_doc())
        finally:
            sub.close()

    # -- listeners and state sync ---------------------------------------------------------------------------------

    def _on_frame(self, record: FrameRecord) -> None:
        if record.action == "MeterValues" and record.direction == "sent":
            self._dirty.set()  # the register the CSMS saw is saved before it could be lost
        if record.direction == "received" and self._waiters:
            for key in ((record.station_id, record.correlation_id or ""), (record.station_id, "*")):
                fut = self._waiters.get(key)
                if fut is not None and not fut.done() and (key[1] != "*" or record.message_type != "CallResult"):
                    fut.set_result(record)
                    break
        self.bus.publish_frame(record)

    def _publish_state(self, station_id: str, rt: Runtime) -> None:
        self.bus.publish("state", station_id, time.time(), {"state": rt.state})

    def _on_event(self, event: StationEvent) -> None:
        if event.kind in ("transaction", "transaction_event"):
            self._dirty.set()  # a transaction started, got its CSMS id or ended: save the durable state now
        self.bus.publish("event", event.station_id, event.timestamp, {"kind": event.kind, **event.data})
        if event.kind == "finding" or (event.kind == "connection" and event.data.get("status") == "error"):
            self.bus.publish("error", event.station_id, event.timestamp, {"kind": event.kind, **event.data})

    def _state_of(self, st: _Station) -> StationRuntimeState:
        core, rt = st.core, st.runtime
        active = core.active_transactions()
        status = "connected" if core.is_connected else "connecting" if rt.state == "connecting" else (
            "error" if rt.state == "waiting" and core.last_error else "disconnected")
        reg = core.registration if core.registration in ("None", "Accepted", "Pending", "Rejected") else "None"
        hb = datetime.fromtimestamp(core.last_heartbeat, UTC) if core.last_heartbeat else (
            st.saved.last_heartbeat if st.saved else None)
        return StationRuntimeState(station_id=st.config.station_id, connection_status=status,  # type: ignore[arg-type]
                                   registration_status=reg, last_heartbeat=hb, last_error=core.last_error,
                                   active_transactions=active, energy_register_wh=st.core.registers(),
                                   durable=snapshot(core, clean=self._clean_stop))

    async def _sync(self, st: _Station) -> None:
        state = self._state_of(st)
        if st.saved is not None and state == st.saved:
            return
        try:
            if await self.repo.update_runtime_state(state):
                st.saved = state
            self._store_ok = True
        except Exception as exc:  # the store may be down; retried on the next round
            self._store_ok = False
            log.warning("station %s: runtime state not saved: %s", st.config.station_id, exc)

    async def _sync_before_send(self, st: _Station) -> None:
        """Before a station's frames go out: save its state if it changed, unless the store is failing (then the
        periodic sync keeps trying and the station is not held up)."""
        if self._store_ok:
            await self._sync(st)

    async def _sync_all(self) -> None:
        for st in list(self._stations.values()):
            await self._sync(st)

    async def _sync_loop(self) -> None:
        while True:
            # A transaction event saves at once, the rest periodically. (asyncio.timeout, not wait_for: on Python
            # 3.11 wait_for can swallow the cancellation of this task when the event is set at the same time; and
            # no waiter task is made per round.)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.app.application.state_sync_interval):
                    await self._dirty.wait()
            self._dirty.clear()
            await self._sync_all()


def _unmask(doc: dict[str, Any], current: StationConfig) -> dict[str, Any]:
    """A masked secret in an update (as returned by a GET without secrets) keeps the stored one."""
    doc = dict(doc)
    auth, tls = doc.get("csms_auth"), doc.get("tls")
    if isinstance(auth, dict) and auth.get("password") == MASK:
        pw = current.csms_auth.password
        doc["csms_auth"] = {**auth, "password": pw.get_secret_value() if pw else None}
    if isinstance(tls, dict) and tls.get("client_key") == MASK:
        doc["tls"] = {**tls, "client_key": current.tls.client_key}
    return doc
