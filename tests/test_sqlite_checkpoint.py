"""The server's SQLite connections leave WAL checkpoints to a background thread."""

from __future__ import annotations

import asyncio
from pathlib import Path

from casedesk import sqlite_checkpoint
from casedesk.db import create_engine

ROWS = 1500
ROW_BYTES = 3000


def test_inline_commits_leave_checkpoints_to_the_background_task(tmp_path: Path) -> None:
    """Until a checkpoint copies the log back, the database file holds none of the rows."""
    path = tmp_path / "wal.db"

    async def run() -> None:
        engine = create_engine(f"sqlite:///{path}")
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
