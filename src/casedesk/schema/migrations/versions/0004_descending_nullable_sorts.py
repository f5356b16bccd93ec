"""PostgreSQL: indexes for the three descending sorts on columns that can be empty.

Empty values sort last in both directions. PostgreSQL keeps NULLs at the high end of an
ascending index, so a backward scan gives DESC NULLS FIRST and DESC NULLS LAST needs an index
of its own (measured on 1M cases: CustomerNameDescending 760 ms of SQL without it). SQLite
keeps NULLs at the low end and reads both directions from the ascending index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_cases_customer_name_desc": "lower(customer_name) DESC NULLS LAST",
    "ix_cases_assigned_to_name_desc": "lower(assigned_to_name) DESC NULLS LAST",
    "ix_cases_follow_up_date_desc": "follow_up_date DESC NULLS LAST",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, key in INDEXES.items():
        op.create_index(name, "cases", ["tenant_id", sa.text(key), sa.text("id DESC")])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.drop_index(name, table_name="cases")
