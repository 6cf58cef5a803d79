"""What each station step does on one station of a run, and how its outcome is judged.

:class:`StationContext` is one station in a run: its engine and runtime (from the workbench), its variables, and
every frame of its connection since the run began (fed by the workbench's recorder), so a step can wait for "the
answer to the call I caused" or "a CSMS call received since the previous step started". Each ``do_<kind>``
function returns an :class:`Outcome`; raising is reserved for bugs (the runner turns them into failures too).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ocppemu.ocpp.errors import ErrorCode
from ocppemu.ocpp.framing import Call
from ocppemu.ocpp.records import FrameRecord
from ocppemu.scenarios import format as fmt
from ocppemu.scenarios.format_parts import Answer, Assertion, HttpRequest
from ocppemu.scenarios.paths import compare, parse_path
from ocppemu.scenarios.templating import UnknownVariable, render
from ocppemu.workbench.interface import ActionRequest

Prompter = Callable[[str, str], Awaitable[bool]]


@dataclass(slots=True)
class Outcome:
    ok: bool
    message: str = ""
    rule: str | None = None
    action: str | None = None
    subject: Any = None

    @classmethod
    def fail(cls, message: str, rule: str, action: str | None = None) -> Outcome:
        return cls(False, message, rule, action)


@dataclass(slots=True)
class StationContext:
    """One station of a run (see the module doc)."""

    station_id: str
    version: str
    wb: Any
    variables: dict[str, Any]
    env: Mapping[str, str]
    frames: list[FrameRecord] = field(default_factory=list)
    window: int = 0
    last_start: int = 0
    consumed: set[str] = field(default_factory=set)
    answers: list[tuple[int, list[str], Answer]] = field(default_factory=list)
    failed: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def core(self) -> Any:
        return self.wb.station_engine(self.station_id)[0]

    @property
    def runtime(self) -> Any:
        return self.wb.station_engine(self.station_id)[1]

    def feed(self, record: FrameRecord) -> None:
        self.frames.append(record)
        self.changed.set()

    def r(self, value: Any) -> Any:
        """``value`` with this station's variables filled in."""
        return render(value, self.variables, self.env)

    async def until(self, predicate: Callable[[], Any], timeout: float) -> Any:
        """The first truthy value of ``predicate`` (checked on every frame and every 50 ms), or None at timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 0.05))

    def answer_of(self, since: int, action: str, *, match: Callable[[FrameRecord], bool] | None = None
                  ) -> FrameRecord | None:
        """The CSMS's answer to the first CALL of ``action`` this station sent after frame ``since``."""
        for i in range(since, len(self.frames)):
            f = self.frames[i]
            if f.direction == "sent" and f.message_type == "Call" and f.action == action and (
                    match is None or match(f)):
                for g in self.frames[i + 1:]:
                    if g.direction == "received" and g.correlation_id == f.message_id and g.message_type != "Call":
                        return g
                return None
        return None

    # -- answers to CSMS calls ---------------------------------------------------------------------------------

    def arm(self, args: fmt.ExpectCallArgs) -> None:
        """Answer the next call of the step's actions as the step says (from now on)."""
        if all(key != id(args) for key, _, _ in self.answers):
            self.answers.append((id(args), list(args.action), args.answer))

    def disarm(self, args: fmt.ExpectCallArgs) -> None:
        self.answers = [a for a in self.answers if a[0] != id(args)]

    def intercept(self, call: Call, now: float) -> bool:
        for i, (_, actions, answer) in enumerate(self.answers):
            if call.action in actions:
                del self.answers[i]
                if answer.respond == "default" and answer.payload is None and answer.call_error is None \
                        and answer.delay == 0:
                    return False
                asyncio.get_running_loop().call_later(answer.delay, self._answer, call, answer)
                return True
        return False

    def _answer(self, call: Call, answer: Answer) -> None:
        core, runtime = self.wb.station_engine(self.station_id)
        now = time.time()
        if answer.call_error is not None:
            try:
                code = ErrorCode(answer.call_error)
            except ValueError:
                code = ErrorCode.GENERIC_ERROR
            core.rpc.reply_error(call.message_id, code, answer.description, now, action=call.action)
        elif answer.payload is not None:
            core.rpc.reply(call, self.r(answer.payload), now, validate_payload=False)
        elif answer.respond in ("accept", "reject"):
            core.rpc.reply(call, status_answer(self.version, call.action,
                                               "Accepted" if answer.respond == "accept" else "Rejected"),
                           now, validate_payload=False)
        elif answer.respond == "default":
            # the station's own answer, later: hand the call to its handler as if it had just arrived
            core.call_interceptor = None
            try:
                core._on_incoming_call(call, now)
            finally:
                core.call_interceptor = self.intercept
        runtime.flush()


def status_answer(version: str, action: str, status: str) -> dict[str, Any]:
    """A minimal valid answer to a CSMS call with its ``status`` set (for ``answer: accept | reject``)."""
    from ocppemu.ocpp.catalogue import catalogue
    from ocppemu.ocpp.payload_templates import template_for
    from ocppemu.ocpp.versions import Version

    spec = catalogue(Version.parse(version)).get(action)
    payload: dict[str, Any] = {"status": status}
    if spec is not None:
        try:
            payload = template_for(spec.response_schema)
        except Exception:
            payload = {}
        if "status" in payload or not payload:
            payload["status"] = status
    return payload


# -- assertions and captures ---------------------------------------------------------------------------------------


def check(ctx: StationContext, assertions: list[Assertion], subject: Any, action: str | None) -> Outcome | None:
    """The first failing assertion as a failed :class:`Outcome`, or None when all hold."""
    for a in assertions:
        if a.path is not None:
            values = parse_path(a.path).select(subject)
            where = a.path
        else:
            values = [ctx.r(a.value)]
            where = str(a.value)
        if a.exists is False:
            if values:
                return Outcome.fail(a.message or f"{where} exists ({values[0]!r}), expected nothing there",
                                    f"assert {where} exists: false", action)
            continue
        if not values:
            return Outcome.fail(a.message or f"{where} selects nothing in {_short(subject)}", f"assert {where}",
                                action)
        for op, expected in a.comparisons():
            exp = ctx.r(expected)
            for v in values:
                why = compare(op, v, exp)
                if why is not None:
                    return Outcome.fail(a.message or f"{where} {why}", f"assert {where} {op}", action)
    return None


def capture(ctx: StationContext, captures: Mapping[str, str], subject: Any, action: str | None) -> Outcome | None:
    for name, path in captures.items():
        values = parse_path(path).select(subject)
        if not values:
            return Outcome.fail(f"capture {name}: {path} selects nothing in {_short(subject)}", f"capture {name}",
                                action)
        ctx.variables[name] = values[0]
    return None


def judge(ctx: StationContext, args: fmt.Checked, subject: Any, action: str | None, message: str = "") -> Outcome:
    bad = check(ctx, args.assert_, subject, action) or capture(ctx, args.capture, subject, action)
    return bad or Outcome(True, message, action=action, subject=subject)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def _status_of(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    info = payload.get("idTagInfo") or payload.get("idTokenInfo")
    if isinstance(info, dict) and isinstance(info.get("status"), str):
        return str(info["status"])
    status = payload.get("status")
    return status if isinstance(status, str) else None


def _answer_outcome(ctx: StationContext, args: fmt.Checked, rec: FrameRecord | None, action: str,
                    expect: list[str] | None) -> Outcome:
    if rec is None:
        return Outcome.fail(f"no answer to {action} within the timeout", "response_timeout", action)
    if rec.message_type != "CallResult":
        return Outcome.fail(f"the CSMS answered {action} with {rec.message_type} {rec.error_code}: "
                            f"{rec.error_description}", "call_error", action)
    if rec.validation_error:
        return Outcome.fail(f"the CSMS's {action} answer breaks the schema: {rec.validation_error}",
                            "schema", action)
    status = _status_of(rec.payload)
    if expect and status not in expect:
        return Outcome.fail(f"{action} status is {status!r}, expected {' or '.join(expect)}", "expect", action)
    return judge(ctx, args, rec.payload, action, f"{action}: {status}" if status else action)


# -- the steps -----------------------------------------------------------------------------------------------------


async def act(ctx: StationContext, action: str, connector: int = 1, **kw: Any) -> Outcome:
    req = ActionRequest.model_validate({"action": action, "connector_id": connector, **kw})
    res = await ctx.wb.station_action(ctx.station_id, req)
    return Outcome(True) if res.ok else Outcome.fail(res.error or f"{action} refused", "station_action")


async def do_connect(ctx: StationContext, args: fmt.ConnectArgs, timeout: float) -> Outcome:
    await ctx.wb.start_station(ctx.station_id)
    core, runtime = ctx.core, ctx.runtime
    if args.expect == "connected":
        ok = await ctx.until(lambda: core.is_connected, timeout)
        return Outcome(True, "connected") if ok else Outcome.fail(
            f"not connected within {timeout:g} s ({core.last_error or runtime.state})", "connect")
    refused = await ctx.until(lambda: not core.is_connected and runtime.state == "waiting", timeout)
    return Outcome(True, "refused") if refused else Outcome.fail("the CSMS accepted the connection", "connect")


async def do_boot(ctx: StationContext, args: fmt.BootArgs, timeout: float) -> Outcome:
    expect = args.expect or ["Accepted"]
    core = ctx.core
    ok = await ctx.until(lambda: core.is_connected and core.registration in expect, timeout)
    last = next((f for f in reversed(ctx.frames) if f.direction == "received" and f.action == "BootNotification"
                 and f.message_type != "Call"), None)
    if not ok:
        return Outcome.fail(f"registration is {core.registration!r} after {timeout:g} s, expected "
                            f"{' or '.join(expect)}", "expect", "BootNotification")
    return judge(ctx, args, last.payload if last else None, "BootNotification", f"registration {core.registration}")


async def do_authorize(ctx: StationContext, args: fmt.AuthorizeArgs, timeout: float) -> Outcome:
    since = len(ctx.frames)
    tag = ctx.r(args.id_tag) if args.id_tag is not None else None
    if ctx.version == "1.6":
        out = await act(ctx, "authorize", args.connector, id_tag=tag)
    else:  # 2.x: the workbench action interface has no token presentation yet; the engine has
        core, runtime = ctx.core, ctx.runtime
        res = runtime.act(core.present_id_token, args.connector, tag or core.config.simulation.default_id_tag)
        out = Outcome(True) if res.ok else Outcome.fail(res.error or "token refused", "station_action")
    if not out.ok:
        return out
    rec = await ctx.until(lambda: ctx.answer_of(since, "Authorize"), timeout)
    return _answer_outcome(ctx, args, rec, "Authorize", args.expect)


def _tx_event(kind: str) -> Callable[[FrameRecord], bool]:
    return lambda f: isinstance(f.payload, dict) and f.payload.get("eventType") == kind


async def _tx_step(ctx: StationContext, args: fmt.StartArgs | fmt.StopArgs, timeout: float, since: int,
                   which: str) -> Outcome:
    if ctx.version == "1.6":
        action = "StartTransaction" if which == "Started" else "StopTransaction"
        rec = await ctx.until(lambda: ctx.answer_of(since, action), timeout)
    else:
        action = "TransactionEvent"
        rec = await ctx.until(lambda: ctx.answer_of(since, action, match=_tx_event(which)), timeout)
    return _answer_outcome(ctx, args, rec, action, getattr(args, "expect", None))


async def do_start(ctx: StationContext, args: fmt.StartArgs, timeout: float) -> Outcome:
    since = len(ctx.frames)
    tag = ctx.r(args.id_tag) if args.id_tag is not None else None
    out = await act(ctx, "start_transaction", args.connector, id_tag=tag)
    return out if not out.ok else await _tx_step(ctx, args, timeout, since, "Started")


async def do_stop(ctx: StationContext, args: fmt.StopArgs, timeout: float) -> Outcome:
    since = len(ctx.frames)
    out = await act(ctx, "stop_transaction", args.connector, reason=args.reason)
    return out if not out.ok else await _tx_step(ctx, args, timeout, since, "Ended")


async def do_event(ctx: StationContext, args: fmt.ConnectorArgs, timeout: float) -> Outcome:
    if isinstance(args, fmt.SuspendArgs):
        return await act(ctx, "suspend", args.connector, by=args.by)
    if isinstance(args, fmt.FaultArgs):
        return await act(ctx, "fault", args.connector, error_code=args.error_code)
    if isinstance(args, fmt.ConnectorStatusArgs):
        return await act(ctx, "set_connector_status", args.connector, status=args.status)
    name = {"plug_in": "plug_in", "unplug": "unplug", "resume": "resume", "recover": "clear_fault"}[args.kind]
    return await act(ctx, name, args.connector)


async def do_network_drop(ctx: StationContext, args: fmt.NetworkDropArgs, timeout: float) -> Outcome:
    out = await act(ctx, "disconnect_network", 0, seconds=args.seconds)
    if out.ok:
        await asyncio.sleep(args.seconds)
    return out


async def do_power_loss(ctx: StationContext, args: fmt.PowerLossArgs, timeout: float) -> Outcome:
    await ctx.wb.stop_station(ctx.station_id)
    await asyncio.sleep(args.seconds)
    await ctx.wb.start_station(ctx.station_id)
    return Outcome(True, f"power back after {args.seconds:g} s")


async def do_parking_bay(ctx: StationContext, args: fmt.ParkingBayArgs, timeout: float) -> Outcome:
    core, runtime = ctx.core, ctx.runtime
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    payload = {"generatedAt": stamp, "seqNo": 0, "eventData": [{
        "eventId": int(now * 1000) % 2_000_000_000, "timestamp": stamp, "trigger": "Delta",
        "actualValue": "true" if args.occupied else "false", "eventNotificationType": "HardWiredNotification",
        "component": {"name": "BayOccupancySensor", "evse": {"id": args.connector}},
        "variable": {"name": "Active"}}]}
    since = len(ctx.frames)
    pending = core.send_call("NotifyEvent", payload, now)
    runtime.flush()
    if not hasattr(pending, "message_id"):
        return Outcome.fail(f"NotifyEvent not sent: {pending}", "station_action", "NotifyEvent")
    rec = await ctx.until(lambda: ctx.answer_of(since, "NotifyEvent"), timeout)
    return _answer_outcome(ctx, fmt.Checked(), rec, "NotifyEvent", None)


async def do_charge(ctx: StationContext, args: fmt.ChargeArgs, timeout: float) -> Outcome:
    core = ctx.core
    if args.connector not in core.active_transactions():
        return Outcome.fail(f"no transaction runs on connector {args.connector}", "charge")
    start_wh = core.registers().get(args.connector, 0.0)
    t0 = time.monotonic()
    limit = args.duration if args.duration is not None else timeout
    while time.monotonic() - t0 < limit:
        if args.connector not in core.active_transactions():
            return Outcome.fail("the transaction ended while charging", "charge")
        delivered = core.registers().get(args.connector, 0.0) - start_wh
        if args.energy_wh is not None and delivered >= args.energy_wh:
            return Outcome(True, f"{delivered:.0f} Wh delivered")
        await asyncio.sleep(min(0.2, max(0.0, limit - (time.monotonic() - t0))))
    delivered = core.registers().get(args.connector, 0.0) - start_wh
    if args.energy_wh is not None:
        return Outcome.fail(f"only {delivered:.0f} of {args.energy_wh:.0f} Wh within {limit:g} s", "charge")
    return Outcome(True, f"{delivered:.0f} Wh in {limit:g} s")


async def http_call(ctx: StationContext, req: HttpRequest, base: fmt.CsmsApi | None, timeout: float
                    ) -> tuple[Outcome, Any]:
    from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

    url = str(ctx.r(req.url))
    if base is not None and "://" not in url:
        url = str(ctx.r(base.base_url)).rstrip("/") + "/" + url.lstrip("/")
    headers = {**(ctx.r(base.headers) if base else {}), **ctx.r(req.headers)}
    body = ctx.r(req.body)
    data: str | None = None
    if body is not None:
        data = body if isinstance(body, str) else json.dumps(body)
        if not isinstance(body, str):
            headers.setdefault("Content-Type", "application/json")
    request = HTTPRequest(url, method=req.method, headers=headers, body=data, request_timeout=timeout,
                          allow_nonstandard_methods=True)
    try:
        resp = await AsyncHTTPClient().fetch(request, raise_error=False)
    except (OSError, HTTPClientError) as exc:
        return Outcome.fail(f"{req.method} {url}: {exc}", "http"), None
    text = resp.body.decode("utf-8", "replace") if resp.body else ""
    try:
        parsed: Any = json.loads(text) if text else None
    except ValueError:
        parsed = text
    if resp.code not in req.expect_status:
        return Outcome.fail(f"{req.method} {url} answered {resp.code}: {text[:200]}", "http status"), parsed
    return Outcome(True, f"{req.method} {url}: {resp.code}"), parsed


async def do_http(ctx: StationContext, args: fmt.HttpArgs, timeout: float, base: fmt.CsmsApi | None) -> Outcome:
    out, body = await http_call(ctx, args, base, timeout)
    return out if not out.ok else judge(ctx, args, body, None, out.message)


async def do_expect_call(ctx: StationContext, args: fmt.ExpectCallArgs, timeout: float,
                         base: fmt.CsmsApi | None, prompter: Prompter | None) -> Outcome:
    if args.trigger is not None:
        if args.trigger.http is not None:
            out, _ = await http_call(ctx, args.trigger.http, base, timeout)
            if not out.ok:
                return out
        elif args.trigger.prompt is not None:
            out = await do_prompt(ctx, str(ctx.r(args.trigger.prompt)), prompter)
            if not out.ok:
                return out

    def arrived() -> FrameRecord | None:
        for f in ctx.frames[ctx.window:]:
            if f.direction == "received" and f.message_type == "Call" and f.action in args.action \
                    and f.message_id not in ctx.consumed:
                return f
        return None

    rec = await ctx.until(arrived, timeout)
    names = " or ".join(args.action)
    if rec is None:
        return Outcome.fail(f"the CSMS sent no {names} within {timeout:g} s", "expect_call", args.action[0])
    ctx.consumed.add(rec.message_id or "")
    if rec.validation_error:
        return Outcome.fail(f"the CSMS's {rec.action} breaks the schema: {rec.validation_error}", "schema",
                            rec.action)
    return judge(ctx, args, rec.payload, rec.action, f"received {rec.action}")


async def do_send(ctx: StationContext, args: fmt.SendArgs | fmt.SendRawArgs, timeout: float) -> Outcome:
    core, runtime = ctx.core, ctx.runtime
    if not core.is_connected:
        return Outcome.fail("the station is not connected", "send")
    now = time.time()
    since = len(ctx.frames)
    if isinstance(args, fmt.SendArgs):
        action: str | None = str(ctx.r(args.action))
        pending = core.send_call(action, ctx.r(args.payload), now, validate=args.validate_)
        if not hasattr(pending, "message_id"):
            return Outcome.fail(f"not sent, the payload is invalid: {pending}", "payload", action)
        key: str | None = pending.message_id
    else:
        raw = ctx.r(args.raw)
        text = raw if isinstance(raw, str) else json.dumps(raw)
        raw_pending = core.rpc.send_raw(text, now)
        key = raw_pending.message_id if raw_pending is not None else None
        action = raw_pending.action if raw_pending is not None else None
    runtime.flush()

    def answered() -> FrameRecord | None:
        for f in ctx.frames[since:]:
            if f.direction == "received" and f.message_type != "Call" and (key is None or f.correlation_id == key):
                return f
        return None

    rec = await ctx.until(answered, timeout)
    if rec is None:
        got = "no_response"
        if args.expect in ("no_response", "any"):
            return Outcome(True, "no answer", action=action)
        return Outcome.fail(f"no answer within {timeout:g} s", "response_timeout", action)
    got = "result" if rec.message_type == "CallResult" else "error"
    if args.expect not in ("any", got):
        detail = f"{rec.error_code}: {rec.error_description}" if got == "error" else _short(rec.payload)
        return Outcome.fail(f"expected {args.expect}, the CSMS answered with a {got} ({detail})", "expect", action)
    if got == "error" and args.error_code and rec.error_code not in args.error_code:
        return Outcome.fail(f"CallError code is {rec.error_code!r}, expected {' or '.join(args.error_code)}",
                            "error_code", action)
    subject = rec.payload if got == "result" else {
        "errorCode": rec.error_code, "errorDescription": rec.error_description, "errorDetails": rec.payload}
    return judge(ctx, args, subject, action, f"{got}" + (f" {rec.error_code}" if got == "error" else ""))


async def do_prompt(ctx: StationContext, message: str, prompter: Prompter | None) -> Outcome:
    if prompter is None:
        return Outcome.fail(f"no operator to ask: {message}", "prompt")
    ok = await prompter(ctx.station_id, message)
    return Outcome(True, "confirmed") if ok else Outcome.fail(f"the operator declined: {message}", "prompt")


def do_set(ctx: StationContext, args: fmt.SetArgs) -> Outcome:
    for name, value in args.vars.items():
        ctx.variables[name] = ctx.r(value)
    return Outcome(True)


def do_check(ctx: StationContext, args: fmt.CheckArgs) -> Outcome:
    return check(ctx, args.assert_, None, None) or Outcome(True)


def unknown_variable(exc: UnknownVariable) -> Outcome:
    return Outcome.fail(str(exc), "variable")
