"""`casedesk db check`: a healthy database passes, and each kind of damage is named."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql
from typer.testing import CliRunner, Result

from casedesk import integrity
from casedesk.cli.commands import app
from casedesk.schema import migrate
from casedesk.seeding import loader
from casedesk.storage.database import sync_url
from tests import databases
from tests.conftest import ApiUser

postgresql_only = (
    pytest.mark.parametrize("backend_database", ["postgresql"], indirect=True)
    if "postgresql" in databases.BACKENDS
    else pytest.mark.skip(reason="CASEDESK_TEST_BACKENDS leaves PostgreSQL out")
)


def execute(url: str, *statements: str, **params: Any) -> None:
    """Run raw SQL in one committed transaction, around the application: damage on purpose."""
    engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement), params)
    finally:
        engine.dispose()


def failed_checks(url: str) -> dict[str, list[str]]:
    return {check: problems for check, problems in integrity.check(url).results if problems}


@pytest.fixture
def case(admin: ApiUser) -> dict[str, Any]:
    """A case written through every kind of change the API makes, beside two plain ones."""
    admin.create_case(Subject="Wrong colour", Tags=["colour"])
    made = admin.create_case(
        Subject="Order arrived damaged",
        Description="The box was crushed",
        CustomerId="cust-1",
        CustomerName="Kari Nordmann",
        Tags=["damaged", "Urgent"],
        RelatedOrders=["ORD-1"],
    )
    admin.create_case(Subject="Late delivery", RelatedOrders=["ORD-2"])
    case_id = made["Id"]
    assert admin.patch("/api/cases", json={"Id": case_id, "Tags": ["damaged"]}).status_code == 200
    changed = admin.post(f"/api/cases/{case_id}/changestatus", params={"status": "In Progress"})
    assert changed.status_code == 200, changed.text
    comment = admin.post(f"/api/cases/{case_id}/comments", json={"Detail": "Called the customer"})
    assert comment.status_code == 201, comment.text
    deleted = admin.create_case(Subject="Duplicate of another case")
    assert admin.delete(f"/api/cases/{deleted['Id']}").status_code == 200
    body: dict[str, Any] = comment.json()
    return body


def test_a_healthy_seeded_database_passes_every_check(database_url: str) -> None:
    loader.seed(database_url, cases=200, seed=1)

    report = integrity.check(database_url)

    assert report.ok, report.problems
    assert len(report.results) >= 6


def test_cases_written_through_the_api_pass_every_check(
    database_url: str, case: dict[str, Any]
) -> None:
    report = integrity.check(database_url)

    assert report.ok, report.problems


def test_the_backends_own_checks_run(database_url: str, backend: str) -> None:
    checks = [check for check, _ in integrity.check(database_url).results]

    if backend == "sqlite":
        assert "SQLite integrity_check" in checks
        assert "SQLite foreign_key_check" in checks
        assert any("FTS5 integrity-check" in check for check in checks)
    else:
        indexes = [re.fullmatch(r"amcheck of (\d+) indexes on .*", check) for check in checks]
        assert any(found and int(found[1]) > 20 for found in indexes), checks
        assert any(check.startswith("amcheck of the heap") for check in checks), checks


def test_a_counter_behind_the_highest_case_number_is_reported(
    database_url: str, case: dict[str, Any]
) -> None:
    execute(database_url, "UPDATE case_counters SET last_number = 1001")

    failed = failed_checks(database_url)

    assert list(failed) == ["case numbers are unique and below each tenant's counter"]
    assert (
        "the counter is at 1001 but case number 1004 exists"
        in failed["case numbers are unique and below each tenant's counter"][0]
    )


def test_a_missing_counter_is_reported(database_url: str, case: dict[str, Any]) -> None:
    execute(database_url, "DELETE FROM case_counters")

    failed = failed_checks(database_url)

    assert list(failed) == ["case numbers are unique and below each tenant's counter"]
    assert (
        "the counter is at None"
        in failed["case numbers are unique and below each tenant's counter"][0]
    )


def test_a_case_number_given_twice_is_reported(database_url: str, case: dict[str, Any]) -> None:
    # Under another prefix, so that the unique constraint lets it in.
    execute(database_url, "UPDATE cases SET case_number = 'OLD-1001' WHERE case_number = 'CS-1003'")

    failed = failed_checks(database_url)

    assert list(failed) == ["case numbers are unique and below each tenant's counter"]
    assert (
        "1 case numbers are used twice"
        in failed["case numbers are unique and below each tenant's counter"][0]
    )


def test_a_case_number_in_other_digits_than_ascii_is_no_number_above_the_counter(
    database_url: str, case: dict[str, Any]
) -> None:
    # Arabic-Indic 1009: no create writes it, so no create can write it again.
    execute(
        database_url,
        "UPDATE cases SET case_number = 'CS-\u0661\u0660\u0660\u0669' "
        "WHERE case_number = 'CS-1003'",
    )

    report = integrity.check(database_url)

    assert report.ok, report.problems


def test_case_numbers_without_a_number_are_not_taken_for_one_number_used_twice(
    database_url: str, case: dict[str, Any]
) -> None:
    execute(
        database_url,
        "UPDATE cases SET case_number = 'Imported A' WHERE case_number = 'CS-1002'",
        "UPDATE cases SET case_number = 'Imported B' WHERE case_number = 'CS-1003'",
    )

    report = integrity.check(database_url)

    assert report.ok, report.problems


def test_a_status_changed_without_its_log_entry_is_reported(
    database_url: str, case: dict[str, Any]
) -> None:
    execute(
        database_url,
        "UPDATE cases SET status = 'Closed', status_level = 50 WHERE id = :id",
        id=case["Id"],
    )

    failed = failed_checks(database_url)

    assert list(failed) == ["status logs"]
    assert "the status is 'Closed' but the log ends in 'In Progress'" in failed["status logs"][0]


def test_a_status_at_a_level_its_tenant_does_not_define_is_reported(
    database_url: str, case: dict[str, Any]
) -> None:
    execute(database_url, "UPDATE cases SET status_level = 99 WHERE id = :id", id=case["Id"])

    failed = failed_checks(database_url)

    assert list(failed) == ["status logs"]
    assert "status 'In Progress' at level 99" in failed["status logs"][0]


def test_a_comment_count_that_differs_from_the_notes_is_reported(
    database_url: str, case: dict[str, Any]
) -> None:
    execute(database_url, "UPDATE cases SET comment_count = 2 WHERE id = :id", id=case["Id"])

    failed = failed_checks(database_url)

    assert list(failed) == ["comment counts"]
    assert "CommentCount 2, 1 notes" in failed["comment counts"][0]


def test_a_case_that_lost_its_filter_refs_is_reported(
    database_url: str, case: dict[str, Any]
) -> None:
    execute(
        database_url,
        "DELETE FROM case_refs WHERE case_pk = (SELECT pk FROM cases WHERE id = :id)",
        id=case["Id"],
    )

    failed = failed_checks(database_url)

    assert list(failed) == ["filter refs (tags, orders, customers)"]
    problem = failed["filter refs (tags, orders, customers)"][0]
    assert case["CaseNumber"] in problem
    assert "(1, 't', 'damaged')" in problem
    assert "(1, 'o', 'ORD-1')" in problem


def test_a_filter_ref_the_case_fields_do_not_give_is_reported(
    database_url: str, case: dict[str, Any]
) -> None:
    # The tag the PATCH took away, back in the index: a search by it would find the case.
    execute(
        database_url,
        "INSERT INTO case_refs (tenant_id, kind, value, case_pk) "
        "SELECT 1, 't', 'urgent', pk FROM cases WHERE id = :id",
        id=case["Id"],
    )

    failed = failed_checks(database_url)

    assert list(failed) == ["filter refs (tags, orders, customers)"]
    assert "extra [(1, 't', 'urgent')]" in failed["filter refs (tags, orders, customers)"][0]


def test_a_filter_ref_of_no_case_is_reported(
    database_url: str, backend: str, case: dict[str, Any]
) -> None:
    # Behind the foreign key's back: what a database restored from mismatched backups holds.
    bypass = (
        "PRAGMA foreign_keys = OFF"
        if backend == "sqlite"
        else "SET session_replication_role = replica"
    )
    engine = sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(bypass)
            connection.commit()
            connection.exec_driver_sql(
                "INSERT INTO case_refs (tenant_id, kind, value, case_pk) "
                "VALUES (1, 't', 'orphan', 999999)"
            )
            connection.commit()
    finally:
        engine.dispose()

    failed = failed_checks(database_url)

    assert (
        "1 filter refs point at no case: case pk 999999"
        in failed["filter refs (tags, orders, customers)"]
    )
    if backend == "sqlite":
        (problem,) = failed["SQLite foreign_key_check"]
        assert problem.startswith("1 rows point at a missing parent row: case_refs row ")
        assert problem.endswith(" -> cases")


def db_check(url: str) -> Result:
    return CliRunner().invoke(app, ["db", "check"], env={"CASEDESK_DATABASE_URL": url})


def test_db_check_prints_each_check_and_exits_0_when_all_pass(
    database_url: str, case: dict[str, Any]
) -> None:
    result = db_check(database_url)

    assert result.exit_code == 0, result.output
    assert "ok    status logs" in result.output
    assert "ok    filter refs (tags, orders, customers)" in result.output
    assert "The database is consistent" in result.output
    assert "FAIL" not in result.output


def test_db_check_exits_1_naming_each_problem(database_url: str, case: dict[str, Any]) -> None:
    execute(database_url, "UPDATE case_counters SET last_number = 1001")
    execute(database_url, "UPDATE cases SET comment_count = 7 WHERE id = :id", id=case["Id"])

    result = db_check(database_url)

    assert result.exit_code == 1, result.output
    assert "FAIL  case numbers are unique and below each tenant's counter: tenant 1" in (
        result.output
    )
    counts = "FAIL  comment counts: 1 cases have a CommentCount that differs from their notes"
    assert f"{counts}: {case['CaseNumber']}" in result.output
    assert "The database has 2 problem(s)." in result.output


def test_db_check_refuses_a_missing_sqlite_file_and_creates_none(tmp_path: Path) -> None:
    result = db_check(f"sqlite:///{tmp_path / 'missing.db'}")

    assert result.exit_code == 2
    assert "There is no SQLite database at" in result.output
    assert not (tmp_path / "missing.db").exists()


def test_db_check_refuses_a_database_behind_the_latest_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0004")

    result = db_check(url)

    assert result.exit_code == 2
    assert "at schema revision 0004" in result.output
    assert "run `casedesk db upgrade` first" in result.output


# --- SQLite: the FTS5 search index, kept in step by triggers ----------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    with databases.fresh_database("sqlite", tmp_path) as url:
        loader.seed(url, cases=50, seed=1)
        yield url


def test_a_case_taken_out_of_the_search_index_behind_the_triggers_back_is_reported(
    sqlite_url: str,
) -> None:
    execute(
        sqlite_url,
        "INSERT INTO cases_fts(cases_fts, rowid, case_number, subject, description, "
        "customer_name) SELECT 'delete', pk, case_number, subject, description, customer_name "
        "FROM cases WHERE case_number = 'CS-1010'",
    )

    failed = failed_checks(sqlite_url)

    assert set(failed) == {
        "search index (FTS5 integrity-check against the cases)",
        "every case is in the search index",
    }
    assert failed["every case is in the search index"][0].startswith(
        "1 cases are missing from the search index: CS-1010"
    )


def test_a_search_entry_left_stale_by_an_untriggered_update_is_reported(sqlite_url: str) -> None:
    engine = sa.create_engine(sync_url(sqlite_url), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            trigger = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_schema WHERE name = 'cases_fts_update'"
            ).scalar_one()
            connection.exec_driver_sql("DROP TRIGGER cases_fts_update")
            connection.exec_driver_sql(
                "UPDATE cases SET subject = 'Changed behind the index' "
                "WHERE case_number = 'CS-1010'"
            )
            connection.exec_driver_sql(trigger)
    finally:
        engine.dispose()

    failed = failed_checks(sqlite_url)

    assert list(failed) == ["search index (FTS5 integrity-check against the cases)"]
    assert (
        "does not match the cases table"
        in failed["search index (FTS5 integrity-check against the cases)"][0]
    )


def test_a_search_entry_of_no_case_is_reported(sqlite_url: str) -> None:
    execute(
        sqlite_url,
        "INSERT INTO cases_fts(rowid, case_number, subject, description, customer_name) "
        "VALUES (999999, 'CS-999999', 'Ghost', NULL, NULL)",
    )

    failed = failed_checks(sqlite_url)

    assert failed["every case is in the search index"] == [
        "1 search index entries have no case: rowid 999999"
    ]
    assert "search index (FTS5 integrity-check against the cases)" in failed


def test_a_damaged_index_page_is_reported_by_integrity_check(sqlite_url: str) -> None:
    engine = sa.create_engine(sync_url(sqlite_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            root, page_size = connection.exec_driver_sql(
                "SELECT rootpage, (SELECT page_size FROM pragma_page_size()) FROM sqlite_schema "
                "WHERE name = 'ix_cases_created'"
            ).one()
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    path = Path(sa.make_url(sqlite_url).database or "")
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size + 100)
        file.write(b"\xff" * 200)

    report = integrity.check(sqlite_url)

    assert "SQLite integrity_check" in {check for check, problems in report.results if problems}
    assert len(report.results) == 8  # the other checks ran all the same


# --- PostgreSQL: amcheck -----------------------------------------------------------------


@postgresql_only
def test_amcheck_is_used_and_not_left_installed(database_url: str, case: dict[str, Any]) -> None:
    report = integrity.check(database_url)

    assert report.ok, report.problems
    with psycopg.connect(database_url) as connection:
        installed = connection.execute("SELECT extname FROM pg_extension").fetchall()
    assert ("amcheck",) not in installed


@postgresql_only
def test_without_amcheck_the_check_says_so_and_runs_the_rest(
    database_url: str, case: dict[str, Any]
) -> None:
    role = f"casedesk_check_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        try:
            admin.execute(
                sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
                    sql.Identifier(role)
                )
            )
            url = sa.make_url(database_url).set(username=role).render_as_string(False)
            result = db_check(url)
        finally:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))

    assert result.exit_code == 0, result.output
    assert "note  amcheck is not available (permission denied" in result.output
    assert "ok    filter refs" in result.output
    assert "amcheck of" not in result.output


# --- The status log rules, without a database --------------------------------------------


def _entry(status: str, at: str, duration: int | None) -> dict[str, Any]:
    return {"Status": status, "Timestamp": at, "DurationSincePreviousMs": duration}


GOOD_LOG = [
    _entry("New", "2026-01-01T10:00:00.000Z", None),
    _entry("In Progress", "2026-01-01T10:00:01.500Z", 1500),
]


def test_a_log_that_follows_the_lifecycle_has_no_problem() -> None:
    assert integrity.status_log_problems("In Progress", GOOD_LOG) == []


def test_a_log_read_before_a_respelling_of_its_status_has_no_problem() -> None:
    assert integrity.status_log_problems("In progress", GOOD_LOG) == []


@pytest.mark.parametrize(
    ("status", "log", "problem"),
    [
        ("New", [], "the status log is empty"),
        (
            "New",
            [_entry("New", "2026-01-01T10:00:00.000Z", 5)],
            "the first status log entry has a duration",
        ),
        (
            "In Progress",
            [GOOD_LOG[0], _entry("In Progress", "2026-01-01T10:00:01.500Z", 1000)],
            "status log entry 2 has a wrong duration",
        ),
        (
            "New",
            [GOOD_LOG[0], _entry("New", "2026-01-01T10:00:01.000Z", 1000)],
            "status log entries 1 and 2 repeat a status",
        ),
        ("Resolved", GOOD_LOG, "the status is 'Resolved' but the log ends in 'In Progress'"),
        (
            "New",
            [{"Status": "New", "DurationSincePreviousMs": None}],
            "a status log entry has no valid Timestamp",
        ),
    ],
)
def test_a_broken_log_is_named(status: str, log: list[dict[str, Any]], problem: str) -> None:
    assert problem in integrity.status_log_problems(status, log)
