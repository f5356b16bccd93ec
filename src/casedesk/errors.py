"""Domain errors: what went wrong in casedesk's terms. The HTTP edge maps them to problems."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    """Base of every error a use case raises on purpose."""

    title = "The request could not be completed"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(DomainError):
    """The input breaks a rule; `errors` names each offending field."""

    title = "One or more validation errors occurred."

    def __init__(self, errors: Mapping[str, Sequence[str]], detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = {key: list(messages) for key, messages in errors.items()}


class NotAuthenticated(DomainError):
    title = "Unauthorized"


class NotPermitted(DomainError):
    title = "Forbidden"


class NotFound(DomainError):
    title = "Not Found"


class Conflict(DomainError):
    title = "Conflict"


class ValueTaken(Conflict):
    """A unique constraint refused a value the use case did not know to be taken: what a race
    or stored data it did not foresee leaves."""

    def __init__(self) -> None:
        super().__init__(
            "A value that must be unique is taken already, so nothing was changed. Read the "
            "current state before you retry."
        )


class PreconditionFailed(DomainError):
    title = "Precondition Failed"


class Unavailable(DomainError):
    """Refused for want of capacity or time, not for anything in the request. With
    `retry_after_seconds`, the same request is worth sending again after that long; without
    it, work stopped at its time limit and the request may succeed when it asks for less."""

    title = "Service Unavailable"

    def __init__(self, detail: str, *, retry_after_seconds: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds
