"""The harness's command line."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

BACKENDS = ("sqlite", "postgresql")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Options:
    cases: int
    backends: tuple[str, ...]
    duration: int
    connections: int
    class_duration: int
    class_connections: int
    output: Path
    reuse: bool
    data_dir: Path
    postgres_url: str
    postgres_database: str
    seed: int
    settle_seconds: float
    argv: tuple[str, ...]


def _backends(value: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = [name for name in names if name not in BACKENDS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(BACKENDS)}; got {value!r}")
    return names


def _positive(value: str) -> int:
    number = int(value.replace(",", "").replace("_", ""))
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return number


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Seed, serve and load casedesk with wrk; write docs/performance.md.",
    )
    add = parser.add_argument
    add("--cases", type=_positive, default=1_000_000, help="dataset size (default 1,000,000)")
    add("--backends", type=_backends, default=BACKENDS, help="sqlite,postgresql (default both)")
    add("--duration", type=_positive, default=15, help="seconds per workload run (default 15)")
    add("--connections", type=_positive, default=32, help="wrk connections (default 32)")
    add(
        "--class-duration",
        type=_positive,
        help="seconds per search query class run (default: duration / 5, at least 1)",
    )
    add(
        "--class-connections",
        type=_positive,
        default=1,
        help="connections per search class run (default 1: the query alone, comparable to SQL)",
    )
    add("--output", type=Path, default=Path("docs/performance.md"), help="the report to update")
    add("--reuse", action="store_true", help="reuse a database already seeded to this size")
    add("--data-dir", type=Path, default=Path(".bench"), help="SQLite files and run data")
    add(
        "--postgres-database",
        help="PostgreSQL database name (default casedesk_bench_<cases>)",
    )
    add("--seed", type=int, default=1, help="seed for the data and the request mix (default 1)")
    add(
        "--settle-seconds",
        type=float,
        default=120.0,
        help="after each run, wait up to this long for the CPUs to go quiet (default 120)",
    )
    args = parser.parse_args(argv)
    return Options(
        cases=args.cases,
        backends=args.backends,
        duration=args.duration,
        connections=args.connections,
        class_duration=args.class_duration or max(1, round(args.duration / 5)),
        class_connections=args.class_connections,
        output=args.output,
        reuse=args.reuse,
        data_dir=args.data_dir,
        postgres_url=os.environ.get("CASEDESK_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        postgres_database=args.postgres_database or f"casedesk_bench_{args.cases}",
        seed=args.seed,
        settle_seconds=args.settle_seconds,
        argv=tuple(argv),
    )
