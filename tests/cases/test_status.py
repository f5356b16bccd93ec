"""Statuses over HTTP: changestatus, the status log by every endpoint, the resolved and closed
dates, and assignto."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from casedesk import clock
from tests.conftest import ApiUser

DEFAULT_STATUSES = "New, In Progress, Waiting for Customer, Resolved, Closed"


class SteppedClock:
    """casedesk's clock held still from the moment the test starts, moved on by hand."""

    def __init__(self) -> None:
        self.moment = clock.now()

    def now(self) -> datetime:
        return self.moment

    def advance(self, milliseconds: int) -> str:
        self.moment += timedelta(milliseconds=milliseconds)
        stamp = clock.format_utc(self.moment)
        assert stamp is not None
        return stamp


@pytest.fixture
def stepped_clock(monkeypatch: pytest.MonkeyPatch) -> SteppedClock:
    stepped = SteppedClock()
    monkeypatch.setattr(clock, "now", stepped.now)
    return stepped


def problem_errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.text
    errors: dict[str, list[str]] = response.json()["errors"]
    return errors


def change_status(user: ApiUser, case_id: str, status: str) -> dict[str, Any]:
    response = user.post(f"/api/cases/{case_id}/changestatus", params={"status": status})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def put_status(user: ApiUser, case: dict[str, Any], status: str) -> dict[str, Any]:
    response = user.put("/api/cases", json={**case, "Status": status})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def patch_status(user: ApiUser, case: dict[str, Any], status: str) -> dict[str, Any]:
    response = user.patch("/api/cases", json={"Id": case["Id"], "Status": status})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_changestatus(user: ApiUser, case: dict[str, Any], status: str) -> dict[str, Any]:
    return change_status(user, case["Id"], status)


STATUS_WRITERS = pytest.mark.parametrize(
    "write_status",
    [by_changestatus, patch_status, put_status],
    ids=["changestatus", "PATCH", "PUT"],
)


def test_the_reference_changestatus_example_moves_the_case_to_in_progress(
    admin: ApiUser,
) -> None:
    admin.create_case(Id="abc123")
    response = admin.post("/api/cases/abc123/changestatus?status=In%20Progress")
    assert response.status_code == 200
    assert response.json()["Status"] == "In Progress"
    assert admin.get("/api/cases/abc123").json()["Status"] == "In Progress"


def test_the_reference_assignto_example_assigns_the_case(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = admin.post("/api/cases/abc123/assignto?userId=user-456&userName=John%20Agent")
    assert response.status_code == 200
    case = response.json()
    assert (case["AssignedToUserId"], case["AssignedToName"]) == ("user-456", "John Agent")


def test_assignto_without_a_user_id_is_400_naming_it(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = admin.post("/api/cases/abc123/assignto?userName=John%20Agent")
    assert set(problem_errors(response)) == {"userId"}


def test_assignto_an_unknown_case_is_404(admin: ApiUser) -> None:
    response = admin.post("/api/cases/nowhere/assignto?userId=user-456")
    assert response.status_code == 404


def test_changestatus_of_an_unknown_case_is_404(admin: ApiUser) -> None:
    response = admin.post("/api/cases/nowhere/changestatus?status=Resolved")
    assert response.status_code == 404


def test_a_reader_may_not_change_the_status(admin: ApiUser, reader: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = reader.post("/api/cases/abc123/changestatus?status=Resolved")
    assert response.status_code == 403


@STATUS_WRITERS
def test_a_status_change_appends_one_log_item_with_its_duration(
    admin: ApiUser, write_status: Any
) -> None:
    case = admin.create_case()
    changed = write_status(admin, case, "In Progress")
    first, second = changed["CaseStatusLog"]
    assert first == case["CaseStatusLog"][0]
    assert second["Status"] == "In Progress"
    assert second["Timestamp"] == changed["Changed"]
    assert second["DurationSincePreviousMs"] >= 0


@STATUS_WRITERS
def test_the_logged_duration_is_the_exact_time_since_the_previous_change(
    admin: ApiUser, stepped_clock: SteppedClock, write_status: Any
) -> None:
    case = admin.create_case()
    moment = stepped_clock.advance(1_003)
    changed = write_status(admin, case, "Resolved")
    assert changed["CaseStatusLog"][-1] == {
        "Status": "Resolved",
        "Timestamp": moment,
        "DurationSincePreviousMs": 1_003,
    }
    assert changed["Changed"] == changed["ResolvedDate"] == moment


@STATUS_WRITERS
def test_setting_the_current_status_again_changes_nothing(
    admin: ApiUser, write_status: Any
) -> None:
    case = admin.create_case(Status="In Progress")
    assert write_status(admin, case, "In Progress") == case


@STATUS_WRITERS
def test_setting_the_current_status_in_another_case_changes_nothing(
    admin: ApiUser, write_status: Any
) -> None:
    case = admin.create_case(Status="In Progress")
    assert write_status(admin, case, "IN PROGRESS") == case


def test_setting_the_current_status_again_keeps_the_etag(admin: ApiUser) -> None:
    created = admin.post("/api/cases", json={"Subject": "Order arrived damaged"})
    response = admin.post(f"/api/cases/{created.json()['Id']}/changestatus?status=New")
    assert response.headers["ETag"] == created.headers["ETag"]


@STATUS_WRITERS
def test_a_status_name_in_any_case_is_stored_canonically(admin: ApiUser, write_status: Any) -> None:
    changed = write_status(admin, admin.create_case(), "waiting for CUSTOMER")
    assert changed["Status"] == "Waiting for Customer"
    assert changed["CaseStatusLog"][-1]["Status"] == "Waiting for Customer"


def test_each_change_by_any_endpoint_is_logged_once_in_order(admin: ApiUser) -> None:
    case = admin.create_case()
    case = change_status(admin, case["Id"], "In Progress")
    case = patch_status(admin, case, "Waiting for Customer")
    case = put_status(admin, case, "Resolved")
    case = change_status(admin, case["Id"], "Resolved")
    assert [item["Status"] for item in case["CaseStatusLog"]] == [
        "New",
        "In Progress",
        "Waiting for Customer",
        "Resolved",
    ]
    assert all(item["DurationSincePreviousMs"] >= 0 for item in case["CaseStatusLog"][1:])


def test_an_unknown_status_in_changestatus_lists_the_allowed_statuses(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = admin.post("/api/cases/abc123/changestatus?status=Open")
    assert problem_errors(response) == {
        "Status": [f"Unknown status 'Open'. Allowed: {DEFAULT_STATUSES}."]
    }


def test_an_unknown_status_in_a_patch_lists_the_allowed_statuses(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = admin.patch("/api/cases", json={"Id": "abc123", "Status": "Open"})
    assert problem_errors(response) == {
        "Status": [f"Unknown status 'Open'. Allowed: {DEFAULT_STATUSES}."]
    }


def test_an_unknown_priority_in_a_put_lists_the_allowed_priorities(admin: ApiUser) -> None:
    case = admin.create_case(Id="abc123")
    response = admin.put("/api/cases", json={**case, "Priority": "Urgent"})
    assert problem_errors(response) == {
        "Priority": ["Unknown priority 'Urgent'. Allowed: Low, Normal, High, Critical."]
    }


def test_an_unknown_status_changes_nothing(admin: ApiUser) -> None:
    case = admin.create_case(Id="abc123")
    admin.patch("/api/cases", json={"Id": "abc123", "Status": "Open", "Subject": "Changed"})
    assert admin.get("/api/cases/abc123").json() == case


def test_resolving_sets_the_resolved_date(admin: ApiUser) -> None:
    case = change_status(admin, admin.create_case()["Id"], "Resolved")
    assert case["ResolvedDate"] == case["Changed"]
    assert case["ClosedDate"] is None


def test_closing_sets_the_closed_date_and_keeps_the_resolved_date(admin: ApiUser) -> None:
    resolved = change_status(admin, admin.create_case()["Id"], "Resolved")
    closed = change_status(admin, resolved["Id"], "Closed")
    assert closed["ResolvedDate"] == resolved["ResolvedDate"]
    assert closed["ClosedDate"] == closed["Changed"]


def test_closing_an_unresolved_case_sets_both_dates(admin: ApiUser) -> None:
    case = change_status(admin, admin.create_case()["Id"], "Closed")
    assert case["ResolvedDate"] == case["ClosedDate"] == case["Changed"]


@pytest.mark.parametrize("reopened", ["New", "In Progress", "Waiting for Customer"])
def test_reopening_a_closed_case_clears_both_dates(admin: ApiUser, reopened: str) -> None:
    case = change_status(admin, admin.create_case(Status="Closed")["Id"], reopened)
    assert (case["ResolvedDate"], case["ClosedDate"]) == (None, None)


def test_moving_a_closed_case_back_to_resolved_clears_only_the_closed_date(
    admin: ApiUser,
) -> None:
    case = change_status(admin, admin.create_case(Status="Closed")["Id"], "Resolved")
    assert case["ClosedDate"] is None
    assert case["ResolvedDate"] == case["Changed"]


def test_reopening_through_patch_clears_both_dates(admin: ApiUser) -> None:
    case = admin.create_case(Status="Closed")
    reopened = patch_status(admin, case, "In Progress")
    assert (reopened["ResolvedDate"], reopened["ClosedDate"]) == (None, None)
