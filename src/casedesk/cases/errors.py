from __future__ import annotations

from casedesk.errors import Conflict, NotFound, PreconditionFailed


class CaseNotFound(NotFound):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"Case '{case_id}' was not found.")


class CaseIdTaken(Conflict):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"A case with Id '{case_id}' already exists.")


class CaseNotDeleted(Conflict):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"Case '{case_id}' is not deleted, so there is nothing to restore.")


class CaseVersionMismatch(PreconditionFailed):
    def __init__(self, case_id: str, current: str) -> None:
        super().__init__(
            f"Case '{case_id}' has changed since you read it (its ETag is now {current}). "
            "Read it again and retry."
        )


class ScrollNotFound(NotFound):
    def __init__(self, scroll_id: str) -> None:
        super().__init__(
            f"Scroll '{scroll_id}' was not found: it has expired (after 5 idle minutes), "
            "or it was never yours. Start a new scroll."
        )
