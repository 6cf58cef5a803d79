"""Every notebook and dashboard notebook runs top to bottom with nbmake (in a subprocess, so the main pytest run
of tests/ does not need the nbmake plugin) against the demo CSMS it starts itself; their cells assert on what they
produced, so a pass means they worked, not just ran."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("dashboards/*.ipynb")])


def test_every_view_and_notebook_is_here() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in NOTEBOOKS}
    assert {"notebooks/quickstart.ipynb", "notebooks/exploratory_csms_testing.ipynb", "notebooks/analysis.ipynb",
            "notebooks/multi_station_session.ipynb", "dashboards/overview.ipynb", "dashboards/dashboard.ipynb",
            "dashboards/stations.ipynb", "dashboards/messages.ipynb", "dashboards/crafter.ipynb",
            "dashboards/scenarios.ipynb", "dashboards/system.ipynb"} <= names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.relative_to(ROOT).as_posix() for p in NOTEBOOKS])
def test_notebook_runs_unattended_with_nbmake(notebook: Path, tmp_path: Path) -> None:
    pytest.importorskip("nbmake")
    env = {k: v for k, v in os.environ.items() if k not in ("OCPPEMU_URL", "OCPPEMU_TOKEN")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbmake", "--nbmake-timeout=240", "-p", "no:cacheprovider", "-q",
         f"--rootdir={tmp_path}", "-c", os.devnull, str(notebook)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout
    # the committed notebook stays stripped: nbmake must not have written outputs back
    assert '"outputs": []' in notebook.read_text() and '"output_type"' not in notebook.read_text()
