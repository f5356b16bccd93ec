"""Measure batch writes against one-by-one requests: cases/s of each, and the ratio.

    .venv/bin/python tools/measure_batch.py                      # in process: SQLite and PostgreSQL
    .venv/bin/python tools/measure_batch.py --backend sqlite     # in process: SQLite only
    .venv/bin/python tools/measure_batch.py --base-url http://127.0.0.1:8000 --token <JWT>

In process, the app runs on httpx's ASGITransport (no network, no server) against a fresh
temporary database that is dropped afterwards; PostgreSQL is reached through
CASEDESK_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres), as the
tests do. Against a base URL the script starts nothing and writes real cases there.
Not a test: absolute numbers drift between runs; the ratio is what to read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from psycopg import sql

from casedesk.auth import service as auth_service
from casedesk.config import DEFAULT_SEARCH_TIMEOUT_SECONDS, Settings
from casedesk.main import create_app
from casedesk.schema import migrate
from casedesk.storage.database import Database

POSTGRES_ADMIN_URL = os.environ.get(
    "CASEDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SECRET_KEY = "measure-batch-signing-key-long-enough-for-hs256"


def case(n: int, run: str) -> dict[str, Any]:
    """The reference's Create example, made distinct."""
    return {
        "Subject": f"Order arrived damaged ({run} #{n})",
        "Description": "Customer reports that package was visibly damaged on arrival.",
        "Priority": "High",
        "Source": "Phone",
        "CustomerEmail": "customer@example.com",
        "Tags": ["Shipping", "Product Issue"],
        "RelatedOrders": [f"ORD-{n}"],
    }


async def timed(work: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def measure(client: httpx.AsyncClient, count: int) -> list[tuple[str, float, float]]:
    """(what, one-by-one cases/s, batch cases/s) for creates and for patches."""
    run = uuid.uuid4().hex[:8]
    for n in range(5):  # warm up: connections, caches, the first token check
        assert (await client.post("/api/cases", json=case(n, f"warm-{run}"))).status_code == 201

    single_ids: list[str] = []

    async def create_one_by_one() -> None:
        for n in range(count):
            response = await client.post("/api/cases", json=case(n, f"single-{run}"))
            assert response.status_code == 201, response.text
            single_ids.append(response.json()["Id"])

    batch_ids: list[str] = []

    async def create_in_a_batch() -> None:
        items = [case(n, f"batch-{run}") for n in range(count)]
        response = await client.post("/api/cases/addmany", json=items)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["CreatedCount"] == count, body["Errors"][:3]
        batch_ids.extend(item["Id"] for item in body["Items"])

    async def patch_one_by_one() -> None:
        for case_id in single_ids:
            patch = {"Id": case_id, "Priority": "Critical", "Status": "In Progress"}
            response = await client.patch("/api/cases", json=patch)
            assert response.status_code == 200, response.text

    async def patch_in_a_batch() -> None:
        items = [{"Id": i, "Priority": "Critical", "Status": "In Progress"} for i in batch_ids]
        response = await client.patch("/api/cases/patchmany", json=items)
        assert response.status_code == 200, response.text
        assert response.json()["UpdatedCount"] == count

    creates = (await timed(create_one_by_one), await timed(create_in_a_batch))
    patches = (await timed(patch_one_by_one), await timed(patch_in_a_batch))
    return [
        ("create", count / creates[0], count / creates[1]),
        ("patch", count / patches[0], count / patches[1]),
    ]


def report(label: str, results: list[tuple[str, float, float]]) -> None:
    for what, single, batched in results:
        print(
            f"{label:<12} {what:<7} one-by-one {single:8.0f} cases/s   "
            f"batch {batched:8.0f} cases/s   ratio {batched / single:5.1f}x"
        )


@asynccontextmanager
async def temporary_database(backend: str) -> AsyncIterator[str]:
    """A migrated database of its own, dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite:///{Path(directory) / 'measure.db'}"
            migrate.upgrade(url)
            yield url
        return
    name = f"casedesk_measure_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))


async def in_process(backend: str, count: int) -> list[tuple[str, float, float]]:
    async with temporary_database(backend) as url:
        db = Database.connect(url, search_timeout_s=DEFAULT_SEARCH_TIMEOUT_SECONDS)
        try:
            async with db.writers() as session, session.begin():
                user = await auth_service.create_user(
                    session, name="measure", roles=["CaseAdmin"], markets=[]
                )
        finally:
            await db.dispose()
        app = create_app(Settings(database_url=url, secret_key=SECRET_KEY))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://casedesk"
            ) as client,
        ):
            token = await client.post(
                "/api/token",
                params={"clientId": user.client_id, "clientSecret": user.client_secret},
            )
            client.headers["Authorization"] = f"Bearer {token.text}"
            return await measure(client, count)


async def remote(base_url: str, token: str, count: int) -> list[tuple[str, float, float]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as client:
        return await measure(client, count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="cases per run (at most 1,000)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--base-url", help="measure a running server instead, e.g. http://…:8000")
    parser.add_argument("--token", help="a CaseAdmin token for --base-url")
    args = parser.parse_args()
    if args.base_url:
        if not args.token:
            parser.error("--base-url needs --token")
        report(args.base_url, asyncio.run(remote(args.base_url, args.token, args.count)))
        return 0
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        report(backend, asyncio.run(in_process(backend, args.count)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
