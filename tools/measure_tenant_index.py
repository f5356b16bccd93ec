"""Measure the shared text index against a tenant-leading one, on the same data, interleaved.

    .venv/bin/python tools/measure_tenant_index.py --backend postgresql --cases 50000 --reps 150
    .venv/bin/python tools/measure_tenant_index.py --backend sqlite --cases 50000 --reps 100

Two tenants of `--cases` cases each, with text drawn from one vocabulary; a word only tenant 2
has ("zqxwvut") and one only tenant 1 has ("plmoknij"), each in a tenth of its cases. Both
layouts index the same rows: PostgreSQL a GIN over the searched text (gin_trgm_ops) against
a GIN over (tenant_id, text) (btree_gin); SQLite the FTS5 trigram table against one with a
tenant column that MATCH is restricted to. Each query counts tenant 1's live hits, as a search
does, timed old and new in turn (order alternating). Prints the median of each and new/old.
Builds its own database (PostgreSQL: bench_tenant_index, dropped first; SQLite: a temporary
file). Not a test: absolute numbers drift between runs; the ratio is what to read.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable

import psycopg

OTHER_TENANTS_WORD = "zqxwvut"
OWN_WORD = "plmoknij"
ABSENT_WORD = "qqqzzzx"
PG_DOC = (
    "lower(case_number || ' ' || subject || ' ' || coalesce(description, '') || ' ' || "
    "coalesce(customer_name, ''))"
)


def _rows(cases: int) -> tuple[list[tuple[int, str, str, str, str]], list[str]]:
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(5000)]

    def text(words: int) -> str:
        return " ".join(rng.choice(vocab) for _ in range(words))

    rows = []
    for tenant in (1, 2):
        for n in range(cases):
            own = {1: OWN_WORD, 2: OTHER_TENANTS_WORD}[tenant] if n % 10 == 0 else ""
            rows.append((tenant, f"CS-{1001 + n}", f"{text(5)} {own}", text(30), text(2)))
    return rows, vocab


def _words(vocab: list[str]) -> dict[str, str]:
    shared = next(word for word in vocab if len(word) >= 6)
    return {
        "other tenant's word": OTHER_TENANTS_WORD,
        "own word": OWN_WORD,
        "absent word": ABSENT_WORD,
        f"shared word {shared!r}": shared,
        f"shared trigram {vocab[0][:3]!r}": vocab[0][:3],
    }


def _postgresql(cases: int) -> tuple[dict[str, Callable[[str], int]], list[str]]:
    url = os.environ.get("CASEDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{url}/postgres", autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS bench_tenant_index")
        admin.execute("CREATE DATABASE bench_tenant_index")
    db = psycopg.connect(f"{url}/bench_tenant_index", autocommit=True)
    db.execute("CREATE EXTENSION pg_trgm")
    db.execute("CREATE EXTENSION btree_gin")
    rows, vocab = _rows(cases)
    for table, indexed in (
        ("old", f"({PG_DOC}) gin_trgm_ops"),
        ("new", f"tenant_id, ({PG_DOC}) gin_trgm_ops"),
    ):
        db.execute(
            f"CREATE TABLE {table} (pk bigserial PRIMARY KEY, tenant_id int NOT NULL, "
            'case_number varchar(50) COLLATE "C" NOT NULL, subject varchar(500) COLLATE "C" '
            'NOT NULL, description text COLLATE "C", customer_name varchar(200) COLLATE "C", '
            "deleted_date timestamptz)"
        )
        columns = "tenant_id, case_number, subject, description, customer_name"
        with db.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        db.execute(
            f"CREATE INDEX ix_{table}_live ON {table} (tenant_id, pk) WHERE deleted_date IS NULL"
        )
        started = time.monotonic()
        db.execute(f"CREATE INDEX ix_{table}_text ON {table} USING gin ({indexed})")
        print(f"{table} index built in {time.monotonic() - started:.1f} s")
        db.execute(f"VACUUM ANALYZE {table}")

    def counter(table: str) -> Callable[[str], int]:
        sql = (
            f"SELECT count(*) FROM {table} WHERE tenant_id = 1 AND deleted_date IS NULL "
            f"AND {PG_DOC} LIKE %s"
        )
        return lambda word: int(db.execute(sql, (f"%{word}%",)).fetchone()[0])  # type: ignore[index]

    return {"old": counter("old"), "new": counter("new")}, vocab


def _sqlite(cases: int) -> tuple[dict[str, Callable[[str], int]], list[str]]:
    path = os.path.join(tempfile.mkdtemp(), "bench.db")
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(
        """
        PRAGMA journal_mode=WAL;
        CREATE TABLE cases (pk INTEGER PRIMARY KEY, tenant_id INT NOT NULL,
          case_number TEXT NOT NULL, subject TEXT NOT NULL, description TEXT,
          customer_name TEXT, deleted_date TEXT);
        CREATE INDEX ix_live ON cases (tenant_id, pk) WHERE deleted_date IS NULL;
        CREATE VIRTUAL TABLE fts_old USING fts5(case_number, subject, description,
          customer_name, content='cases', content_rowid='pk', tokenize='trigram');
        CREATE VIEW fts_source AS SELECT pk, printf('%08d', tenant_id) AS tenant, case_number,
          subject, description, customer_name FROM cases;
        CREATE VIRTUAL TABLE fts_new USING fts5(tenant, case_number, subject, description,
          customer_name, content='fts_source', content_rowid='pk', tokenize='trigram');
        """
    )
    rows, vocab = _rows(cases)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO cases (tenant_id, case_number, subject, description, customer_name) "
        "VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    db.execute("COMMIT")
    for table in ("fts_old", "fts_new"):
        started = time.monotonic()
        db.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")
        db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
        print(f"{table} built in {time.monotonic() - started:.1f} s")
    db.execute("ANALYZE")

    def counter(table: str, match: Callable[[str], str]) -> Callable[[str], int]:
        sql = (
            "SELECT count(*) FROM cases WHERE tenant_id = 1 AND deleted_date IS NULL "
            f"AND pk IN (SELECT rowid FROM {table} WHERE {table} MATCH ?)"
        )
        return lambda word: int(db.execute(sql, (match(word),)).fetchone()[0])

    return {
        "old": counter("fts_old", lambda word: f'"{word}"'),
        "new": counter("fts_new", lambda word: f'{{tenant}} : "00000001" AND "{word}"'),
    }, vocab


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--cases", type=int, default=50_000, help="cases per tenant")
    parser.add_argument("--reps", type=int, default=100)
    options = parser.parse_args()
    build = _sqlite if options.backend == "sqlite" else _postgresql
    layouts, vocab = build(options.cases)
    words = _words(vocab)
    times: dict[tuple[str, str], list[float]] = {
        (layout, word): [] for layout in layouts for word in words
    }
    hits: dict[tuple[str, str], int] = {}
    for rep in range(options.reps):
        for name, word in words.items():
            order = ["old", "new"] if rep % 2 == 0 else ["new", "old"]
            for layout in order:
                started = time.perf_counter()
                hits[layout, name] = layouts[layout](word)
                times[layout, name].append(time.perf_counter() - started)
    for name in words:
        assert hits["old", name] == hits["new", name], (name, hits)
        old, new = (statistics.median(times[layout, name]) * 1000 for layout in ("old", "new"))
        print(
            f"{name:28} hits {hits['old', name]:6}  old {old:7.2f} ms  new {new:7.2f} ms  "
            f"new/old {new / old:5.2f}"
        )


if __name__ == "__main__":
    main()
