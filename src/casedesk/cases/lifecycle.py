"""How a case moves between statuses: the status log and the resolved/closed dates.

Pure rules over plain values, so they are tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from casedesk import clock
from casedesk.case_settings.rules import CaseRules, StatusDef

_MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True)
class StatusState:
    status: str
    level: int
    resolved_date: datetime | None
    closed_date: datetime | None
    log: tuple[dict[str, Any], ...]


def log_item(status: str, moment: datetime, previous: datetime | None) -> dict[str, Any]:
    return {
        "Status": status,
        "Timestamp": clock.format_utc(moment),
        "DurationSincePreviousMs": (
            # Integer division: float seconds * 1000 truncates 1001 ms to 1000.
            None if previous is None else (moment - previous) // _MILLISECOND
        ),
    }


def initial_state(target: StatusDef, rules: CaseRules, moment: datetime) -> StatusState:
    """The status a new case starts in, with its first log entry."""
    blank = StatusState(target.name, target.level, None, None, ())
    return _enter(blank, target, rules, moment, previous=None)


def change_status(
    state: StatusState, target: StatusDef, rules: CaseRules, moment: datetime
) -> StatusState | None:
    """The state after moving to `target`, or None when the case is already there."""
    if target.name == state.status:
        return None
    previous = clock.parse_utc(state.log[-1]["Timestamp"]) if state.log else None
    return _enter(state, target, rules, moment, previous=previous)


def _enter(
    state: StatusState,
    target: StatusDef,
    rules: CaseRules,
    moment: datetime,
    *,
    previous: datetime | None,
) -> StatusState:
    """A case at or above the resolved (closed) level has a ResolvedDate (ClosedDate), below it
    none; entering StatusResolved (StatusClosed) itself stamps the date anew."""
    resolved, closed = rules.resolved, rules.closed
    resolved_date, closed_date = state.resolved_date, state.closed_date
    if target.level < resolved.level:
        resolved_date = None
    elif target.name == resolved.name or resolved_date is None:
        resolved_date = moment
    if target.level < closed.level:
        closed_date = None
    elif target.name == closed.name or closed_date is None:
        closed_date = moment
    return replace(
        state,
        status=target.name,
        level=target.level,
        resolved_date=resolved_date,
        closed_date=closed_date,
        log=(*state.log, log_item(target.name, moment, previous)),
    )
