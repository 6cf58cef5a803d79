"""Local authorization shared by OCPP 1.6 and 2.x: the local authorization list, the cache, and the decision.

Everything here is pure: time comes in as ``now`` arguments, nothing is stored on disk. Entries are kept in
wire-format-agnostic dataclasses (:class:`IdToken`, :class:`AuthInfo`); converters translate to and from the 1.6
``idTagInfo`` and the 2.x ``idTokenInfo`` dicts. Identifiers are case-insensitive in both versions, so lookups
compare case-folded ids (and, for 2.x, the token type as well); the original spelling is kept.

Peer data that cannot be understood raises :class:`AuthorizationDataError` (a ``ValueError`` with a sentence the
user can read) from the converters; list and cache operations answer with statuses instead of raising.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

log = logging.getLogger(__name__)

SendLocalListStatus = Literal["Accepted", "Failed", "VersionMismatch", "NotSupported"]
UpdateType = Literal["Full", "Differential"]
Outcome = Literal["Accepted", "AskCsms", "Rejected"]
Source = Literal["LocalList", "Cache", "OfflineUnknown", "None"]

STATUSES_V16: frozenset[str] = frozenset({"Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"})
STATUSES_V2: frozenset[str] = STATUSES_V16 | {
    "NoCredit", "NotAllowedTypeEVSE", "NotAtThisLocation", "NotAtThisTime", "Unknown",
}
DEFAULT_GROUP_TOKEN_TYPE = "Central"
"""Type given to a 1.6 ``parentIdTag`` when it is written as a 2.x ``groupIdToken`` (1.6 has no types)."""


class AuthorizationDataError(ValueError):
    """An idTagInfo / idTokenInfo / SendLocalList entry that cannot be understood."""


@dataclass(frozen=True, slots=True)
class IdToken:
    """An identifier: a 1.6 ``idTag`` (``type`` is ``None``) or a 2.x ``idToken`` with its type."""

    id: str
    type: str | None = None

    @property
    def key(self) -> tuple[str, str | None]:
        """The lookup key: identifiers are case-insensitive."""
        return (self.id.casefold(), self.type)


@dataclass(frozen=True, slots=True)
class AuthInfo:
    """What is known about an identifier: 1.6 ``idTagInfo`` and 2.x ``idTokenInfo`` in one shape.

    ``expiry`` is 1.6 ``expiryDate`` / 2.x ``cacheExpiryDateTime``; ``parent`` is 1.6 ``parentIdTag`` / 2.x
    ``groupIdToken``. The 2.x-only fields are dropped when writing 1.6.
    """

    status: str
    expiry: datetime | None = None
    parent: IdToken | None = None
    charging_priority: int | None = None
    language1: str | None = None
    language2: str | None = None
    evse_ids: tuple[int, ...] = ()
    personal_message: Mapping[str, Any] | None = None

    def effective_status(self, now: datetime) -> str:
        """The status at ``now``: ``Expired`` once ``expiry`` has passed, else ``status``."""
        if self.expiry is not None and _aware(self.expiry) <= _aware(now):
            return "Expired"
        return self.status

    def is_valid(self, now: datetime) -> bool:
        """Whether the identifier may charge at ``now``."""
        return self.effective_status(now) == "Accepted"


# ------------------------------------------------------------------------------------------------- converters


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def format_datetime(moment: datetime) -> str:
    """``moment`` in the wire format (UTC, ``Z`` suffix); naive datetimes are taken as UTC."""
    return _aware(moment).astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_datetime(text: object) -> datetime:
    """A wire date-time as an aware datetime; raises :class:`AuthorizationDataError` if it is not one."""
    if not isinstance(text, str):
        raise AuthorizationDataError(f"expected a date-time string, got {text!r}")
    try:
        return _aware(datetime.fromisoformat(text))
    except ValueError:
        raise AuthorizationDataError(f"{text!r} is not an ISO 8601 date-time") from None


def _status(data: Mapping[str, Any], allowed: frozenset[str], what: str) -> str:
    status = data.get("status")
    if status not in allowed:
        raise AuthorizationDataError(f"{what} status {status!r} is not one of {', '.join(sorted(allowed))}")
    return str(status)


def _mapping(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise AuthorizationDataError(f"{what} must be an object, got {type(data).__name__}")
    return data


def from_id_tag_info(data: object) -> AuthInfo:
    """An :class:`AuthInfo` from a 1.6 ``idTagInfo`` dict."""
    info = _mapping(data, "idTagInfo")
    expiry = info.get("expiryDate")
    parent = info.get("parentIdTag")
    if parent is not None and not isinstance(parent, str):
        raise AuthorizationDataError(f"parentIdTag must be a string, got {parent!r}")
    return AuthInfo(
        status=_status(info, STATUSES_V16, "idTagInfo"),
        expiry=parse_datetime(expiry) if expiry is not None else None,
        parent=IdToken(parent) if parent is not None else None,
    )


def to_id_tag_info(info: AuthInfo) -> dict[str, Any]:
    """A 1.6 ``idTagInfo`` dict; 2.x-only statuses become ``Invalid`` (1.6 has no finer reason)."""
    out: dict[str, Any] = {"status": info.status if info.status in STATUSES_V16 else "Invalid"}
    if info.expiry is not None:
        out["expiryDate"] = format_datetime(info.expiry)
    if info.parent is not None:
        out["parentIdTag"] = info.parent.id
    return out


def from_id_token(data: object) -> IdToken:
    """An :class:`IdToken` from a 2.x ``idToken`` dict."""
    token = _mapping(data, "idToken")
    value, type_ = token.get("idToken"), token.get("type")
    if not isinstance(value, str) or not isinstance(type_, str):
        raise AuthorizationDataError("idToken needs string fields idToken and type")
    return IdToken(value, type_)


def to_id_token(token: IdToken) -> dict[str, Any]:
    """A 2.x ``idToken`` dict; an untyped (1.6) identifier gets :data:`DEFAULT_GROUP_TOKEN_TYPE`."""
    return {"idToken": token.id, "type": token.type or DEFAULT_GROUP_TOKEN_TYPE}


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def from_id_token_info(data: object) -> AuthInfo:
    """An :class:`AuthInfo` from a 2.x ``idTokenInfo`` dict."""
    info = _mapping(data, "idTokenInfo")
    expiry = info.get("cacheExpiryDateTime")
    group = info.get("groupIdToken")
    evse_ids = info.get("evseId") or []
    if not isinstance(evse_ids, list) or not all(isinstance(e, int) for e in evse_ids):
        raise AuthorizationDataError("evseId must be a list of integers")
    priority = info.get("chargingPriority")
    message = info.get("personalMessage")
    return AuthInfo(
        status=_status(info, STATUSES_V2, "idTokenInfo"),
        expiry=parse_datetime(expiry) if expiry is not None else None,
        parent=from_id_token(group) if group is not None else None,
        charging_priority=priority if isinstance(priority, int) else None,
        language1=_optional_str(info.get("language1")),
        language2=_optional_str(info.get("language2")),
        evse_ids=tuple(evse_ids),
        personal_message=dict(_mapping(message, "personalMessage")) if message is not None else None,
    )


def to_id_token_info(info: AuthInfo) -> dict[str, Any]:
    """A 2.x ``idTokenInfo`` dict (omitting fields that are not set)."""
    out: dict[str, Any] = {"status": info.status}
    if info.expiry is not None:
        out["cacheExpiryDateTime"] = format_datetime(info.expiry)
    if info.charging_priority is not None:
        out["chargingPriority"] = info.charging_priority
    if info.language1 is not None:
        out["language1"] = info.language1
    if info.evse_ids:
        out["evseId"] = list(info.evse_ids)
    if info.parent is not None:
        out["groupIdToken"] = to_id_token(info.parent)
    if info.language2 is not None:
        out["language2"] = info.language2
    if info.personal_message is not None:
        out["personalMessage"] = dict(info.personal_message)
    return out


# ------------------------------------------------------------------------------------------ local auth list


@dataclass(frozen=True, slots=True)
class ListUpdate:
    """One ``SendLocalList`` request in neutral form; ``info`` ``None`` means "remove" (Differential only)."""

    version: int
    update_type: UpdateType
    entries: tuple[tuple[IdToken, AuthInfo | None], ...] = ()


def _update_type(value: object) -> UpdateType:
    if value == "Full":
        return "Full"
    if value == "Differential":
        return "Differential"
    raise AuthorizationDataError(f"updateType must be Full or Differential, got {value!r}")


def _version(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise AuthorizationDataError(f"{what} must be an integer, got {value!r}")
    return value


def list_update_from_v16(payload: object) -> ListUpdate:
    """A :class:`ListUpdate` from a 1.6 ``SendLocalList.req`` payload."""
    data = _mapping(payload, "SendLocalList")
    entries: list[tuple[IdToken, AuthInfo | None]] = []
    for item in data.get("localAuthorizationList") or []:
        entry = _mapping(item, "localAuthorizationList entry")
        tag = entry.get("idTag")
        if not isinstance(tag, str):
            raise AuthorizationDataError(f"idTag must be a string, got {tag!r}")
        raw = entry.get("idTagInfo")
        entries.append((IdToken(tag), from_id_tag_info(raw) if raw is not None else None))
    return ListUpdate(_version(data.get("listVersion"), "listVersion"), _update_type(data.get("updateType")),
                      tuple(entries))


def list_update_from_v2(payload: object) -> ListUpdate:
    """A :class:`ListUpdate` from a 2.0.1 / 2.1 ``SendLocalListRequest`` payload."""
    data = _mapping(payload, "SendLocalListRequest")
    entries: list[tuple[IdToken, AuthInfo | None]] = []
    for item in data.get("localAuthorizationList") or []:
        entry = _mapping(item, "localAuthorizationList entry")
        raw = entry.get("idTokenInfo")
        entries.append((from_id_token(entry.get("idToken")), from_id_token_info(raw) if raw is not None else None))
    return ListUpdate(_version(data.get("versionNumber"), "versionNumber"), _update_type(data.get("updateType")),
                      tuple(entries))


@dataclass(slots=True)
class LocalAuthList:
    """The local authorization list of one station.

    ``supported`` is whether the station has the feature at all (1.6 LocalAuthListManagement profile);
    ``enabled`` mirrors LocalAuthListEnabled. ``max_length`` (LocalAuthListMaxLength) bounds the list and
    ``max_items_per_message`` (SendLocalListMaxLength / ItemsPerMessageSendLocalList) bounds one update;
    ``None`` means unbounded. An update is applied completely or not at all.
    """

    supported: bool = True
    enabled: bool = True
    max_length: int | None = None
    max_items_per_message: int | None = None
    version: int = 0
    _entries: dict[tuple[str, str | None], tuple[IdToken, AuthInfo]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[tuple[IdToken, AuthInfo]]:
        return iter(list(self._entries.values()))

    def reported_version(self) -> int:
        """The GetLocalListVersion answer: -1 when unsupported (1.6), 0 when empty, else the version."""
        if not self.supported:
            return -1
        return self.version if self._entries else 0

    def lookup(self, token: IdToken) -> AuthInfo | None:
        """The entry of ``token`` (ignoring ``enabled``), or ``None``."""
        found = self._entries.get(token.key)
        return found[1] if found is not None else None

    def apply(self, update: ListUpdate) -> SendLocalListStatus:
        """Apply a SendLocalList update and return its status.

        ``NotSupported`` when unsupported or disabled. ``Full`` replaces the list; every entry needs its info.
        ``Differential`` needs a version higher than the current one (else ``VersionMismatch``) and adds or
        updates entries with info, removes entries without. ``Failed`` for a bad version, a Full entry without
        info, a duplicate identifier, or a list/message longer than its limit; the list is then unchanged.
        """
        if not self.supported or not self.enabled:
            return "NotSupported"
        ids = [token.key for token, _ in update.entries]
        if len(set(ids)) != len(ids):
            log.info("SendLocalList refused: an identifier appears twice")
            return "Failed"
        if self.max_items_per_message is not None and len(update.entries) > self.max_items_per_message:
            log.info("SendLocalList refused: %d entries, at most %d per message", len(update.entries),
                     self.max_items_per_message)
            return "Failed"
        if update.update_type == "Full":
            if update.version < 0 or (update.version == 0 and update.entries):
                return "Failed"
            if any(info is None for _, info in update.entries):
                log.info("SendLocalList refused: a Full update entry has no idTagInfo/idTokenInfo")
                return "Failed"
            new = {token.key: (token, info) for token, info in update.entries if info is not None}
        else:
            if update.version <= self.version:
                return "VersionMismatch"
            new = dict(self._entries)
            for token, info in update.entries:
                if info is None:
                    new.pop(token.key, None)
                else:
                    new[token.key] = (token, info)
        if self.max_length is not None and len(new) > self.max_length:
            log.info("SendLocalList refused: the list would hold %d entries, at most %d", len(new),
                     self.max_length)
            return "Failed"
        self._entries = new
        self.version = update.version
        return "Accepted"

    def clear(self) -> None:
        """Empty the list and reset its version to 0."""
        self._entries = {}
        self.version = 0


# -------------------------------------------------------------------------------------------------- cache


@dataclass(slots=True)
class _CacheEntry:
    token: IdToken
    info: AuthInfo
    stored_at: datetime


@dataclass(slots=True)
class AuthorizationCache:
    """Identifiers the CSMS answered for recently, bounded in size with least-recently-used eviction.

    ``lifetime`` (2.x AuthCacheLifeTime) drops entries stored longer ago than that. An entry whose own expiry
    has passed is reported ``Expired`` (and stored so), never ``Accepted``. Cleared by ClearCache.
    """

    max_entries: int = 1000
    lifetime: timedelta | None = None
    _entries: OrderedDict[tuple[str, str | None], _CacheEntry] = field(default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, token: IdToken, info: AuthInfo, now: datetime) -> None:
        """Remember the CSMS's answer for ``token``, evicting the least recently used entry when full."""
        if self.max_entries <= 0:
            return
        self._entries[token.key] = _CacheEntry(token, info, _aware(now))
        self._entries.move_to_end(token.key)
        while len(self._entries) > self.max_entries:
            evicted = self._entries.popitem(last=False)[1]
            log.debug("authorization cache full; evicted %s", evicted.token.id)

    def get(self, token: IdToken, now: datetime) -> AuthInfo | None:
        """The cached info of ``token`` at ``now`` (status ``Expired`` once its expiry passed), or ``None``."""
        entry = self._entries.get(token.key)
        if entry is None:
            return None
        if self.lifetime is not None and entry.stored_at + self.lifetime <= _aware(now):
            del self._entries[token.key]
            return None
        self._entries.move_to_end(token.key)
        status = entry.info.effective_status(now)
        if status != entry.info.status:
            entry.info = replace(entry.info, status=status)
        return entry.info

    def remove(self, token: IdToken) -> None:
        """Forget ``token`` if cached."""
        self._entries.pop(token.key, None)

    def clear(self) -> None:
        """Forget every entry (ClearCache)."""
        self._entries.clear()

    def tokens(self) -> list[IdToken]:
        """Cached identifiers from least to most recently used."""
        return [e.token for e in self._entries.values()]


# ----------------------------------------------------------------------------------------------- decision


@dataclass(frozen=True, slots=True)
class AuthFlags:
    """The configuration that steers local authorization (1.6 keys; 2.x variables of the same meaning)."""

    local_pre_authorize: bool = False
    local_authorize_offline: bool = True
    allow_offline_tx_for_unknown_id: bool = False
    authorization_cache_enabled: bool = True
    local_auth_list_enabled: bool = True


@dataclass(frozen=True, slots=True)
class AuthDecision:
    """What to do with an identifier: start locally, ask the CSMS, or refuse; with the info to use."""

    outcome: Outcome
    info: AuthInfo | None
    source: Source
    reason: str


def _local_info(token: IdToken, flags: AuthFlags, local_list: LocalAuthList | None,
                cache: AuthorizationCache | None, now: datetime) -> tuple[AuthInfo | None, Source]:
    """The local list has priority over the cache."""
    if flags.local_auth_list_enabled and local_list is not None and local_list.enabled:
        info = local_list.lookup(token)
        if info is not None:
            status = info.effective_status(now)
            return (info if status == info.status else replace(info, status=status)), "LocalList"
    if flags.authorization_cache_enabled and cache is not None:
        info = cache.get(token, now)
        if info is not None:
            return info, "Cache"
    return None, "None"


def decide(token: IdToken, *, online: bool, flags: AuthFlags, now: datetime,
           local_list: LocalAuthList | None = None, cache: AuthorizationCache | None = None) -> AuthDecision:
    """Decide locally what to do with ``token``.

    Online: with LocalPreAuthorize, a locally known valid identifier is ``Accepted`` at once; everything else
    is ``AskCsms`` (a locally known invalid one is checked again with the CSMS). Offline: with
    LocalAuthorizeOffline, a locally known identifier is ``Accepted`` or ``Rejected`` by its status; an
    identifier not known locally is ``Accepted`` only with AllowOfflineTxForUnknownId, else ``Rejected``.
    """
    if online:
        if not flags.local_pre_authorize:
            return AuthDecision("AskCsms", None, "None", "online, LocalPreAuthorize off")
        info, source = _local_info(token, flags, local_list, cache, now)
        if info is not None and info.status == "Accepted":
            return AuthDecision("Accepted", info, source, f"pre-authorized from {source}")
        why = f"{source} says {info.status}" if info is not None else "not known locally"
        return AuthDecision("AskCsms", info, source, f"online, {why}")
    if flags.local_authorize_offline:
        info, source = _local_info(token, flags, local_list, cache, now)
        if info is not None:
            outcome: Outcome = "Accepted" if info.status == "Accepted" else "Rejected"
            return AuthDecision(outcome, info, source, f"offline, {source} says {info.status}")
    if flags.allow_offline_tx_for_unknown_id:
        return AuthDecision("Accepted", AuthInfo("Accepted"), "OfflineUnknown",
                            "offline, unknown identifiers allowed (AllowOfflineTxForUnknownId)")
    return AuthDecision("Rejected", AuthInfo("Invalid"), "None", "offline and not authorized locally")


def flags_from_values(get_bool: Callable[[str, bool], bool]) -> AuthFlags:
    """:class:`AuthFlags` from a ``get_bool(key, default)`` callable such as ``ConfigurationStore.get_bool``."""
    return AuthFlags(
        local_pre_authorize=get_bool("LocalPreAuthorize", False),
        local_authorize_offline=get_bool("LocalAuthorizeOffline", True),
        allow_offline_tx_for_unknown_id=get_bool("AllowOfflineTxForUnknownId", False),
        authorization_cache_enabled=get_bool("AuthorizationCacheEnabled", False),
        local_auth_list_enabled=get_bool("LocalAuthListEnabled", False),
    )

