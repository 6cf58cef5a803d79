"""Application configuration: ``config.yaml``, overridden by ``OCPPEMU_*`` environment variables, then CLI flags.

The sections follow the project plan: ``server``, ``logging``, ``store``, ``csms`` (defaults for new stations),
``tls`` (of the API server) and ``application`` (limits). Every key has its default here, where it is defined.
:func:`load_config` validates the merged result and raises :class:`ConfigError` whose message names the bad key
and where its value came from.

Environment variables are ``OCPPEMU_<SECTION>_<KEY>`` (``OCPPEMU_SERVER_PORT=9090``,
``OCPPEMU_APPLICATION_MAX_STATIONS=50``, ``OCPPEMU_CSMS_TLS_INSECURE_SKIP_VERIFY=true``); values are parsed as
YAML scalars. ``OCPPEMU_DATA_DIR`` sets the top-level ``data_dir``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from ocppemu.config.masking import install_secret_filter

log = logging.getLogger(__name__)
ENV_PREFIX = "OCPPEMU_"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def _duration(value: object) -> object:
    """``10s``, ``5m``, ``250ms``, ``1h`` or a plain number of seconds."""
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m is None:
            raise ValueError(f"{value!r} is not a duration (use e.g. 10s, 5m, 250ms or a number of seconds)")
        return float(m.group(1)) * _UNITS[m.group(2)]
    return value


Seconds = Annotated[float, BeforeValidator(_duration), Field(ge=0)]


class ConfigError(ValueError):
    """The application configuration is invalid; ``str()`` names the key(s) and the reason."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerTls(_Section):
    enabled: bool = False
    cert_file: str = ""
    key_file: str = ""


class ServerConfig(_Section):
    host: str = Field(default="127.0.0.1", description="Interface of the API; anything else needs the token")
    port: int = Field(default=8080, ge=0, le=65535)
    tls: ServerTls = Field(default_factory=ServerTls)
    require_token: bool | None = Field(default=None, description="None: required unless bound to loopback "
                                       "(off loopback it is always required)")
    allowed_origins: list[str] = Field(default_factory=list, description="Web origins (https://host:port) whose "
                                       "pages may call the API and open its WebSocket; others are refused")
    allowed_hosts: list[str] = Field(default_factory=list, description="Host names the API may be reached by "
                                     "besides IP addresses, localhost and the bound host (DNS-rebinding guard)")


class LoggingConfig(_Section):
    level: Literal["debug", "info", "warn", "warning", "error"] = "info"
    format: Literal["json", "text"] = "text"
    output: str = Field(default="stderr", description="stdout, stderr or a file path")


class StoreConfig(_Section):
    url: str | None = Field(default=None, description="sqlite:///file.db or mongodb://...; None: user data dir")
    retention_days: float | None = Field(default=None, gt=0)
    max_document_bytes: int = Field(default=1_048_576, gt=0)
    record: str = Field(default="all", description="Recording level of the message log: all, calls, errors, "
                        "sample:F (0 <= F <= 1) or none (see ocppemu.store.levels)")

    @field_validator("record")
    @classmethod
    def _check_record(cls, value: str) -> str:
        text = value.strip().lower()
        if text in ("all", "calls", "errors", "none"):
            return text
        match = re.fullmatch(r"sample:([0-9]*\.?[0-9]+)", text)
        if match is None or float(match.group(1)) > 1:
            raise ValueError("use all, calls, errors, sample:F (0 <= F <= 1) or none")
        return text


class CsmsTls(_Section):
    enabled: bool = False
    ca_cert: str = ""
    client_cert: str = ""
    client_key: str = ""
    insecure_skip_verify: bool = False


class CsmsDefaults(_Section):
    """Defaults applied to stations created without these settings."""

    default_url: str = "ws://127.0.0.1:9000/ocpp"
    connection_timeout: Seconds = 30.0
    heartbeat_interval: Seconds = 60.0
    max_reconnect_attempts: int = Field(default=5, ge=0)
    reconnect_backoff: Seconds = 10.0
    tls: CsmsTls = Field(default_factory=CsmsTls)


class ApplicationConfig(_Section):
    max_stations: int = Field(default=10, ge=1)
    cache_ttl: Seconds = 3600.0
    debug_mode: bool = Field(default=True, description="Allow custom and raw (unvalidated) messages")
    message_buffer_size: int = Field(default=100_000, ge=1, description="Hard limit of frames held for the "
                                     "store; beyond it frames are dropped and counted per station")
    message_buffer_high_water: int = Field(default=20_000, ge=1, description="Frames held from which stations "
                                           "wait for the store (back-pressure) instead of losing frames")
    batch_insert_interval: Seconds = 5.0
    event_queue_size: int = Field(default=10000, ge=1, description="Per subscriber; oldest dropped when full")
    event_history: int = Field(default=10000, ge=0, description="Events kept for resume-from-cursor")
    state_sync_interval: Seconds = 1.0
    shutdown_timeout: Seconds = Field(default=10.0, description="Longest a stop waits for the store; what is "
                                      "still unwritten then is logged and reported")


class AppConfig(_Section):
    """The whole ``config.yaml``."""

    server: ServerConfig = Field(default_factory=ServerConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    csms: CsmsDefaults = Field(default_factory=CsmsDefaults)
    application: ApplicationConfig = Field(default_factory=ApplicationConfig)
    data_dir: str | None = Field(default=None, description="API token and default store; None: user data dir")

    def resolved_data_dir(self) -> Path:
        return Path(self.data_dir or platformdirs.user_data_dir("ocppemu", appauthor=False)).expanduser()


def _section_model(model: type[BaseModel], parts: list[str]) -> tuple[list[str], bool]:
    """Map ``['tls', 'insecure', 'skip', 'verify']`` to nested keys of ``model`` (longest field name first)."""
    for n in range(len(parts), 0, -1):
        name = "_".join(parts[:n])
        field = model.model_fields.get(name)
        if field is None:
            continue
        if n == len(parts):
            return [name], True
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            rest, ok = _section_model(sub, parts[n:])
            if ok:
                return [name, *rest], True
    return ["_".join(parts)], False


def env_overrides(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Nested overrides from ``OCPPEMU_*`` variables and, per dotted key, the variable it came from."""
    out: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for var, text in environ.items():
        if not var.startswith(ENV_PREFIX) or var == "OCPPEMU_CONFIG":
            continue
        parts = var[len(ENV_PREFIX):].lower().split("_")
        if parts[0] not in AppConfig.model_fields and "_".join(parts) not in AppConfig.model_fields:
            # Not a configuration variable (OCPPEMU_VENV, OCPPEMU_URL, ... belong to scripts and dashboards):
            # only OCPPEMU_<SECTION>_<KEY> of a known section configures the daemon.
            log.debug("ignoring %s: %s is not a configuration section", var, parts[0])
            continue
        keys, _ = _section_model(AppConfig, parts)
        try:
            value = yaml.safe_load(text) if text != "" else ""
        except yaml.YAMLError:
            value = text
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                break
        else:
            node[keys[-1]] = value
            origin[".".join(keys)] = var
    return out, origin


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def explain(exc: ValidationError, origin: Mapping[str, str] | None = None, source: str = "configuration") -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        where = (origin or {}).get(key, source)
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"config key '{key}' ({where}): {msg}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> AppConfig:
    """Read ``path`` (optional), apply environment variables, then ``overrides`` (CLI flags, nested dict).

    Raises :class:`ConfigError` naming the file, variable or flag and the key that is wrong.
    """
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    origin: dict[str, str] = {}
    if path is not None:
        p = Path(path)
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {p}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {p} is not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {p} must hold a mapping of sections, not {type(loaded).__name__}")
        data = loaded or {}
        source = str(p)
    else:
        source = "defaults"
    env, env_origin = env_overrides(environ)
    data = _merge(data, env)
    origin.update(env_origin)
    if overrides:
        data = _merge(data, overrides)
        for k in _flatten(overrides):
            origin[k] = "command line"
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(explain(exc, origin, source)) from None


def _flatten(d: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for k, v in d.items():
        if isinstance(v, Mapping):
            keys += _flatten(v, f"{prefix}{k}.")
        else:
            keys.append(f"{prefix}{k}")
    return keys


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and extras such as ``station_id``."""

    _STD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                               "logger": record.name, "message": record.getMessage()}
        for k, v in record.__dict__.items():
            if k not in self._STD:
                doc[k] = v
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def setup_logging(cfg: LoggingConfig) -> None:
    """Configure the root logger from the ``logging`` section (replaces existing handlers)."""
    handler: logging.Handler
    if cfg.output == "stdout":
        handler = logging.StreamHandler(sys.stdout)
    elif cfg.output == "stderr":
        handler = logging.StreamHandler(sys.stderr)
    else:
        handler = logging.FileHandler(cfg.output, encoding="utf-8")
    if cfg.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    install_secret_filter(root)
    level = {"warn": "WARNING"}.get(cfg.level, cfg.level.upper())
    root.setLevel(level)
