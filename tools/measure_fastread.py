"""Measure the PostgreSQL fast reader: its hand-kept queue of connections (storage/fastread.py)
against psycopg_pool, by single-row primary-key reads through each.

    .venv/bin/python tools/measure_fastread.py                    # 20 rounds of 2,000 reads
    .venv/bin/python tools/measure_fastread.py --rounds 10 --reads 5000 --in-flight 16

Both readers run in this process against one temporary database (made through
CASEDESK_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres, as the
tests do, and dropped afterwards), in interleaved rounds whose order alternates, so that
drift of the machine falls on both alike. Each round is timed twice: one read at a time, and
--in-flight reads at once (as a worker under load has them). Not a test: absolute numbers
drift between runs; the ratio is what to read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.engine import make_url

from casedesk.storage.fastread import POSTGRES_CONNECTIONS, FastReader, PostgresReader

POSTGRES_ADMIN_URL = os.environ.get(
    "CASEDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ROWS = 1_000
READ = "SELECT id, name FROM measured WHERE id = %s"


class PoolReader:
    """The alternative measured, and rejected (slower): fastread.PostgresReader's connections
    kept by psycopg_pool, opened on the first read."""

    backend = "postgresql"

    def __init__(self, url: str) -> None:
        self._pool = AsyncConnectionPool(
            url,
            kwargs={"autocommit": True},
            min_size=POSTGRES_CONNECTIONS,
            max_size=POSTGRES_CONNECTIONS,
            open=False,
        )

    async def one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if self._pool.closed:
            await self._pool.open()
        async with self._pool.connection() as connection:
            cursor = await connection.execute(sql, params, prepare=True)
            row: tuple[Any, ...] | None = await cursor.fetchone()
        return row

    async def close(self) -> None:
        await self._pool.close()


@contextmanager
def temporary_database() -> Iterator[str]:
    name = f"casedesk_measure_fastread_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("CREATE TABLE measured (id integer PRIMARY KEY, name text)")
            with connection.cursor().copy("COPY measured (id, name) FROM STDIN") as copy:
                for n in range(ROWS):
                    copy.write_row((n, f"row {n}"))
        yield url
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


async def one_at_a_time(reader: FastReader, reads: int) -> float:
    started = time.perf_counter()
    for n in range(reads):
        await reader.one(READ, (n % ROWS,))
    return time.perf_counter() - started


async def in_flight(reader: FastReader, reads: int, at_once: int) -> float:
    async def lane(first: int) -> None:
        for n in range(first, reads, at_once):
            await reader.one(READ, (n % ROWS,))

    started = time.perf_counter()
    await asyncio.gather(*(lane(first) for first in range(at_once)))
    return time.perf_counter() - started


async def measure(url: str, *, rounds: int, reads: int, at_once: int) -> dict[str, list[float]]:
    """Microseconds per read, one figure per round, for each reader and mode."""
    readers: dict[str, FastReader] = {
        "psycopg_pool": PoolReader(url),
        "hand queue": PostgresReader(url),
    }
    figures: dict[str, list[float]] = {
        f"{name}, {mode}": [] for name in readers for mode in ("1 at a time", "in flight")
    }
    try:
        for reader in readers.values():  # warm up: connections opened, statements prepared
            await in_flight(reader, POSTGRES_CONNECTIONS * 50, POSTGRES_CONNECTIONS)
        with Progress(transient=True) as progress:
            task = progress.add_task("reads", total=rounds * len(readers) * 2 * reads)
            for round_ in range(rounds):
                order = list(readers.items())
                if round_ % 2:
                    order.reverse()
                for name, reader in order:
                    seconds = await one_at_a_time(reader, reads)
                    figures[f"{name}, 1 at a time"].append(seconds / reads * 1e6)
                    progress.advance(task, reads)
                    seconds = await in_flight(reader, reads, at_once)
                    figures[f"{name}, in flight"].append(seconds / reads * 1e6)
                    progress.advance(task, reads)
    finally:
        for reader in readers.values():
            await reader.close()
    return figures


def summary(figures: dict[str, list[float]], *, reads: int, at_once: int) -> Table:
    table = Table(title=f"µs per single-row read ({reads:,} reads a round; in flight: {at_once})")
    for column in ("reader, mode", "median", "min", "max", "vs hand queue"):
        table.add_column(column, justify="left" if column == "reader, mode" else "right")
    for name, values in figures.items():
        mode = name.partition(", ")[2]
        hand = statistics.median(figures[f"hand queue, {mode}"])
        median = statistics.median(values)
        table.add_row(
            name,
            f"{median:.1f}",
            f"{min(values):.1f}",
            f"{max(values):.1f}",
            f"{median / hand:.3f}",
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--reads", type=int, default=2_000, help="reads per reader per round")
    parser.add_argument("--in-flight", type=int, default=16, dest="at_once")
    args = parser.parse_args()
    with temporary_database() as url:
        figures = asyncio.run(
            measure(url, rounds=args.rounds, reads=args.reads, at_once=args.at_once)
        )
    Console().print(summary(figures, reads=args.reads, at_once=args.at_once))


if __name__ == "__main__":
    main()
