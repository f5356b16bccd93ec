"""A real `casedesk serve` process for tests that need several workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
