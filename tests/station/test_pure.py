"""ocppemu.station is pure: with asyncio, sockets, threads and every clock blocked, a full session runs on each
version by feeding frames (boot, plug in, authorize, charge with meter values, stop)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent('''
    import datetime as _dt
    import importlib.abc
    import sys
    import time

    import logging  # (logging itself imports threading for its locks: allowed, nothing else is)

    # The configuration layer below the station uses pydantic, whose plugin loader imports socket through
    # importlib.metadata and email: load that first, then forget every blocked module so the station cannot reach it.
    import ocppemu.config.station  # noqa: F401

    BLOCKED = {"asyncio", "socket", "ssl", "selectors", "concurrent", "subprocess", "websockets", "tornado",
               "pymongo", "sqlite3", "http", "urllib.request", "urllib3", "requests", "aiohttp", "ftplib"}

    def blocked(name):
        return name.split(".")[0] in BLOCKED or any(name == b or name.startswith(b + ".") for b in BLOCKED)

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if blocked(name):
                raise ImportError(f"the station engine imported {name}")
            return None

    for name in list(sys.modules):
        if blocked(name):
            del sys.modules[name]
    sys.meta_path.insert(0, Blocker())

    def no_clock(*args, **kwargs):
        raise RuntimeError("the station engine read a clock")

    for fn in ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "localtime",
               "gmtime", "ctime", "sleep"):
        setattr(time, fn, no_clock)

    class NoNow(_dt.datetime):
        @classmethod
        def now(cls, tz=None):
            no_clock()

        @classmethod
        def utcnow(cls):
            no_clock()

        @classmethod
        def today(cls):
            no_clock()

    _dt.datetime = NoNow
    logging.disable(logging.CRITICAL)  # log records read the clock; the engine must work without them

    from tests.station.virtual import VirtualCsms, config

    version = sys.argv[1]
    meter = {"interval": 10, "aligned_data_interval": 0}
    d = VirtualCsms(config(version, meter_values_config=meter))
    d.boot()
    core = d.core
    assert core.plug_in(1, d.now).ok
    d.pump()
    assert core.present_tag(1, "DRIVER", d.now).ok
    d.pump()
    d.advance(65)
    assert core.stop(1, d.now).ok
    d.pump()
    d.advance(5)
    assert core.unplug(1, d.now).ok
    d.advance(5)
    sent = [action for action, _ in d.calls]
    if version == "1.6":
        for action in ("BootNotification", "StatusNotification", "Authorize", "StartTransaction", "MeterValues",
                       "StopTransaction"):
            assert action in sent, (action, sent)
        stop = d.sent("StopTransaction")[-1]
        assert stop["meterStop"] > 0, stop
    else:
        events = d.sent("TransactionEvent")
        kinds = [e["eventType"] for e in events]
        assert kinds[0] == "Started" and kinds[-1] == "Ended", kinds
        assert any("meterValue" in e and e["triggerReason"] == "MeterValuePeriodic" for e in events), events
        assert "Authorize" in sent and "StatusNotification" in sent, sent
    assert not core.active_transactions() and len(core.queue) == 0
    assert core.last_error is None, core.last_error  # a handler or timer that hit a blocked clock would say so
    print("session complete", len(d.calls), "frames")
''')


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_a_full_session_with_io_and_clocks_blocked(version: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT, version], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "session complete" in out.stdout
