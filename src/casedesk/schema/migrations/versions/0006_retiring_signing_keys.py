"""Retiring signing keys: a key replaced by `casedesk keys rotate` still verifies tokens
until its grace period ends.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("instance_secrets", sa.Column("retires_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM instance_secrets WHERE retires_at IS NOT NULL")
    with op.batch_alter_table("instance_secrets") as batch:
        batch.drop_column("retires_at")
