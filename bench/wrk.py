"""wrk: found or installed, run with a workload script, its JSON summary parsed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

LUA_DIR = Path(__file__).parent / "lua"
RESULT_PREFIX = "BENCH_RESULT "
# Slow queries must show in the latency, not be dropped as timeouts.
TIMEOUT = "60s"


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    statuses: dict[int, int]  # answers of 300 and above, by status
    socket_errors: int  # connect, read, write and timeout errors
    duration_s: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def errors(self) -> int:
        return sum(self.statuses.values()) + self.socket_errors

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def error_text(*runs: WrkResult) -> str:
    """The runs' errors together: '0', or e.g. '5 (503 x 3, socket 2)'."""
    statuses: dict[int, int] = {}
    for run in runs:
        for status, count in run.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    sockets = sum(run.socket_errors for run in runs)
    total = sum(statuses.values()) + sockets
    if not total:
        return "0"
    parts = [f"{status} x {count:,}" for status, count in sorted(statuses.items())]
    if sockets:
        parts.append(f"socket {sockets:,}")
    return f"{total:,} ({', '.join(parts)})"


def ensure_wrk() -> str:
    """The wrk binary, installed with apt-get when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        raise BenchError("wrk is not installed and apt-get is not available: install wrk.")
    print("wrk is missing: installing it with apt-get", flush=True)
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    install = [*prefix, apt, "install", "-y", "-q", "wrk"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run([*prefix, apt, "update", "-q"], env=env, check=False)
        subprocess.run(install, env=env, check=False)
    found = shutil.which("wrk")
    if found is None:
        raise BenchError(
            "wrk is not installed and `apt-get install -y wrk` failed: install wrk "
            "(Debian/Ubuntu package `wrk`) and run again."
        )
    return found


def version(wrk: str) -> str:
    # `wrk -v` prints its banner and exits non-zero.
    output = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    first = (output.stdout or output.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0] if first else "unknown"


def _parse(stdout: str) -> WrkResult:
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line.removeprefix(RESULT_PREFIX))
            return WrkResult(
                requests=data["requests"],
                statuses={int(status): n for status, n in data["statuses"].items()},
                socket_errors=data["socket_errors"],
                duration_s=data["duration_us"] / 1e6,
                p50_ms=data["p50"] / 1000,
                p90_ms=data["p90"] / 1000,
                p95_ms=data["p95"] / 1000,
                p99_ms=data["p99"] / 1000,
            )
    raise BenchError(f"wrk printed no summary:\n{stdout}")


def run(
    wrk: str,
    *,
    url: str,
    script: str,
    connections: int,
    duration: int,
    env: Mapping[str, str],
    tick: Callable[[float], None] = lambda elapsed: None,
) -> WrkResult:
    """One wrk run of `script` (a file in bench/lua); `tick` gets the seconds elapsed."""
    threads = min(2, connections)
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        TIMEOUT,
        "-s",
        str(LUA_DIR / script),
        url,
    ]
    full_env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), **env}
    started = time.monotonic()
    with subprocess.Popen(
        command, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        while True:
            tick(time.monotonic() - started)
            try:
                stdout, stderr = process.communicate(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                continue
    if process.returncode != 0:
        raise BenchError(f"wrk failed ({process.returncode}): {stderr.strip() or stdout}")
    return _parse(stdout)
