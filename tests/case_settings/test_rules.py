"""A tenant's case rules on their own: the defaults, lookups, and what check refuses."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from casedesk.case_settings import rules
from casedesk.case_settings.rules import DEFAULT_RULES, CaseRules, PriorityDef, StatusDef
from casedesk.errors import InvalidInput


def refused_fields(proposed: CaseRules) -> dict[str, list[str]]:
    with pytest.raises(InvalidInput) as refused:
        rules.check(proposed)
    return refused.value.errors


def test_the_defaults_are_the_documented_statuses_priorities_and_prefix() -> None:
    assert DEFAULT_RULES.to_document() == {
        "Statuses": [
            {"Name": "New", "Level": 10},
            {"Name": "In Progress", "Level": 20},
            {"Name": "Waiting for Customer", "Level": 30},
            {"Name": "Resolved", "Level": 40},
            {"Name": "Closed", "Level": 50},
        ],
        "StatusNew": "New",
        "StatusResolved": "Resolved",
        "StatusClosed": "Closed",
        "Priorities": [
            {"Name": "Low", "Severity": 1},
            {"Name": "Normal", "Severity": 2},
            {"Name": "High", "Severity": 3},
            {"Name": "Critical", "Severity": 4},
        ],
        "DefaultPriority": "Normal",
        "NumberPrefix": "CS-",
    }


def test_the_defaults_pass_the_check() -> None:
    rules.check(DEFAULT_RULES)


def test_rules_survive_a_round_trip_through_their_stored_document() -> None:
    assert CaseRules.from_document(DEFAULT_RULES.to_document()) == DEFAULT_RULES


def test_the_new_resolved_and_closed_statuses_resolve_to_their_definitions() -> None:
    assert (DEFAULT_RULES.new, DEFAULT_RULES.resolved, DEFAULT_RULES.closed) == (
        StatusDef("New", 10),
        StatusDef("Resolved", 40),
        StatusDef("Closed", 50),
    )


@pytest.mark.parametrize("spelling", ["In Progress", "in progress", "IN PROGRESS"])
def test_a_status_is_found_whatever_its_case(spelling: str) -> None:
    assert DEFAULT_RULES.status(spelling) == StatusDef("In Progress", 20)


@pytest.mark.parametrize("spelling", ["High", "high"])
def test_a_priority_is_found_whatever_its_case(spelling: str) -> None:
    assert DEFAULT_RULES.priority(spelling) == PriorityDef("High", 3)


def test_an_unknown_status_is_invalid_input_listing_the_allowed_ones() -> None:
    with pytest.raises(InvalidInput) as refused:
        DEFAULT_RULES.status("Escalated")
    assert refused.value.errors == {
        "Status": [
            "Unknown status 'Escalated'. Allowed: New, In Progress, Waiting for Customer, "
            "Resolved, Closed."
        ]
    }


def test_an_unknown_priority_is_invalid_input_listing_the_allowed_ones() -> None:
    with pytest.raises(InvalidInput) as refused:
        DEFAULT_RULES.priority("Urgent")
    assert refused.value.errors == {
        "Priority": ["Unknown priority 'Urgent'. Allowed: Low, Normal, High, Critical."]
    }


def test_an_unknown_status_names_the_field_it_came_from() -> None:
    with pytest.raises(InvalidInput) as refused:
        DEFAULT_RULES.status("Escalated", field_name="status")
    assert list(refused.value.errors) == ["status"]


@pytest.mark.parametrize(
    ("field", "wire_name"),
    [
        ("status_new", "StatusNew"),
        ("status_resolved", "StatusResolved"),
        ("status_closed", "StatusClosed"),
    ],
)
def test_a_special_status_outside_the_list_is_refused(field: str, wire_name: str) -> None:
    changes: dict[str, Any] = {field: "Escalated"}
    errors = refused_fields(replace(DEFAULT_RULES, **changes))
    assert errors == {wire_name: ["'Escalated' is not one of the Statuses."]}


def test_a_special_status_may_differ_in_case_from_the_list() -> None:
    rules.check(replace(DEFAULT_RULES, status_new="new", default_priority="NORMAL"))


def test_duplicate_status_names_are_refused_case_insensitively() -> None:
    statuses = (*DEFAULT_RULES.statuses, StatusDef("in progress", 25))
    errors = refused_fields(replace(DEFAULT_RULES, statuses=statuses))
    assert errors == {
        "Statuses": ["Names must be unique (case-insensitively): In Progress, in progress."]
    }


def test_duplicate_priority_names_are_refused() -> None:
    priorities = (*DEFAULT_RULES.priorities, PriorityDef("High", 5))
    errors = refused_fields(replace(DEFAULT_RULES, priorities=priorities))
    assert errors == {"Priorities": ["Names must be unique (case-insensitively): High."]}


def test_an_empty_status_list_is_refused() -> None:
    errors = refused_fields(replace(DEFAULT_RULES, statuses=()))
    assert errors["Statuses"] == ["At least one is required."]


def test_an_empty_priority_list_is_refused() -> None:
    errors = refused_fields(replace(DEFAULT_RULES, priorities=()))
    assert errors["Priorities"] == ["At least one is required."]
    assert errors["DefaultPriority"] == ["'Normal' is not one of the Priorities."]


def test_a_default_priority_outside_the_list_is_refused() -> None:
    errors = refused_fields(replace(DEFAULT_RULES, default_priority="Urgent"))
    assert errors == {"DefaultPriority": ["'Urgent' is not one of the Priorities."]}


def test_a_resolved_status_above_the_closed_status_is_refused() -> None:
    statuses = (StatusDef("New", 10), StatusDef("Closed", 40), StatusDef("Resolved", 50))
    errors = refused_fields(replace(DEFAULT_RULES, statuses=statuses))
    assert errors == {
        "StatusResolved": [
            "The resolved status may not have a higher Level than the closed status."
        ]
    }


def test_resolved_and_closed_may_be_one_status() -> None:
    statuses = (StatusDef("Open", 10), StatusDef("Done", 20))
    rules.check(
        replace(
            DEFAULT_RULES,
            statuses=statuses,
            status_new="Open",
            status_resolved="Done",
            status_closed="Done",
        )
    )


def test_every_problem_is_named_at_once() -> None:
    proposed = replace(
        DEFAULT_RULES,
        statuses=(StatusDef("Open", 10), StatusDef("open", 20)),
        default_priority="Urgent",
    )
    assert set(refused_fields(proposed)) == {
        "Statuses",
        "StatusNew",
        "StatusResolved",
        "StatusClosed",
        "DefaultPriority",
    }


@pytest.mark.parametrize(
    ("case_number", "prefix", "number"),
    [
        ("CS-11001", "CS-", 11001),
        ("CS-11001", "CS-1", 1001),
        ("CS-11001", "CS-11001", None),
        ("CS-01001", "CS-", None),
        ("CS-1001a", "CS-", None),
        ("SUP-1001", "CS-", None),
        ("cs-1001", "CS-", None),
        ("1001", "", 1001),
        ("CS-1001", "", None),
        ("CS-\u0661\u0660\u0660\u0661", "CS-", None),
    ],
)
def test_number_in_finds_the_number_a_prefix_would_have_been_followed_by(
    case_number: str, prefix: str, number: int | None
) -> None:
    assert rules.number_in(case_number, prefix) == number
