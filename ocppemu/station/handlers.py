"""Registered handlers: which function answers each CSMS action, and which handles each answer to our calls.

Each version keeps one :class:`HandlerTable`. A handler module registers its functions with decorators::

    @HANDLERS.call("Reset")
    def reset(station: Station201, call: Call, now: float) -> None: ...

    @HANDLERS.result("Authorize")
    def authorize_answered(station: Station201, pending: PendingCall, payload: dict[str, Any], now: float) -> None:

An action may be registered once per table; a version built on another (2.1 on 2.0.1) starts from a copy of the
parent's table and replaces a handler only with ``override=True``. Actions the emulated station deliberately does not
implement are declared with :meth:`HandlerTable.not_implemented`, so the CSMS gets a ``NotImplemented`` CallError by
decision rather than by omission. :meth:`HandlerTable.check_complete` proves that every CSMS-initiated action of
the version's catalogue has exactly one of the two; the station modules call it when they are imported, so a
missing handler fails at import, not in front of a CSMS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ocppemu.ocpp.catalogue import catalogue
from ocppemu.ocpp.framing import Call
from ocppemu.ocpp.rpc import PendingCall
from ocppemu.ocpp.versions import Version

S = TypeVar("S")
CallHandler = Callable[[S, Call, float], None]
ResultHandler = Callable[[S, PendingCall, dict[str, Any], float], None]
F = TypeVar("F", bound=Callable[..., None])


class HandlerTableError(RuntimeError):
    """A handler table breaks its rule (a second handler for one action, an action the version lacks, a gap)."""


class HandlerTable(Generic[S]):
    """The CALL handlers and result handlers of one protocol version (see the module docstring)."""

    def __init__(self, version: Version, parent: HandlerTable[Any] | None = None) -> None:
        self.version = version
        self.calls: dict[str, CallHandler[S]] = dict(parent.calls) if parent is not None else {}
        self.results: dict[str, ResultHandler[S]] = dict(parent.results) if parent is not None else {}
        self.unimplemented: dict[str, str] = dict(parent.unimplemented) if parent is not None else {}
        self._catalogue = catalogue(version)

    def _check_action(self, action: str, *, csms_sends: bool) -> None:
        spec = self._catalogue.get(action)
        if spec is None:
            raise HandlerTableError(f"OCPP {self.version.value} has no action {action!r}")
        if csms_sends and not spec.csms_sends:
            raise HandlerTableError(f"OCPP {self.version.value}: the CSMS never sends {action}")
        if not csms_sends and not spec.station_sends:
            raise HandlerTableError(f"OCPP {self.version.value}: the station never sends {action}")

    def call(self, action: str, *, override: bool = False) -> Callable[[F], F]:
        """Register the handler of the CSMS's ``action`` CALL: ``fn(station, call, now)`` answers it exactly once."""

        def register(fn: F) -> F:
            self._check_action(action, csms_sends=True)
            if not override and (action in self.calls or action in self.unimplemented):
                raise HandlerTableError(f"OCPP {self.version.value}: {action} already has a handler")
            if override and action not in self.calls:
                raise HandlerTableError(f"OCPP {self.version.value}: {action} has no handler to override")
            self.calls[action] = fn
            return fn

        return register

    def result(self, action: str, *, override: bool = False) -> Callable[[F], F]:
        """Register what to do with the CSMS's answer to our ``action`` CALL: ``fn(station, pending, payload,
        now)``."""

        def register(fn: F) -> F:
            self._check_action(action, csms_sends=False)
            if not override and action in self.results:
                raise HandlerTableError(f"OCPP {self.version.value}: the answer to {action} already has a handler")
            self.results[action] = fn
            return fn

        return register

    def not_implemented(self, action: str, why: str, *, override: bool = False) -> None:
        """Declare that this station answers ``action`` with a NotImplemented CallError (``why`` says why);
        ``override`` drops the handler a parent table gave it."""
        self._check_action(action, csms_sends=True)
        if action in self.calls and not override:
            raise HandlerTableError(f"OCPP {self.version.value}: {action} has a handler")
        self.calls.pop(action, None)
        self.unimplemented[action] = why

    def missing(self) -> list[str]:
        """CSMS-initiated actions of the catalogue with neither a handler nor a declared NotImplemented answer."""
        return [a for a in self._catalogue.csms_initiated() if a not in self.calls and a not in self.unimplemented]

    def check_complete(self) -> None:
        """Raise :class:`HandlerTableError` unless every CSMS-initiated action has exactly one answer."""
        gaps = self.missing()
        if gaps:
            raise HandlerTableError(f"OCPP {self.version.value}: no handler for {', '.join(gaps)}")
