"""Every table, for migrations and metadata comparisons."""

from __future__ import annotations


def load_all() -> None:
    import casedesk.auth.models
    import casedesk.case_settings.models
    import casedesk.cases.models
    import casedesk.idempotency.models
    import casedesk.tenants.models  # noqa: F401
