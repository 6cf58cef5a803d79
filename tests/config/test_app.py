"""config.yaml + OCPPEMU_* + flags, validated with errors naming the key and its source."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocppemu.config.app import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_is_valid_and_layers_override_in_order(tmp_path: Path) -> None:
    cfg = load_config(ROOT / "config.example.yaml", environ={})
    assert cfg.server.host == "127.0.0.1" and cfg.application.max_stations == 10
    f = tmp_path / "c.yaml"
    f.write_text("server:\n  port: 9000\ncsms:\n  reconnect_backoff: 2m\napplication:\n  max_stations: 3\n")
    env = {"OCPPEMU_APPLICATION_MAX_STATIONS": "7", "OCPPEMU_CSMS_TLS_INSECURE_SKIP_VERIFY": "true",
           "OCPPEMU_LOGGING_FORMAT": "json"}
    cfg = load_config(f, environ=env, overrides={"server": {"port": 9100}})
    assert cfg.server.port == 9100 and cfg.application.max_stations == 7
    assert cfg.csms.reconnect_backoff == 120.0 and cfg.csms.tls.insecure_skip_verify is True
    assert cfg.logging.format == "json"


def test_errors_name_the_bad_key_and_where_it_came_from(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("server:\n  prot: 1\n")
    with pytest.raises(ConfigError, match=r"server\.prot.*unknown key"):
        load_config(f, environ={})
    with pytest.raises(ConfigError, match=r"application\.max_stations' \(OCPPEMU_APPLICATION_MAX_STATIONS\)"):
        load_config(None, environ={"OCPPEMU_APPLICATION_MAX_STATIONS": "many"})
    with pytest.raises(ConfigError, match=r"csms\.connection_timeout.*duration"):
        load_config(None, environ={"OCPPEMU_CSMS_CONNECTION_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match=r"server\.port' \(command line\)"):
        load_config(None, environ={}, overrides={"server": {"port": 70000}})
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml", environ={})


def test_non_configuration_variables_are_ignored() -> None:
    from ocppemu.config.app import load_config

    cfg = load_config(environ={"OCPPEMU_VENV": "/opt/venv", "OCPPEMU_URL": "http://127.0.0.1:8080",
                               "OCPPEMU_TOKEN": "t", "OCPPEMU_SERVER_PORT": "9191"})
    assert cfg.server.port == 9191


def test_json_and_text_logging_to_a_file(tmp_path: Path) -> None:
    import json
    import logging

    from ocppemu.config.app import LoggingConfig, setup_logging

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        out = tmp_path / "log.jsonl"
        setup_logging(LoggingConfig(level="info", format="json", output=str(out)))
        logging.getLogger("ocppemu.test").info("station %s booted", "CP1", extra={"station_id": "CP1"})
        for h in root.handlers:
            h.flush()
        doc = json.loads(out.read_text().splitlines()[-1])
        assert doc["message"] == "station CP1 booted" and doc["station_id"] == "CP1" and doc["level"] == "INFO"
        text = tmp_path / "log.txt"
        setup_logging(LoggingConfig(level="warn", format="text", output=str(text)))
        logging.getLogger("ocppemu.test").info("hidden")
        logging.getLogger("ocppemu.test").warning("shown")
        for h in root.handlers:
            h.flush()
        assert "shown" in text.read_text() and "hidden" not in text.read_text()
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
            h.close()
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
