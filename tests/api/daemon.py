"""A real ``python -m ocppemu serve`` subprocess on 127.0.0.1 and a free port, for the API tests."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


@dataclass
class Daemon:
    store_url: str
    data_dir: Path
    extra: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""
    proc: asyncio.subprocess.Process | None = None
    output: list[str] = field(default_factory=list)

    async def start(self, timeout: float = 20.0) -> Daemon:
        """Start the daemon and wait for its ``listening on`` line."""
        args = [sys.executable, "-m", "ocppemu", "serve", "--host", "127.0.0.1", "--port", "0",
                "--store", self.store_url, "--data-dir", str(self.data_dir), *self.extra]
        self.proc = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **self.env}, cwd=str(Path(__file__).resolve().parents[2]))
        assert self.proc.stdout is not None

        async def wait_line() -> str:
            assert self.proc is not None and self.proc.stdout is not None
            while True:
                line = (await self.proc.stdout.readline()).decode()
                if not line:
                    raise RuntimeError("daemon exited:\n" + "".join(self.output))
                self.output.append(line)
                m = LISTENING.search(line)
                if m:
                    return m.group(1)

        self.url = await asyncio.wait_for(wait_line(), timeout)
        self._drain = asyncio.create_task(self._read_rest())
        return self

    async def _read_rest(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.output.append(line.decode())

    async def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait: the daemon saves state and flushes the store before exiting."""
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await self._drain
        return code
