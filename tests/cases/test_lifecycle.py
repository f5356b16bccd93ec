"""The status rules on their own: the status log and the resolved and closed dates."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casedesk.case_settings.rules import DEFAULT_RULES, CaseRules, PriorityDef, StatusDef
from casedesk.cases import lifecycle
from casedesk.cases.lifecycle import StatusState

START = datetime(2026, 3, 15, 10, 30)
MILLISECOND = timedelta(milliseconds=1)
LATER = START + timedelta(minutes=5)
LATEST = LATER + timedelta(hours=2)
RESOLVED_LEVEL = DEFAULT_RULES.resolved.level
CLOSED_LEVEL = DEFAULT_RULES.closed.level
STATUS_NAMES = [status.name for status in DEFAULT_RULES.statuses]

# Beside the defaults: a status between Resolved and Closed, and one above Closed.
WIDER_RULES = CaseRules(
    statuses=(
        StatusDef("New", 10),
        StatusDef("In Progress", 20),
        StatusDef("Resolved", 40),
        StatusDef("Verified", 45),
        StatusDef("Closed", 50),
        StatusDef("Archived", 60),
    ),
    status_new="New",
    status_resolved="Resolved",
    status_closed="Closed",
    priorities=(PriorityDef("Normal", 2),),
    default_priority="Normal",
    number_prefix="CS-",
)


def start(name: str, rules: CaseRules = DEFAULT_RULES, moment: datetime = START) -> StatusState:
    return lifecycle.initial_state(rules.status(name), rules, moment)


def move(
    state: StatusState, name: str, moment: datetime, rules: CaseRules = DEFAULT_RULES
) -> StatusState:
    moved = lifecycle.change_status(state, rules.status(name), rules, moment)
    assert moved is not None, f"moving from {state.status} to {name} changed nothing"
    return moved


def test_a_new_case_logs_its_first_status_without_a_duration() -> None:
    state = start("New")
    assert state.log == (
        {"Status": "New", "Timestamp": "2026-03-15T10:30:00.000Z", "DurationSincePreviousMs": None},
    )


@pytest.mark.parametrize(
    ("status", "resolved_date", "closed_date"),
    [
        ("New", None, None),
        ("In Progress", None, None),
        ("Waiting for Customer", None, None),
        ("Resolved", START, None),
        ("Closed", START, START),
    ],
)
def test_a_case_created_in_a_status_gets_the_dates_that_status_implies(
    status: str, resolved_date: datetime | None, closed_date: datetime | None
) -> None:
    state = start(status)
    assert (state.status, state.resolved_date, state.closed_date) == (
        status,
        resolved_date,
        closed_date,
    )


@pytest.mark.parametrize("status", STATUS_NAMES)
def test_moving_to_the_current_status_changes_nothing(status: str) -> None:
    state = start(status)
    assert (
        lifecycle.change_status(state, DEFAULT_RULES.status(status), DEFAULT_RULES, LATER) is None
    )


def test_a_change_logs_the_milliseconds_since_the_previous_change() -> None:
    state = move(start("New"), "In Progress", START + timedelta(seconds=90, milliseconds=250))
    assert state.log[-1] == {
        "Status": "In Progress",
        "Timestamp": "2026-03-15T10:31:30.250Z",
        "DurationSincePreviousMs": 90_250,
    }


@pytest.mark.parametrize("gap_ms", [0, 1, 999, 1001, 1003, 86_400_001])
def test_the_logged_duration_is_exact_to_the_millisecond(gap_ms: int) -> None:
    state = move(start("New"), "In Progress", START + timedelta(milliseconds=gap_ms))
    assert state.log[-1]["DurationSincePreviousMs"] == gap_ms


def test_each_change_appends_exactly_one_log_item() -> None:
    state = move(move(start("New"), "In Progress", LATER), "Resolved", LATEST)
    assert [item["Status"] for item in state.log] == ["New", "In Progress", "Resolved"]


@pytest.mark.parametrize(
    ("path", "resolved_date", "closed_date"),
    [
        (["New", "Resolved"], LATER, None),
        (["New", "Closed"], LATER, LATER),
        (["New", "Resolved", "Closed"], LATER, LATEST),
        (["New", "Closed", "Resolved"], LATEST, None),
        (["New", "Resolved", "In Progress"], None, None),
        (["New", "Closed", "Waiting for Customer"], None, None),
        (["Closed", "New"], None, None),
    ],
)
def test_resolved_and_closed_dates_follow_the_path_taken(
    path: list[str], resolved_date: datetime | None, closed_date: datetime | None
) -> None:
    state = start(path[0])
    for name, moment in zip(path[1:], (LATER, LATEST), strict=False):
        state = move(state, name, moment)
    assert (state.resolved_date, state.closed_date) == (resolved_date, closed_date)


@pytest.mark.parametrize(
    ("path", "resolved_date", "closed_date"),
    [
        (["New", "Verified"], LATER, None),
        (["New", "Resolved", "Verified"], LATER, None),
        (["New", "Closed", "Verified"], LATER, None),
        (["New", "Archived"], LATER, LATER),
        (["New", "Closed", "Archived"], LATER, LATER),
        (["New", "Archived", "In Progress"], None, None),
    ],
)
def test_statuses_beyond_resolved_or_closed_count_by_their_level(
    path: list[str], resolved_date: datetime | None, closed_date: datetime | None
) -> None:
    state = start(path[0], WIDER_RULES)
    for name, moment in zip(path[1:], (LATER, LATEST), strict=False):
        state = move(state, name, moment, WIDER_RULES)
    assert (state.resolved_date, state.closed_date) == (resolved_date, closed_date)


def test_the_closed_status_is_recognised_however_the_rules_spell_it() -> None:
    rules = CaseRules(
        statuses=DEFAULT_RULES.statuses,
        status_new="new",
        status_resolved="RESOLVED",
        status_closed="closed",
        priorities=DEFAULT_RULES.priorities,
        default_priority="normal",
        number_prefix="CS-",
    )
    state = move(start("New", rules), "Closed", LATER, rules)
    assert (state.resolved_date, state.closed_date) == (LATER, LATER)


def _logged_at(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(item["Timestamp"]).replace(tzinfo=None)


def _collapse(names: list[str]) -> list[str]:
    """The statuses a case actually passes through: repeats in a row are no change."""
    return [name for i, name in enumerate(names) if i == 0 or names[i - 1] != name]


@given(
    first=st.sampled_from(STATUS_NAMES),
    steps=st.lists(
        st.tuples(
            st.sampled_from([*STATUS_NAMES, *(name.upper() for name in STATUS_NAMES)]),
            st.integers(min_value=0, max_value=10**9),
        ),
        max_size=25,
    ),
)
def test_any_sequence_of_status_changes_keeps_the_log_and_dates_consistent(
    first: str, steps: list[tuple[str, int]]
) -> None:
    state = start(first)
    moment = START
    for name, gap_ms in steps:
        moment += timedelta(milliseconds=gap_ms)
        moved = lifecycle.change_status(state, DEFAULT_RULES.status(name), DEFAULT_RULES, moment)
        state = moved if moved is not None else state

    canonical = [first, *(DEFAULT_RULES.status(name).name for name, _ in steps)]
    assert [item["Status"] for item in state.log] == _collapse(canonical)
    assert state.log[0]["DurationSincePreviousMs"] is None
    durations = [item["DurationSincePreviousMs"] for item in state.log[1:]]
    assert all(duration >= 0 for duration in durations)
    assert sum(durations) == (_logged_at(state.log[-1]) - _logged_at(state.log[0])) // MILLISECOND
    assert state.status == state.log[-1]["Status"] == canonical[-1]
    assert (state.resolved_date is not None) == (state.level >= RESOLVED_LEVEL)
    assert (state.closed_date is not None) == (state.level >= CLOSED_LEVEL)
    if state.resolved_date is not None and state.closed_date is not None:
        assert state.resolved_date <= state.closed_date
