"""``ocppemu station run`` and ``ocppemu demo``: stations in the terminal, frames printed live, all stored."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from pydantic import ValidationError

from ocppemu.config.station import (
    ConnectorConfig,
    CsmsAuth,
    MeterValuesConfig,
    StationConfig,
    StationRuntimeState,
    TlsConfig,
)
from ocppemu.ocpp.framing import dumps
from ocppemu.ocpp.records import FrameRecord
from ocppemu.ocpp.versions import Version
from ocppemu.runtime.station_runtime import StationRuntime
from ocppemu.station.core import StationCore
from ocppemu.station.factory import build_core
from ocppemu.store import default_store_url, open_store
from ocppemu.store.base import MessageFilter, Repository
from ocppemu.store.errors import StoreError
from ocppemu.transport.soap import is_soap_url
from ocppemu.workbench.durable import resume, snapshot
from ocppemu.workbench.recording import Recorder, load_saved
from ocppemu.workbench.views import explain

log = logging.getLogger(__name__)
ARROWS = {"sent": "->", "received": "<-"}


def format_frame(record: FrameRecord, width: int = 220) -> str:
    """One line per frame: time, station, direction, type, action, the wire text (cut at ``width``)."""
    ts = record.timestamp.strftime("%H:%M:%S.%f")[:-3]
    extra = f" !{record.validation_error}" if record.validation_error else ""
    rtt = f" {record.rtt_ms:.0f}ms" if record.rtt_ms is not None else ""
    raw = record.raw
    if raw.startswith("<") and record.payload is not None:  # a SOAP envelope: its JSON view reads better
        raw = "[soap] " + dumps(record.payload)
    raw = raw if len(raw) <= width else raw[: width - 3] + "..."
    return (f"{ts} {record.station_id} {ARROWS[record.direction]} {record.message_type:<10} "
            f"{record.action or '-':<24}{rtt} {raw}{extra}")


def printer(out: TextIO) -> object:
    def show(record: FrameRecord) -> None:
        print(format_frame(record), file=out, flush=True)
    return show


def config_from_args(args: argparse.Namespace) -> StationConfig:
    """The station definition of ``ocppemu station run``; raises ``ValueError`` with a readable reason."""
    version = Version.parse(args.ocpp)
    if args.charge is not None and not args.charge > 0:
        raise ValueError(f"--charge takes the length of the session in seconds, a positive number, not {args.charge:g}")
    if args.connectors < 1:
        raise ValueError(f"--connectors must be at least 1, not {args.connectors}")
    auth = CsmsAuth()
    if args.basic_auth is not None:
        if ":" not in args.basic_auth:
            raise ValueError("--basic-auth takes USER:PASS, the user and the password separated by a colon")
        user, _, password = args.basic_auth.partition(":")
        auth = CsmsAuth(type="basic", username=user, password=password)
    tls = TlsConfig(ca_cert=args.ca, client_cert=args.client_cert, client_key=args.client_key,
                    insecure_skip_verify=args.insecure)
    if args.client_cert and auth.type == "none":
        auth = CsmsAuth(type="certificate")
    connectors = [ConnectorConfig(id=i) for i in range(1, args.connectors + 1)]
    meter = MeterValuesConfig()
    if args.meter_interval is not None:
        meter = MeterValuesConfig(interval=args.meter_interval)
    sim: dict[str, object] = {}
    if args.power:
        sim["energy_delivery_rate"] = args.power
    if args.id_tag:
        sim["default_id_tag"] = args.id_tag
    return StationConfig.model_validate({
        "station_id": args.station_id, "protocol_version": version, "csms_url": args.csms,
        "csms_auth": auth.model_dump(), "tls": tls.model_dump(), "connectors": [c.model_dump() for c in connectors],
        "meter_values_config": meter.model_dump(), "simulation": sim,
        "soap_listen": getattr(args, "soap_listen", None), "soap_advertise": getattr(args, "soap_advertise", None),
    })


async def charge_once(runtime: StationRuntime, seconds: float, id_tag: str | None, *,
                      connector: int = 1, timeout: float = 30.0) -> tuple[bool, str]:
    """Run one full session (plug, authorize, start, meter values, stop, unplug); say whether it completed."""
    core = runtime.core
    result = runtime.act(core.start, connector, id_tag)
    if not result.ok:
        return False, f"could not start: {result.error}"
    deadline = time.monotonic() + timeout
    while not _tx_running(core, connector):
        if time.monotonic() > deadline:
            return False, f"the transaction did not start ({core.last_error or 'no answer'})"
        await asyncio.sleep(0.05)
    await asyncio.sleep(seconds)
    result = runtime.act(core.stop, connector)
    if not result.ok:
        return False, f"could not stop: {result.error}"
    deadline = time.monotonic() + timeout
    while len(core.queue) or core.rpc.in_flight is not None:
        if time.monotonic() > deadline:
            return False, "the CSMS did not confirm the end of the transaction"
        await asyncio.sleep(0.05)
    runtime.act(core.unplug, connector)
    return True, "session completed"


def _tx_running(core: StationCore, connector: int) -> bool:
    tx = core.active_transactions().get(connector)
    return tx is not None and not (core.version is Version.V16 and tx.startswith("L"))


async def open_cli_store(url: str | None) -> Repository | str:
    """The store named on the command line, opened; or the one sentence that says why it cannot be."""
    try:
        repo = open_store(url or default_store_url())
    except ValueError as exc:
        return str(exc)
    try:
        await repo.init()
    except StoreError as exc:
        await repo.close()
        return f"the store cannot be opened: {exc}"
    return repo


async def run_station(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except ValidationError as exc:
        print(f"error: {explain(exc)}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    opened = await open_cli_store(args.store)
    if isinstance(opened, str):
        print(f"error: {opened}", file=sys.stderr)
        return 2
    repo = opened
    await repo.upsert_station(config)
    recorder = Recorder(repo, jsonl_path=args.frames)
    await recorder.start()
    if not args.quiet:
        recorder.on_frame(printer(sys.stdout))  # type: ignore[arg-type]
    try:
        core = await restore_core(config, repo, recorder)
    except NotImplementedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runtime = StationRuntime(core)
    signalled = _cancel_on_signals()
    durable = _Saver(core, repo)
    runtime.before_send = durable.before_send
    await runtime.start()
    saver = asyncio.create_task(durable.loop(), name="station-run-save")
    code = 0
    try:
        if not await runtime.wait_connected(args.timeout):
            target = config.csms_url if is_soap_url(config.csms_url) else config.connection_url()
            print(f"error: station {config.station_id} was not accepted by {target}: "
                  f"{core.last_error or core.registration}", file=sys.stderr)
            code = 1
        elif args.charge is not None:
            ok, why = await charge_once(runtime, args.charge, args.id_tag, timeout=args.timeout)
            print(f"{config.station_id}: {why}", file=sys.stderr)
            code = 0 if ok else 1
        else:
            await asyncio.Future()
    except asyncio.CancelledError:
        if not signalled():
            raise
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()  # the signal's cancellation is handled: stopping below must not be cancelled too
        print(f"{config.station_id}: stopped by a signal; state saved", file=sys.stderr)
    finally:
        saver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await saver
        await runtime.stop()
        await save_state(core, repo)
        unwritten = await recorder.aclose(timeout=10.0)
        if unwritten:
            print(f"warning: {unwritten.sentence()}", file=sys.stderr)
        await repo.close()
    return code


def _cancel_on_signals() -> Callable[[], bool]:
    """SIGINT / SIGTERM cancel the running task (so its ``finally`` saves the station's state); the returned
    callable says whether a signal did it."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    hit: list[bool] = []

    def on_signal() -> None:
        hit.append(True)
        if task is not None:
            task.cancel()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)
    return lambda: bool(hit)


async def restore_core(config: StationConfig, repo: Repository, recorder: Recorder) -> StationCore:
    """Build a station core with what the store kept of its last run: energy registers and the offline queue."""
    saved = await load_saved(repo, config.station_id)
    core = build_core(config, recorder.sinks(), registers_wh=saved.registers)
    core.queue.sink = recorder.queue_sink(config.station_id)
    for note in resume(core, saved, time.time()):
        print(f"{config.station_id}: after restart: {note}", file=sys.stderr)
    return core


class _Saver:
    """Saves the station's durable state when it changed: before its frames go out (so nothing the CSMS saw is
    newer than what a restart finds) and every ``interval`` seconds; a failing store is retried, never waited on
    before a send."""

    def __init__(self, core: StationCore, repo: Repository) -> None:
        self.core, self.repo = core, repo
        self.last: StationRuntimeState | None = None
        self.ok = True

    async def save(self) -> None:
        state = _state(self.core, clean=False)
        if state == self.last:
            return
        try:
            await self.repo.update_runtime_state(state)
            self.last, self.ok = state, True
        except Exception as exc:  # the store may be down; retried on the next round
            self.ok = False
            log.warning("station %s: state not saved: %s", self.core.station_id, exc)

    async def before_send(self) -> None:
        if self.ok:
            await self.save()

    async def loop(self, interval: float = 0.5) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.save()


def _state(core: StationCore, *, clean: bool) -> StationRuntimeState:
    return StationRuntimeState(station_id=core.station_id, energy_register_wh=core.registers(),
                               registration_status=core.registration, last_error=core.last_error,
                               active_transactions=core.active_transactions(), durable=snapshot(core, clean=clean))


async def save_state(core: StationCore, repo: Repository, *, clean: bool = True) -> None:
    await repo.update_runtime_state(_state(core, clean=clean))


async def run_demo(args: argparse.Namespace) -> int:
    """The bundled demo CSMS, ``--stations`` stations, one session each; everything stored."""
    from ocppemu.demo_csms import serve_demo_csms

    soap = bool(getattr(args, "soap", False))
    version = Version.parse(args.ocpp)
    if soap and version is not Version.V16:
        print("error: OCPP over SOAP exists only for OCPP 1.6 (--ocpp 1.6)", file=sys.stderr)
        return 2
    csms = await serve_demo_csms("127.0.0.1", 0, heartbeat_interval=30, soap_port=0 if soap else None)
    csms_url = csms.soap_url if soap and csms.soap_url else f"ws://127.0.0.1:{csms.port}/ocpp"
    started = datetime.now(UTC)
    url = args.store or default_store_url()
    repo = open_store(url)
    await repo.init()
    recorder = Recorder(repo)
    await recorder.start()
    if not args.quiet:
        recorder.on_frame(printer(sys.stdout))  # type: ignore[arg-type]
    runtimes = []
    for i in range(1, args.stations + 1):
        config = StationConfig(station_id=f"DEMO{i:03d}", protocol_version=version,
                               csms_url=csms_url,
                               meter_values_config=MeterValuesConfig(interval=5))
        await repo.upsert_station(config)
        runtimes.append(StationRuntime(build_core(config, recorder.sinks())))
    try:
        for rt in runtimes:
            await rt.start()
        results = await asyncio.gather(*(_demo_session(rt, args.charge) for rt in runtimes))
        await recorder.flush()
        total = await repo.count_messages(MessageFilter(since=started))
        for rt, (_ok, why) in zip(runtimes, results, strict=True):
            print(f"{rt.config.station_id}: {why}", file=sys.stderr)
        print(f"{total} frames of this run stored in {url}", file=sys.stderr)
        return 0 if all(ok for ok, _ in results) else 1
    finally:
        for rt in runtimes:
            await rt.stop()
        await recorder.aclose()
        await repo.close()
        await csms.close()


async def _demo_session(runtime: StationRuntime, seconds: float) -> tuple[bool, str]:
    if not await runtime.wait_connected(15):
        return False, f"not accepted: {runtime.core.last_error}"
    return await charge_once(runtime, seconds, None)
