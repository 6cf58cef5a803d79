"""``ocppemu ui`` helpers (the real thing runs in tests/browser/test_dashboards.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ocppemu import ui


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    ui.add_ui_arguments(p)
    return p.parse_args(list(argv))


def test_voila_listens_on_loopback_with_the_offline_template(tmp_path: Path) -> None:
    cmd = ui.voila_command(_args("--port", "9999", "--no-browser"), tmp_path)
    assert "--Voila.ip=127.0.0.1" in cmd and "--port=9999" in cmd and "--template=ocppemu" in cmd
    assert "--no-browser" in cmd and cmd[-1] == str(tmp_path)
    assert (ui.JUPYTER_DATA / "voila" / "templates" / "ocppemu" / "index.html.j2").is_file()


def test_the_kernels_get_the_daemon_url_and_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OCPPEMU_URL", raising=False)
    monkeypatch.delenv("OCPPEMU_TOKEN", raising=False)
    (tmp_path / "api-token").write_text("tok-123\n")
    env = ui.ui_environment(_args("--data-dir", str(tmp_path)))
    assert env["OCPPEMU_URL"] == "http://127.0.0.1:8080" and env["OCPPEMU_TOKEN"] == "tok-123"
    assert env["JUPYTER_PATH"].split(":")[0] == str(ui.JUPYTER_DATA)
    env = ui.ui_environment(_args("--url", "http://127.0.0.1:1234", "--token", "t2"))
    assert env["OCPPEMU_URL"] == "http://127.0.0.1:1234" and env["OCPPEMU_TOKEN"] == "t2"


def test_a_missing_dashboards_folder_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ui.run_ui(_args("--dashboards", str(tmp_path / "nope"))) == 2
    assert "no dashboards folder" in capsys.readouterr().err


def test_the_env_names_agree_with_what_the_dashboards_read() -> None:
    pytest.importorskip("ipywidgets")
    from ocppemu.widgets import session

    assert (ui.URL_ENV, ui.TOKEN_ENV) == (session.URL_ENV, session.TOKEN_ENV)
