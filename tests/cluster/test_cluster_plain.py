"""The cluster paths without Ray: a missing extra, an unreachable cluster and a version mismatch are one sentence;
nothing else needs Ray."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ocppemu.cli import main
from ocppemu.cluster import ClusterError, describe_connect_error, import_ray


@pytest.fixture
def no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # "import ray" raises ImportError, as without the extra


def test_missing_extra_is_one_sentence(no_ray: None) -> None:
    with pytest.raises(ClusterError) as err:
        import_ray()
    assert str(err.value) == "Ray is not installed; install the extra with: pip install 'ocppemu[ray]'"


def test_cluster_status_without_the_extra(no_ray: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cluster", "status", "--cluster", "ray://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert err == "ocppemu cluster: Ray is not installed; install the extra with: pip install 'ocppemu[ray]'\n"


def test_load_on_a_cluster_without_the_extra(no_ray: None, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["load", "--csms", "ws://127.0.0.1:1/ocpp", "--stations", "2", "--cluster", "local", "--quiet"])
    assert code == 2
    assert "Ray is not installed" in capsys.readouterr().err


def test_plain_modules_import_without_ray() -> None:
    """The package, the CLI and the single-machine load mode import in a process where Ray cannot be imported."""
    code = ("import sys; sys.modules['ray'] = None\n"
            "import ocppemu, ocppemu.cli, ocppemu.cli_cluster, ocppemu.cluster.coordinator, ocppemu.cluster.run\n"
            "import ocppemu.load.run\n"
            "assert sys.modules['ray'] is None\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


def test_connect_errors_are_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray", reason="the version sentence names the driver's Ray version (ocppemu[ray])")
    mismatch = RuntimeError("Version mismatch: The cluster was started with:\n    Ray: 2.59.0\n    Python: 3.12.1\n"
                            "This process on node 127.0.0.1 was started with:\n    Ray: 2.60.0\n    Python: 3.11.7")
    sentence = describe_connect_error("ray://head:10001", mismatch)
    assert sentence.startswith("the Ray cluster at ray://head:10001 runs another Ray or Python version")
    assert "\n" not in sentence and "install the cluster's versions here" in sentence
    gone = describe_connect_error("ray://head:10001", ConnectionError("ray client connection timeout"))
    assert gone.startswith("cannot reach the Ray cluster at ray://head:10001 (ConnectionError)")
    client = describe_connect_error("ray://h:1", ValueError("Ray Client requires pip package `ray[client]`."))
    assert "pip install 'ocppemu[ray]'" in client


def test_per_shard_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["load", "--csms", "ws://127.0.0.1:1/ocpp", "--stations", "2", "--cluster", "local",
                 "--per-shard", "0", "--quiet"])
    assert code == 2
    assert capsys.readouterr().err == ("ocppemu load: --per-shard must be at least 1 (got 0); e.g. "
                                       "--per-shard 10000\n")
