"""``pip install 'ocppemu[ui]' && ocppemu ui`` from any folder: the wheel carries the dashboards, the example
notebooks and the Voila template. The wheel is built from this checkout and installed into a throw-away venv that
sees the test environment's packages (a .pth file), so nothing is downloaded; ``ocppemu ui`` is then started from
an empty folder and must serve its landing page and a dashboard."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_the_installed_wheel_serves_the_dashboards_from_an_empty_folder(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    pytest.importorskip("voila")
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(dist), str(ROOT)], capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    wheel = next(dist.glob("ocppemu-*.whl"))
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for must in ("ocppemu/_dashboards/overview.ipynb", "ocppemu/_dashboards/examples/quickstart.ipynb",
                 "ocppemu/widgets/jupyter/voila/templates/ocppemu/index.html.j2", "ocppemu/ui_server.py"):
        assert must in names, must

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = Path(subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                           text=True).strip())
    # the test environment's packages (voila, ipywidgets, ...) without its editable ocppemu
    (purelib / "test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
                              "--no-index", str(wheel)], capture_output=True, text=True, timeout=300, check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    empty = tmp_path / "anywhere"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OCPPEMU_URL", "OCPPEMU_TOKEN")}
    # the data files (Voila's base templates, the widget extensions) an install of the `ui` extra puts in the venv's
    # share/jupyter are those of the test environment here, which the .pth file does not bring along
    env.update(JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"), JUPYTER_PLATFORM_DIRS="1",
               JUPYTER_PATH=str(Path(sys.prefix) / "share" / "jupyter"))
    where = subprocess.check_output([str(py), "-c", "import ocppemu, ocppemu.ui as u; print(ocppemu.__file__); "
                                     "print(u.default_dashboards())"], text=True, cwd=empty, env=env).split()
    assert where[0].startswith(str(env_dir)) and where[1].endswith("ocppemu/_dashboards"), where
    port = _free_port()
    log = (tmp_path / "ui.log").open("wb")
    proc = subprocess.Popen([str(env_dir / "bin" / "ocppemu"), "ui", "--no-browser", "--port", str(port),
                             "--url", "http://127.0.0.1:9"], cwd=empty, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        landing = render = ""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    landing = r.read().decode()
                break
            except OSError:
                time.sleep(0.3)
        assert "ocppemu dashboards" in landing, (tmp_path / "ui.log").read_text()[-3000:]
        assert "examples" in landing  # the example notebooks ship too
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/voila/render/system.ipynb", timeout=120) as r:
            render = r.read().decode()
        assert "ocppemu-nav" in render and "Traceback" not in render
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(tmp_path / "rt", ignore_errors=True)
