"""The write path's driver statements read and write rows exactly as SQLAlchemy does, so
both paths can share every row (encoding of JSON, datetimes and nulls on each backend)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.cases import direct, repository
from casedesk.cases.models import CaseRefRow, CaseRow
from casedesk.cases.service import case_refs
from casedesk.seeding import loader
from tests.conftest import run_in_transaction


def _orm_values(row: CaseRow) -> dict[str, object]:
    return {name: getattr(row, name) for name in direct.COLUMNS}


def test_a_case_reads_the_same_through_the_driver_as_through_the_orm(database_url: str) -> None:
    loader.seed(database_url, cases=20, seed=3)

    async def work(session: AsyncSession) -> list[tuple[dict[str, object], dict[str, object]]]:
        rows = (await session.execute(select(CaseRow).order_by(CaseRow.pk))).scalars().all()
        db = await direct.open_direct(session)
        pairs = []
        for row in rows:
            loaded = await direct.get_for_update(db, tenant_id=row.tenant_id, case_id=row.id)
            assert loaded is not None
            pairs.append((_orm_values(row), direct.snapshot(loaded)))
        return pairs

    pairs = run_in_transaction(database_url, work)
    assert len(pairs) == 20
    for orm, driver in pairs:
        assert driver == orm


def _raw_sqlite(url: str, column: str, case_id: str) -> object:
    engine = loader.sync_engine(url)
    with engine.connect() as connection:
        sql = f"SELECT {column} FROM cases WHERE id = ?"
        value = connection.exec_driver_sql(sql, (case_id,)).scalar_one()
    engine.dispose()
    return value


def test_what_the_driver_writes_the_orm_reads_back_unchanged(
    database_url: str, backend: str
) -> None:
    loader.seed(database_url, cases=1, seed=4)
    whole_second = datetime(2026, 1, 2, 3, 4, 5)
    early_year = datetime(122, 8, 21, 1, 2, 3)
    with_micros = datetime(2026, 1, 2, 3, 4, 5, 600)

    async def write(session: AsyncSession) -> str:
        case = (await session.execute(select(CaseRow))).scalars().one()
        db = await direct.open_direct(session)
        row = await direct.get_for_update(db, tenant_id=case.tenant_id, case_id=case.id)
        assert row is not None
        before = direct.snapshot(row)
        row.follow_up_date = whole_second
        row.resolved_date = early_year
        row.changed = with_micros
        row.tags = ["Ünïcode", "quote'\"", "x" * 300]
        row.properties = [{"Key": "k", "Value": None}]
        row.description = None
        await direct.save(db, row, before, refs_before=frozenset(), refs_after=frozenset())
        return row.id

    case_id = run_in_transaction(database_url, write)

    async def read(session: AsyncSession) -> CaseRow | None:
        return await repository.get(session, tenant_id=1, case_id=case_id)

    stored = run_in_transaction(database_url, read)
    assert stored is not None
    assert stored.follow_up_date == whole_second
    assert stored.resolved_date == early_year
    if backend == "sqlite":
        # As SQLAlchemy writes it, so text comparisons and sorts agree across both paths.
        assert _raw_sqlite(database_url, "resolved_date", case_id) == "0122-08-21 01:02:03.000000"
        assert _raw_sqlite(database_url, "follow_up_date", case_id) == "2026-01-02 03:04:05.000000"
    assert stored.changed == with_micros
    assert stored.tags == ["Ünïcode", "quote'\"", "x" * 300]
    assert stored.properties == [{"Key": "k", "Value": None}]
    assert stored.description is None


def test_an_update_writes_only_the_columns_that_changed(database_url: str) -> None:
    """A column the use case did not touch keeps what another writer put there."""
    loader.seed(database_url, cases=1, seed=5)

    async def write(session: AsyncSession) -> str:
        case = (await session.execute(select(CaseRow))).scalars().one()
        db = await direct.open_direct(session)
        row = await direct.get_for_update(db, tenant_id=case.tenant_id, case_id=case.id)
        assert row is not None
        before = direct.snapshot(row)
        before["subject"] = "what this writer thinks it was"
        await db.run("UPDATE cases SET customer_name = %s WHERE pk = %s", ("Other", row.pk))
        row.subject = "New subject"
        await direct.save(db, row, before, refs_before=frozenset(), refs_after=frozenset())
        return row.id

    case_id = run_in_transaction(database_url, write)

    async def read(session: AsyncSession) -> CaseRow | None:
        return await repository.get(session, tenant_id=1, case_id=case_id)

    stored = run_in_transaction(database_url, read)
    assert stored is not None
    assert (stored.subject, stored.customer_name) == ("New subject", "Other")


def test_only_a_taken_id_is_reported_as_one(database_url: str) -> None:
    """An insert that breaks another constraint (here the case number, with the counter set
    back) is not a 409 'Id taken': it surfaces as the error it is. On PostgreSQL the
    number, the row and its refs go in one statement, with a pk reserved before."""
    loader.seed(database_url, cases=1, seed=6)

    async def insert_copy(session: AsyncSession, case_id: str, *, reuse_number: bool) -> str:
        case = (await session.execute(select(CaseRow))).scalars().one()
        db = await direct.open_direct(session)
        if reuse_number:
            # The seeded case is CS-1001: the next number clashes with it.
            await db.run("UPDATE case_counters SET last_number = 1000", ())
        slot = await direct.new_case_slot(db, tenant_id=case.tenant_id, case_id=None)
        number = "" if slot.number is None else f"CS-{slot.number}"
        copy = CaseRow(
            **{**direct.snapshot(case), "pk": slot.pk, "id": case_id, "case_number": number}
        )
        try:
            await direct.insert(db, copy, case_refs(copy), number_prefix="CS-")
        except direct.IdTaken:
            return "id taken"
        except Exception as error:
            return type(error).__name__
        return f"inserted {copy.case_number}"

    async def existing_id(session: AsyncSession) -> str:
        return str((await session.execute(select(CaseRow.id))).scalar_one())

    taken_id = run_in_transaction(database_url, existing_id)
    taken = run_in_transaction(database_url, lambda s: insert_copy(s, taken_id, reuse_number=False))
    assert taken == "id taken"
    other_error = run_in_transaction(
        database_url, lambda s: insert_copy(s, "fresh-id", reuse_number=True)
    )
    assert other_error in ("IntegrityError", "UniqueViolation")
    fresh = run_in_transaction(
        database_url, lambda s: insert_copy(s, "fresh-id", reuse_number=False)
    )
    assert fresh.startswith("inserted CS-")

    async def refs_of(session: AsyncSession) -> list[tuple[str, str]]:
        pk = (await session.execute(select(CaseRow.pk).where(CaseRow.id == "fresh-id"))).scalar()
        rows = await session.execute(
            select(CaseRefRow.kind, CaseRefRow.value).where(CaseRefRow.case_pk == pk)
        )
        return sorted(tuple(row) for row in rows)

    async def case_of(session: AsyncSession) -> CaseRow | None:
        return await repository.get(session, tenant_id=1, case_id="fresh-id")

    stored = run_in_transaction(database_url, case_of)
    assert stored is not None
    assert stored.tags
    assert run_in_transaction(database_url, refs_of) == sorted(case_refs(stored))


def test_rules_and_case_together_match_each_read_alone(database_url: str) -> None:
    loader.seed(database_url, cases=2, seed=7)

    async def work(session: AsyncSession) -> tuple[object, ...]:
        case = (await session.execute(select(CaseRow).order_by(CaseRow.pk))).scalars().first()
        assert case is not None
        db = await direct.open_direct(session)
        rules, found = await direct.rules_and_case(db, tenant_id=1, case_id=case.id)
        missing = await direct.rules_and_case(db, tenant_id=1, case_id="no-such-case")
        alone = await direct.get_for_update(db, tenant_id=1, case_id=case.id)
        assert found is not None
        assert alone is not None
        return rules, direct.snapshot(found), direct.snapshot(alone), missing

    rules, found, alone, missing = run_in_transaction(database_url, work)
    assert found == alone
    assert rules == missing[0]
    assert missing[1] is None
