"""The one error boundary around every command: a mistake in the setup (a setting casedesk
cannot use, a database it cannot reach, open or find its tables in) is told in one or two
lines on stderr with exit code 2, instead of a traceback of hundreds of lines. Any other
exception is a bug and keeps its traceback: a locked database, a deadlock, a full disk or a
cancelled statement happen to a setup that works."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, NoReturn

import psycopg
import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from typer.core import TyperGroup

from casedesk.config import ConfigError, Settings

SETUP_MISTAKE = 2
# PostgreSQL's undefined_table; and the classes of a refused connection: connection
# exception (08…), invalid authorization (28…), and invalid_catalog_name (no such database).
_UNDEFINED_TABLE = "42P01"
_CANNOT_CONNECT = ("08", "28", "3D000")


class GuardedGroup(TyperGroup):
    """The command group that runs every command inside the boundary."""

    # Typer hands over the Context of its own copy of click, a private type (typer.Context is
    # a subclass of it): Any, rather than importing typer._click.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            _fail(str(error))
        except DBAPIError as error:
            settings = ctx.obj
            if not isinstance(settings, Settings) or not setup_mistake(error):
                raise
            _fail(*explain(error, settings.database_url))


def read_settings(ctx: typer.Context) -> Settings:
    """The settings from the environment, kept in the root context (ctx.obj): the boundary
    explains a database it cannot use with the URL the command used."""
    settings = ctx.find_root().obj = Settings.from_env()
    return settings


def setup_mistake(error: DBAPIError) -> bool:
    """Whether the database could not be reached, opened, or has no casedesk tables yet."""
    if _missing_table(error):
        return True
    original = error.orig
    if isinstance(original, psycopg.Error):
        # psycopg keeps the connection on an error raised by the attempt to make one.
        return original.pgconn is not None or (original.sqlstate or "").startswith(_CANNOT_CONNECT)
    return getattr(original, "sqlite_errorname", None) == "SQLITE_CANTOPEN"


def explain(error: DBAPIError, url: str) -> tuple[str, str]:
    """What went wrong with the database at `url`, and what to do about it."""
    shown = make_url(url).render_as_string(hide_password=True)
    reason = " ".join(str(error.orig).splitlines()[0].split()) if str(error.orig) else "?"
    if _missing_table(error):
        return f"the database {shown} has no casedesk tables ({reason})", (
            "Run `casedesk db upgrade` first."
        )
    if isinstance(error.orig, sqlite3.Error):
        directory = str(Path(make_url(url).database or ".").absolute().parent)
        return f"cannot open the SQLite database {shown}: {reason}", (
            f"Check that the directory {directory!r} exists and is writable, "
            "or set CASEDESK_DATABASE_URL."
        )
    # psycopg: 'connection failed: connection to server at "…", port … failed: <reason>'
    reason = reason.rsplit(" failed: ", 1)[-1].removeprefix("FATAL: ")
    if reason.startswith('database "') and reason.endswith("does not exist"):
        name = make_url(url).database
        return f"cannot connect to {shown}: {reason}", (
            f"Create it first (createdb {name}) or fix CASEDESK_DATABASE_URL; "
            "casedesk then creates its tables itself."
        )
    return f"cannot connect to {shown}: {reason}", (
        "Check that PostgreSQL is running and reachable there, and that "
        "CASEDESK_DATABASE_URL names the right host, port, user and database."
    )


def _missing_table(error: DBAPIError) -> bool:
    if getattr(error.orig, "sqlstate", None) == _UNDEFINED_TABLE:
        return True
    return isinstance(error.orig, sqlite3.OperationalError) and "no such table" in str(error.orig)


def _fail(problem: str, advice: str | None = None) -> NoReturn:
    typer.secho(f"error: {problem}", fg="red", err=True)
    if advice:
        typer.echo(advice, err=True)
    raise typer.Exit(SETUP_MISTAKE)
