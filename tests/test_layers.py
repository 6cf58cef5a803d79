"""The layer contract of pyproject.toml ([tool.importlinter]) holds: also run by .ci/run as ``lint-imports``, and
here so that the whole test suite catches an import that runs against the layers before it lands."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

importlinter_cli = pytest.importorskip("importlinter.cli")

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    # lint_imports configures logging with dictConfig, which disables every logger that exists: undo that, or the
    # tests after this one that read ocppemu's log records (caplog) see nothing
    loggers = [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    was = {lg: lg.disabled for lg in loggers}
    try:
        code = importlinter_cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True,
                                             no_logo=True)
    finally:
        for lg, disabled in was.items():
            lg.disabled = disabled
    captured = capsys.readouterr()
    report = captured.out + captured.err
    assert code == 0, report
    assert "0 broken" in report
