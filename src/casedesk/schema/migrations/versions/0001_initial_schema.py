"""Initial schema: tenants, API users, case settings, cases and their search indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def sortable(length: int) -> sa.String:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


SQLITE_FTS = [
    """CREATE VIRTUAL TABLE cases_fts USING fts5(
        case_number, subject, description, customer_name,
        content='cases', content_rowid='pk', tokenize='trigram')""",
    """CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN
        INSERT INTO cases_fts(rowid, case_number, subject, description, customer_name)
        VALUES (new.pk, new.case_number, new.subject, new.description, new.customer_name);
    END""",
    """CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN
        INSERT INTO cases_fts(cases_fts, rowid, case_number, subject, description, customer_name)
        VALUES ('delete', old.pk, old.case_number, old.subject, old.description, old.customer_name);
    END""",
    """CREATE TRIGGER cases_fts_update
    AFTER UPDATE OF case_number, subject, description, customer_name ON cases BEGIN
        INSERT INTO cases_fts(cases_fts, rowid, case_number, subject, description, customer_name)
        VALUES ('delete', old.pk, old.case_number, old.subject, old.description, old.customer_name);
        INSERT INTO cases_fts(rowid, case_number, subject, description, customer_name)
        VALUES (new.pk, new.case_number, new.subject, new.description, new.customer_name);
    END""",
]

POSTGRES_TRIGRAM = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE INDEX ix_cases_search_document ON cases USING gin ((
        lower(cases.case_number || ' ' || cases.subject || ' ' || coalesce(cases.description, '')
        || ' ' || coalesce(cases.customer_name, ''))) gin_trgm_ops)""",
]


def upgrade() -> None:
    op.create_table(
        "instance_secrets",
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_instance_secrets"),
    )
    tenants = op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.UniqueConstraint("name", name="uq_tenants_name"),
    )
    op.create_table(
        "api_users",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_api_users_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("client_id", name="pk_api_users"),
    )
    op.create_index("ix_api_users_tenant_id", "api_users", ["tenant_id"])
    op.create_table(
        "case_counters",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_case_counters_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_case_counters"),
    )
    op.create_table(
        "case_settings",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_case_settings_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_case_settings"),
    )
    op.create_table(
        "cases",
        sa.Column("pk", PK, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sortable(100), nullable=False),
        sa.Column("case_number", sortable(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject", sortable(500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(200), nullable=False),
        sa.Column("status_level", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(200), nullable=False),
        sa.Column("priority_severity", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("assigned_to_user_id", sa.String(100), nullable=True),
        sa.Column("assigned_to_name", sortable(200), nullable=True),
        sa.Column("customer_id", sa.String(100), nullable=True),
        sa.Column("customer_name", sortable(200), nullable=True),
        sa.Column("customer_email", sa.String(200), nullable=True),
        sa.Column("market_id", sa.String(100), nullable=True),
        sa.Column("market_group_id", sa.String(100), nullable=True),
        *(
            sa.Column(name, JSON, nullable=False)
            for name in (
                "tags",
                "related_orders",
                "related_customers",
                "related_projects",
                "related_carts",
                "related_sku_ids",
                "related_product_ids",
                "participants",
                "properties",
                "case_notes",
                "internal_notes",
                "status_log",
            )
        ),
        sa.Column("follow_up_date", sa.DateTime(), nullable=True),
        sa.Column("resolved_date", sa.DateTime(), nullable=True),
        sa.Column("closed_date", sa.DateTime(), nullable=True),
        sa.Column("last_comment_date", sa.DateTime(), nullable=True),
        sa.Column("last_commenter_name", sa.String(200), nullable=True),
        sa.Column("comment_count", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("changed", sa.DateTime(), nullable=False),
        sa.Column("deleted_date", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_cases_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("pk", name="pk_cases"),
        sa.UniqueConstraint("tenant_id", "case_number", name="uq_cases_tenant_case_number"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_cases_tenant_id"),
    )
    for name, columns in (
        ("ix_cases_created", ["tenant_id", "created", "id"]),
        ("ix_cases_changed", ["tenant_id", "changed", "id"]),
        ("ix_cases_status_level", ["tenant_id", "status_level", "id"]),
        ("ix_cases_priority_severity", ["tenant_id", "priority_severity", "id"]),
        ("ix_cases_follow_up_date", ["tenant_id", "follow_up_date", "id"]),
        ("ix_cases_status", ["tenant_id", "status", "created"]),
        ("ix_cases_priority", ["tenant_id", "priority", "created"]),
        ("ix_cases_assigned_to_user_id", ["tenant_id", "assigned_to_user_id", "created"]),
    ):
        op.create_index(name, "cases", columns)
    for name, column in (
        ("ix_cases_subject", "subject"),
        ("ix_cases_customer_name", "customer_name"),
        ("ix_cases_assigned_to_name", "assigned_to_name"),
    ):
        op.create_index(name, "cases", ["tenant_id", sa.text(f"lower({column})"), "id"])
    op.create_table(
        "case_refs",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(1), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("case_pk", PK, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_pk"], ["cases.pk"], name="fk_case_refs_case_pk_cases", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "value", "case_pk", name="pk_case_refs"),
    )
    op.create_index("ix_case_refs_case_pk", "case_refs", ["case_pk"])

    statements = SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else POSTGRES_TRIGRAM
    for statement in statements:
        op.execute(statement)

    created = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    op.bulk_insert(tenants, [{"name": "default", "created": created}])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("cases_fts_insert", "cases_fts_delete", "cases_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS cases_fts")
    for table in (
        "case_refs",
        "cases",
        "case_settings",
        "case_counters",
        "api_users",
        "tenants",
        "instance_secrets",
    ):
        op.drop_table(table)
