"""`make bench` end to end on a tiny dataset, once per backend: every workload and search
class is reported with requests answered and no errors. No timing is asserted: the machine
is shared, and the harness is what is tested here."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from bench import settle, wrk
from psycopg import sql

from tests import databases

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = {"ceiling", "get", "search", "patch", "create", "mix"}
SEARCH_CLASSES = 31


def _table(report: str, first_headers: str) -> list[dict[str, str]]:
    """The rows of the Markdown table whose header row starts with `first_headers`."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_headers))
    headers = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(
            dict(zip(headers, (c.strip() for c in line.strip("|").split("|")), strict=True))
        )
    return rows


def _drop_postgres_database(name: str) -> None:
    with psycopg.connect(databases.POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="module", params=databases.BACKENDS)
def report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    backend: str = request.param
    directory = tmp_path_factory.mktemp(f"bench-{backend}")
    output = directory / "performance.md"
    postgres_database = f"casedesk_bench_test_{uuid.uuid4().hex[:12]}"
    command = [sys.executable, "-m", "bench", "--cases", "300", "--duration", "1"]
    command += ["--connections", "4", "--backends", backend, "--output", str(output)]
    command += ["--data-dir", str(directory / "data"), "--postgres-database", postgres_database]
    command += ["--settle-seconds", "3"]
    env = {**os.environ, "CASEDESK_BENCH_POSTGRES_URL": databases.POSTGRES_ADMIN_URL}
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
        )
    finally:
        if backend == "postgresql":
            _drop_postgres_database(postgres_database)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    return output.read_text()


def test_every_workload_is_reported_with_requests(report: str) -> None:
    rows = _table(report, "| backend | workload |")
    assert {row["workload"] for row in rows} == WORKLOADS
    assert all(int(row["requests"].replace(",", "")) > 0 for row in rows)


def test_no_workload_run_has_errors(report: str) -> None:
    rows = _table(report, "| backend | workload |")
    assert [row["errors"] for row in rows] == ["0"] * len(WORKLOADS)


def test_every_search_class_is_answered_without_errors(report: str) -> None:
    rows = _table(report, "| backend | query class |")
    assert len(rows) == SEARCH_CLASSES
    assert all(row["errors"] == "0" and float(row["SQL p50 ms"]) > 0 for row in rows)


def test_peak_memory_is_reported_for_both_workers(report: str) -> None:
    rows = _table(report, "| backend | worker pid |")
    assert len(rows) == 2
    assert all(float(row["peak MiB"].replace(",", "")) > 0 for row in rows)


def test_errors_are_counted_by_status_over_runs() -> None:
    def run(statuses: dict[int, int], sockets: int) -> wrk.WrkResult:
        return wrk.WrkResult(10, statuses, sockets, 1.0, 1.0, 1.0, 1.0, 1.0)

    assert wrk.error_text(run({}, 0), run({}, 0)) == "0"
    assert wrk.error_text(run({503: 2}, 1), run({503: 1, 429: 4}, 0)) == (
        "8 (429 x 4, 503 x 3, socket 1)"
    )


def test_waiting_for_quiet_ends_at_once_when_quiet_and_at_the_limit_when_busy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert 0.0 <= settle.busy_share(0.05) <= 1.0
    monkeypatch.setattr(settle, "busy_share", lambda window_s=0.0: 0.0)
    assert settle.until_quiet(5.0) < 0.5
    monkeypatch.setattr(settle, "busy_share", lambda window_s=0.0: time.sleep(0.01) or 0.9)
    assert 0.2 <= settle.until_quiet(0.2) < 1.0
