"""The one typed interface of station-side events: what a driver, an EV, the grid or the network can do to a
station. Every station core implements it (:class:`~ocppemu.station.core.StationCore` declares it); the workbench,
the CLI, the API, the dashboards and the scenario runner call it and nothing else.

``where`` is the connector id in OCPP 1.6 and the EVSE id in 2.x. Every method takes ``now`` last and returns an
:class:`~ocppemu.station.core.ActionResult`: ``ok`` or a readable ``error``, never an exception for bad input.
Each action says exactly what it does: :meth:`StationActions.start` on a connector that is already charging is
refused; :meth:`StationActions.present_tag` is the one whose second swipe of the running session's tag stops it,
and its result says so (``data["stopped"]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from ocppemu.station.core import ActionResult

#: Connector error codes a 1.6 StatusNotification can carry (NoError is not a fault).
FAULT_CODES_16: tuple[str, ...] = (
    "ConnectorLockFailure", "EVCommunicationError", "GroundFailure", "HighTemperature", "InternalError",
    "LocalListConflict", "OtherError", "OverCurrentFailure", "OverVoltage", "PowerMeterFailure",
    "PowerSwitchFailure", "ReaderFailure", "ResetFailure", "UnderVoltage", "WeakSignal",
)
#: 2.x has no error-code enum: a fault sets the connector Faulted and ChargingStation.Problem; the emulator accepts
#: the same hardware fault names as 1.6 and reports the code in its events (documented choice).
FAULT_CODES_2X: tuple[str, ...] = FAULT_CODES_16

SuspendBy = Literal["EV", "EVSE"]


def check_fault_code(code: str, known: tuple[str, ...]) -> str | None:
    """A readable refusal for an unknown fault code, or ``None`` when it is one of ``known``."""
    if code in known:
        return None
    return f"unknown fault error code {code!r}; use one of: {', '.join(known)}"


class StationActions(Protocol):
    """Station-side events (see the module docstring)."""

    def plug_in(self, where: int, now: float, /) -> ActionResult:
        """An EV's cable is plugged in."""
        ...

    def unplug(self, where: int, now: float, /) -> ActionResult:
        """The cable is unplugged (a running transaction ends if the station's rules say so)."""
        ...

    def present_tag(self, where: int, id_tag: str | None, now: float, /) -> ActionResult:
        """A driver presents ``id_tag`` (the station default when None): authorize and start, or, when it is
        the tag of the running session, stop it (``data["stopped"]`` is then true)."""
        ...

    def start(self, where: int, id_tag: str | None, now: float, /) -> ActionResult:
        """Plug in (if needed) and authorize ``id_tag``: the usual local start. Refused when a session already
        runs there."""
        ...

    def stop(self, where: int, now: float, reason: str = "Local", /) -> ActionResult:
        """The driver ends the running session (``reason`` is the stop reason the CSMS sees)."""
        ...

    def suspend(self, where: int, by: SuspendBy, now: float, /) -> ActionResult:
        """The EV (``by="EV"``) or the EVSE stops taking/offering energy during the session."""
        ...

    def resume(self, where: int, now: float, /) -> ActionResult:
        """Energy flows again after a suspension."""
        ...

    def inject_fault(self, where: int, error_code: str, now: float, /) -> ActionResult:
        """The connector fails with ``error_code`` (one of :meth:`fault_codes`; anything else is refused)."""
        ...

    def recover(self, where: int, now: float, /) -> ActionResult:
        """The fault clears; the connector settles on its idle status."""
        ...

    def set_status(self, where: int, status: str, error_code: str, now: float, /) -> ActionResult:
        """Force a connector status (to test a CSMS), checked against the version's status table."""
        ...

    def power_loss(self, now: float, /) -> ActionResult:
        """The station loses power: running transactions end (PowerLoss) and it boots again (PowerUp)."""
        ...

    def network_drop(self, seconds: float, now: float, /) -> ActionResult:
        """The network drops for ``seconds``; transaction messages are queued meanwhile."""
        ...

    def fault_codes(self) -> tuple[str, ...]:
        """The fault error codes :meth:`inject_fault` accepts."""
        ...
