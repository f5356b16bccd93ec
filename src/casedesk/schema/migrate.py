"""Alembic, driven from code: `casedesk db upgrade`, `casedesk serve` and the tests use it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import NameFilterParentNames, NameFilterType

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


# Search structures created by raw SQL in 0001, with no SQLAlchemy model to compare against.
SQLITE_FTS_TABLES = frozenset(
    {"cases_fts", "cases_fts_data", "cases_fts_idx", "cases_fts_docsize", "cases_fts_config"}
)
POSTGRES_SEARCH_INDEXES = frozenset({"ix_cases_search_document"})


def is_modelled(
    name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames
) -> bool:
    """Alembic's include_name: leave the raw-SQL search structures out of autogenerate."""
    if type_ == "table":
        return name not in SQLITE_FTS_TABLES
    if type_ == "index":
        return name not in POSTGRES_SEARCH_INDEXES
    return True
