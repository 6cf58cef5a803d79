"""Station configuration: the validated model stored in the ``stations`` collection.

This is the one boundary model for a station's definition (identity, protocol, connectors, meter values, CSMS
connection, simulation behaviour, tags). Field names follow the project plan. Runtime state (connection status,
last heartbeat, ...) lives in :class:`StationRuntimeState`, kept apart so that a configuration export never carries
it by accident.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ocppemu.config.masking import MASK
from ocppemu.ocpp.versions import Version

ConnectorType = Literal["Type1", "Type2", "CCS1", "CCS2", "CCS", "CHAdeMO", "GBT", "Tesla", "Schuko", "Other"]

DEFAULT_MEASURANDS: tuple[str, ...] = (
    "Energy.Active.Import.Register",
    "Power.Active.Import",
    "Current.Import",
    "Voltage",
    "SoC",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ConnectorConfig(_Model):
    """One physical connector (1.6) or one EVSE with one connector (2.x, where ``evse_id`` groups them)."""

    id: int = Field(ge=1, description="Connector id (1.6) or connector id within its EVSE (2.x)")
    evse_id: int | None = Field(default=None, ge=1, description="2.x EVSE this connector belongs to; defaults to id")
    type: ConnectorType = "Type2"
    max_power: float = Field(default=22000.0, gt=0, description="Watts")
    phases: Literal[1, 3] = 3
    current_type: Literal["AC", "DC"] = "AC"

    @property
    def evse(self) -> int:
        return self.evse_id if self.evse_id is not None else self.id


class MeterValuesConfig(_Model):
    """Which measurands are sampled and how often (seconds). 0 disables that kind of sampling."""

    interval: int = Field(default=60, ge=0, description="MeterValueSampleInterval, seconds")
    measurands: list[str] = Field(default_factory=lambda: list(DEFAULT_MEASURANDS))
    aligned_data_interval: int = Field(default=900, ge=0, description="ClockAlignedDataInterval, seconds")
    aligned_measurands: list[str] = Field(default_factory=lambda: ["Energy.Active.Import.Register"])


class CsmsAuth(_Model):
    """How the station authenticates to the CSMS (security profiles 0-3)."""

    type: Literal["none", "basic", "certificate"] = "none"
    username: str | None = None
    password: SecretStr | None = None


class TlsConfig(_Model):
    """TLS settings for ``wss://`` URLs. Verification is on unless ``insecure_skip_verify`` is set."""

    ca_cert: str | None = Field(default=None, description="PEM CA bundle file; system store when empty")
    client_cert: str | None = Field(default=None, description="PEM client certificate (security profile 3)")
    client_key: str | None = Field(default=None, description="PEM private key of the client certificate")
    insecure_skip_verify: bool = False


class EvConfig(_Model):
    """The simulated electric vehicle plugged into a connector."""

    battery_capacity_wh: float = Field(default=60000.0, gt=0)
    start_soc: float = Field(default=20.0, ge=0, le=100)
    target_soc: float = Field(default=100.0, ge=0, le=100)
    max_ac_power: float = Field(default=11000.0, gt=0, description="On-board charger limit, W")
    max_dc_power: float = Field(default=150000.0, gt=0, description="Battery acceptance limit, W")


class SimulationConfig(_Model):
    """Simulation behaviour: timings, defaults for sessions and meter realism."""

    boot_delay: float = Field(default=0.0, ge=0, description="Seconds to wait before BootNotification")
    after_restart: Literal["end", "continue"] = Field(
        default="end", description="A transaction running when the emulator stopped: 'end' it once after the "
        "restart (1.6 reason PowerLoss after a crash, Reboot after a clean stop), or 'continue' it (the EV is "
        "still plugged in; meter values resume from the saved register)")
    heartbeat_interval: int = Field(default=60, ge=0, description="Until the CSMS gives one in the boot answer")
    status_notification_on_change: bool = True
    default_id_tag: str = "TAG123456"
    energy_delivery_rate: float = Field(default=7400.0, gt=0, description="Watts the station aims for")
    randomize_meter_values: bool = True
    meter_value_variance: float = Field(default=0.02, ge=0, le=0.5, description="Relative noise, 0.02 = 2 %")
    seed: int = Field(default=0, description="Seed of the random generator, so runs can be reproduced")
    call_timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for the answer to a CALL")
    compliance_checks: bool = Field(
        default=False, description="Judge every CSMS frame against the specification and keep the findings "
        "(always on during scenario runs); call_timeout is the response timeout")
    reconnect_initial_delay: float = Field(default=1.0, gt=0)
    reconnect_max_delay: float = Field(default=60.0, gt=0)
    ping_interval: float | None = Field(default=20.0, description="WebSocket ping period; None disables")
    auto_plug_in_on_remote_start: bool = Field(
        default=True, description="A remote start plugs the simulated EV in (as a driver waiting at the charger)")
    ev: EvConfig = Field(default_factory=EvConfig)
    v16_error_spelling: Literal["errata", "original"] = Field(
        default="errata",
        description="1.6 CallError codes: errata (FormatViolation, OccurrenceConstraintViolation) or "
        "the original 1.6 JSON spec spelling (FormationViolation, OccurenceConstraintViolation)",
    )


_IDENTITY = re.compile(r"[A-Za-z0-9_.:\-*+|@]+")


def identity_problem(station_id: str) -> str | None:
    """Why ``station_id`` is not a valid OCPP charging-station identity (one sentence), or None."""
    if not station_id:
        return "a station id cannot be empty"
    if len(station_id) > 48:
        return f"a station id has at most 48 characters; this one has {len(station_id)}"
    if station_id in (".", "..") or ".." in station_id:
        return f"a station id cannot be '.' or contain '..' ({station_id!r}): it becomes a URL path segment"
    if not _IDENTITY.fullmatch(station_id):
        bad = sorted({ch for ch in station_id if not _IDENTITY.fullmatch(ch)})
        return (f"a station id uses only A-Z a-z 0-9 and _ . : - * + | @; {station_id!r} has "
                f"{' '.join(repr(ch) for ch in bad)}")
    return None


Range = tuple[float, float]


class AutoTransactionConfig(_Model):
    """The automatic transaction generator: simulated drivers arriving, charging and leaving, per connector
    (1.6) or EVSE (2.x). Off by default; on in the ``load-*`` templates. Runs are reproducible for a seed.

    Each connector cycles: wait for an arrival -> start (with ``start_probability``; else wait a pause) ->
    charge for a time drawn from ``duration`` (or until an energy drawn from ``energy_wh`` is delivered) ->
    stop with a reason drawn from ``stop_reasons`` -> pause for a time drawn from ``pause`` -> next arrival.
    ``arrival`` ``loop`` starts again right after the pause; ``poisson`` waits an exponential time of mean
    ``3600 / arrival_rate`` s after it; ``daily`` does the same with the hourly rate from ``daily_profile``.
    """

    enabled: bool = False
    start_probability: float = Field(default=1.0, ge=0, le=1, description="Chance that an arrival charges")
    duration: Range = Field(default=(60.0, 120.0), description="Charge time range, seconds (uniform)")
    energy_wh: Range | None = Field(default=None, description="Stop after delivering this energy (Wh, uniform); "
                                    "overrides duration when set")
    pause: Range = Field(default=(15.0, 30.0), description="Pause after a session, seconds (uniform)")
    start_delay: Range = Field(default=(0.0, 30.0), description="Wait before the first arrival after the "
                               "station is accepted, seconds (spreads a fleet's first sessions)")
    id_tags: list[str] = Field(default_factory=list, description="Tags drawn at random; empty: generated")
    id_tag_prefix: str = Field(default="AUTO", max_length=12)
    generated_id_tags: int = Field(default=100, ge=1, description="How many distinct tags are generated")
    arrival: Literal["loop", "poisson", "daily"] = "loop"
    arrival_rate: float = Field(default=1.0, gt=0, description="poisson: arrivals per hour per connector")
    daily_profile: list[float] = Field(default_factory=lambda: [1.0] * 24, min_length=24, max_length=24,
                                       description="daily: arrivals per hour per connector for each hour 0-23")
    utc_offset_hours: float = Field(default=0.0, ge=-14, le=14, description="daily: local time of the profile")
    stop_reasons: dict[str, float] = Field(default_factory=lambda: {"Local": 1.0},
                                           description="Stop reason -> weight; EVDisconnected unplugs the cable")
    seed: int | None = Field(default=None, description="None: derived from simulation.seed and the station id")

    @field_validator("duration", "pause", "start_delay", "energy_wh")
    @classmethod
    def _check_range(cls, v: Range | None) -> Range | None:
        if v is not None and not 0 <= v[0] <= v[1]:
            raise ValueError("a range is [low, high] with 0 <= low <= high")
        return v

    @field_validator("stop_reasons")
    @classmethod
    def _check_reasons(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("stop_reasons needs at least one reason with a positive weight")
        return v

    @field_validator("daily_profile")
    @classmethod
    def _check_profile(cls, v: list[float]) -> list[float]:
        if any(r < 0 for r in v):
            raise ValueError("daily_profile rates must not be negative")
        return v


class StationConfig(_Model):
    """A station definition: everything needed to build and connect its engine."""

    station_id: str = Field(description="OCPP identity: 1 to 48 characters from A-Z a-z 0-9 _ . : - * + | @; "
                            "not '.' and without '..' (it is the last segment of the CSMS URL)")
    name: str = ""
    enabled: bool = True
    auto_start: bool = False
    protocol_version: Version = Version.V16
    vendor: str = Field(default="ocppemu", max_length=20)
    model: str = Field(default="Emulator", max_length=20)
    serial_number: str | None = Field(default=None, max_length=25)
    firmware_version: str | None = Field(default="0.1.0", max_length=50)
    iccid: str | None = Field(default=None, max_length=20)
    imsi: str | None = Field(default=None, max_length=20)
    meter_type: str | None = Field(default=None, max_length=25)
    meter_serial_number: str | None = Field(default=None, max_length=25)
    connectors: list[ConnectorConfig] = Field(default_factory=lambda: [ConnectorConfig(id=1)], min_length=1)
    supported_profiles: list[str] = Field(
        default_factory=lambda: ["Core", "FirmwareManagement", "LocalAuthListManagement", "Reservation",
                                 "SmartCharging", "RemoteTrigger"]
    )
    meter_values_config: MeterValuesConfig = Field(default_factory=MeterValuesConfig)
    csms_url: str = Field(default="ws://127.0.0.1:9000/ocpp", description="Base URL; station id is appended")
    csms_auth: CsmsAuth = Field(default_factory=CsmsAuth)
    tls: TlsConfig = Field(default_factory=TlsConfig)
    soap_listen: str | None = Field(
        default=None, max_length=300, pattern=r"^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]/]*)(:\d{1,5})?$",
        description="OCPP 1.6 over SOAP (http(s):// csms_url): HOST:PORT the station's ChargePointService listens "
        "on for CSMS calls; default 127.0.0.1 on a free port")
    soap_advertise: str | None = Field(
        default=None, max_length=2000, pattern=r"^https?://\S+$",
        description="OCPP 1.6 over SOAP: the ChargePointService URL sent to the CSMS in wsa:From (for a station "
        "behind NAT or in a container); default http://<soap_listen>/")
    simulation: SimulationConfig = Field(default_factory=SimulationConfig)
    auto_transactions: AutoTransactionConfig = Field(default_factory=AutoTransactionConfig)
    configuration_overrides: dict[str, str] = Field(
        default_factory=dict, description="1.6 configuration keys or 2.x Component/Variable values to preset"
    )
    tags: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: str | None = None

    @field_validator("station_id", mode="before")
    @classmethod
    def _check_identity(cls, v: object) -> object:
        if isinstance(v, str):
            problem = identity_problem(v)
            if problem:
                raise ValueError(problem)
        return v

    @field_validator("protocol_version", mode="before")
    @classmethod
    def _parse_version(cls, v: object) -> object:
        return Version.parse(v) if isinstance(v, str) else v

    @field_validator("supported_profiles")
    @classmethod
    def _check_profiles(cls, v: list[str]) -> list[str]:
        known = ("Core", "FirmwareManagement", "LocalAuthListManagement", "Reservation", "SmartCharging",
                 "RemoteTrigger")
        unknown = [p for p in v if p not in known]
        if unknown:
            raise ValueError(f"unknown feature profile(s) {unknown}; known: {', '.join(known)}")
        return v

    @field_validator("csms_url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        if not v.startswith(("ws://", "wss://", "http://", "https://")):
            raise ValueError("csms_url must start with ws://, wss:// (or http(s):// for SOAP)")
        return v

    @model_validator(mode="after")
    def _check_connectors(self) -> StationConfig:
        keys = [(c.evse, c.id) for c in self.connectors]
        if len(set(keys)) != len(keys):
            raise ValueError("connector ids must be unique (per EVSE for 2.x)")
        if self.protocol_version is Version.V16:
            ids = sorted(c.id for c in self.connectors)
            if ids != list(range(1, len(ids) + 1)):
                raise ValueError("OCPP 1.6 connector ids must be 1..N without gaps")
        if self.csms_auth.type == "basic" and not self.csms_auth.username:
            raise ValueError("csms_auth.type 'basic' needs a username")
        if self.csms_url.startswith(("http://", "https://")) and self.protocol_version is not Version.V16:
            raise ValueError("an http(s):// csms_url means OCPP over SOAP, which exists only for OCPP 1.6")
        if self.csms_auth.type == "certificate" and not (self.tls.client_cert and self.tls.client_key):
            raise ValueError("csms_auth.type 'certificate' needs tls.client_cert and tls.client_key")
        return self

    def connection_url(self) -> str:
        """The URL the station connects to: ``csms_url`` with the station id as last path segment."""
        base = self.csms_url.rstrip("/")
        if base.rsplit("/", 1)[-1] == self.station_id:
            return base
        return f"{base}/{self.station_id}"

    def export(self, include_secrets: bool = False) -> dict[str, object]:
        """JSON-ready dict; the CSMS password is masked unless ``include_secrets``."""
        data = self.model_dump(mode="json")
        pw = self.csms_auth.password
        if pw is not None:
            data["csms_auth"]["password"] = pw.get_secret_value() if include_secrets else MASK
        if not include_secrets and data["tls"].get("client_key"):
            data["tls"]["client_key"] = MASK
        return data


class StationRuntimeState(_Model):
    """What a running station reports about itself; synced to the store, never part of an export."""

    station_id: str
    connection_status: Literal["disconnected", "connecting", "connected", "error"] = "disconnected"
    registration_status: Literal["None", "Accepted", "Pending", "Rejected"] = "None"
    last_heartbeat: datetime | None = None
    last_error: str | None = None
    active_transactions: dict[int, str] = Field(default_factory=dict, description="connector -> transaction id")
    energy_register_wh: dict[int, float] = Field(default_factory=dict, description="connector -> register, Wh")
    durable: dict[str, Any] | None = Field(default=None, description="The station core's durable state "
                                           "(transactions and their CSMS ids, local keys, authorization cache)")
