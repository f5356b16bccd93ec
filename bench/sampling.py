"""Deterministic samples of the seeded cases: ids to request, and text and filter values to
choose the search queries from."""

from __future__ import annotations

import random
from dataclasses import dataclass

import orjson
import sqlalchemy as sa

from bench.datasets import engine_for


@dataclass(frozen=True)
class SampledCase:
    id: str
    text: str
    assigned_to_user_id: str | None
    customer_id: str | None
    orders: tuple[str, ...]


def _json_list(value: object) -> list[str]:
    """A JSON column read through text(): a string on SQLite, already decoded on PostgreSQL."""
    decoded = orjson.loads(value) if isinstance(value, str | bytes) else value
    return [str(item) for item in decoded] if isinstance(decoded, list) else []


def _pks(connection: sa.Connection, tenant_id: int, count: int, seed: int) -> list[int]:
    low, high = connection.execute(
        sa.text("SELECT min(pk), max(pk) FROM cases WHERE tenant_id = :tenant"),
        {"tenant": tenant_id},
    ).one()
    if low is None:
        return []
    span = range(int(low), int(high) + 1)
    return random.Random(seed).sample(span, min(count, len(span)))


def sample(url: str, *, tenant_id: int, count: int, seed: int) -> list[SampledCase]:
    """About `count` live cases spread evenly over the data, in a seeded random order."""
    engine = engine_for(url)
    statement = sa.text(
        "SELECT pk, id, case_number, subject, description, customer_name, "
        "assigned_to_user_id, customer_id, related_orders FROM cases "
        "WHERE tenant_id = :tenant AND deleted_date IS NULL AND pk IN :pks"
    ).bindparams(sa.bindparam("pks", expanding=True))
    try:
        with engine.connect() as connection:
            pks = _pks(connection, tenant_id, count, seed)
            rows = {
                row.pk: row
                for start in range(0, len(pks), 5_000)
                for row in connection.execute(
                    statement, {"tenant": tenant_id, "pks": pks[start : start + 5_000]}
                )
            }
    finally:
        engine.dispose()
    return [
        SampledCase(
            id=row.id,
            text=" ".join(part or "" for part in (row.subject, row.description, row.customer_name)),
            assigned_to_user_id=row.assigned_to_user_id,
            customer_id=row.customer_id,
            orders=tuple(_json_list(row.related_orders)),
        )
        for row in (rows.get(pk) for pk in pks)
        if row is not None
    ]
