"""A real `casedesk serve --workers 2` on a free port, its API user, token and workers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.wrk import BenchError

CASEDESK = Path(sys.executable).parent / "casedesk"
WORKERS = 2
STARTUP_SECONDS = 120


@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int
    log_path: Path

    def trim_log(self) -> None:
        """Empty the log (the access log grows with every request); it is opened to append."""
        self.log_path.write_bytes(b"")


# One API user drives thousands of requests a second: limits far above that keep the limiter
# on the measured path (its cost included) without ever refusing a request.
RAISED_RATE_LIMITS = {
    "CASEDESK_RATE_LIMIT_CONCURRENT": "10000",
    "CASEDESK_RATE_LIMIT_BURST": "1000000",
    "CASEDESK_RATE_LIMIT_REFILL": "1000000",
    "CASEDESK_RATE_LIMIT_REFILL_SECONDS": "1",
}


def casedesk_env(database_url: str) -> dict[str, str]:
    return {**os.environ, **RAISED_RATE_LIMITS, "CASEDESK_DATABASE_URL": database_url}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def create_user(database_url: str) -> tuple[str, str]:
    """A new CaseAdmin (all markets) through the CLI: its ClientId and ClientSecret."""
    done = subprocess.run(
        [str(CASEDESK), "users", "create", "bench", "--role", "CaseAdmin", "--json"],
        env=casedesk_env(database_url),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"casedesk users create failed: {done.stderr.strip()}")
    user = json.loads(done.stdout.strip().splitlines()[-1])
    return user["ClientId"], user["ClientSecret"]


def token(base_url: str, client_id: str, client_secret: str) -> str:
    query = urllib.parse.urlencode({"clientId": client_id, "clientSecret": client_secret})
    request = urllib.request.Request(f"{base_url}/api/token?{query}", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.read().decode())


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/health", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def serving(database_url: str, *, log_path: Path) -> Iterator[Server]:
    """Serve on 127.0.0.1 until the block ends, whatever happens inside it."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [str(CASEDESK), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*command, "--workers", str(WORKERS)],
            env=casedesk_env(database_url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process.pid, log_path)
    try:
        _wait_until_healthy(process, server)
        yield server
    finally:
        _stop(process, [(pid, _start_time(pid)) for pid in worker_pids(process.pid)])


def _wait_until_healthy(process: subprocess.Popen[bytes], server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not _healthy(server.base_url):
        if process.poll() is not None:
            raise BenchError(
                f"casedesk serve exited early:\n{server.log_path.read_text(errors='replace')}"
            )
        if time.monotonic() > deadline:
            raise BenchError(f"casedesk serve did not answer /health in {STARTUP_SECONDS} s")
        time.sleep(0.2)
    # Both workers must be up before the first measurement.
    while len(worker_pids(process.pid)) < WORKERS and time.monotonic() < deadline:
        time.sleep(0.2)


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _stop(process: subprocess.Popen[bytes], workers: list[tuple[int, str | None]]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pid, started in workers:
        # Only this server's own workers, should the supervisor have left one behind: the
        # start time tells a worker from a later process that reused its pid.
        if started is not None and _start_time(pid) == started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children.extend(int(child) for child in task.read_text().split())
        except OSError:
            continue
    return children


def worker_pids(pid: int) -> list[int]:
    """The uvicorn worker processes of a `casedesk serve` (not multiprocessing's helpers)."""
    workers = []
    for child in _children(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            workers.append(child)
    return sorted(workers)


def peak_memory_mib(pid: int) -> float | None:
    """VmHWM, the process's peak resident memory, from /proc/<pid>/status."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None
