"""Partial indexes over live (not soft-deleted) cases, for exact TotalHits without a table scan.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_date IS NULL")
INDEXES = {
    "ix_cases_live": [],
    "ix_cases_live_status": ["status"],
    "ix_cases_live_priority": ["priority"],
    "ix_cases_live_assigned_to_user_id": ["assigned_to_user_id"],
    "ix_cases_live_created": ["created"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(
            name, "cases", ["tenant_id", *columns], sqlite_where=LIVE, postgresql_where=LIVE
        )


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="cases")
