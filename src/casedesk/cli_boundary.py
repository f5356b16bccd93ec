"""The one error boundary around every command: a mistake in the setup (a setting casedesk
cannot use, a database it cannot reach, open or find its tables in) is told in one or two
lines on stderr with exit code 2, instead of a traceback of hundreds of lines. Any other
exception is a bug and keeps its traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, NoReturn

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError
from typer import _click  # Typer's own copy of click, whose Context invoke() takes
from typer.core import TyperGroup

from casedesk.config import ConfigError, Settings

SETUP_MISTAKE = 2
# PostgreSQL's undefined_table.
_UNDEFINED_TABLE = "42P01"


class GuardedGroup(TyperGroup):
    """The command group that runs every command inside the boundary."""

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            _fail(str(error))
        except (OperationalError, InterfaceError, ProgrammingError) as error:
            if isinstance(error, ProgrammingError) and not _missing_table(error):
                raise
            _fail(*explain(error, Settings.from_env().database_url))


def explain(error: DBAPIError, url: str) -> tuple[str, str]:
    """What went wrong with the database at `url`, and what to do about it."""
    shown = make_url(url).render_as_string(hide_password=True)
    reason = " ".join(str(error.orig).splitlines()[0].split()) if str(error.orig) else "?"
    if _missing_table(error):
        return f"the database {shown} has no casedesk tables ({reason})", (
            "Run `casedesk db upgrade` first."
        )
    if getattr(error.orig, "sqlite_errorname", None) == "SQLITE_CANTOPEN":
        directory = str(Path(make_url(url).database or ".").absolute().parent)
        return f"cannot open the SQLite database {shown}: {reason}", (
            f"Check that the directory {directory!r} exists and is writable, "
            "or set CASEDESK_DATABASE_URL."
        )
    if isinstance(error.orig, sqlite3.Error):
        return f"the SQLite database {shown} failed: {reason}", (
            "Check the file and CASEDESK_DATABASE_URL, then run the command again."
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
