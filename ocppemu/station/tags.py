"""Typed correlation tags: what a station remembers about a CALL it sent, handed back with the CSMS's answer.

A tag rides on :attr:`~ocppemu.ocpp.rpc.PendingCall.tag`; result handlers match on its class, never on strings.
Queued transaction messages carry their :class:`~ocppemu.station.offline_queue.QueuedMessage` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocppemu.station.authorization import IdToken


@dataclass(slots=True, frozen=True)
class AuthorizeTag:
    """An Authorize sent for a driver at connector (1.6) or EVSE (2.x) ``where``."""

    where: int
    token: IdToken


@dataclass(slots=True, frozen=True)
class StreamOpenTag:
    """An OpenPeriodicEventStream (2.1) for stream ``stream_id``."""

    stream_id: int


@dataclass(slots=True, frozen=True)
class DynamicPullTag:
    """A PullDynamicScheduleUpdate (2.1) for charging profile ``profile_id``."""

    profile_id: int
