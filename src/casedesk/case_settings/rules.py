"""A tenant's case rules: statuses with levels, priorities with severities, numbering."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from casedesk.errors import InvalidInput


@dataclass(frozen=True)
class StatusDef:
    name: str
    level: int


@dataclass(frozen=True)
class PriorityDef:
    name: str
    severity: int


Named = TypeVar("Named", StatusDef, PriorityDef)


@dataclass(frozen=True)
class CaseRules:
    statuses: tuple[StatusDef, ...]
    status_new: str
    status_resolved: str
    status_closed: str
    priorities: tuple[PriorityDef, ...]
    default_priority: str
    number_prefix: str
    _statuses: dict[str, StatusDef] = field(init=False, repr=False, compare=False)
    _priorities: dict[str, PriorityDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_statuses", {s.name.lower(): s for s in self.statuses})
        object.__setattr__(self, "_priorities", {p.name.lower(): p for p in self.priorities})

    def status(self, name: str, *, field_name: str = "Status") -> StatusDef:
        return _one_of(self.statuses, self._statuses, name, kind="status", field_name=field_name)

    def priority(self, name: str, *, field_name: str = "Priority") -> PriorityDef:
        return _one_of(
            self.priorities, self._priorities, name, kind="priority", field_name=field_name
        )

    @property
    def new(self) -> StatusDef:
        return self.status(self.status_new)

    @property
    def resolved(self) -> StatusDef:
        return self.status(self.status_resolved)

    @property
    def closed(self) -> StatusDef:
        return self.status(self.status_closed)

    def to_document(self) -> dict[str, Any]:
        return {
            "Statuses": [{"Name": s.name, "Level": s.level} for s in self.statuses],
            "StatusNew": self.status_new,
            "StatusResolved": self.status_resolved,
            "StatusClosed": self.status_closed,
            "Priorities": [{"Name": p.name, "Severity": p.severity} for p in self.priorities],
            "DefaultPriority": self.default_priority,
            "NumberPrefix": self.number_prefix,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> CaseRules:
        return cls(
            statuses=tuple(StatusDef(s["Name"], s["Level"]) for s in document["Statuses"]),
            status_new=document["StatusNew"],
            status_resolved=document["StatusResolved"],
            status_closed=document["StatusClosed"],
            priorities=tuple(PriorityDef(p["Name"], p["Severity"]) for p in document["Priorities"]),
            default_priority=document["DefaultPriority"],
            number_prefix=document["NumberPrefix"],
        )


def _one_of(
    allowed: tuple[Named, ...], by_name: dict[str, Named], name: str, *, kind: str, field_name: str
) -> Named:
    """The one called `name`, matched case-insensitively, or a 400 listing the allowed."""
    found = by_name.get(name.lower())
    if found is None:
        listed = ", ".join(one.name for one in allowed)
        raise InvalidInput({field_name: [f"Unknown {kind} '{name}'. Allowed: {listed}."]})
    return found


DEFAULT_RULES = CaseRules(
    statuses=(
        StatusDef("New", 10),
        StatusDef("In Progress", 20),
        StatusDef("Waiting for Customer", 30),
        StatusDef("Resolved", 40),
        StatusDef("Closed", 50),
    ),
    status_new="New",
    status_resolved="Resolved",
    status_closed="Closed",
    priorities=(
        PriorityDef("Low", 1),
        PriorityDef("Normal", 2),
        PriorityDef("High", 3),
        PriorityDef("Critical", 4),
    ),
    default_priority="Normal",
    number_prefix="CS-",
)


def number_in(case_number: str, prefix: str) -> int | None:
    """The number n for which `prefix` followed by n is `case_number`, if there is one: numbers
    are written in ASCII digits without leading zeros, as a create writes them."""
    if not case_number.startswith(prefix):
        return None
    rest = case_number[len(prefix) :]
    if not rest or not rest.isascii() or not rest.isdigit() or rest.startswith("0"):
        return None
    return int(rest)


def check(rules: CaseRules) -> None:
    """Raise InvalidInput naming every inconsistency in a proposed set of rules."""
    errors: dict[str, list[str]] = {}
    for label, names in (
        ("Statuses", [s.name for s in rules.statuses]),
        ("Priorities", [p.name for p in rules.priorities]),
    ):
        if not names:
            errors.setdefault(label, []).append("At least one is required.")
        lowered = [n.lower() for n in names]
        duplicates = sorted({n for n in names if lowered.count(n.lower()) > 1})
        if duplicates:
            errors.setdefault(label, []).append(
                f"Names must be unique (case-insensitively): {', '.join(duplicates)}."
            )
    status_names = rules._statuses
    for label, name in (
        ("StatusNew", rules.status_new),
        ("StatusResolved", rules.status_resolved),
        ("StatusClosed", rules.status_closed),
    ):
        if name.lower() not in status_names:
            errors.setdefault(label, []).append(f"'{name}' is not one of the Statuses.")
    resolved = status_names.get(rules.status_resolved.lower())
    closed = status_names.get(rules.status_closed.lower())
    if resolved and closed and resolved.level > closed.level:
        errors.setdefault("StatusResolved", []).append(
            "The resolved status may not have a higher Level than the closed status."
        )
    if rules.default_priority.lower() not in rules._priorities:
        errors.setdefault("DefaultPriority", []).append(
            f"'{rules.default_priority}' is not one of the Priorities."
        )
    if errors:
        raise InvalidInput(errors)
