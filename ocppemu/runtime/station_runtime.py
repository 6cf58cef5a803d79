"""The asyncio edge of one station: its connection, its wake-ups, and the user's actions.

A :class:`StationRuntime` owns one sans-I/O station core and moves data between it and a
:class:`~ocppemu.transport.base.Transport`: a supervisor connects (with back-off and jitter), reads frames into the
core, and a writer task sends what the core produced. Timers of the core cost one event-loop handle per station
(``loop.call_at`` at the core's next deadline), not a task per timer.

Structured concurrency: every task of a station (the supervisor, the writer of the current connection, closing a
dropped connection, file uploads) lives in one :class:`asyncio.TaskGroup` owned by the station's main task, and is
started through :meth:`StationRuntime.spawn`, never as a free task.

Guarantees: :meth:`StationRuntime.stop` cancels and awaits all of them, so no task of the station survives it; a
peer's misbehaviour (bad frames, dropped connections, refused handshakes) is reported through the core's
``last_error`` and events, never raised. Reconnect jitter is drawn from :attr:`StationRuntime.rng`, seeded from the
run seed and the station id (:func:`~ocppemu.config.randomness.station_rng`), so a seed gives the same schedule in
every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal, TypeVar

from ocppemu.config.randomness import station_rng
from ocppemu.config.station import StationConfig
from ocppemu.runtime.backoff import Backoff
from ocppemu.runtime.uploads import attach
from ocppemu.station.core import RuntimeRequest, StationCore
from ocppemu.transport.base import Transport, TransportClosed, TransportError
from ocppemu.transport.websocket import WebSocketTransport

log = logging.getLogger(__name__)

TransportFactory = Callable[[StationConfig], Transport]
State = Literal["stopped", "connecting", "connected", "waiting", "offline"]
T = TypeVar("T")


def default_transport(config: StationConfig) -> Transport:
    return WebSocketTransport.from_config(config)


def default_transport_for(core: StationCore) -> TransportFactory:
    """WebSocket for ws(s):// CSMS URLs; for http(s):// OCPP 1.6 over SOAP (the core then speaks SOAP)."""
    from ocppemu.transport.soap import install_soap, is_soap_url

    if is_soap_url(core.config.csms_url):
        return install_soap(core).transport
    return default_transport


class StationRuntime:
    """Runs one station core against its CSMS. Create it, ``await start()``, act, ``await stop()``."""

    def __init__(self, core: StationCore, transport_factory: TransportFactory | None = None) -> None:
        self.core = core
        core.rpc.record_sent_on_write = True  # frames are recorded as sent when the transport has written them
        self._factory = transport_factory or default_transport_for(core)
        self._transport: Transport | None = None
        self._main: asyncio.Task[None] | None = None
        self._tasks: asyncio.TaskGroup | None = None
        self._writer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._hold_until = 0.0
        self._reconnect_now = asyncio.Event()
        #: The station's reconnect-jitter generator: its own stream (``"reconnect"``) of :func:`station_rng`, so that
        #: reconnecting never shifts what the core draws for simulated behaviour.
        self.rng = station_rng(self.config.simulation.seed, self.config.station_id, "reconnect")
        self.backoff = Backoff.from_config(self.config.simulation, self.rng)
        self.state: State = "stopped"
        self.connect_attempts = 0
        self.connected_since: float | None = None
        self.on_state: Callable[[StationRuntime], None] | None = None
        #: Awaited before frames are written to the socket: the durable-state hook, so that nothing the CSMS
        #: has seen (a meter value, a transaction id) is newer than what a restart would find.
        self.before_send: Callable[[], Awaitable[None]] | None = None
        #: Back-pressure from the recorder: returns None, or an event to wait for before reading or writing more.
        self.pressure: Callable[[], asyncio.Event | None] | None = None
        self._cert_dir: str | None = None
        attach(self)  # file uploads (GetLog) run at this edge, not in the core

    # -- life ------------------------------------------------------------------------------------------------------

    @property
    def config(self) -> StationConfig:
        """The station's configuration: the core's (held once, there)."""
        return self.core.config

    @property
    def running(self) -> bool:
        return self._main is not None and not self._main.done()

    async def start(self) -> None:
        """Start connecting (returns at once; watch ``state`` or the core's events)."""
        if self.running:
            return
        self._main = asyncio.create_task(self._run(), name=f"station:{self.config.station_id}")
        self._reschedule()

    async def stop(self) -> None:
        """Disconnect and stop all activity of this station: every task it started (connection, writer, closing,
        uploads) is cancelled and awaited before this returns. Queued transaction messages stay queued."""
        task, self._main = self._main, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # the caller itself is being cancelled: do not swallow that
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._set_state("stopped")

    async def wait_connected(self, timeout: float = 10.0) -> bool:
        """Wait until the station is connected and accepted by the CSMS; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.core.online:
                return True
            await asyncio.sleep(0.02)
        return self.core.online

    def act(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a core method with ``now`` appended to its positional arguments, then flush its output."""
        result = fn(*args, time.time(), **kwargs)
        self.flush()
        return result

    def flush(self) -> None:
        """Send what the core produced, serve its requests and re-arm its wake-up. Call after touching the core."""
        for req in self.core.take_requests():
            self._serve(req)
        if self.core.rpc.outbox:
            if self._transport is not None and self._transport.is_open:
                self._wake.set()
            elif not self.core.is_connected:
                self.core.rpc.discard_outbox()  # written while offline: nowhere to go, the core re-sends what matters
        self._reschedule()

    def spawn(self, coro: Coroutine[Any, Any, None], what: str) -> bool:
        """Run ``coro`` as a task of this station: cancelled and awaited by :meth:`stop`, its exceptions logged
        (never raised into the station). Returns False, and closes ``coro`` unrun, when the station is not running."""
        group = self._tasks
        if group is None:
            coro.close()
            return False
        try:
            group.create_task(self._guard(coro, what), name=f"{what}:{self.config.station_id}")
        except RuntimeError:  # the group is shutting down (the station is stopping)
            coro.close()
            return False
        return True

    def disconnect_network(self, seconds: float) -> None:
        """Drop the connection abruptly and stay offline for ``seconds`` (simulated network loss)."""
        self._hold_until = time.time() + seconds
        self._drop("network disconnected by user")

    # -- internals -------------------------------------------------------------------------------------------------

    def _set_state(self, state: State) -> None:
        self.state = state
        if self.on_state is not None:
            self.on_state(self)

    def _serve(self, req: RuntimeRequest) -> None:
        if req.kind == "reboot":
            self._hold_until = time.time() + req.seconds
            self._drop(f"reboot ({req.reason})")
        elif req.kind == "disconnect":
            self.disconnect_network(req.seconds)
        elif req.kind == "reconnect":
            self._drop("reconnect")

    def _drop(self, why: str) -> None:
        transport = self._transport
        if transport is not None:
            log.info("station %s: closing connection: %s", self.config.station_id, why)
            self.spawn(transport.close(1000, why[:100]), "close")

    def _reschedule(self) -> None:
        deadline = self.core.next_deadline()
        if deadline == self._timer_at and self._timer is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is None or not self.running:
            return
        loop = asyncio.get_running_loop()
        self._timer = loop.call_at(loop.time() + max(0.0, deadline - time.time()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        try:
            self.core.tick(time.time())
        except Exception:
            log.exception("station %s: tick failed", self.config.station_id)
        self.flush()

    def _effective_config(self) -> StationConfig:
        """The configuration to connect with: a certificate the CSMS signed for the station (SignCertificate ->
        CertificateSigned) replaces the configured client certificate, as on a real charger."""
        installed = self.core.client_certificate()
        if not installed or not self.config.connection_url().startswith("wss://"):
            return self.config
        chain, key = installed
        if self._cert_dir is None:
            self._cert_dir = tempfile.mkdtemp(prefix=f"ocppemu-{self.config.station_id}-")
        cert_path, key_path = os.path.join(self._cert_dir, "cert.pem"), os.path.join(self._cert_dir, "key.pem")
        with open(cert_path, "w", encoding="ascii") as fh:
            fh.write(chain)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key)
        tls = self.config.tls.model_copy(update={"client_cert": cert_path, "client_key": key_path})
        return self.config.model_copy(update={"tls": tls})

    async def _guard(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await coro
        except Exception:
            log.exception("station %s: %s failed", self.config.station_id, what)

    async def _run(self) -> None:
        """The station's main task: the supervisor, inside the task group that owns every other task."""
        try:
            async with asyncio.TaskGroup() as group:
                self._tasks = group
                try:
                    await self._supervise()
                finally:
                    self._tasks = None  # nothing new starts while the group cancels and awaits what is left
        except Exception as exc:  # a bug, not a peer's misbehaviour: the station stops, the user is told
            log.exception("station %s: stopped by an internal error", self.config.station_id)
            self.core.last_error = f"internal error: {exc}"
            self._set_state("stopped")
        finally:
            self._tasks = None

    async def _supervise(self) -> None:
        attempt = 0
        try:
            while True:
                wait = self._hold_until - time.time()
                if wait > 0:
                    self._set_state("offline")
                    await asyncio.sleep(wait)
                self._set_state("connecting")
                self.connect_attempts += 1
                try:
                    transport = self._factory(self._effective_config())
                    await transport.connect()
                except TransportError as exc:
                    self.core.last_error = str(exc)
                    self.core.emit("connection", time.time(), status="error", error=str(exc))
                    delay = self.backoff.next_delay(attempt)
                    attempt += 1
                    log.warning("station %s: %s; retrying in %.1fs", self.config.station_id, exc, delay)
                    self._set_state("waiting")
                    await asyncio.sleep(delay)
                    continue
                failed, attempt = attempt, 0
                self.backoff.reset()
                await self._run_connection(transport, failed)
                if self._hold_until <= time.time():
                    # Dropped by the peer or the network: wait a back-off before the next attempt.
                    delay = self.backoff.next_delay(0)
                    self._set_state("waiting")
                    await asyncio.sleep(delay)
        except asyncio.CancelledError:
            current = self._transport
            if current is not None:
                await current.close(1000, "station stopped")
                self._transport = None
                self.core.disconnected(time.time(), "station stopped")
            raise

    async def _run_connection(self, transport: Transport, failed_attempts: int = 0) -> None:
        self._transport = transport
        self.connected_since = time.time()
        self.core.emit("session", self.connected_since, status="opened", csms_url=self.config.connection_url(),
                       subprotocol=transport.subprotocol, reconnect_attempts=failed_attempts)
        self.core.connected(time.time())
        self._set_state("connected")
        self._wake.clear()
        assert self._tasks is not None  # a connection only runs inside _run
        self._writer = self._tasks.create_task(self._guard(self._write(transport), "writer"),
                                               name=f"writer:{self.config.station_id}")
        self.flush()
        reason = ""
        code: int | None = 1000
        close_reason = "station stopped"
        try:
            while True:
                if self.pressure is not None and (held := self.pressure()) is not None:
                    await held.wait()
                text = await transport.recv()
                self.core.receive(text, time.time())
                self.flush()
        except TransportClosed as exc:
            reason, code, close_reason = str(exc), exc.code, exc.reason
            self.core.emit("transport_closed", time.time(), code=exc.code, by_peer=exc.by_peer)
            if exc.code is None and exc.by_peer and exc.reason:
                self.core.last_error = exc.reason  # a transport without close codes (SOAP) says why it ended
        finally:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
            self._transport = None
            await transport.close()
            self.core.disconnected(time.time(), reason)
            self.core.emit("session", time.time(), status="closed", close_code=code, close_reason=close_reason)
            self.connected_since = None
            if self.running:
                self.flush()

    async def _write(self, transport: Transport) -> None:
        """Write what the core produced, in order; each frame is recorded as sent once the transport took it."""
        rpc = self.core.rpc
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.pressure is not None and (held := self.pressure()) is not None:
                await held.wait()
            outgoing = rpc.take_outgoing()
            if outgoing and self.before_send is not None:
                try:
                    await self.before_send()  # e.g. save the energy register the frames carry, first
                except Exception:
                    log.exception("station %s: before-send hook failed", self.config.station_id)
            done = 0
            try:
                for text, record in outgoing:
                    await transport.send(text)
                    rpc.written(record, time.time())
                    done += 1
            except TransportError:
                return  # the reader sees the connection end and cleans up
            finally:
                if done < len(outgoing):
                    rpc.unwritten += len(outgoing) - done
                    log.info("station %s: connection ended with %d frame(s) unwritten", self.config.station_id,
                             len(outgoing) - done)
