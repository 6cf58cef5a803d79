"""OCPP 1.6 configuration keys: the standard key table and the per-station store behind Get/ChangeConfiguration.

The table (:data:`STANDARD_KEYS`) lists every key standardised by OCPP 1.6 section 9 (Core, Local Auth List
Management, Reservation, Smart Charging) and by the "Improved security for OCPP 1.6-J" white paper, with its type,
accessibility, whether the spec requires it, the emulator's default, and its limits. Which keys need a reboot to
take effect is not fixed by the spec; the emulator's choice is in the table and can be widened per station.

:class:`ConfigurationStore` is pure (no I/O, no clock): values in, wire-format dicts and statuses out. It never
raises on peer input; a bad ``ChangeConfiguration`` is answered with ``Rejected`` / ``NotSupported`` and the reason
is logged and available through :meth:`ConfigurationStore.try_change`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Literal, NotRequired, TypedDict

if TYPE_CHECKING:
    from ocppemu.config.station import StationConfig

log = logging.getLogger(__name__)

ChangeStatus = Literal["Accepted", "Rejected", "RebootRequired", "NotSupported"]
ChangeListener = Callable[[str, str], None]

KEY_MAX_LENGTH = 50
"""Longest key name on the wire (CiString50 in GetConfiguration / ChangeConfiguration)."""
VALUE_MAX_LENGTH = 500
"""Longest value on the wire (CiString500)."""

MEASURANDS_V16: tuple[str, ...] = (
    "Energy.Active.Export.Register", "Energy.Active.Import.Register",
    "Energy.Reactive.Export.Register", "Energy.Reactive.Import.Register",
    "Energy.Active.Export.Interval", "Energy.Active.Import.Interval",
    "Energy.Reactive.Export.Interval", "Energy.Reactive.Import.Interval",
    "Power.Active.Export", "Power.Active.Import", "Power.Offered", "Power.Reactive.Export",
    "Power.Reactive.Import", "Power.Factor", "Current.Import", "Current.Export", "Current.Offered",
    "Voltage", "Frequency", "Temperature", "SoC", "RPM",
)
"""The 1.6 measurand enumeration (MeterValues.json); a test proves it matches the vendored schema."""

FEATURE_PROFILES_V16: tuple[str, ...] = (
    "Core", "FirmwareManagement", "LocalAuthListManagement", "Reservation", "SmartCharging", "RemoteTrigger",
)
PHASE_ROTATIONS: tuple[str, ...] = ("NotApplicable", "Unknown", "RST", "RTS", "SRT", "STR", "TRS", "TSR")
CHARGING_RATE_UNITS: tuple[str, ...] = ("Current", "Power")

_INT_RE = re.compile(r"^[+-]?\d+$")
_PHASE_ROTATION_RE = re.compile(r"^(\d+)\.([A-Za-z]+)$")


class ConfigurationKeyEntry(TypedDict):
    """One ``configurationKey`` item of ``GetConfiguration.conf``."""

    key: str
    readonly: bool
    value: NotRequired[str]


class GetConfigurationResult(TypedDict):
    """The ``GetConfiguration.conf`` payload."""

    configurationKey: list[ConfigurationKeyEntry]
    unknownKey: NotRequired[list[str]]


class KeyType(str, Enum):
    """How a key's value is written on the wire."""

    BOOL = "boolean"
    INT = "integer"
    CSL = "CSL"
    STRING = "string"


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One standard configuration key.

    ``profile`` is the feature profile that defines the key ("Security" for the white paper's keys); a key whose
    profile the station does not support is absent, as the spec allows. ``allowed`` restricts CSL items (or a
    string's value); ``max_items_key`` names the read-only key holding a CSL's item limit. ``write_only`` keys
    (AuthorizationKey) are reported without a value.
    """

    name: str
    type: KeyType
    profile: str
    readonly: bool
    required: bool
    default: str
    reboot_required: bool = False
    min_value: int | None = None
    max_value: int | None = None
    allowed: frozenset[str] | None = None
    max_items_key: str | None = None
    item_format: Literal["phase_rotation"] | None = None
    min_length: int = 0
    write_only: bool = False


def _spec(name: str, type_: KeyType, profile: str, access: str, required: bool, default: str,
          **extra: object) -> KeySpec:
    return KeySpec(name, type_, profile, access == "R", required, default, **extra)  # type: ignore[arg-type]


_B, _I, _C, _S = KeyType.BOOL, KeyType.INT, KeyType.CSL, KeyType.STRING
_MEAS = frozenset(MEASURANDS_V16)

STANDARD_KEYS: dict[str, KeySpec] = {s.name: s for s in (
    # 9.1 Core profile
    _spec("AllowOfflineTxForUnknownId", _B, "Core", "RW", False, "false"),
    _spec("AuthorizationCacheEnabled", _B, "Core", "RW", False, "true"),
    _spec("AuthorizeRemoteTxRequests", _B, "Core", "RW", True, "false"),  # R or RW: implementer's choice
    _spec("BlinkRepeat", _I, "Core", "RW", False, "3", min_value=0),
    _spec("ClockAlignedDataInterval", _I, "Core", "RW", True, "900", min_value=0),
    _spec("ConnectionTimeOut", _I, "Core", "RW", True, "90", min_value=0),
    _spec("ConnectorPhaseRotation", _C, "Core", "RW", True, "0.RST", reboot_required=True,
          max_items_key="ConnectorPhaseRotationMaxLength", item_format="phase_rotation"),
    _spec("ConnectorPhaseRotationMaxLength", _I, "Core", "R", False, "2", min_value=0),
    _spec("GetConfigurationMaxKeys", _I, "Core", "R", True, "64", min_value=1),
    _spec("HeartbeatInterval", _I, "Core", "RW", True, "60", min_value=0),
    _spec("LightIntensity", _I, "Core", "RW", False, "50", min_value=0, max_value=100),
    _spec("LocalAuthorizeOffline", _B, "Core", "RW", True, "true"),
    _spec("LocalPreAuthorize", _B, "Core", "RW", True, "false"),
    _spec("MaxEnergyOnInvalidId", _I, "Core", "RW", False, "0", min_value=0),
    _spec("MeterValuesAlignedData", _C, "Core", "RW", True, "Energy.Active.Import.Register",
          allowed=_MEAS, max_items_key="MeterValuesAlignedDataMaxLength"),
    _spec("MeterValuesAlignedDataMaxLength", _I, "Core", "R", False, "10", min_value=0),
    _spec("MeterValuesSampledData", _C, "Core", "RW", True, "Energy.Active.Import.Register",
          allowed=_MEAS, max_items_key="MeterValuesSampledDataMaxLength"),
    _spec("MeterValuesSampledDataMaxLength", _I, "Core", "R", False, "10", min_value=0),
    _spec("MeterValueSampleInterval", _I, "Core", "RW", True, "60", min_value=0),
    _spec("MinimumStatusDuration", _I, "Core", "RW", False, "0", min_value=0),
    _spec("NumberOfConnectors", _I, "Core", "R", True, "1", min_value=0),
    _spec("ResetRetries", _I, "Core", "RW", True, "3", min_value=0),
    _spec("StopTransactionOnEVSideDisconnect", _B, "Core", "RW", True, "true"),
    _spec("StopTransactionOnInvalidId", _B, "Core", "RW", True, "true"),
    _spec("StopTxnAlignedData", _C, "Core", "RW", True, "", allowed=_MEAS,
          max_items_key="StopTxnAlignedDataMaxLength"),
    _spec("StopTxnAlignedDataMaxLength", _I, "Core", "R", False, "10", min_value=0),
    _spec("StopTxnSampledData", _C, "Core", "RW", True, "", allowed=_MEAS,
          max_items_key="StopTxnSampledDataMaxLength"),
    _spec("StopTxnSampledDataMaxLength", _I, "Core", "R", False, "10", min_value=0),
    _spec("SupportedFeatureProfiles", _C, "Core", "R", True, "Core", allowed=frozenset(FEATURE_PROFILES_V16),
          max_items_key="SupportedFeatureProfilesMaxLength"),
    _spec("SupportedFeatureProfilesMaxLength", _I, "Core", "R", False, str(len(FEATURE_PROFILES_V16)),
          min_value=0),
    _spec("TransactionMessageAttempts", _I, "Core", "RW", True, "3", min_value=0),
    _spec("TransactionMessageRetryInterval", _I, "Core", "RW", True, "60", min_value=0),
    _spec("UnlockConnectorOnEVSideDisconnect", _B, "Core", "RW", True, "true"),
    # The websockets client takes its ping period at connect time, hence the reboot.
    _spec("WebSocketPingInterval", _I, "Core", "RW", False, "20", min_value=0, reboot_required=True),
    # 9.2 Local Auth List Management profile
    _spec("LocalAuthListEnabled", _B, "LocalAuthListManagement", "RW", True, "true"),
    _spec("LocalAuthListMaxLength", _I, "LocalAuthListManagement", "R", True, "1000", min_value=0),
    _spec("SendLocalListMaxLength", _I, "LocalAuthListManagement", "R", True, "100", min_value=0),
    # 9.3 Reservation profile
    _spec("ReserveConnectorZeroSupported", _B, "Reservation", "R", False, "false"),
    # 9.4 Smart Charging profile
    _spec("ChargeProfileMaxStackLevel", _I, "SmartCharging", "R", True, "8", min_value=0),
    _spec("ChargingScheduleAllowedChargingRateUnit", _C, "SmartCharging", "R", True, "Current,Power",
          allowed=frozenset(CHARGING_RATE_UNITS)),
    _spec("ChargingScheduleMaxPeriods", _I, "SmartCharging", "R", True, "24", min_value=0),
    _spec("ConnectorSwitch3to1PhaseSupported", _B, "SmartCharging", "R", False, "false"),
    _spec("MaxChargingProfilesInstalled", _I, "SmartCharging", "R", True, "10", min_value=0),
    # Improved security for OCPP 1.6-J white paper
    _spec("AdditionalRootCertificateCheck", _B, "Security", "R", False, "false"),
    # Write-only; 16 to 40 characters covers edition 2 (free text) and later editions (up to 40 hex digits).
    _spec("AuthorizationKey", _S, "Security", "RW", False, "", min_length=16, write_only=True),
    _spec("CertificateSignedMaxChainSize", _I, "Security", "R", False, "10000", min_value=0, max_value=10000),
    _spec("CertificateStoreMaxLength", _I, "Security", "R", False, "20", min_value=0),
    _spec("CpoName", _S, "Security", "RW", False, ""),
    _spec("SecurityProfile", _I, "Security", "RW", False, "0", min_value=0, max_value=3),
)}
"""Every standard 1.6 key by name."""

_ALWAYS_PRESENT_PROFILES = frozenset({"Core", "Security"})
_AUTH_KEY_MAX_LENGTH = 40


class ConfigurationError(ValueError):
    """A station's own configuration (overrides) is invalid; the message names the key and the rule."""


@dataclass(frozen=True, slots=True)
class ChangeOutcome:
    """The status a ``ChangeConfiguration`` gets, and a sentence saying why when it is not ``Accepted``."""

    status: ChangeStatus
    reason: str = ""


def split_csl(value: str) -> list[str]:
    """Items of a comma-separated list, stripped; an empty or blank value is the empty list."""
    return [item.strip() for item in value.split(",")] if value.strip() else []


def _parse_bool(value: str) -> bool | None:
    low = value.strip().lower()
    return True if low == "true" else False if low == "false" else None


def _derived_values(config: StationConfig) -> dict[str, str]:
    """Key values that follow from the station definition rather than from the table's defaults."""
    mv = config.meter_values_config
    sim = config.simulation
    rotation = ["0.RST" if any(c.current_type == "AC" and c.phases == 3 for c in config.connectors)
                else "0.NotApplicable"]
    for c in sorted(config.connectors, key=lambda c: c.id):
        rotation.append(f"{c.id}.{'RST' if c.current_type == 'AC' and c.phases == 3 else 'NotApplicable'}")
    if config.csms_auth.type == "certificate":
        profile = 3
    elif config.csms_auth.type == "basic":
        profile = 2 if config.csms_url.startswith(("wss://", "https://")) else 1
    else:
        profile = 0
    values = {
        "NumberOfConnectors": str(len(config.connectors)),
        "HeartbeatInterval": str(sim.heartbeat_interval),
        "MeterValueSampleInterval": str(mv.interval),
        "ClockAlignedDataInterval": str(mv.aligned_data_interval),
        "MeterValuesSampledData": ",".join(mv.measurands),
        "MeterValuesSampledDataMaxLength": str(max(10, len(mv.measurands))),
        "MeterValuesAlignedData": ",".join(mv.aligned_measurands),
        "MeterValuesAlignedDataMaxLength": str(max(10, len(mv.aligned_measurands))),
        "SupportedFeatureProfiles": ",".join(config.supported_profiles),
        "ConnectorPhaseRotation": ",".join(rotation),
        "ConnectorPhaseRotationMaxLength": str(len(rotation)),
        "WebSocketPingInterval": str(int(sim.ping_interval or 0)),
        "SecurityProfile": str(profile),
    }
    if config.csms_auth.password is not None:
        values["AuthorizationKey"] = config.csms_auth.password.get_secret_value()
    return values


class ConfigurationStore:
    """The configuration keys of one 1.6 station.

    Built from the table defaults, then values derived from the station definition, then the station's
    ``configuration_overrides`` (standard keys are validated; any other name becomes a read-write vendor key).
    ``reboot_required_keys`` and ``readonly_keys`` widen the table's choices for this station (for example to make
    AuthorizeRemoteTxRequests read-only, which the spec allows).

    Keys of feature profiles the station does not support are absent. Listeners registered with
    :meth:`add_listener` are called after every change that takes effect at once (``Accepted``); a change answered
    ``RebootRequired`` is stored and listed in :attr:`pending_reboot` until :meth:`reboot`.
    """

    def __init__(
        self,
        values: Mapping[str, str] | None = None,
        *,
        supported_profiles: Iterable[str] = FEATURE_PROFILES_V16,
        reboot_required_keys: Iterable[str] = (),
        readonly_keys: Iterable[str] = (),
    ) -> None:
        profiles = set(supported_profiles) | _ALWAYS_PRESENT_PROFILES
        self._specs: dict[str, KeySpec] = {}
        self._values: dict[str, str] = {}
        self._vendor: set[str] = set()
        self._extra_reboot = frozenset(reboot_required_keys)
        self._extra_readonly = frozenset(readonly_keys)
        self._listeners: list[ChangeListener] = []
        self.pending_reboot: set[str] = set()
        for spec in STANDARD_KEYS.values():
            if spec.profile in profiles:
                self._specs[spec.name] = spec
                self._values[spec.name] = spec.default
        for key, value in (values or {}).items():
            self._preset(key, value)
        for key, spec in self._specs.items():
            reason = self._check(spec, self._values[key], preset=True)
            if reason:
                raise ConfigurationError(f"configuration key {key}: {reason}")
        self._initial = dict(self._values)

    @classmethod
    def for_station(cls, config: StationConfig, *, reboot_required_keys: Iterable[str] = (),
                    readonly_keys: Iterable[str] = ()) -> ConfigurationStore:
        """The store of a station definition: defaults, derived values, then its ``configuration_overrides``.

        Raises :class:`ConfigurationError` when an override is invalid for its key.
        """
        values = _derived_values(config)
        values.update(config.configuration_overrides)
        return cls(values, supported_profiles=config.supported_profiles,
                   reboot_required_keys=reboot_required_keys, readonly_keys=readonly_keys)

    def _preset(self, key: str, value: str) -> None:
        if not key or len(key) > KEY_MAX_LENGTH:
            raise ConfigurationError(f"configuration key {key!r}: a key name has 1 to {KEY_MAX_LENGTH} characters")
        if len(value) > VALUE_MAX_LENGTH:
            raise ConfigurationError(f"configuration key {key}: value longer than {VALUE_MAX_LENGTH} characters")
        if key in STANDARD_KEYS and key not in self._specs:
            return  # a key of an unsupported profile: the derived value has nowhere to go
        if key not in self._specs:
            self._vendor.add(key)
        self._values[key] = self._normalise(key, value)

    # ----------------------------------------------------------------------------------------------- queries

    def keys(self) -> list[str]:
        """Every key this station knows, standard keys in table order then vendor keys."""
        return list(self._values)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._values))

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def spec(self, key: str) -> KeySpec | None:
        """The table entry of a standard key present on this station; ``None`` for vendor and unknown keys."""
        return self._specs.get(key)

    def is_readonly(self, key: str) -> bool:
        """Whether the CSMS may not change ``key`` (false for vendor keys)."""
        spec = self._specs.get(key)
        return key in self._extra_readonly or (spec is not None and spec.readonly)

    def needs_reboot(self, key: str) -> bool:
        """Whether a change of ``key`` is answered ``RebootRequired``."""
        spec = self._specs.get(key)
        return key in self._extra_reboot or (spec is not None and spec.reboot_required)

    def get_configuration(self, keys: list[str] | None = None) -> GetConfigurationResult:
        """The ``GetConfiguration.conf`` payload for the requested keys (all keys when ``None`` or empty).

        Values are strings (CSL comma-separated); write-only keys have no value; ``unknownKey`` is omitted when
        empty. At most GetConfigurationMaxKeys requested keys are answered (the rest are dropped, and logged).
        """
        if keys:
            limit = self.get_int("GetConfigurationMaxKeys", 0) or len(keys)
            if len(keys) > limit:
                log.warning("GetConfiguration asked for %d keys, GetConfigurationMaxKeys is %d; answering %d",
                            len(keys), limit, limit)
                keys = keys[:limit]
            wanted = list(dict.fromkeys(keys))
        else:
            wanted = list(self._values)
        known: list[ConfigurationKeyEntry] = []
        unknown: list[str] = []
        for key in wanted:
            if key in self._values:
                entry: ConfigurationKeyEntry = {"key": key, "readonly": self.is_readonly(key)}
                spec = self._specs.get(key)
                if spec is None or not spec.write_only:
                    entry["value"] = self._values[key][:VALUE_MAX_LENGTH]
                known.append(entry)
            else:
                unknown.append(key[:KEY_MAX_LENGTH])
        result: GetConfigurationResult = {"configurationKey": known}
        if unknown:
            result["unknownKey"] = unknown
        return result

    def get_str(self, key: str, default: str | None = None) -> str:
        """The raw value of ``key``; ``default`` when absent. Raises ``KeyError`` when absent without default."""
        if key in self._values:
            return self._values[key]
        if default is None:
            raise KeyError(key)
        return default

    def get_int(self, key: str, default: int | None = None) -> int:
        """``key`` as an integer. Raises ``KeyError`` when absent without default, ``ValueError`` if not an int."""
        if key not in self._values:
            if default is None:
                raise KeyError(key)
            return default
        return int(self._values[key])

    def get_bool(self, key: str, default: bool | None = None) -> bool:
        """``key`` as a boolean. Raises ``KeyError`` when absent without default, ``ValueError`` if not a bool."""
        if key not in self._values:
            if default is None:
                raise KeyError(key)
            return default
        parsed = _parse_bool(self._values[key])
        if parsed is None:
            raise ValueError(f"configuration key {key} is not a boolean: {self._values[key]!r}")
        return parsed

    def get_list(self, key: str, default: list[str] | None = None) -> list[str]:
        """``key`` as a list of CSL items. Raises ``KeyError`` when absent without default."""
        if key not in self._values:
            if default is None:
                raise KeyError(key)
            return list(default)
        return split_csl(self._values[key])

    # ----------------------------------------------------------------------------------------------- changes

    def add_listener(self, listener: ChangeListener) -> Callable[[], None]:
        """Call ``listener(key, new_value)`` after each change that takes effect; returns an unsubscribe."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def change_configuration(self, key: str, value: str) -> ChangeStatus:
        """The ``ChangeConfiguration.conf`` status for setting ``key`` to ``value``; never raises."""
        return self.try_change(key, value).status

    def try_change(self, key: str, value: str) -> ChangeOutcome:
        """Apply a CSMS change and say why it was refused if it was.

        ``NotSupported`` for an unknown key; ``Rejected`` for a read-only key or a value invalid for the key's
        type, range, allowed items or item limit; ``RebootRequired`` when the value is stored but takes effect
        after :meth:`reboot` (listeners are not called); otherwise ``Accepted`` and listeners are called.
        """
        try:
            outcome = self._try_change(key, value)
        except Exception:  # a bug here must not take the station down; the CSMS gets a valid answer
            log.exception("ChangeConfiguration %s failed", key)
            outcome = ChangeOutcome("Rejected", "internal error while applying the change")
        if outcome.status != "Accepted":
            log.info("ChangeConfiguration %s=%r: %s (%s)", key, value, outcome.status, outcome.reason)
        return outcome

    def _try_change(self, key: str, value: str) -> ChangeOutcome:
        if not isinstance(key, str) or key not in self._values:
            return ChangeOutcome("NotSupported", f"unknown configuration key {key!r}")
        if not isinstance(value, str):
            return ChangeOutcome("Rejected", "the value must be a string")
        if self.is_readonly(key):
            return ChangeOutcome("Rejected", f"{key} is read-only")
        if len(value) > VALUE_MAX_LENGTH:
            return ChangeOutcome("Rejected", f"value longer than {VALUE_MAX_LENGTH} characters")
        spec = self._specs.get(key)
        if spec is not None:
            reason = self._check(spec, value, preset=False)
            if reason:
                return ChangeOutcome("Rejected", reason)
        new = self._normalise(key, value)
        self._values[key] = new
        if self.needs_reboot(key):
            self.pending_reboot.add(key)
            return ChangeOutcome("RebootRequired", f"{key} takes effect after a reboot")
        self._notify(key, new)
        return ChangeOutcome("Accepted")

    def set_local(self, key: str, value: str, *, notify: bool = False) -> None:
        """Set a value from inside the station (e.g. HeartbeatInterval from a BootNotification answer).

        Read-only keys may be set; the value must still be valid. Raises ``KeyError`` for an unknown key and
        :class:`ConfigurationError` for an invalid value.
        """
        if key not in self._values:
            raise KeyError(key)
        spec = self._specs.get(key)
        if spec is not None:
            reason = self._check(spec, value, preset=True)
            if reason:
                raise ConfigurationError(f"configuration key {key}: {reason}")
        self._values[key] = self._normalise(key, value)
        if notify:
            self._notify(key, self._values[key])

    def reboot(self) -> set[str]:
        """Mark pending changes as effective (call on the station's reboot); returns the keys that were pending."""
        done, self.pending_reboot = self.pending_reboot, set()
        return done

    def changed_values(self) -> dict[str, str]:
        """Keys whose value differs from the one the store was built with, for persisting across restarts.

        Contains AuthorizationKey when it was changed: treat the result as secret.
        """
        return {k: v for k, v in self._values.items() if self._initial.get(k) != v}

    def _notify(self, key: str, value: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(key, value)
            except Exception:
                log.exception("configuration listener failed for %s", key)

    # -------------------------------------------------------------------------------------------- validation

    def _normalise(self, key: str, value: str) -> str:
        spec = self._specs.get(key)
        if spec is None:
            return value
        if spec.type is KeyType.BOOL:
            parsed = _parse_bool(value)
            return value if parsed is None else ("true" if parsed else "false")
        if spec.type is KeyType.INT and _INT_RE.match(value.strip()):
            return str(int(value.strip()))
        if spec.type is KeyType.CSL:
            return ",".join(split_csl(value))
        return value

    def _check(self, spec: KeySpec, value: str, *, preset: bool) -> str:
        """Why ``value`` is invalid for ``spec`` ("" when valid). ``preset`` skips CSMS-only rules."""
        if spec.type is KeyType.BOOL:
            return "" if _parse_bool(value) is not None else f"{spec.name} takes true or false, not {value!r}"
        if spec.type is KeyType.INT:
            return self._check_int(spec, value, preset=preset)
        if spec.type is KeyType.CSL:
            return self._check_csl(spec, value)
        if spec.name == "AuthorizationKey" and not preset:  # a preset password is the user's business
            if not spec.min_length <= len(value) <= _AUTH_KEY_MAX_LENGTH:
                return f"AuthorizationKey has {spec.min_length} to {_AUTH_KEY_MAX_LENGTH} characters"
            if not value.isascii() or not value.isprintable():
                return "AuthorizationKey must be printable ASCII"
        if spec.allowed is not None and value not in spec.allowed:
            return f"{value!r} is not one of {sorted(spec.allowed)}"
        return ""

    def _check_int(self, spec: KeySpec, value: str, *, preset: bool) -> str:
        if not _INT_RE.match(value.strip()):
            return f"{spec.name} takes an integer, not {value!r}"
        number = int(value.strip())
        if spec.min_value is not None and number < spec.min_value:
            return f"{spec.name} must be at least {spec.min_value}"
        if spec.max_value is not None and number > spec.max_value:
            return f"{spec.name} must be at most {spec.max_value}"
        if spec.name == "SecurityProfile" and not preset:
            current = int(self._values.get("SecurityProfile", "0"))
            if number < current:
                return f"SecurityProfile cannot be lowered from {current} to {number}"
            if number in (1, 2) and not self._values.get("AuthorizationKey"):
                return f"SecurityProfile {number} needs an AuthorizationKey first"
        return ""

    def _check_csl(self, spec: KeySpec, value: str) -> str:
        items = split_csl(value)
        if any(item == "" for item in items):
            return f"{spec.name} has an empty item in {value!r}"
        if spec.max_items_key is not None and spec.max_items_key in self._values:
            limit_text = self._values[spec.max_items_key]
            if _INT_RE.match(limit_text) and len(items) > int(limit_text):
                return f"{spec.name} takes at most {limit_text} items ({spec.max_items_key}), got {len(items)}"
        if spec.allowed is not None:
            bad = [item for item in items if item not in spec.allowed]
            if bad:
                return f"{spec.name}: {', '.join(bad)} not allowed (valid: {', '.join(sorted(spec.allowed))})"
        if spec.item_format == "phase_rotation":
            for item in items:
                match = _PHASE_ROTATION_RE.match(item)
                if match is None or match.group(2) not in PHASE_ROTATIONS:
                    return f"{spec.name} items are <connectorId>.<rotation> with rotation one of " \
                           f"{', '.join(PHASE_ROTATIONS)}; got {item!r}"
                connectors = self._values.get("NumberOfConnectors", "")
                if _INT_RE.match(connectors) and int(match.group(1)) > int(connectors):
                    return f"{spec.name}: connector {match.group(1)} does not exist"
        return ""
