"""Shards of a load run on a Ray cluster (the optional extra ``ocppemu[ray]``).

:mod:`ocppemu.cluster.ray_shard` is the Ray home of :class:`~ocppemu.load.shard.Shard` (an async actor that Ray
restarts after a crash and that restores its stations from its store), :mod:`ocppemu.cluster.coordinator` the
detached, named coordinator actor and the :class:`~ocppemu.workbench.interface.WorkbenchAPI` client that
``ocppemu.connect("ray://head:10001")`` returns, :mod:`ocppemu.cluster.local` a throw-away single-machine cluster
bound to loopback. Ray is imported only when one of these is used: without the extra everything else works, and
using these says so in one sentence (:class:`ClusterError`).
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Ray namespace of every ocppemu actor; the coordinator's actor name.
NAMESPACE = "ocppemu"
COORDINATOR_NAME = "ocppemu-coordinator"


class ClusterError(RuntimeError):
    """A cluster that cannot be used: the message is one sentence with what to do."""


def import_ray() -> ModuleType:
    """The ``ray`` module, or :class:`ClusterError` when the extra is not installed."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise ClusterError("Ray is not installed; install the extra with: pip install 'ocppemu[ray]'") from None


def describe_connect_error(address: str, exc: BaseException) -> str:
    """One sentence for a failed ``ray.init(address)``: unreachable, or driver and cluster versions differ."""
    text = str(exc)
    low = text.lower()
    if "ray[client]" in low:
        return ("attaching to a Ray cluster by ray:// needs Ray's client; install the extra with: "
                "pip install 'ocppemu[ray]'")
    if "version" in low and ("mismatch" in low or "differ" in low or "python" in low):
        ray = import_ray()
        first = text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__
        return (f"the Ray cluster at {address} runs another Ray or Python version than this driver "
                f"(ray {ray.__version__}): {first}; install the cluster's versions here")
    return (f"cannot reach the Ray cluster at {address} ({type(exc).__name__}); check the address, that the "
            "head runs 'ray start --head' with the client server on that port, and the network")
