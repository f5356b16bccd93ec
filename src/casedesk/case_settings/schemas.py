from __future__ import annotations

from typing import Annotated

from pydantic import Field

from casedesk.case_settings.rules import CaseRules, PriorityDef, StatusDef
from casedesk.http.wire import JSON_INTEGER, FilledText, StoredText, WireModel

_NAME = Annotated[FilledText, Field(max_length=200)]


class CaseStatusDefinition(WireModel):
    name: _NAME
    level: Annotated[int, Field(ge=-1_000_000, le=1_000_000), JSON_INTEGER]


class CasePriorityDefinition(WireModel):
    name: _NAME
    severity: Annotated[int, Field(ge=-1_000_000, le=1_000_000), JSON_INTEGER]


class CaseSettings(WireModel):
    """A tenant's statuses (ordered by Level), priorities (ordered by Severity) and numbering."""

    statuses: list[CaseStatusDefinition] = Field(min_length=1, max_length=100)
    status_new: _NAME
    status_resolved: _NAME
    status_closed: _NAME
    priorities: list[CasePriorityDefinition] = Field(min_length=1, max_length=100)
    default_priority: _NAME
    number_prefix: Annotated[StoredText, Field(max_length=20)] = "CS-"

    def to_rules(self) -> CaseRules:
        return CaseRules(
            statuses=tuple(StatusDef(s.name, s.level) for s in self.statuses),
            status_new=self.status_new,
            status_resolved=self.status_resolved,
            status_closed=self.status_closed,
            priorities=tuple(PriorityDef(p.name, p.severity) for p in self.priorities),
            default_priority=self.default_priority,
            number_prefix=self.number_prefix,
        )

    @classmethod
    def from_rules(cls, rules: CaseRules) -> CaseSettings:
        return cls.model_validate(rules.to_document())
