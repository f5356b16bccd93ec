"""Scrolls: the state of each scroll through search hits, shared by every worker process.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "case_scrolls",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("request", JSON, nullable=False),
        sa.Column("last_pk", sa.BigInteger(), nullable=False),
        sa.Column("total_hits", sa.Integer(), nullable=False),
        sa.Column("resume_after", JSON, nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("expires", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_case_scrolls_tenant_id_tenants"
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_users.client_id"],
            name="fk_case_scrolls_client_id_api_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_scrolls"),
    )
    op.create_index("ix_case_scrolls_expires", "case_scrolls", ["tenant_id", "expires"])


def downgrade() -> None:
    op.drop_table("case_scrolls")
