"""The machine and the software a run measured, for the report's header."""

from __future__ import annotations

import os
import platform
import sqlite3
from importlib import metadata
from pathlib import Path

import psycopg

from bench import wrk as wrk_tool


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return 0.0


def machine() -> dict[str, str]:
    return {
        "CPUs (nproc)": str(len(os.sched_getaffinity(0))),
        "memory": f"{_memory_gib():.1f} GiB",
        "CPU": _cpu_model(),
        "OS": f"{platform.system()} {platform.release()}",
    }


def _postgres_version(admin_url: str) -> str:
    try:
        with psycopg.connect(admin_url, connect_timeout=5) as connection:
            row = connection.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else "unknown"
    except psycopg.OperationalError:
        return "unreachable"


def versions(wrk: str, *, postgres_url: str | None) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("fastapi", "uvicorn", "pydantic", "sqlalchemy"):
        found[package] = metadata.version(package)
    found["sqlite"] = sqlite3.sqlite_version
    if postgres_url is not None:
        found["postgresql server"] = _postgres_version(postgres_url)
    found["wrk"] = wrk_tool.version(wrk)
    return found
