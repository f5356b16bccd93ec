from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from casedesk.storage.database import Base


class CaseSettingsRow(Base):
    """A tenant's statuses, priorities and numbering; no row means the defaults."""

    __tablename__ = "case_settings"

    tenant_id: Mapped[int] = mapped_column(Integer, ForeignKey("tenants.id"), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
