"""A throw-away Ray cluster on this machine, bound to loopback (``ocppemu load --cluster local``, tests).

Ray on Linux advertises the machine's routable address unless told otherwise; :func:`start_local` starts it with
``_node_ip_address="127.0.0.1"`` and ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (set before Ray is imported), its
temporary directory where the caller says (keep the path short: Ray's unix socket paths are limited to ~100
characters), and no dashboard. :func:`ray_processes` lists the processes it started, so a caller can check
their sockets and that none remains after :func:`stop_local`.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from ocppemu.cluster import NAMESPACE, ClusterError, import_ray

_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # single host: every component on the loopback address
        "RAY_agent_register_timeout_ms": "120000",  # a busy 2-core machine starts the agents slowly
        "RAY_USAGE_STATS_ENABLED": "0"}


def start_local(temp_dir: str | Path, cpus: int, attempts: int = 2) -> Any:
    """``ray.init`` a single-node cluster of ``cpus`` CPUs (one shard worker each) on 127.0.0.1 (``attempts``
    tries: a busy machine can make Ray's start time out)."""
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)
    ray = import_ray()
    if ray.is_initialized():
        raise ClusterError("this process is already connected to a Ray cluster; use --cluster ray://HOST:10001")
    if len(str(temp_dir)) > 40:
        raise ClusterError(f"the Ray temporary directory {str(temp_dir)!r} is too long for Ray's socket paths; "
                           "use a short one such as /tmp/ocppemu-ray")
    for attempt in range(attempts):
        try:
            ray.init(_node_ip_address="127.0.0.1", _temp_dir=str(temp_dir), include_dashboard=False,
                     num_cpus=cpus, namespace=NAMESPACE, log_to_driver=False)
            return ray
        except Exception as exc:
            # on a busy machine the raylet may give up waiting for its agents (a fixed wait inside Ray): once more
            with contextlib.suppress(Exception):
                ray.shutdown()
            if attempt + 1 == attempts:
                raise ClusterError(f"the local Ray cluster did not start ({str(exc).splitlines()[0][:200]}); see "
                                   f"the logs under {temp_dir}/session_latest/logs") from None
    return ray


def stop_local() -> None:
    ray = import_ray()
    if ray.is_initialized():
        ray.shutdown()


def descendants(pid: int) -> set[int]:
    """Every living process under ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def ray_processes(temp_dir: str | Path) -> dict[int, str]:
    """Processes (pid: name) whose command line names ``temp_dir``, and Ray's workers (``ray::...``)."""
    found: dict[int, str] = {}
    marker = str(temp_dir).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if marker in cmd:
            found[int(entry.name)] = name
    for pid in list(found):  # the workers (their command lines are rewritten to "ray::...")
        for child in descendants(pid):
            with contextlib.suppress(OSError):
                found.setdefault(child, (Path("/proc") / str(child) / "comm").read_text().strip())
    return found
