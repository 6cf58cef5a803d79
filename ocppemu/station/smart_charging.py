"""Charging profiles for OCPP 1.6, 2.0.1 and 2.1: installation rules, stacking and the composite schedule.

Pure logic: profiles come in as plain wire-format dicts (``csChargingProfiles`` of 1.6, ``chargingProfile`` of 2.x),
time comes in as timezone-aware ``datetime`` values, and results go out as wire-format dicts that the per-version
handlers wrap into their answers. No clock, no I/O.

How the composite is built, at every instant of the requested window:

1. Of each purpose, the valid profile with the highest ``stackLevel`` that has a period in effect wins; on a tie a
   profile on the connector itself beats one on connector 0. A profile whose schedule has ended (``duration``)
   or has not started yet has no say, so a lower stack level shows through.
2. A TxProfile of the active transaction overrides the TxDefaultProfile.
3. The result is the minimum of that and the station maximum (``ChargePointMaxProfile`` /
   ``ChargingStationMaxProfile``) and the ``ChargingStationExternalConstraints``, each converted to the requested
   unit with ``W = A x voltage x phases`` (the period's ``numberPhases`` when given, else the caller's ``phases``).
4. Instants without any limit take the EVSE's rated power, and no instant exceeds it.

Interpretations where the specifications leave room (each documented where applied): a Relative profile (and a
TxDefaultProfile without transaction) runs from the transaction start, or from the start of the requested window
when no transaction is active; an Absolute profile without ``startSchedule`` runs from its installation; a Recurring
profile repeats in both directions around its ``startSchedule``; of the up to three schedules of a 2.x profile the
first is used; the 2.1 purposes ``PriorityCharging`` and ``LocalGeneration`` are stored and reported but do not
enter the composite; a 2.1 period without ``limit`` imposes none.
"""

from __future__ import annotations

import heapq
import itertools
import math
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ocppemu.ocpp.versions import Version

__all__ = [
    "ChargingProfile",
    "InstallResult",
    "InstalledProfile",
    "Period",
    "ProfileError",
    "ProfileStore",
    "Schedule",
    "parse_profile",
]

Unit = Literal["W", "A"]

STATION_MAX = "StationMax"
TX_DEFAULT = "TxDefault"
TX = "Tx"
EXTERNAL = "External"
_ROLES = {
    "ChargePointMaxProfile": STATION_MAX,
    "ChargingStationMaxProfile": STATION_MAX,
    "TxDefaultProfile": TX_DEFAULT,
    "TxProfile": TX,
    "ChargingStationExternalConstraints": EXTERNAL,
}
_PURPOSES: dict[Version, frozenset[str]] = {
    Version.V16: frozenset({"ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"}),
    Version.V201: frozenset({"ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile",
                             "ChargingStationExternalConstraints"}),
    Version.V21: frozenset({"ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile",
                            "ChargingStationExternalConstraints", "PriorityCharging", "LocalGeneration"}),
}
_KINDS = frozenset({"Absolute", "Recurring", "Relative", "Dynamic"})
_RECURRENCE_S = {"Daily": 86400, "Weekly": 7 * 86400}


class ProfileError(ValueError):
    """A charging profile that cannot be installed; ``reason`` is a sentence for the user and the CSMS."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True, frozen=True)
class Period:
    """One ``chargingSchedulePeriod``: from ``start`` seconds into the schedule, ``limit`` in the schedule's unit
    (``inf`` when a 2.1 period gives none)."""

    start: int
    limit: float
    phases: int | None = None


@dataclass(slots=True, frozen=True)
class Schedule:
    """The schedule of a profile; times are POSIX seconds."""

    start: float | None
    duration: int | None
    unit: Unit
    periods: tuple[Period, ...]
    min_rate: float | None = None
    starts: tuple[int, ...] = ()
    """``start`` of each period, for bisection; filled by the parser."""

    def period_at(self, offset: float) -> Period | None:
        """The period in effect ``offset`` seconds into the schedule, or ``None`` before the first / after the end."""
        if offset < 0 or (self.duration is not None and offset >= self.duration):
            return None
        i = bisect_right(self.starts, offset)
        return self.periods[i - 1] if i else None


@dataclass(slots=True, frozen=True)
class ChargingProfile:
    """A parsed profile. ``wire`` is the payload as received (for GetChargingProfiles reports)."""

    id: int
    stack_level: int
    purpose: str
    kind: str
    recurrency: str | None
    valid_from: float | None
    valid_to: float | None
    transaction_id: str | None
    schedule: Schedule
    wire: Mapping[str, Any]

    @property
    def role(self) -> str:
        """The purpose with version spelling removed (``StationMax``, ``TxDefault``, ``Tx``, ``External``)."""
        return _ROLES.get(self.purpose, self.purpose)

    def valid_at(self, t: float) -> bool:
        return (self.valid_from is None or self.valid_from <= t) and (self.valid_to is None or t < self.valid_to)

    def schedule_base(self, t: float, relative_to: float, installed_at: float) -> tuple[float, float]:
        """Start of the schedule instance covering ``t`` and how long that instance lasts (may be ``inf``)."""
        s = self.schedule
        if self.kind == "Recurring" and s.start is not None and self.recurrency in _RECURRENCE_S:
            every = _RECURRENCE_S[self.recurrency]
            base = s.start + math.floor((t - s.start) / every) * every
            return base, float(min(s.duration, every) if s.duration is not None else every)
        if self.kind == "Relative":
            return relative_to, float(s.duration) if s.duration is not None else math.inf
        base = s.start if s.start is not None else installed_at
        return base, float(s.duration) if s.duration is not None else math.inf

    def period_at(self, t: float, relative_to: float, installed_at: float) -> Period | None:
        base, span = self.schedule_base(t, relative_to, installed_at)
        if t - base >= span:
            return None
        return self.schedule.period_at(t - base)

    def breakpoints(self, lo: float, hi: float, relative_to: float, installed_at: float) -> Iterator[float]:
        """Sorted instants in ``[lo, hi)`` where this profile's schedule may change its limit."""
        starts = self.schedule.starts
        base, span = self.schedule_base(lo, relative_to, installed_at)
        every = _RECURRENCE_S.get(self.recurrency or "", 0) if self.kind == "Recurring" else 0
        while base < hi:
            for t in [*(base + s for s in starts if s < span), base + span]:
                if lo <= t < hi:
                    yield t
            if not every:
                return
            base += every


def _validity_points(p: ChargingProfile, lo: float, hi: float) -> Iterator[float]:
    for t in (p.valid_from, p.valid_to):
        if t is not None and lo <= t < hi:
            yield t


@dataclass(slots=True)
class InstalledProfile:
    """A profile as held by the station: where it sits, since when, and who set it (``chargingLimitSource``)."""

    connector_id: int
    profile: ChargingProfile
    installed_at: float
    source: str = "CSO"


@dataclass(slots=True, frozen=True)
class InstallResult:
    """Outcome of :meth:`ProfileStore.install`. ``reason`` says why a profile was refused."""

    accepted: bool
    reason: str | None = None
    replaced: tuple[int, ...] = ()

    @property
    def status(self) -> str:
        """``Accepted`` or ``Rejected``, as SetChargingProfile answers."""
        return "Accepted" if self.accepted else "Rejected"


# -- parsing -----------------------------------------------------------------------------------------------------


def _ts(value: object, field: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProfileError(f"{field} must be a date-time string, got {value!r}")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ProfileError(f"{field} is not a valid date-time: {value!r}") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _int(data: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> int | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ProfileError(f"{where} has no {key}")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileError(f"{where}.{key} must be an integer, got {value!r}")
    return value


def _parse_schedule(data: object, version: Version) -> Schedule:
    if not isinstance(data, Mapping):
        raise ProfileError("chargingSchedule must be an object")
    unit = data.get("chargingRateUnit")
    if unit not in ("W", "A"):
        raise ProfileError(f"chargingSchedule.chargingRateUnit must be W or A, got {unit!r}")
    raw_periods = data.get("chargingSchedulePeriod")
    if not isinstance(raw_periods, list) or not raw_periods:
        raise ProfileError("chargingSchedule.chargingSchedulePeriod must be a non-empty list")
    periods: list[Period] = []
    for i, raw in enumerate(raw_periods):
        where = f"chargingSchedulePeriod[{i}]"
        if not isinstance(raw, Mapping):
            raise ProfileError(f"{where} must be an object")
        start = _int(raw, "startPeriod", where)
        assert start is not None
        limit = raw.get("limit")
        if limit is None and version is Version.V21:
            limit = math.inf
        if isinstance(limit, bool) or not isinstance(limit, int | float) or math.isnan(limit):
            raise ProfileError(f"{where}.limit must be a number, got {limit!r}")
        phases = _int(raw, "numberPhases", where, required=False)
        if phases is not None and not 0 <= phases <= 3:
            raise ProfileError(f"{where}.numberPhases must be 1, 2 or 3, got {phases}")
        if periods and start <= periods[-1].start:
            raise ProfileError(f"{where}.startPeriod {start} is not after the previous period's "
                               f"{periods[-1].start}; periods must be in increasing order")
        if start < 0:
            raise ProfileError(f"{where}.startPeriod must not be negative, got {start}")
        periods.append(Period(start, max(float(limit), 0.0), phases or None))
    if version.is_2x and periods[0].start != 0:
        raise ProfileError(f"the first chargingSchedulePeriod must start at 0, not {periods[0].start} (K01.FR.31)")
    duration = _int(data, "duration", "chargingSchedule", required=False)
    if duration is not None and duration < 0:
        raise ProfileError(f"chargingSchedule.duration must not be negative, got {duration}")
    min_rate = data.get("minChargingRate")
    return Schedule(_ts(data.get("startSchedule"), "chargingSchedule.startSchedule"), duration, unit,
                    tuple(periods), float(min_rate) if isinstance(min_rate, int | float) else None,
                    tuple(p.start for p in periods))


def parse_profile(wire: Mapping[str, Any], version: Version | str) -> ChargingProfile:
    """Parse a wire-format charging profile of ``version`` and check the rules that need no station state.

    Unknown fields (2.1 additions, ``customData``) are ignored. Raises :class:`ProfileError` with a readable
    reason on a malformed or inconsistent profile.
    """
    v = Version.parse(version) if isinstance(version, str) else version
    if not isinstance(wire, Mapping):
        raise ProfileError("the charging profile must be an object")
    pid = _int(wire, "id" if v.is_2x else "chargingProfileId", "chargingProfile")
    stack = _int(wire, "stackLevel", "chargingProfile")
    assert pid is not None and stack is not None
    if stack < 0:
        raise ProfileError(f"stackLevel must be 0 or more, got {stack}")
    purpose = wire.get("chargingProfilePurpose")
    if purpose not in _PURPOSES[v]:
        raise ProfileError(f"chargingProfilePurpose {purpose!r} is not one of OCPP {v.value}: "
                           + ", ".join(sorted(_PURPOSES[v])))
    kind = wire.get("chargingProfileKind")
    if kind not in _KINDS or (kind == "Dynamic" and v is not Version.V21):
        raise ProfileError(f"chargingProfileKind {kind!r} is not Absolute, Recurring or Relative")
    recurrency = wire.get("recurrencyKind")
    if recurrency is not None and recurrency not in _RECURRENCE_S:
        raise ProfileError(f"recurrencyKind must be Daily or Weekly, got {recurrency!r}")
    raw_schedule = wire.get("chargingSchedule")
    if v.is_2x:
        if not isinstance(raw_schedule, list) or not 1 <= len(raw_schedule) <= 3:
            raise ProfileError("chargingSchedule must be a list of 1 to 3 schedules")
        raw_schedule = raw_schedule[0]
    schedule = _parse_schedule(raw_schedule, v)
    if kind == "Recurring" and (recurrency is None or schedule.start is None):
        raise ProfileError("a Recurring profile needs recurrencyKind and chargingSchedule.startSchedule")
    valid_from = _ts(wire.get("validFrom"), "validFrom")
    valid_to = _ts(wire.get("validTo"), "validTo")
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise ProfileError(f"validTo {wire.get('validTo')} is not after validFrom {wire.get('validFrom')}")
    tx = wire.get("transactionId")
    return ChargingProfile(pid, stack, str(purpose), str(kind), recurrency, valid_from, valid_to,
                           None if tx is None else str(tx), schedule, dict(wire))


# -- the store ---------------------------------------------------------------------------------------------------


def _convert(limit: float, src: Unit, dst: Unit, voltage: float, phases: int) -> float:
    if src == dst or math.isinf(limit):
        return limit
    factor = voltage * phases
    return limit * factor if dst == "W" else limit / factor


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ProfileStore:
    """The charging profiles of one station, per connector (1.6) or EVSE (2.x); 0 is the whole station.

    ``connector_ids``, when given, are the valid non-zero ids; profiles for others are refused.
    The store is plain data: persist it by saving each profile's ``wire`` and ``connector_id`` and installing
    them again.
    """

    __slots__ = ("_connectors", "_profiles", "version")

    def __init__(self, version: Version | str, connector_ids: Iterable[int] | None = None) -> None:
        self.version = Version.parse(version) if isinstance(version, str) else version
        self._connectors = None if connector_ids is None else frozenset(connector_ids)
        self._profiles: dict[int, InstalledProfile] = {}

    def __len__(self) -> int:
        return len(self._profiles)

    @property
    def profiles(self) -> list[InstalledProfile]:
        """Installed profiles, in installation order."""
        return list(self._profiles.values())

    # -- SetChargingProfile ------------------------------------------------------------------------------------

    def check(self, connector_id: int, wire: Mapping[str, Any], *, active_transaction_id: str | int | None = None,
              from_csms: bool = True, remote_start: bool = False) -> ChargingProfile:
        """Parse ``wire`` and check it against the station's state; raise :class:`ProfileError` if it must be
        refused. ``active_transaction_id`` is the transaction running on ``connector_id``, if any.
        ``remote_start``: the profile came inside RemoteStartTransaction / RequestStartTransaction, where the
        CSMS cannot know the transaction id yet, so a TxProfile without one is accepted."""
        p = parse_profile(wire, self.version)
        spelled = "connector" if self.version is Version.V16 else "EVSE"
        if connector_id < 0 or (connector_id and self._connectors is not None and connector_id not in self._connectors):
            raise ProfileError(f"{spelled} {connector_id} does not exist")
        if p.role == STATION_MAX and connector_id != 0:
            raise ProfileError(f"{p.purpose} can only be set on {spelled} 0, not {connector_id}")
        if p.role == EXTERNAL and from_csms:
            raise ProfileError("ChargingStationExternalConstraints profiles are set by an external system, "
                               "not by the CSMS")
        if p.role == TX:
            if connector_id == 0:
                raise ProfileError(f"a TxProfile must name the {spelled} of its transaction, not 0")
            active = None if active_transaction_id is None else str(active_transaction_id)
            if self.version.is_2x and p.transaction_id is None and not remote_start:
                raise ProfileError("a TxProfile needs a transactionId")
            if active is None:
                raise ProfileError(f"a TxProfile needs an active transaction on {spelled} {connector_id}")
            if p.transaction_id is not None and p.transaction_id != active:
                raise ProfileError(f"transactionId {p.transaction_id} is not the transaction active on "
                                   f"{spelled} {connector_id} ({active})")
        elif p.transaction_id is not None and self.version.is_2x:
            raise ProfileError(f"transactionId is only allowed in a TxProfile, not in {p.purpose}")
        if self.version.is_2x:
            self._check_duplicates(connector_id, p, active_transaction_id)
        return p

    def _check_duplicates(self, connector_id: int, p: ChargingProfile, tx: str | int | None) -> None:
        for other in self._profiles.values():
            q = other.profile
            if q.id == p.id or q.role != p.role or q.stack_level != p.stack_level:
                continue
            if p.role == TX:
                if q.transaction_id == (p.transaction_id or (None if tx is None else str(tx))):
                    raise ProfileError(f"TxProfile {q.id} already has stackLevel {p.stack_level} for transaction "
                                       f"{q.transaction_id} (K01.FR.39)")
            elif other.connector_id == connector_id and _overlap(p, q):
                raise ProfileError(f"profile {q.id} already has purpose {q.purpose} and stackLevel "
                                   f"{p.stack_level} on EVSE {connector_id} with an overlapping validity (K01.FR.06)")

    def rejection_reason(self, connector_id: int, wire: Mapping[str, Any], *,
                         active_transaction_id: str | int | None = None, from_csms: bool = True,
                         remote_start: bool = False) -> str | None:
        """Why :meth:`install` would refuse this profile, or ``None`` if it would accept it. Changes nothing."""
        try:
            self.check(connector_id, wire, active_transaction_id=active_transaction_id, from_csms=from_csms,
                       remote_start=remote_start)
        except ProfileError as exc:
            return exc.reason
        return None

    def install(self, connector_id: int, wire: Mapping[str, Any], *, now: datetime,
                active_transaction_id: str | int | None = None, source: str = "CSO",
                from_csms: bool = True, remote_start: bool = False) -> InstallResult:
        """Install a profile (SetChargingProfile, or RemoteStart's profile with the new transaction id).

        A profile with the same id is replaced wherever it sits. In 1.6 a profile with the same purpose and
        stackLevel on the same connector is replaced too (1.6 §3.13.2); in 2.x such a profile with an overlapping
        validity is refused (K01.FR.06), as is a second TxProfile at one stackLevel for one transaction (K01.FR.39).
        A TxProfile without transactionId (1.6, or any version with ``remote_start``) is bound to
        ``active_transaction_id``. ``now`` anchors an Absolute profile without startSchedule. Never raises on bad
        input: a refusal is an :class:`InstallResult` with its reason.
        """
        try:
            p = self.check(connector_id, wire, active_transaction_id=active_transaction_id, from_csms=from_csms,
                           remote_start=remote_start)
        except ProfileError as exc:
            return InstallResult(False, exc.reason)
        if p.role == TX and p.transaction_id is None and active_transaction_id is not None:
            p = _with_transaction(p, str(active_transaction_id))
        replaced = [pid for pid, ip in self._profiles.items()
                    if pid == p.id or (self.version is Version.V16 and ip.connector_id == connector_id
                                       and ip.profile.role == p.role and ip.profile.stack_level == p.stack_level)]
        for pid in replaced:
            del self._profiles[pid]
        self._profiles[p.id] = InstalledProfile(connector_id, p, now.timestamp(), source)
        return InstallResult(True, None, tuple(replaced))

    # -- ClearChargingProfile / GetChargingProfiles / end of transaction ---------------------------------------

    def clear(self, *, profile_id: int | None = None, connector_id: int | None = None, purpose: str | None = None,
              stack_level: int | None = None, from_csms: bool = True) -> list[int]:
        """Remove profiles and return their ids (empty: nothing matched, i.e. status Unknown).

        With ``profile_id`` only that profile is removed and the criteria are ignored; otherwise every profile
        matching all given criteria (absent = any; ``connector_id`` 0 = station-wide profiles only). The CSMS
        (``from_csms``) cannot clear external constraints.
        """
        if profile_id is not None:
            hit = [profile_id] if profile_id in self._profiles else []
        else:
            hit = [ip.profile.id for ip in self.find(connector_id=connector_id, purpose=purpose,
                                                     stack_level=stack_level)]
        if from_csms:
            hit = [pid for pid in hit if self._profiles[pid].profile.role != EXTERNAL]
        for pid in hit:
            del self._profiles[pid]
        return hit

    def find(self, *, connector_id: int | None = None, purpose: str | None = None, stack_level: int | None = None,
             profile_ids: Iterable[int] | None = None, sources: Iterable[str] | None = None) -> list[InstalledProfile]:
        """Profiles matching every given criterion, as GetChargingProfiles selects them (absent = any;
        ``connector_id`` 0 = station-wide profiles only). ``purpose`` may be spelled for any version."""
        ids = None if profile_ids is None else set(profile_ids)
        srcs = None if sources is None else set(sources)
        role = None if purpose is None else _ROLES.get(purpose, purpose)
        return [ip for ip in self._profiles.values()
                if (connector_id is None or ip.connector_id == connector_id)
                and (role is None or ip.profile.role == role)
                and (stack_level is None or ip.profile.stack_level == stack_level)
                and (ids is None or ip.profile.id in ids)
                and (srcs is None or ip.source in srcs)]

    def end_transaction(self, transaction_id: str | int) -> list[int]:
        """Drop the TxProfiles of a finished transaction; returns their ids."""
        tx = str(transaction_id)
        gone = [pid for pid, ip in self._profiles.items()
                if ip.profile.role == TX and ip.profile.transaction_id == tx]
        for pid in gone:
            del self._profiles[pid]
        return gone

    def purge_expired(self, now: datetime) -> list[int]:
        """Drop profiles whose validTo has passed; returns their ids."""
        t = now.timestamp()
        gone = [pid for pid, ip in self._profiles.items()
                if ip.profile.valid_to is not None and ip.profile.valid_to <= t]
        for pid in gone:
            del self._profiles[pid]
        return gone

    # -- composite ---------------------------------------------------------------------------------------------

    def _applicable(self, connector_id: int, tx: str | None) -> list[InstalledProfile]:
        out = []
        for ip in self._profiles.values():
            role = ip.profile.role
            if connector_id == 0:
                ok = ip.connector_id == 0 and role in (STATION_MAX, EXTERNAL)
            elif role == TX:
                ok = ip.connector_id == connector_id and tx is not None and ip.profile.transaction_id == tx
            else:
                ok = ip.connector_id in (0, connector_id) and role in (STATION_MAX, EXTERNAL, TX_DEFAULT)
            if ok:
                out.append(ip)
        return out

    def _limit_at(self, profiles: list[InstalledProfile], t: float, relative_to: float, unit: Unit,
                  voltage: float, phases: int) -> tuple[float, int | None] | None:
        # Per purpose: rank (stackLevel, on the connector itself, lower limit on a tie) -> (limit, numberPhases).
        best: dict[str, tuple[tuple[int, bool, float], tuple[float, int | None]]] = {}
        for ip in profiles:
            p = ip.profile
            if not p.valid_at(t):
                continue
            period = p.period_at(t, relative_to, ip.installed_at)
            if period is None:
                continue
            limit = _convert(period.limit, p.schedule.unit, unit, voltage, period.phases or phases)
            rank = (p.stack_level, ip.connector_id != 0, -limit)
            current = best.get(p.role)
            if current is None or rank > current[0]:
                best[p.role] = (rank, (limit, period.phases))
        tx_or_default = best.get(TX) or best.get(TX_DEFAULT)
        found = [c[1] for c in (tx_or_default, best.get(STATION_MAX), best.get(EXTERNAL)) if c is not None]
        return min(found, key=lambda c: c[0]) if found else None

    def composite_schedule(self, connector_id: int, start: datetime, duration_s: int, unit: Unit, *,
                           max_limit_w: float, active_transaction_id: str | int | None = None,
                           transaction_start: datetime | None = None, voltage: float = 230.0, phases: int = 3,
                           max_periods: int = 1024) -> dict[str, Any]:
        """The composite schedule of ``connector_id`` (0: the station's grid connection, from the station-wide
        maximum and external constraints) for ``duration_s`` seconds from ``start`` (truncated to the second).

        ``max_limit_w`` is the rated power of the connector (or the station for 0): it fills instants no profile
        limits and caps the others. For DC pass ``phases=1`` and the battery voltage. Limits are rounded to 0.1.
        Returns ``{"startSchedule", "duration", "chargingRateUnit", "chargingSchedulePeriod": [{"startPeriod",
        "limit", "numberPhases"?}]}``, periods merged where the limit does not change. With more than
        ``max_periods`` periods the schedule is cut there and ``duration`` shortened to match.
        """
        lo = float(math.floor(start.timestamp()))
        hi = lo + max(int(duration_s), 0)
        tx = None if active_transaction_id is None else str(active_transaction_id)
        relative_to = transaction_start.timestamp() if transaction_start is not None and tx is not None else lo
        cap = _convert(max_limit_w, "W", unit, voltage, phases)
        profiles = self._applicable(connector_id, tx)
        points = heapq.merge(
            *(ip.profile.breakpoints(lo, hi, relative_to, ip.installed_at) for ip in profiles),
            *(_validity_points(ip.profile, lo, hi) for ip in profiles),
        )
        periods: list[dict[str, Any]] = []
        last_offset = -1
        duration = int(hi - lo)
        for t in itertools.chain([lo], points):
            offset = math.ceil(t - lo - 1e-9)
            if offset <= last_offset or offset >= hi - lo:
                continue
            last_offset = offset
            got = self._limit_at(profiles, lo + offset, relative_to, unit, voltage, phases)
            limit, ph = (cap, None) if got is None or got[0] >= cap else got
            entry: dict[str, Any] = {"startPeriod": offset, "limit": round(limit, 1)}
            if ph is not None:
                entry["numberPhases"] = ph
            if periods and {k: v for k, v in periods[-1].items() if k != "startPeriod"} == \
                    {k: v for k, v in entry.items() if k != "startPeriod"}:
                continue
            if len(periods) == max_periods:
                duration = offset
                break
            periods.append(entry)
        if not periods:
            periods.append({"startPeriod": 0, "limit": round(cap, 1)})
        return {"startSchedule": _iso(lo), "duration": duration, "chargingRateUnit": unit,
                "chargingSchedulePeriod": periods}

    def current_limit(self, connector_id: int, at: datetime, *, active_transaction_id: str | int | None = None,
                      transaction_start: datetime | None = None, voltage: float = 230.0,
                      phases: int = 3) -> float | None:
        """The composite limit in W at ``at``, for the meter; ``None`` when no profile limits the connector."""
        tx = None if active_transaction_id is None else str(active_transaction_id)
        t = at.timestamp()
        relative_to = transaction_start.timestamp() if transaction_start is not None and tx is not None else t
        got = self._limit_at(self._applicable(connector_id, tx), t, relative_to, "W", voltage, phases)
        return None if got is None or math.isinf(got[0]) else got[0]

    def next_change(self, connector_id: int, after: datetime, *, active_transaction_id: str | int | None = None,
                    transaction_start: datetime | None = None, horizon_s: int = 7 * 86400) -> datetime | None:
        """The first instant after ``after`` (within ``horizon_s``) at which a profile may change the limit, so the
        engine knows when to call :meth:`current_limit` again; ``None`` if nothing changes in the horizon."""
        tx = None if active_transaction_id is None else str(active_transaction_id)
        t0 = after.timestamp()
        relative_to = transaction_start.timestamp() if transaction_start is not None and tx is not None else t0
        profiles = self._applicable(connector_id, tx)
        lo, hi = math.nextafter(t0, math.inf), t0 + horizon_s
        firsts = [next(gen, None) for ip in profiles
                  for gen in (ip.profile.breakpoints(lo, hi, relative_to, ip.installed_at),
                              _validity_points(ip.profile, lo, hi))]
        found = [t for t in firsts if t is not None]
        return datetime.fromtimestamp(min(found), UTC) if found else None


def _overlap(a: ChargingProfile, b: ChargingProfile) -> bool:
    a_from = -math.inf if a.valid_from is None else a.valid_from
    b_from = -math.inf if b.valid_from is None else b.valid_from
    a_to = math.inf if a.valid_to is None else a.valid_to
    b_to = math.inf if b.valid_to is None else b.valid_to
    return a_from < b_to and b_from < a_to


def _with_transaction(p: ChargingProfile, tx: str) -> ChargingProfile:
    return ChargingProfile(p.id, p.stack_level, p.purpose, p.kind, p.recurrency, p.valid_from, p.valid_to, tx,
                           p.schedule, p.wire)
