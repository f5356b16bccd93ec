from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from casedesk.storage.database import Base

KEY_MAX = 255
_JSON = JSON().with_variant(JSONB(), "postgresql")


class IdempotencyKeyRow(Base):
    """One key of one API user. While `status_code` is null the key is claimed by the request
    holding `claim` until `lease_until`; once set, the row holds the answer to replay."""

    __tablename__ = "idempotency_keys"

    tenant_id: Mapped[int] = mapped_column(Integer, ForeignKey("tenants.id"), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("api_users.client_id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(KEY_MAX), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    claim: Mapped[str] = mapped_column(String(64))
    lease_until: Mapped[datetime] = mapped_column(DateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[dict[str, str] | None] = mapped_column(_JSON)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created: Mapped[datetime] = mapped_column(DateTime)
    expires: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_idempotency_keys_expires", "expires"),)
