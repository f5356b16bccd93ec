"""A real `casedesk serve` process for tests that need several workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

import httpx2 as httpx

CASEDESK = Path(sys.executable).parent / "casedesk"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(
    database_url: str, *, workers: int = 2, secret_key: str | None = None
) -> Iterator[str]:
    """Serve on 127.0.0.1 until the block ends; yields the base URL."""
    port = free_port()
    env = {**os.environ, "CASEDESK_DATABASE_URL": database_url}
    if secret_key:
        env["CASEDESK_SECRET_KEY"] = secret_key
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(
            [str(CASEDESK), "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            yield _wait_until_healthy(process, log, f"http://127.0.0.1:{port}")
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(process: subprocess.Popen[str], log: IO[str], base: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"casedesk serve exited early:\n{log.read()}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("casedesk serve did not answer /health within 60 s")
        time.sleep(0.2)


class KillableServer:
    """`casedesk serve` in a process group of its own, so that SIGKILL reaches uvicorn's parent
    and its workers at once (a crash, not a shutdown); restartable on the same port."""

    def __init__(
        self, database_url: str, log: IO[str], *, workers: int = 2, env: dict[str, str]
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._command = [
            str(CASEDESK), "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(workers),
        ]  # fmt: skip
        self._env = {**env, "CASEDESK_DATABASE_URL": database_url}
        self._log = log
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> str:
        """Start (again) and wait for /health; the base URL."""
        assert self._process is None, "already running"
        self._process = subprocess.Popen(
            self._command,
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            return _wait_until_healthy(self._process, self._log, self.base)
        except BaseException:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL to every process of the server; returns once none of them runs."""
        process, self._process = self._process, None
        if process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        _wait_until_gone(process.pid)

    def stop(self) -> None:
        """A graceful stop (SIGTERM to the group), SIGKILL if that takes more than 20 s."""
        process = self._process
        if process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
        self.kill()


@contextmanager
def killable_server(
    database_url: str, *, workers: int = 2, env: dict[str, str] | None = None
) -> Iterator[KillableServer]:
    """A started KillableServer, stopped (and every process of it gone) when the block ends."""
    with tempfile.TemporaryFile(mode="w+") as log:
        server = KillableServer(database_url, log, workers=workers, env=env or dict(os.environ))
        try:
            server.start()
            yield server
        finally:
            server.stop()


def _group_members(pgid: int) -> list[int]:
    """Processes of a process group that still run (zombies waiting to be reaped do not)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _parent, group = stat.rsplit(")", 1)[1].split()[:3]
        if int(group) == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _wait_until_gone(pgid: int) -> None:
    deadline = time.monotonic() + 20
    while members := _group_members(pgid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {members} of the killed server still run")
        time.sleep(0.02)
