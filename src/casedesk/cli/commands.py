"""The command line: `casedesk serve`, `db upgrade`, `users …`, `tenants …`, `keys rotate`."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
import uvicorn
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk import clock
from casedesk.auth import keys
from casedesk.auth import repository as users_repository
from casedesk.auth import service as auth_service
from casedesk.cli.boundary import GuardedGroup, read_settings
from casedesk.config import (
    MAX_TOKEN_LIFETIME_SECONDS,
    VERIFICATIONS_ENV,
    Settings,
    database_backend,
    verifications_per_worker,
)
from casedesk.errors import DomainError
from casedesk.http.request_log import logging_config
from casedesk.ratelimit.shared_file import shared_by_workers
from casedesk.schema import migrate
from casedesk.storage import sqlite_checkpoint
from casedesk.storage.database import Database
from casedesk.tenants import repository as tenants_repository
from casedesk.tenants import service as tenants_service
from casedesk.tenants.models import DEFAULT_TENANT

app = typer.Typer(
    cls=GuardedGroup,
    help="casedesk: case management that speaks the Omnium Cases API.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="API users (client id + secret).", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants.", no_args_is_help=True)
keys_app = typer.Typer(help="The key that signs access tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tenants_app, name="tenants")
app.add_typer(keys_app, name="keys")

T = TypeVar("T")
# Idle keep-alive connections are closed after this long; the pending-connection queue is
# the kernel's (uvicorn's default): docs/operations.md, "Timeouts and limits".
KEEP_ALIVE_SECONDS = 5
BACKLOG = 2048


def _migrated(ctx: typer.Context) -> Settings:
    """The settings, with the database brought to the latest schema first: every command
    that uses the database does this, as `serve` always has."""
    settings = read_settings(ctx)
    migrate.upgrade(settings.database_url)
    return settings


def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one use case in one transaction, as a request would."""

    async def run() -> T:
        db = Database.connect(
            settings.database_url, search_timeout_s=settings.search_timeout_seconds
        )
        try:
            async with db.writers() as session, session.begin():
                return await work(session)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except DomainError as error:
        typer.secho(f"error: {error.detail}", fg="red", err=True)
        raise typer.Exit(1) from None


@contextmanager
def _unless_set(name: str, value: str) -> Iterator[None]:
    """`name` in the environment the workers inherit, if the operator has not set it."""
    if name in os.environ:
        yield
        return
    os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Apply pending migrations, then serve the API."""
    settings = _migrated(ctx)
    if database_backend(settings.database_url) == "sqlite":
        sqlite_checkpoint.truncate(make_url(settings.database_url).database or "")
    owner = _in_transaction(settings, auth_service.bootstrap_owner)
    if owner is not None:
        typer.secho(
            "Created the first API user (ApiOwner). Its secret is shown only now:", bold=True
        )
        typer.echo(f"  ClientId:     {owner.client_id}")
        typer.echo(f"  ClientSecret: {owner.client_secret}")
        typer.echo(
            f"  Get a token:  curl -X POST 'http://{host}:{port}/api/token"
            f"?clientId={owner.client_id}&clientSecret={owner.client_secret}'"
        )
    typer.echo(f"Serving on http://{host}:{port} (Swagger UI at /swagger)")
    # Several workers share one rate limit table, created here and handed down in the env;
    # unless set, they share the CPUs for Argon2 the same way.
    with (
        shared_by_workers(settings.rate_limits, workers=workers),
        _unless_set(VERIFICATIONS_ENV, str(verifications_per_worker(workers))),
    ):
        uvicorn.run(
            "casedesk.main:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level.lower(),
            # JSON lines on stderr; casedesk logs each request itself (observability.py),
            # without the query strings uvicorn's access log would print.
            log_config=logging_config(settings.log_level),
            access_log=False,
            # Beyond this many connections (or requests in flight) per worker, a new request
            # gets an immediate 503 instead of queueing.
            limit_concurrency=settings.max_connections,
            backlog=BACKLOG,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply every pending migration."""
    _migrated(ctx)
    typer.echo("Database is at the latest schema.")


@db_app.command("check")
def db_check(ctx: typer.Context) -> None:
    """Check the database, its search index and the cases' bookkeeping; exit 1 on a problem."""
    from casedesk import integrity

    try:
        report = integrity.check(read_settings(ctx).database_url)
    except DomainError as error:
        typer.secho(f"error: {error.detail}", fg="red", err=True)
        raise typer.Exit(2) from None
    for check, problems in report.results:
        if not problems:
            typer.echo(f"ok    {check}")
        for problem in problems:
            typer.secho(f"FAIL  {check}: {problem}", fg="red")
    for note in report.notes:
        typer.secho(f"note  {note}", fg="yellow")
    if not report.ok:
        typer.secho(f"The database has {len(report.problems)} problem(s).", fg="red", bold=True)
        raise typer.Exit(1)
    typer.echo(f"The database is consistent ({len(report.results)} checks passed).")


@users_app.command("create")
def users_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A display name for the API user.")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            help=(
                "CaseRead, CaseAdmin, ApiOwner, AllMarkets or market-<MarketId>; "
                "repeat for several."
            ),
        ),
    ],
    market: Annotated[
        list[str] | None,
        typer.Option(
            "--market",
            help="Limit the user to this MarketId; repeat for several. Without it: all markets.",
        ),
    ] = None,
    tenant: Annotated[str, typer.Option(help="The tenant the user belongs to.")] = DEFAULT_TENANT,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create an API user and print its ClientId and ClientSecret (shown only once)."""

    async def work(session: AsyncSession) -> auth_service.NewUser:
        return await auth_service.create_user(
            session, name=name, roles=role, markets=market or [], tenant=tenant
        )

    user = _in_transaction(_migrated(ctx), work)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ClientId": user.client_id,
                    "ClientSecret": user.client_secret,
                    "Name": user.name,
                    "Roles": user.roles,
                    "Tenant": user.tenant,
                }
            )
        )
        return
    typer.echo(f"ClientId:     {user.client_id}")
    typer.echo(f"ClientSecret: {user.client_secret}")
    typer.echo(f"Roles:        {', '.join(user.roles)}")
    typer.echo(f"Tenant:       {user.tenant}")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """List API users (never their secrets)."""

    async def work(session: AsyncSession) -> list[tuple[str, str, str, str, bool]]:
        tenants = {t.id: t.name for t in await tenants_repository.list_all(session)}
        return [
            (u.client_id, u.name, tenants.get(u.tenant_id, "?"), ", ".join(u.roles), u.active)
            for u in await users_repository.list_users(session)
        ]

    for client_id, name, tenant, roles, active in _in_transaction(_migrated(ctx), work):
        state = "active" if active else "deactivated"
        typer.echo(f"{client_id}  {name}  tenant={tenant}  roles=[{roles}]  {state}")


@users_app.command("deactivate")
def users_deactivate(
    ctx: typer.Context,
    client_id: Annotated[str, typer.Argument(help="The user's ClientId.")],
) -> None:
    """Deactivate an API user: its tokens stop working at once."""

    async def work(session: AsyncSession) -> None:
        await auth_service.deactivate_user(session, client_id=client_id)

    _in_transaction(_migrated(ctx), work)
    typer.echo(f"Deactivated {client_id}.")


@tenants_app.command("create")
def tenants_create(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The tenant's name.")]
) -> None:
    """Create a tenant."""

    async def work(session: AsyncSession) -> str:
        return (await tenants_service.create_tenant(session, name=name)).name

    typer.echo(f"Created tenant {_in_transaction(_migrated(ctx), work)}.")


@keys_app.command("rotate")
def keys_rotate(
    ctx: typer.Context,
    grace_seconds: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=MAX_TOKEN_LIFETIME_SECONDS,
            help=(
                "How long tokens signed with the old key stay valid. "
                "Default: the token lifetime, so every token issued so far lives out its life."
            ),
        ),
    ] = None,
) -> None:
    """Sign tokens with a new stored key from the next start of `casedesk serve` on."""
    settings = _migrated(ctx)
    if settings.secret_key:
        typer.secho(
            "error: CASEDESK_SECRET_KEY is set, so the key in the database is not used.",
            fg="red",
            err=True,
        )
        typer.echo(
            "To rotate it: move its value to CASEDESK_PREVIOUS_SECRET_KEY, set a new "
            "CASEDESK_SECRET_KEY, restart, and unset CASEDESK_PREVIOUS_SECRET_KEY once the "
            "token lifetime has passed (docs/operations.md).",
            err=True,
        )
        raise typer.Exit(2)
    grace = settings.token_lifetime_seconds if grace_seconds is None else grace_seconds

    async def work(session: AsyncSession) -> str | None:
        return clock.format_utc(await keys.rotate(session, grace_seconds=grace))

    until = _in_transaction(settings, work)
    if until is None:
        typer.echo("There was no signing key yet: generated one.")
        return
    typer.echo("Rotated the signing key. Restart `casedesk serve` to sign tokens with the new one.")
    typer.echo(
        f"Tokens signed with the old key are accepted until {until}; a server not yet "
        "restarted still signs and accepts them until it is."
    )


@app.command()
def seed(
    ctx: typer.Context,
    cases: Annotated[int, typer.Option(min=1, help="How many cases to generate.")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same cases.")] = 1,
    tenant: Annotated[str, typer.Option(help="The tenant to load them into.")] = DEFAULT_TENANT,
) -> None:
    """Load realistic, deterministic cases straight into the database (for demos and benchmarks)."""
    from casedesk.seeding import loader

    settings = _migrated(ctx)
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>14}"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    ) as progress:
        task = progress.add_task("seeding", total=cases, rate="-")
        index_task: TaskID | None = None

        def advance(done: int) -> None:
            progress.advance(task, done)
            elapsed = time.perf_counter() - started
            completed = progress.tasks[0].completed
            progress.update(task, rate=f"{completed / elapsed:,.0f} cases/s")

        def indexes_built(done: int, total: int) -> None:
            nonlocal index_task
            if index_task is None:
                index_task = progress.add_task("indexes", total=total, rate="after the load")
            progress.update(index_task, completed=done)

        try:
            loader.seed(
                settings.database_url,
                cases=cases,
                seed=seed,
                tenant=tenant,
                progress=advance,
                indexes_built=indexes_built,
            )
        except DomainError as error:
            typer.secho(f"error: {error.detail}", fg="red", err=True)
            raise typer.Exit(1) from None
    elapsed = time.perf_counter() - started
    typer.echo(
        f"Seeded {cases:,} cases into tenant {tenant!r} in {elapsed:,.1f} s "
        f"({cases / elapsed:,.0f} cases/s), search indexes included."
    )


def main() -> None:
    app()
