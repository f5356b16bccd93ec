"""What a database error says, in terms both backends share: the one place that reads
sqlite3's and psycopg's errors for the HTTP edge and the storage code alike."""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import DBAPIError

# A primary key refuses a taken value as a unique constraint does; PostgreSQL gives both 23505.
_SQLITE_UNIQUE = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})


def unique_violation(error: BaseException | None, of: UniqueConstraint | None = None) -> bool:
    """Whether a database error is a unique constraint refusing a value that is taken: any
    such constraint, or only the constraint `of`."""
    original = error.orig if isinstance(error, DBAPIError) else error
    if isinstance(original, psycopg.errors.UniqueViolation):
        return of is None or original.diag.constraint_name == of.name
    if isinstance(original, sqlite3.IntegrityError):
        if getattr(original, "sqlite_errorname", None) not in _SQLITE_UNIQUE:
            return False
        if of is None:
            return True
        # SQLite names no constraint, only its columns: "… failed: cases.tenant_id, cases.id".
        columns = ", ".join(f"{column.table.name}.{column.name}" for column in of.columns)
        return str(original) == f"UNIQUE constraint failed: {columns}"
    return False
