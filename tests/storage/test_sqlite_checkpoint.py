"""The server's SQLite connections leave WAL checkpoints to a background thread."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from casedesk.config import DEFAULT_SEARCH_TIMEOUT_SECONDS
from casedesk.storage import sqlite_checkpoint
from casedesk.storage.database import create_engine

ROWS = 1500
ROW_BYTES = 3000
STEADY_ROUNDS = 6000  # 18 MB of rows; without RESTART the log passes 70 MB


def test_inline_commits_leave_checkpoints_to_the_background_task(tmp_path: Path) -> None:
    """Until a checkpoint copies the log back, the database file holds none of the rows."""
    path = tmp_path / "wal.db"

    async def run() -> None:
        engine = create_engine(f"sqlite:///{path}", search_timeout_s=DEFAULT_SEARCH_TIMEOUT_SECONDS)
        try:
            async with engine.begin() as connection:
                await connection.exec_driver_sql("CREATE TABLE t (v BLOB)")
            for _ in range(ROWS):
                async with engine.begin() as connection:
                    await connection.exec_driver_sql(
                        f"INSERT INTO t VALUES (randomblob({ROW_BYTES}))"
                    )
            # The engine is still open, so no connection closing has checkpointed either.
            assert path.stat().st_size < ROWS * ROW_BYTES / 10
            async with sqlite_checkpoint.checkpoints(str(path), interval_s=0.01):
                for _ in range(500):
                    await asyncio.sleep(0.01)
                    if path.stat().st_size > ROWS * ROW_BYTES:
                        break
            assert path.stat().st_size > ROWS * ROW_BYTES
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_the_log_stays_bounded_under_a_steady_stream_of_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PASSIVE checkpoints alone are never complete when the next write begins, so the log
    would only grow; past the threshold a RESTART lets the next writer start it over."""
    monkeypatch.setattr(sqlite_checkpoint, "RESTART_ABOVE_BYTES", 256 * 1024)
    monkeypatch.setattr(sqlite_checkpoint, "JOURNAL_SIZE_LIMIT_BYTES", 256 * 1024)
    path = tmp_path / "steady.db"
    largest = 0

    async def run() -> None:
        nonlocal largest
        engine = create_engine(f"sqlite:///{path}", search_timeout_s=DEFAULT_SEARCH_TIMEOUT_SECONDS)
        try:
            async with engine.begin() as connection:
                await connection.exec_driver_sql("CREATE TABLE t (v BLOB)")
            async with sqlite_checkpoint.checkpoints(str(path), interval_s=0.005):
                for round_ in range(STEADY_ROUNDS):
                    async with engine.begin() as connection:
                        await connection.exec_driver_sql(
                            f"INSERT INTO t VALUES (randomblob({ROW_BYTES}))"
                        )
                    if round_ % 20 == 0:
                        await asyncio.sleep(0)
                        largest = max(largest, _wal_size(path))
        finally:
            await engine.dispose()

    asyncio.run(run())
    assert STEADY_ROUNDS * ROW_BYTES > 16 * 1024 * 1024  # more than the bound below
    assert largest < 16 * 1024 * 1024, f"the log reached {largest:,} bytes"


def _wal_size(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0
