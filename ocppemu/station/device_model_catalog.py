"""The standard OCPP 2.0.1 / 2.1 components and variables a station is built with, as plain data.

This module holds *what* exists: the vocabulary (component and variable keys, attributes, characteristics and
the check of a value against them) and the controllers with their variables, data types, units, limits,
mutability and the defaults ocppemu ships with. :mod:`ocppemu.station.device_model` holds *how* it behaves.
Defaults follow the OCTT general CSMS preconditions (``TxStartPoint`` = ``EVConnected,Authorized``,
``TxStopPoint`` = ``EVConnected``, ``AuthCtrlr.Enabled`` = ``true``, ``AuthorizeRemoteStart`` = ``false``); every
value can be overridden per station.

A station is described by :class:`StationDescription` (vendor, model, EVSEs with their connectors and power). Use
:meth:`StationDescription.from_config` to derive one from the validated :class:`~ocppemu.config.station.StationConfig`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ocppemu.config.station import StationConfig

DataType = Literal["string", "decimal", "integer", "dateTime", "boolean", "OptionList", "SequenceList", "MemberList"]
Mutability = Literal["ReadOnly", "WriteOnly", "ReadWrite"]
AttributeName = Literal["Actual", "Target", "MinSet", "MaxSet"]

RO: Mutability = "ReadOnly"
RW: Mutability = "ReadWrite"
WO: Mutability = "WriteOnly"

MEASURANDS = (
    "Current.Export,Current.Import,Current.Offered,Energy.Active.Export.Register,Energy.Active.Import.Register,"
    "Energy.Reactive.Export.Register,Energy.Reactive.Import.Register,Energy.Active.Export.Interval,"
    "Energy.Active.Import.Interval,Energy.Active.Net,Energy.Reactive.Export.Interval,"
    "Energy.Reactive.Import.Interval,Energy.Reactive.Net,Energy.Apparent.Net,Energy.Apparent.Import,"
    "Energy.Apparent.Export,Frequency,Power.Active.Export,Power.Active.Import,Power.Factor,Power.Offered,"
    "Power.Reactive.Export,Power.Reactive.Import,SoC,Voltage"
)
TX_START_POINTS = "ParkingBayOccupancy,EVConnected,Authorized,DataSigned,PowerPathClosed,EnergyTransfer"
TX_STOP_POINTS = "ParkingBayOccupancy,EVConnected,Authorized,PowerPathClosed,EnergyTransfer"
AVAILABILITY_STATES = "Available,Occupied,Reserved,Unavailable,Faulted"

#: ocppemu connector names (config) -> 2.0.1 ConnectorEnumType values.
CONNECTOR_TYPES: dict[str, str] = {
    "Type1": "cType1",
    "Type2": "sType2",
    "CCS1": "cCCS1",
    "CCS2": "cCCS2",
    "CCS": "cCCS2",
    "CHAdeMO": "cG105",
    "Tesla": "cTesla",
    "Schuko": "sCEE-7-7",
    "GBT": "Other3Ph",
    "Other": "Unknown",
}

JSON = dict[str, Any]
_INT = re.compile(r"[+-]?\d+")
_DEC = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _fold(text: str | None) -> str:
    return (text or "").casefold()


@dataclass(frozen=True, slots=True)
class ComponentKey:
    """Identity of a component; ``evse``/``connector`` are ``None`` for station-wide components."""

    name: str
    instance: str | None = None
    evse: int | None = None
    connector: int | None = None

    @property
    def index(self) -> tuple[str, str, int | None, int | None]:
        return (_fold(self.name), _fold(self.instance), self.evse, self.connector)

    def to_wire(self) -> JSON:
        """``ComponentType`` dict as on the wire."""
        out: JSON = {"name": self.name}
        if self.instance is not None:
            out["instance"] = self.instance
        if self.evse is not None:
            evse: JSON = {"id": self.evse}
            if self.connector is not None:
                evse["connectorId"] = self.connector
            out["evse"] = evse
        return out

    @classmethod
    def from_wire(cls, data: object) -> ComponentKey | None:
        """Parse a ``ComponentType`` dict; ``None`` when it is not one (wrong shape or types)."""
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return None
        instance = data.get("instance")
        if instance is not None and not isinstance(instance, str):
            return None
        evse, connector = data.get("evse"), None
        if evse is not None:
            if not isinstance(evse, dict) or type(evse.get("id")) is not int:
                return None
            connector = evse.get("connectorId")
            if connector is not None and type(connector) is not int:
                return None
            evse = evse["id"]
        return cls(data["name"], instance, evse, connector)


@dataclass(frozen=True, slots=True)
class VariableKey:
    """Identity of a variable within its component."""

    name: str
    instance: str | None = None

    @property
    def index(self) -> tuple[str, str]:
        return (_fold(self.name), _fold(self.instance))

    def to_wire(self) -> JSON:
        """``VariableType`` dict as on the wire."""
        return {"name": self.name} if self.instance is None else {"name": self.name, "instance": self.instance}

    @classmethod
    def from_wire(cls, data: object) -> VariableKey | None:
        """Parse a ``VariableType`` dict; ``None`` when it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return None
        instance = data.get("instance")
        if instance is not None and not isinstance(instance, str):
            return None
        return cls(data["name"], instance)


@dataclass(slots=True)
class VariableAttribute:
    """One attribute of a variable. ``value`` is never reported when ``mutability`` is WriteOnly."""

    type: AttributeName
    value: str | None
    mutability: Mutability = "ReadWrite"
    persistent: bool = True
    constant: bool = False

    def to_wire(self, max_size: int = 2500) -> JSON:
        out: JSON = {"type": self.type, "mutability": self.mutability, "persistent": self.persistent,
                     "constant": self.constant}
        if self.mutability != "WriteOnly" and self.value is not None:
            out["value"] = self.value[:max_size]
        return out


@dataclass(frozen=True, slots=True)
class VariableCharacteristics:
    """Fixed characteristics of a variable (``VariableCharacteristicsType``)."""

    data_type: DataType
    unit: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: str | None = None
    supports_monitoring: bool = True

    @property
    def is_numeric(self) -> bool:
        return self.data_type in ("integer", "decimal")

    def to_wire(self) -> JSON:
        out: JSON = {"dataType": self.data_type, "supportsMonitoring": self.supports_monitoring}
        if self.unit is not None:
            out["unit"] = self.unit
        if self.min_limit is not None:
            out["minLimit"] = self.min_limit
        if self.max_limit is not None:
            out["maxLimit"] = self.max_limit
        if self.values_list is not None:
            out["valuesList"] = self.values_list
        return out


def _tighter(limit: float | None, attr: VariableAttribute | None,
             pick: Callable[[float, float], float]) -> float | None:
    if attr is None or attr.value is None or not _DEC.fullmatch(attr.value.strip()):
        return limit
    return float(attr.value) if limit is None else pick(limit, float(attr.value))


def validate_value(value: str, name: str, ch: VariableCharacteristics,
                   attributes: Mapping[str, VariableAttribute] | None = None,
                   attribute: str = "Actual") -> tuple[str, None] | tuple[None, JSON]:
    """Check ``value`` for variable ``name`` against its characteristics (and MinSet/MaxSet in ``attributes``).

    Returns ``(normalised_value, None)`` when valid, ``(None, statusInfo)`` with an appendix reason code
    (``InvalidValue``, ``ValueTooLow``, ``ValueTooHigh``, ``TooLargeElement``) when not.
    """
    kind = ch.data_type
    attributes = attributes or {}

    def bad(code: str, info: str) -> tuple[None, JSON]:
        return None, {"reasonCode": code, "additionalInfo": info[:512]}

    if kind in ("integer", "decimal"):
        if not (_INT if kind == "integer" else _DEC).fullmatch(value.strip()):
            return bad("InvalidValue", f"{name} expects {kind}, got {value[:40]!r}")
        number = float(value)
        if not math.isfinite(number):
            return bad("InvalidValue", f"{name} must be finite")
        low, high = ch.min_limit, ch.max_limit
        if attribute in ("Actual", "Target"):
            low = _tighter(low, attributes.get("MinSet"), max)
            high = _tighter(high, attributes.get("MaxSet"), min)
        if low is not None and number < low:
            return bad("ValueTooLow", f"{name} must be >= {low:g}")
        if high is not None and number > high:
            return bad("ValueTooHigh", f"{name} must be <= {high:g}")
        return value.strip(), None
    if kind == "boolean":
        if _fold(value) not in ("true", "false"):
            return bad("InvalidValue", f"{name} expects true or false")
        return _fold(value), None
    if kind == "dateTime":
        try:
            datetime.fromisoformat(value.strip())
        except ValueError:
            return bad("InvalidValue", f"{name} expects an RFC 3339 date-time")
        return value.strip(), None
    if ch.max_limit is not None and len(value) > ch.max_limit:
        return bad("TooLargeElement", f"{name} is limited to {ch.max_limit:g} characters")
    if kind == "string" and ch.min_limit is not None and 0 < len(value) < ch.min_limit:
        return bad("InvalidValue", f"{name} needs at least {ch.min_limit:g} characters")
    allowed = {_fold(x.strip()): x.strip() for x in (ch.values_list or "").split(",")} if ch.values_list else None
    if kind == "OptionList" and allowed is not None:
        if _fold(value.strip()) not in allowed:
            return bad("InvalidValue", f"{name} must be one of {ch.values_list}"[:512])
        return allowed[_fold(value.strip())], None
    if kind in ("MemberList", "SequenceList") and allowed is not None:
        items = [x.strip() for x in value.split(",")] if value.strip() else []
        unknown = [x for x in items if _fold(x) not in allowed]
        if unknown:
            return bad("InvalidValue", f"{name}: {','.join(unknown)} not in {ch.values_list}"[:512])
        if len({_fold(x) for x in items}) != len(items):
            return bad("InvalidValue", f"{name} lists a value twice")
        return ",".join(allowed[_fold(x)] for x in items), None
    return value, None


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One extra attribute (besides Actual) of a variable, e.g. ``MaxSet`` of ``EVSE.Power``."""

    type: AttributeName
    value: str | None
    mutability: Mutability = RO
    constant: bool = False


@dataclass(frozen=True, slots=True)
class VariableSpec:
    """A variable as defined in the catalogue: its Actual attribute plus characteristics.

    ``value`` is the Actual value; ``None`` means the variable has no Actual attribute (only ``extra`` ones).
    ``max_limit`` on string and list types bounds the length of the (CSV) value, as the 2.0.1 appendix says.
    ``reboot_required`` marks variables whose new value only takes effect after a reboot (SetVariables answers
    ``RebootRequired``).
    """

    name: str
    data_type: DataType
    value: str | None
    mutability: Mutability = RW
    instance: str | None = None
    unit: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: str | None = None
    persistent: bool = True
    constant: bool = False
    reboot_required: bool = False
    supports_monitoring: bool = True
    extra: tuple[AttributeSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    """A component instance with its variables. ``evse``/``connector`` place it in the topology."""

    name: str
    variables: tuple[VariableSpec, ...]
    instance: str | None = None
    evse: int | None = None
    connector: int | None = None


@dataclass(frozen=True, slots=True)
class ConnectorDescription:
    """One connector of an EVSE. ``type`` is a 2.0.1 ConnectorEnumType value (``cType2``, ``cCCS2`` ...)."""

    id: int
    type: str = "sType2"
    phases: int = 3


@dataclass(frozen=True, slots=True)
class EvseDescription:
    """One EVSE: its id (> 0), maximum power in W, supply phases and connectors (ids from 1)."""

    id: int
    max_power: float = 22000.0
    phases: int = 3
    connectors: tuple[ConnectorDescription, ...] = (ConnectorDescription(1),)


@dataclass(frozen=True, slots=True)
class StationDescription:
    """What the device model is built from: identity, topology and a few settings the controllers mirror."""

    vendor: str = "ocppemu"
    model: str = "Emulator"
    station_id: str = "CS001"
    evses: tuple[EvseDescription, ...] = (EvseDescription(1),)
    heartbeat_interval: int = 60
    sampled_interval: int = 60
    sampled_measurands: tuple[str, ...] = (
        "Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage", "SoC",
    )
    aligned_interval: int = 900
    aligned_measurands: tuple[str, ...] = ("Energy.Active.Import.Register",)
    security_profile: int = 0
    websocket_ping_interval: int = 20
    message_timeout: int = 30
    overrides: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: StationConfig) -> StationDescription:
        """Derive a description from a station configuration; connectors are grouped by their EVSE."""
        grouped: dict[int, list[tuple[int, str, int, float]]] = {}
        for c in config.connectors:
            grouped.setdefault(c.evse, []).append((c.id, CONNECTOR_TYPES.get(c.type, "Unknown"), c.phases,
                                                   c.max_power))
        evses = tuple(
            EvseDescription(
                id=evse_id,
                max_power=max(p for *_, p in items),
                phases=max(ph for _, _, ph, _ in items),
                connectors=tuple(ConnectorDescription(cid, ctype, ph) for cid, ctype, ph, _ in sorted(items)),
            )
            for evse_id, items in sorted(grouped.items())
        )
        profile = {"none": 0, "basic": 2 if config.csms_url.startswith("wss") else 1, "certificate": 3}
        ping = config.simulation.ping_interval
        mv = config.meter_values_config
        return cls(
            vendor=config.vendor,
            model=config.model,
            station_id=config.station_id,
            evses=evses,
            heartbeat_interval=config.simulation.heartbeat_interval or 60,
            sampled_interval=mv.interval,
            sampled_measurands=tuple(mv.measurands),
            aligned_interval=mv.aligned_data_interval,
            aligned_measurands=tuple(mv.aligned_measurands),
            security_profile=profile[config.csms_auth.type],
            websocket_ping_interval=int(ping) if ping else 0,
            message_timeout=int(config.simulation.call_timeout),
            overrides=dict(config.configuration_overrides),
        )


def _v(name: str, data_type: DataType, value: str | None, mutability: Mutability = RW, **kw: object) -> VariableSpec:
    return VariableSpec(name, data_type, value, mutability, **kw)  # type: ignore[arg-type]


def _bool(name: str, value: bool, mutability: Mutability = RW, **kw: object) -> VariableSpec:
    return _v(name, "boolean", "true" if value else "false", mutability, **kw)


def _secs(name: str, value: int, mutability: Mutability = RW, **kw: object) -> VariableSpec:
    return _v(name, "integer", str(value), mutability, **{"unit": "s", "min_limit": 0, **kw})


def _enabled_available(enabled: bool = True) -> tuple[VariableSpec, VariableSpec]:
    return _bool("Enabled", enabled), _bool("Available", True, RO, constant=True)


def _controllers(d: StationDescription) -> Iterator[ComponentSpec]:
    yield ComponentSpec("OCPPCommCtrlr", (
        _v("ActiveNetworkProfile", "integer", "0", RO),
        _v("FileTransferProtocols", "MemberList", "HTTP,HTTPS", RO, values_list="FTP,FTPS,HTTP,HTTPS,SFTP"),
        _secs("HeartbeatInterval", d.heartbeat_interval, min_limit=1),
        _secs("MessageTimeout", d.message_timeout, instance="Default", min_limit=1),
        _secs("MessageAttemptInterval", 10, instance="TransactionEvent"),
        _v("MessageAttempts", "integer", "3", instance="TransactionEvent", min_limit=0),
        _v("NetworkConfigurationPriority", "SequenceList", "0", values_list="0", reboot_required=True),
        _v("NetworkProfileConnectionAttempts", "integer", "3", min_limit=1),
        _secs("OfflineThreshold", 60),
        _bool("QueueAllMessages", False),
        _v("ResetRetries", "integer", "2", min_limit=0),
        _bool("UnlockOnEVSideDisconnect", True),
        _secs("WebSocketPingInterval", d.websocket_ping_interval),
        _v("PublicKeyWithSignedMeterValue", "OptionList", "Never",
           values_list="Never,OncePerTransaction,EveryMeterValue"),
    ))
    yield ComponentSpec("TxCtrlr", (
        _secs("EVConnectionTimeOut", 120),
        _bool("StopTxOnEVSideDisconnect", True),
        _bool("StopTxOnInvalidId", True),
        _bool("TxBeforeAcceptedEnabled", False),
        _v("TxStartPoint", "MemberList", "EVConnected,Authorized", values_list=TX_START_POINTS),
        _v("TxStopPoint", "MemberList", "EVConnected", values_list=TX_STOP_POINTS),
        _v("MaxEnergyOnInvalidId", "integer", "0", unit="Wh", min_limit=0),
    ))
    yield ComponentSpec("SampledDataCtrlr", (
        *_enabled_available(),
        _bool("SignReadings", False),
        _v("TxStartedMeasurands", "MemberList", "Energy.Active.Import.Register", values_list=MEASURANDS),
        _v("TxUpdatedMeasurands", "MemberList", ",".join(d.sampled_measurands), values_list=MEASURANDS),
        _secs("TxUpdatedInterval", d.sampled_interval),
        _v("TxEndedMeasurands", "MemberList", "Energy.Active.Import.Register", values_list=MEASURANDS),
        _secs("TxEndedInterval", 0),
        _bool("RegisterValuesWithoutPhases", True),
    ))
    yield ComponentSpec("AlignedDataCtrlr", (
        *_enabled_available(),
        _v("Measurands", "MemberList", ",".join(d.aligned_measurands), values_list=MEASURANDS),
        _secs("Interval", d.aligned_interval),
        _bool("SendDuringIdle", False),
        _bool("SignReadings", False),
        _v("TxEndedMeasurands", "MemberList", "Energy.Active.Import.Register", values_list=MEASURANDS),
        _secs("TxEndedInterval", d.aligned_interval),
    ))
    yield ComponentSpec("AuthCtrlr", (
        _bool("Enabled", True),
        _v("AdditionalInfoItemsPerMessage", "integer", "10", RO),
        _bool("AuthorizeRemoteStart", False),
        _bool("LocalAuthorizeOffline", True),
        _bool("LocalPreAuthorize", False),
        _bool("OfflineTxForUnknownIdEnabled", False),
        _v("MasterPassGroupId", "string", "", max_limit=36),
        _bool("DisableRemoteAuthorization", False),
    ))
    yield ComponentSpec("AuthCacheCtrlr", (
        *_enabled_available(),
        _secs("LifeTime", 86400),
        _v("Storage", "integer", "0", RO, unit="B", max_limit=1048576),
        _v("Policy", "OptionList", "LRU", values_list="LRU,LFU,FIFO,CUSTOM"),
        _bool("DisablePostAuthorize", False),
    ))
    yield ComponentSpec("LocalAuthListCtrlr", (
        *_enabled_available(),
        _v("Entries", "integer", "0", RO, max_limit=10000),
        _v("ItemsPerMessage", "integer", "250", RO, constant=True),
        _v("BytesPerMessage", "integer", "65536", RO, constant=True),
        _v("Storage", "integer", "0", RO, unit="B", max_limit=4194304),
        _bool("DisablePostAuthorize", False),
    ))
    yield ComponentSpec("SmartChargingCtrlr", (
        *_enabled_available(),
        _bool("ACPhaseSwitchingSupported", False, RO, constant=True),
        _v("Entries", "integer", "0", RO, instance="ChargingProfiles", max_limit=100),
        _bool("ExternalControlSignalsEnabled", False),
        _v("LimitChangeSignificance", "decimal", "1.0", unit="Percent", min_limit=0, max_limit=100),
        _bool("NotifyChargingLimitWithSchedules", False),
        _v("PeriodsPerSchedule", "integer", "24", RO, constant=True),
        _bool("Phases3to1", False, RO, constant=True),
        _v("ProfileStackLevel", "integer", "10", RO, constant=True),
        _v("RateUnit", "MemberList", "A,W", RO, values_list="A,W", constant=True),
    ))
    yield ComponentSpec("ReservationCtrlr", (*_enabled_available(), _bool("NonEvseSpecific", True, RO)))
    yield ComponentSpec("SecurityCtrlr", (
        _bool("AdditionalRootCertificateCheck", False, RO, constant=True),
        _v("BasicAuthPassword", "string", "", WO, min_limit=16, max_limit=40, supports_monitoring=False),
        _v("CertificateEntries", "integer", "0", RO),
        _v("CertSigningRepeatTimes", "integer", "3", min_limit=0),
        _secs("CertSigningWaitMinimum", 30),
        _v("Identity", "string", d.station_id, max_limit=48),
        _v("MaxCertificateChainSize", "integer", "10000", RO, max_limit=10000, constant=True),
        _v("OrganizationName", "string", d.vendor, max_limit=50),
        _v("SecurityProfile", "integer", str(d.security_profile), RO, min_limit=0, max_limit=3),
    ))
    yield ComponentSpec("DeviceDataCtrlr", (
        *(_v("ItemsPerMessage", "integer", n, RO, instance=i, constant=True)
          for i, n in (("GetReport", "100"), ("GetVariables", "50"), ("SetVariables", "50"))),
        *(_v("BytesPerMessage", "integer", "65536", RO, instance=i, constant=True)
          for i in ("GetReport", "GetVariables", "SetVariables")),
        _v("ConfigurationValueSize", "integer", "1000", RO, max_limit=1000, constant=True),
        _v("ReportingValueSize", "integer", "2500", RO, max_limit=2500, constant=True),
        _v("ValueSize", "integer", "2500", RO, max_limit=2500, constant=True),
    ))
    yield ComponentSpec("ClockCtrlr", (
        _v("DateTime", "dateTime", "1970-01-01T00:00:00Z", RO, persistent=False),
        _v("NtpSource", "OptionList", "DHCP", values_list="DHCP,manual"),
        _v("NtpServerUri", "string", "pool.ntp.org", instance="1", max_limit=512),
        _v("TimeOffset", "string", "+00:00", max_limit=6),
        _v("TimeZone", "string", "Etc/UTC", max_limit=64),
        _v("TimeSource", "SequenceList", "Heartbeat",
           values_list="Heartbeat,NTP,GPS,RealTimeClock,MobileNetwork,RadioTimeTransmitter"),
        _secs("TimeAdjustmentReportingThreshold", 20),
    ))
    yield ComponentSpec("ISO15118Ctrlr", (
        _bool("CentralContractValidationAllowed", False),
        _bool("ContractValidationOffline", True),
        _bool("ContractCertificateInstallationEnabled", False),
        _v("CountryName", "string", "DE", max_limit=2),
        _v("MaxScheduleEntries", "integer", "24", RO, constant=True),
        _v("OrganizationName", "string", d.vendor, max_limit=50),
        _bool("PnCEnabled", False),
        _v("RequestedEnergyTransferMode", "OptionList", "AC_three_phase",
           values_list="DC,AC_single_phase,AC_two_phase,AC_three_phase"),
        _bool("RequestMeteringReceipt", False),
        _v("SeccId", "string", d.station_id, max_limit=50),
        _bool("V2GCertificateInstallationEnabled", False),
    ))
    yield ComponentSpec("DisplayMessageCtrlr", (
        *_enabled_available(),
        _v("DisplayMessages", "integer", "0", RO, max_limit=20),
        _v("PersonalMessageSize", "integer", "255", RO, constant=True),
        _v("SupportedFormats", "MemberList", "ASCII,HTML,URI,UTF8", RO, values_list="ASCII,HTML,URI,UTF8",
           constant=True),
        _v("SupportedPriorities", "MemberList", "AlwaysFront,InFront,NormalCycle", RO,
           values_list="AlwaysFront,InFront,NormalCycle", constant=True),
    ))
    yield ComponentSpec("MonitoringCtrlr", (
        *_enabled_available(),
        *(_v("ItemsPerMessage", "integer", "50", RO, instance=i, constant=True)
          for i in ("ClearVariableMonitoring", "SetVariableMonitoring")),
        *(_v("BytesPerMessage", "integer", "65536", RO, instance=i, constant=True)
          for i in ("ClearVariableMonitoring", "SetVariableMonitoring")),
        _v("OfflineQueuingSeverity", "integer", "2", min_limit=0, max_limit=9),
        _v("ActiveMonitoringBase", "OptionList", "All", RO, values_list="All,FactoryDefault,HardWiredOnly"),
        _v("ActiveMonitoringLevel", "integer", "9", RO, min_limit=0, max_limit=9),
    ))
    yield ComponentSpec("TariffCostCtrlr", (
        _bool("Enabled", False, instance="Tariff"),
        _bool("Enabled", False, instance="Cost"),
        _bool("Available", True, RO, instance="Tariff", constant=True),
        _bool("Available", True, RO, instance="Cost", constant=True),
        _v("TariffFallbackMessage", "string", "Standard tariff applies", max_limit=255),
        _v("TotalCostFallbackMessage", "string", "Total cost shown on the receipt", max_limit=255),
        _v("Currency", "string", "EUR", max_limit=3),
    ))


def _availability() -> tuple[VariableSpec, VariableSpec]:
    return (
        _v("AvailabilityState", "OptionList", "Available", RO, values_list=AVAILABILITY_STATES, persistent=False),
        _bool("Available", True, RO),
    )


def _topology(d: StationDescription) -> Iterator[ComponentSpec]:
    phases = max((e.phases for e in d.evses), default=3)
    yield ComponentSpec("ChargingStation", (
        *_availability(),
        _bool("AllowNewSessionsPendingFirmwareUpdate", False),
        _v("Model", "string", d.model, RO, constant=True, max_limit=20),
        _bool("Problem", False, RO, persistent=False),
        _v("SupplyPhases", "integer", str(phases), RO, constant=True, min_limit=0, max_limit=3),
        _v("VendorName", "string", d.vendor, RO, constant=True, max_limit=50),
    ))
    for e in d.evses:
        power = f"{e.max_power:g}"
        yield ComponentSpec("EVSE", (
            *_availability(),
            _bool("AllowReset", True, RO, constant=True),
            _v("Power", "decimal", "0", RO, unit="W", min_limit=0, max_limit=e.max_power, persistent=False,
               extra=(AttributeSpec("MaxSet", power, RO, constant=True),)),
            _v("SupplyPhases", "integer", str(e.phases), RO, constant=True, min_limit=0, max_limit=3),
        ), evse=e.id)
        for c in e.connectors:
            yield ComponentSpec("Connector", (
                *_availability(),
                _v("ConnectorType", "string", c.type, RO, constant=True, max_limit=20),
                _v("SupplyPhases", "integer", str(c.phases), RO, constant=True, min_limit=0, max_limit=3),
            ), evse=e.id, connector=c.id)


def standard_components(description: StationDescription) -> list[ComponentSpec]:
    """Every component the station reports, controllers first, then ChargingStation, EVSEs and connectors."""
    return [*_controllers(description), *_topology(description)]
