"""`casedesk db check`: whether the database, its search index and the cases' own bookkeeping
agree. It changes nothing: what it must write to run (the FTS5 check command on SQLite, the
amcheck extension on PostgreSQL) is rolled back."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from casedesk import clock
from casedesk.case_settings.models import CaseSettingsRow
from casedesk.case_settings.rules import DEFAULT_RULES, CaseRules, number_in
from casedesk.cases.models import CaseCounterRow, CaseRefRow, CaseRow
from casedesk.cases.service import case_refs
from casedesk.config import database_backend
from casedesk.errors import Conflict, NotFound
from casedesk.schema import migrate
from casedesk.storage.database import configure_sqlite, sync_url

EXAMPLES = 5
_BATCH = 2_000
_MILLISECOND = timedelta(milliseconds=1)
_TRAILING_NUMBER = re.compile(r"[1-9][0-9]*$")
# Verified with amcheck on PostgreSQL: the tables that hold cases and their numbers.
_CASE_TABLES = ("cases", "case_refs", "case_counters")
_FTS_CHECK = "search index (FTS5 integrity-check against the cases)"


class SchemaOutdated(Conflict):
    """The database is not at the latest migration, so its tables cannot be checked."""


@dataclass
class Report:
    """Each check that ran with the problems it found (none: it passed), and notes on what
    could not be checked."""

    results: list[tuple[str, list[str]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, check: str, problems: Iterable[str]) -> None:
        self.results.append((check, list(problems)))

    @property
    def problems(self) -> list[str]:
        return [f"{check}: {problem}" for check, problems in self.results for problem in problems]

    @property
    def ok(self) -> bool:
        return not self.problems


class _Findings:
    """Problems of one kind: all counted, the first few kept as examples."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.count = 0
        self.examples: list[str] = []

    def add(self, example: str) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(example)

    def lines(self) -> list[str]:
        if not self.count:
            return []
        more = f" (and {self.count - len(self.examples)} more)" if self.count > EXAMPLES else ""
        return [f"{self.count} {self.what}: {'; '.join(self.examples)}{more}"]


def check(database_url: str) -> Report:
    """Run every check that applies to the database's backend."""
    if database_backend(database_url) == "sqlite":
        path = sa.make_url(database_url).database or ""
        if not Path(path).is_file():
            raise NotFound(f"There is no SQLite database at {path!r}.")
    engine = sa.create_engine(
        sync_url(database_url), poolclass=sa.pool.NullPool, hide_parameters=True
    )
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine)
    report = Report()
    try:
        with engine.connect() as connection:
            _require_latest_schema(connection, database_url)
        if engine.dialect.name == "sqlite":
            _check_sqlite(engine, report)
        else:
            _check_postgresql(engine, report)
    finally:
        engine.dispose()
    return report


def _require_latest_schema(connection: Connection, database_url: str) -> None:
    current = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory.from_config(migrate.alembic_config(database_url)).get_current_head()
    if current != head:
        raise SchemaOutdated(
            f"The database is at schema revision {current or 'none'}, not the latest ({head}): "
            "run `casedesk db upgrade` first."
        )


def _run(connection: Connection, report: Report, check: str, run: Callable[[], list[str]]) -> None:
    """Run one check in a savepoint, so that a damaged page it trips over is reported as its
    problem and the other checks still run."""
    try:
        with connection.begin_nested():
            problems = run()
    except DBAPIError as error:
        problems = [f"could not be completed: {error.orig}"]
    report.add(check, problems)


# --- SQLite ------------------------------------------------------------------------------


def _check_sqlite(engine: sa.Engine, report: Report) -> None:
    # The FTS5 check is an INSERT, so it needs the write lock: a transaction of its own,
    # started as a writer (BEGIN IMMEDIATE) and rolled back.
    with engine.connect().execution_options(casedesk_write=True) as writer:
        transaction = writer.begin()
        try:
            _run(writer, report, _FTS_CHECK, lambda: _sqlite_fts(writer))
        finally:
            transaction.rollback()
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            for check, run in (
                ("SQLite integrity_check", _sqlite_integrity),
                ("SQLite foreign_key_check", _sqlite_foreign_keys),
                ("every case is in the search index", _sqlite_index_rows),
            ):
                _run(connection, report, check, functools.partial(run, connection))
            _check_consistency(connection, report)
        finally:
            transaction.rollback()


def _sqlite_fts(connection: Connection) -> list[str]:
    """FTS5's own check; with rank 1 it also compares the index with the cases table (without,
    an external-content index is only checked against itself)."""
    try:
        connection.exec_driver_sql(
            "INSERT INTO cases_fts(cases_fts, rank) VALUES ('integrity-check', 1)"
        )
    except DBAPIError as error:
        return [f"the index does not match the cases table ({error.orig})"]
    return []


def _sqlite_integrity(connection: Connection) -> list[str]:
    rows = [str(row) for row in connection.exec_driver_sql("PRAGMA integrity_check").scalars()]
    return [] if rows == ["ok"] else rows[:EXAMPLES]


def _sqlite_foreign_keys(connection: Connection) -> list[str]:
    orphans = _Findings("rows point at a missing parent row")
    for table, rowid, parent, _ in connection.exec_driver_sql("PRAGMA foreign_key_check"):
        orphans.add(f"{table} row {rowid} -> {parent}")
    return orphans.lines()


def _sqlite_index_rows(connection: Connection) -> list[str]:
    """The index's own list of documents (its docsize table) against the cases' pks."""
    unindexed = _Findings("cases are missing from the search index")
    for number, case_id in connection.exec_driver_sql(
        "SELECT case_number, id FROM cases "
        "WHERE pk NOT IN (SELECT id FROM cases_fts_docsize) ORDER BY pk"
    ):
        unindexed.add(f"{number} (Id {case_id})")
    stray = _Findings("search index entries have no case")
    for (rowid,) in connection.exec_driver_sql(
        "SELECT id FROM cases_fts_docsize WHERE id NOT IN (SELECT pk FROM cases) ORDER BY id"
    ):
        stray.add(f"rowid {rowid}")
    return [*unindexed.lines(), *stray.lines()]


# --- PostgreSQL --------------------------------------------------------------------------


def _check_postgresql(engine: sa.Engine, report: Report) -> None:
    # One snapshot for every check; rolled back, which also drops amcheck if it was created.
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        transaction = connection.begin()
        try:
            if _create_amcheck(connection, report):
                _amcheck(connection, report)
            _check_consistency(connection, report)
        finally:
            transaction.rollback()


def _create_amcheck(connection: Connection, report: Report) -> bool:
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS amcheck")
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0]
        report.notes.append(
            f"amcheck is not available ({reason}), so the indexes and the heap of "
            f"{', '.join(_CASE_TABLES)} were not verified. A superuser can enable it with "
            "CREATE EXTENSION amcheck."
        )
        return False
    return True


def _amcheck(connection: Connection, report: Report) -> None:
    indexes = connection.exec_driver_sql(
        "SELECT c.relname, am.amname FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
        "WHERE i.indrelid::regclass::text = ANY(%(tables)s) ORDER BY c.relname",
        {"tables": list(_CASE_TABLES)},
    ).all()
    gin_check = connection.exec_driver_sql("SELECT to_regproc('gin_index_check')").scalar()
    checked = [
        (name, "SELECT bt_index_check(%(index)s::regclass, true)")
        for name, method in indexes
        if method == "btree"
    ]
    for name, method in indexes:
        if method == "gin" and gin_check is not None:
            checked.append((name, "SELECT gin_index_check(%(index)s::regclass)"))
        elif method != "btree":
            report.notes.append(
                f"This amcheck cannot verify {method} indexes: {name} was not checked."
            )

    def indexes_problems() -> list[str]:
        problems = []
        for name, statement in checked:
            try:
                with connection.begin_nested():
                    connection.exec_driver_sql(statement, {"index": name})
            except DBAPIError as error:
                problems.append(f"index {name}: {str(error.orig).strip()}")
        return problems

    def heap_problems() -> list[str]:
        heap = _Findings("damaged heap tuples")
        for table in _CASE_TABLES:
            for block, offset, message in connection.exec_driver_sql(
                "SELECT blkno, offnum, msg FROM verify_heapam(%(table)s::regclass)",
                {"table": table},
            ):
                heap.add(f"{table} block {block} item {offset}: {message}")
        return heap.lines()

    tables = ", ".join(_CASE_TABLES)
    _run(connection, report, f"amcheck of {len(checked)} indexes on {tables}", indexes_problems)
    _run(connection, report, f"amcheck of the heap of {tables}", heap_problems)


# --- Both backends -----------------------------------------------------------------------


@dataclass
class _Tenant:
    rules: CaseRules
    highest_number: int = 0
    numbers: set[int] = field(default_factory=set)
    levels: dict[str, int] = field(init=False)
    severities: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.levels = {status.name: status.level for status in self.rules.statuses}
        self.severities = {priority.name: priority.severity for priority in self.rules.priorities}


def _check_consistency(connection: Connection, report: Report) -> None:
    """What holds on every backend: numbers, status logs, comment counts and filter refs."""
    try:
        with connection.begin_nested():
            results = _consistency(connection)
    except DBAPIError as error:
        results = [("cases and their bookkeeping", [f"could not be completed: {error.orig}"])]
    for check, problems in results:
        report.add(check, problems)


def _consistency(connection: Connection) -> list[tuple[str, list[str]]]:
    tenants: defaultdict[int, _Tenant] = defaultdict(lambda: _Tenant(DEFAULT_RULES))
    for tenant_id, document in connection.execute(
        sa.select(CaseSettingsRow.tenant_id, CaseSettingsRow.document)
    ):
        tenants[tenant_id] = _Tenant(CaseRules.from_document(document))
    reused = _Findings("case numbers are used twice in a tenant")
    logs = _Findings("cases have a status log that does not fit their status")
    statuses = _Findings("cases have a status or priority their tenant does not define")
    comments = _Findings("cases have a CommentCount that differs from their notes")
    refs = _Findings("cases have filter refs that differ from their fields")
    stray_refs = _Findings("filter refs point at no case")
    ref_rows = _refs_by_case(connection)
    pending = next(ref_rows, None)
    for case in _cases(connection):
        name = f"{case.case_number} (Id {case.id})"
        tenant = tenants[case.tenant_id]
        number = _number(case.case_number, tenant.rules.number_prefix)
        if number is not None:
            if number in tenant.numbers:
                reused.add(f"{name} in tenant {case.tenant_id}")
            tenant.numbers.add(number)
            tenant.highest_number = max(tenant.highest_number, number)
        for problem in status_log_problems(case.status, case.status_log):
            logs.add(f"{name}: {problem}")
        for problem in _definition_problems(case, tenant):
            statuses.add(f"{name}: {problem}")
        noted = len(case.case_notes) + len(case.internal_notes)
        if case.comment_count != noted:
            comments.add(f"{name}: CommentCount {case.comment_count}, {noted} notes")
        while pending is not None and pending[0] < case.pk:
            stray_refs.add(f"case pk {pending[0]}")
            pending = next(ref_rows, None)
        stored: set[tuple[int, str, str]] = set()
        if pending is not None and pending[0] == case.pk:
            stored = pending[1]
            pending = next(ref_rows, None)
        expected = {(case.tenant_id, kind, value) for kind, value in _expected_refs(case)}
        if stored != expected:
            refs.add(
                f"{name}: missing {sorted(expected - stored)}, extra {sorted(stored - expected)}"
            )
    while pending is not None:
        stray_refs.add(f"case pk {pending[0]}")
        pending = next(ref_rows, None)
    return [
        (
            "case numbers are unique and below each tenant's counter",
            [*reused.lines(), *_counter_problems(connection, tenants)],
        ),
        ("status logs", [*logs.lines(), *statuses.lines()]),
        ("comment counts", comments.lines()),
        ("filter refs (tags, orders, customers)", [*refs.lines(), *stray_refs.lines()]),
    ]


_CASE_COLUMNS = (
    CaseRow.pk,
    CaseRow.tenant_id,
    CaseRow.id,
    CaseRow.case_number,
    CaseRow.status,
    CaseRow.status_level,
    CaseRow.priority,
    CaseRow.priority_severity,
    CaseRow.status_log,
    CaseRow.case_notes,
    CaseRow.internal_notes,
    CaseRow.comment_count,
    CaseRow.tags,
    CaseRow.related_orders,
    CaseRow.related_customers,
    CaseRow.customer_id,
)


def _cases(connection: Connection) -> Iterator[Any]:
    # Options on the statement: on the connection they would stay for every later statement.
    yield from connection.execute(
        sa.select(*_CASE_COLUMNS).order_by(CaseRow.pk).execution_options(yield_per=_BATCH)
    )


def _refs_by_case(connection: Connection) -> Iterator[tuple[int, set[tuple[int, str, str]]]]:
    """(case pk, its refs as (tenant, kind, value)), in pk order."""
    result = connection.execute(
        sa.select(CaseRefRow.case_pk, CaseRefRow.tenant_id, CaseRefRow.kind, CaseRefRow.value)
        .order_by(CaseRefRow.case_pk)
        .execution_options(yield_per=_BATCH)
    )
    current: int | None = None
    refs: set[tuple[int, str, str]] = set()
    for case_pk, tenant_id, kind, value in result:
        if case_pk != current:
            if current is not None:
                yield current, refs
            current, refs = case_pk, set()
        refs.add((tenant_id, kind, value))
    if current is not None:
        yield current, refs


def _expected_refs(case: Any) -> frozenset[tuple[str, str]]:
    return case_refs(
        CaseRow(
            tags=case.tags,
            related_orders=case.related_orders,
            related_customers=case.related_customers,
            customer_id=case.customer_id,
        )
    )


def _number(case_number: str, prefix: str) -> int | None:
    """The number a case was given, read as a create writes it (number_in): after the tenant's
    prefix or, for a case numbered under an earlier prefix, after what precedes its trailing
    number. None for a case number no create could have written."""
    number = number_in(case_number, prefix)
    if number is not None:
        return number
    trailing = _TRAILING_NUMBER.search(case_number)
    return number_in(case_number, case_number[: trailing.start()]) if trailing else None


def _counter_problems(connection: Connection, tenants: dict[int, _Tenant]) -> list[str]:
    counters = dict(
        connection.execute(sa.select(CaseCounterRow.tenant_id, CaseCounterRow.last_number)).all()
    )
    problems = []
    for tenant_id, tenant in sorted(tenants.items()):
        if not tenant.numbers:
            continue
        counter = counters.get(tenant_id)
        if counter is None or counter < tenant.highest_number:
            problems.append(
                f"tenant {tenant_id}: the counter is at {counter} but case number "
                f"{tenant.highest_number} exists, so a new case would reuse a number"
            )
    return problems


def _definition_problems(case: Any, tenant: _Tenant) -> list[str]:
    problems = []
    if tenant.levels.get(case.status) != case.status_level:
        problems.append(f"status {case.status!r} at level {case.status_level}")
    if tenant.severities.get(case.priority) != case.priority_severity:
        problems.append(f"priority {case.priority!r} at severity {case.priority_severity}")
    return problems


def status_log_problems(status: str, log: list[dict[str, Any]]) -> list[str]:
    """How a case's status log breaks the lifecycle's rules: it starts with no duration, each
    entry's duration is the time since the one before, consecutive entries differ, and the
    last entry is the case's status (spelled as the settings spelled it then)."""
    if not log:
        return ["the status log is empty"]
    problems = []
    if log[0].get("DurationSincePreviousMs") is not None:
        problems.append("the first status log entry has a duration")
    try:
        moments = [clock.parse_utc(entry["Timestamp"]) for entry in log]
    except (KeyError, TypeError, ValueError):
        return [*problems, "a status log entry has no valid Timestamp"]
    for index in range(1, len(log)):
        entry, before = log[index], log[index - 1]
        if entry.get("DurationSincePreviousMs") != (moments[index] - moments[index - 1]) // (
            _MILLISECOND
        ):
            problems.append(f"status log entry {index + 1} has a wrong duration")
        if str(entry.get("Status")).lower() == str(before.get("Status")).lower():
            problems.append(f"status log entries {index} and {index + 1} repeat a status")
    if str(log[-1].get("Status")).lower() != status.lower():
        problems.append(f"the status is {status!r} but the log ends in {log[-1].get('Status')!r}")
    return problems
