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


def test_the_ui_runs_the_dashboards_app_with_the_page_extensions_only(tmp_path: Path) -> None:
    cmd = ui.voila_command(_args("--orphan-timeout", "12"), tmp_path)
    assert cmd[1:3] == ["-m", "ocppemu.ui_server"]
    assert "--DashboardsApp.orphan_timeout=12.0" in cmd
    allow = next(a for a in cmd if a.startswith("--VoilaConfiguration.extension_allowlist="))
    assert "jupyterlab-plotly" not in allow and "@jupyter-widgets/jupyterlab-manager" in allow


def test_orphan_tracker_ends_only_kernels_alone_for_the_whole_timeout() -> None:
    pytest.importorskip("voila")
    from ocppemu.ui_server import OrphanTracker

    t = OrphanTracker(timeout=10)
    t.observe("open", 1, False, 0)
    t.observe("closed", 0, False, 0)
    t.observe("rendering", 0, True, 0)  # still executing its notebook: its page has not connected yet
    assert t.orphans(9) == []
    t.observe("closed", 0, False, 9)
    t.observe("rendering", 0, True, 9)
    t.observe("open", 0, False, 5)  # its page went away at 5
    assert t.orphans(10) == ["closed"]
    t.observe("open", 1, False, 12)  # came back (a reconnect) before the timeout
    assert t.orphans(16) == ["closed"]
    t.forget_missing({"open", "rendering"})
    assert t.orphans(100) == []


def test_the_page_hook_sets_the_xsrf_cookie_so_the_shutdown_beacon_is_accepted() -> None:
    pytest.importorskip("voila")
    from ocppemu.ui_server import with_xsrf_cookie

    class Handler:
        touched = 0

        @property
        def xsrf_token(self) -> bytes:
            self.touched += 1
            return b"t"

    h = Handler()
    assert with_xsrf_cookie(None)(h, "nb", "/") == "nb" and h.touched == 1
    assert with_xsrf_cookie(lambda _h, nb, _c: nb + "!")(h, "nb", "/") == "nb!" and h.touched == 2


def test_the_template_has_the_navigation_bar_and_no_cdn_link() -> None:
    folder = ui.JUPYTER_DATA / "voila" / "templates" / "ocppemu"
    nav = (folder / "nav.html.j2").read_text()
    for view in ("overview", "stations", "messages", "crafter", "scenarios", "dashboard", "system"):
        assert f'"{view}.ipynb"' in nav
    for name in ("index.html.j2", "page.html", "tree.html", "nav.html.j2"):
        text = (folder / name).read_text()
        assert "cdn." not in text.replace("'https://cdn.jsdelivr.net/npm/@fortawesome", "") and "googleapis" not in text


def test_a_wheel_ships_the_dashboards() -> None:
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert '"dashboards" = "ocppemu/_dashboards"' in text and '"notebooks" = "ocppemu/_dashboards/examples"' in text
    assert ui.default_dashboards() in (ui.PACKAGED_DASHBOARDS, ui.CHECKOUT_DASHBOARDS)
