"""What a database error says: a unique constraint refusing a taken value, and which one, read
alike from SQLite's and PostgreSQL's own errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from casedesk.storage.database import sync_url
from casedesk.storage.errors import unique_violation

BY_ID = sa.UniqueConstraint("tenant_id", "id", name="uq_unique_probe_tenant_id")
BY_NUMBER = sa.UniqueConstraint("tenant_id", "number", name="uq_unique_probe_tenant_number")
PROBE = sa.Table(
    "unique_probe",
    sa.MetaData(),
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, nullable=False),
    sa.Column("id", sa.String(20), nullable=False),
    sa.Column("number", sa.String(20), nullable=False),
    BY_ID,
    BY_NUMBER,
)
TAKEN = {"pk": 1, "tenant_id": 1, "id": "abc123", "number": "CS-1001"}

Refuse = Callable[[dict[str, Any]], IntegrityError]


@pytest.fixture
def refused(database_url: str) -> Iterator[Refuse]:
    """The error the database gives for a row inserted beside TAKEN."""
    engine = sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)
    PROBE.create(engine)

    def refuse(row: dict[str, Any]) -> IntegrityError:
        with pytest.raises(IntegrityError) as caught, engine.begin() as connection:
            connection.execute(PROBE.insert(), {**TAKEN, "pk": 2, **row})
        return caught.value

    try:
        with engine.begin() as connection:
            connection.execute(PROBE.insert(), TAKEN)
        yield refuse
    finally:
        PROBE.drop(engine)
        engine.dispose()


@pytest.mark.parametrize(
    ("row", "constraint", "other"),
    [({"number": "CS-1002"}, BY_ID, BY_NUMBER), ({"id": "abc124"}, BY_NUMBER, BY_ID)],
    ids=["id", "number"],
)
def test_a_taken_value_is_a_unique_violation_of_its_own_constraint_only(
    refused: Refuse,
    row: dict[str, Any],
    constraint: sa.UniqueConstraint,
    other: sa.UniqueConstraint,
) -> None:
    error = refused(row)
    assert unique_violation(error)
    assert unique_violation(error, of=constraint)
    assert not unique_violation(error, of=other)


def test_the_drivers_own_error_reads_as_its_sqlalchemy_wrapper_does(refused: Refuse) -> None:
    error = refused({"number": "CS-1002"}).orig
    assert unique_violation(error)
    assert unique_violation(error, of=BY_ID)
    assert not unique_violation(error, of=BY_NUMBER)


def test_a_taken_primary_key_is_a_unique_violation(refused: Refuse) -> None:
    error = refused({"pk": 1, "id": "abc124", "number": "CS-1002"})
    assert unique_violation(error)
    assert not unique_violation(error, of=BY_ID)


def test_a_missing_required_value_is_no_unique_violation(refused: Refuse) -> None:
    error = refused({"id": None})
    assert not unique_violation(error)
    assert not unique_violation(error, of=BY_ID)


@pytest.mark.parametrize("error", [None, ValueError("UNIQUE constraint failed: unique_probe.id")])
def test_an_error_not_from_the_database_is_no_unique_violation(error: Exception | None) -> None:
    assert not unique_violation(error)
