"""GET and PUT /api/cases/settings: a tenant's statuses, priorities and case numbering."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.case_settings import repository as settings_repository
from tests.cases.numbering import set_last_case_number
from tests.conftest import ApiUser, UserFactory, run_in_transaction

SETTINGS = "/api/cases/settings"
PROBLEM_JSON = "application/problem+json"
DEFAULTS: dict[str, Any] = {
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


def defaults(**changes: Any) -> dict[str, Any]:
    settings = copy.deepcopy(DEFAULTS)
    settings.update(changes)
    return settings


def without_status(name: str) -> list[dict[str, Any]]:
    return [status for status in DEFAULTS["Statuses"] if status["Name"] != name]


def without_priority(name: str) -> list[dict[str, Any]]:
    return [priority for priority in DEFAULTS["Priorities"] if priority["Name"] != name]


def with_level(name: str, level: int) -> list[dict[str, Any]]:
    return [
        {"Name": s["Name"], "Level": level if s["Name"] == name else s["Level"]}
        for s in DEFAULTS["Statuses"]
    ]


def subjects_sorted(user: ApiUser, sort_order: str) -> list[str]:
    response = user.post("/api/cases/search", json={"SortOrder": sort_order})
    assert response.status_code == 200, response.text
    return [item["Subject"] for item in response.json()["Items"]]


def assert_refused(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    return body


# --- reading -----------------------------------------------------------------------------


def test_a_new_tenant_has_the_documented_defaults(reader: ApiUser) -> None:
    response = reader.get(SETTINGS)
    assert response.status_code == 200
    assert response.json() == DEFAULTS


def test_put_answers_with_the_saved_settings(owner: ApiUser) -> None:
    proposed = defaults(NumberPrefix="SUP-")
    response = owner.put(SETTINGS, json=proposed)
    assert response.status_code == 200
    assert response.json() == proposed


def test_saved_settings_are_read_back(owner: ApiUser, reader: ApiUser) -> None:
    proposed = defaults(DefaultPriority="High")
    owner.put(SETTINGS, json=proposed)
    assert reader.get(SETTINGS).json() == proposed


def test_statuses_and_priorities_come_back_ordered_by_level_and_severity(owner: ApiUser) -> None:
    proposed = defaults(
        Statuses=list(reversed(DEFAULTS["Statuses"])),
        Priorities=list(reversed(DEFAULTS["Priorities"])),
    )
    assert owner.put(SETTINGS, json=proposed).json() == DEFAULTS
    assert owner.get(SETTINGS).json() == DEFAULTS


def test_special_statuses_are_stored_in_the_spelling_of_the_list(owner: ApiUser) -> None:
    response = owner.put(SETTINGS, json=defaults(StatusNew="new", DefaultPriority="NORMAL"))
    assert (response.json()["StatusNew"], response.json()["DefaultPriority"]) == ("New", "Normal")


def test_field_names_are_matched_case_insensitively(owner: ApiUser) -> None:
    proposed = {key[0].lower() + key[1:]: value for key, value in defaults().items()}
    response = owner.put(SETTINGS, json=proposed)
    assert response.status_code == 200
    assert response.json() == DEFAULTS


# --- adding, removing and changing -------------------------------------------------------


def test_a_status_added_to_the_settings_can_be_set_on_a_case(
    owner: ApiUser, admin: ApiUser
) -> None:
    statuses = [*DEFAULTS["Statuses"], {"Name": "Escalated", "Level": 25}]
    assert owner.put(SETTINGS, json=defaults(Statuses=statuses)).status_code == 200
    case = admin.create_case()
    response = admin.post(f"/api/cases/{case['Id']}/changestatus", params={"status": "Escalated"})
    assert response.status_code == 200
    assert response.json()["Status"] == "Escalated"


def test_a_priority_added_to_the_settings_can_be_set_on_a_new_case(
    owner: ApiUser, admin: ApiUser
) -> None:
    priorities = [*DEFAULTS["Priorities"], {"Name": "Blocker", "Severity": 5}]
    owner.put(SETTINGS, json=defaults(Priorities=priorities))
    assert admin.create_case(Priority="Blocker")["Priority"] == "Blocker"


def test_a_new_default_priority_applies_to_the_next_case(owner: ApiUser, admin: ApiUser) -> None:
    owner.put(SETTINGS, json=defaults(DefaultPriority="Low"))
    assert admin.create_case()["Priority"] == "Low"


def test_a_new_status_new_applies_to_the_next_case(owner: ApiUser, admin: ApiUser) -> None:
    statuses = [{"Name": "Open", "Level": 5}, *DEFAULTS["Statuses"]]
    owner.put(SETTINGS, json=defaults(Statuses=statuses, StatusNew="Open"))
    assert admin.create_case()["Status"] == "Open"


def test_a_removed_status_can_no_longer_be_set(owner: ApiUser, admin: ApiUser) -> None:
    owner.put(SETTINGS, json=defaults(Statuses=without_status("Waiting for Customer")))
    case = admin.create_case()
    response = admin.post(
        f"/api/cases/{case['Id']}/changestatus", params={"status": "Waiting for Customer"}
    )
    assert response.status_code == 400


def test_removing_an_unused_status_works(owner: ApiUser, admin: ApiUser) -> None:
    admin.create_case()
    response = owner.put(SETTINGS, json=defaults(Statuses=without_status("Waiting for Customer")))
    assert response.status_code == 200
    names = [status["Name"] for status in owner.get(SETTINGS).json()["Statuses"]]
    assert "Waiting for Customer" not in names


def test_removing_a_status_used_by_cases_is_409_naming_how_many(
    owner: ApiUser, admin: ApiUser
) -> None:
    admin.create_case()
    admin.create_case()
    response = owner.put(
        SETTINGS, json=defaults(Statuses=without_status("New"), StatusNew="In Progress")
    )
    body = assert_refused(response, 409)
    assert body["detail"] == "Status 'New' is used by 2 cases. Move those cases first."


def test_a_refused_removal_leaves_the_settings_as_they_were(owner: ApiUser, admin: ApiUser) -> None:
    admin.create_case()
    owner.put(SETTINGS, json=defaults(Statuses=without_status("New"), StatusNew="In Progress"))
    assert owner.get(SETTINGS).json() == DEFAULTS


def test_removing_a_status_used_only_by_a_soft_deleted_case_is_409(
    owner: ApiUser, admin: ApiUser
) -> None:
    case = admin.create_case()
    admin.delete(f"/api/cases/{case['Id']}")
    response = owner.put(
        SETTINGS, json=defaults(Statuses=without_status("New"), StatusNew="In Progress")
    )
    body = assert_refused(response, 409)
    assert "Status 'New' is used by 1 case." in body["detail"]


def test_removing_a_priority_used_by_cases_is_409_naming_how_many(
    owner: ApiUser, admin: ApiUser
) -> None:
    admin.create_case(Priority="High")
    response = owner.put(SETTINGS, json=defaults(Priorities=without_priority("High")))
    body = assert_refused(response, 409)
    assert "Priority 'High' is used by 1 case." in body["detail"]


def test_removing_an_unused_priority_works(owner: ApiUser, admin: ApiUser) -> None:
    admin.create_case(Priority="High")
    response = owner.put(SETTINGS, json=defaults(Priorities=without_priority("Critical")))
    assert response.status_code == 200


def test_changing_a_level_re_sorts_existing_cases(owner: ApiUser, admin: ApiUser) -> None:
    admin.create_case(Subject="Parcel never arrived")
    waiting = admin.create_case(Subject="Wrong size delivered")
    admin.post(f"/api/cases/{waiting['Id']}/changestatus", params={"status": "In Progress"})
    assert subjects_sorted(admin, "StatusAscending") == [
        "Parcel never arrived",
        "Wrong size delivered",
    ]
    owner.put(SETTINGS, json=defaults(Statuses=with_level("New", 25)))
    assert subjects_sorted(admin, "StatusAscending") == [
        "Wrong size delivered",
        "Parcel never arrived",
    ]


def test_changing_a_severity_re_sorts_existing_cases(owner: ApiUser, admin: ApiUser) -> None:
    admin.create_case(Subject="Parcel never arrived", Priority="Low")
    admin.create_case(Subject="Wrong size delivered", Priority="High")
    priorities = [
        {"Name": p["Name"], "Severity": 9 if p["Name"] == "Low" else p["Severity"]}
        for p in DEFAULTS["Priorities"]
    ]
    owner.put(SETTINGS, json=defaults(Priorities=priorities))
    assert subjects_sorted(admin, "PriorityDescending") == [
        "Parcel never arrived",
        "Wrong size delivered",
    ]


def test_respelling_a_status_renames_it_on_the_cases_that_use_it(
    owner: ApiUser, admin: ApiUser
) -> None:
    case = admin.create_case()
    statuses = [{"Name": "NEW", "Level": 10}, *without_status("New")]
    owner.put(SETTINGS, json=defaults(Statuses=statuses, StatusNew="NEW"))
    assert admin.get(f"/api/cases/{case['Id']}").json()["Status"] == "NEW"


def test_a_new_number_prefix_applies_to_the_next_case_number(
    owner: ApiUser, admin: ApiUser
) -> None:
    first = admin.create_case()
    owner.put(SETTINGS, json=defaults(NumberPrefix="SUP-"))
    second = admin.create_case()
    assert (first["CaseNumber"], second["CaseNumber"]) == ("CS-1001", "SUP-1002")
    assert admin.get(f"/api/cases/{first['Id']}").json()["CaseNumber"] == "CS-1001"


def test_a_prefix_that_would_give_an_existing_case_number_again_is_409_naming_it(
    owner: ApiUser, admin: ApiUser
) -> None:
    owner.put(SETTINGS, json=defaults(NumberPrefix="CS-1"))
    assert admin.create_case()["CaseNumber"] == "CS-11001"
    body = assert_refused(owner.put(SETTINGS, json=defaults(NumberPrefix="CS-")), 409)
    assert "'CS-11001'" in body["detail"]
    assert owner.get(SETTINGS).json()["NumberPrefix"] == "CS-1"


def test_creates_keep_working_when_the_counter_reaches_a_number_an_old_prefix_gave(
    owner: ApiUser, admin: ApiUser, database_url: str
) -> None:
    owner.put(SETTINGS, json=defaults(NumberPrefix="CS-1"))
    admin.create_case()
    owner.put(SETTINGS, json=defaults(NumberPrefix="CS-"))
    set_last_case_number(database_url, 11_000)
    numbers = [admin.create_case()["CaseNumber"] for _ in range(2)]
    assert numbers == ["CS-111001", "CS-111002"]


def test_a_tenant_whose_old_prefix_repeats_a_number_creates_again_under_a_new_prefix(
    owner: ApiUser, admin: ApiUser, database_url: str
) -> None:
    """docs/operations.md: a prefix changed before such prefixes were refused."""
    owner.put(SETTINGS, json=defaults(NumberPrefix="CS-1"))
    admin.create_case()

    async def unchecked_prefix(session: AsyncSession) -> None:
        current = await settings_repository.get_rules(session, 1)
        await settings_repository.save_rules(session, 1, replace(current, number_prefix="CS-"))

    run_in_transaction(database_url, unchecked_prefix)
    set_last_case_number(database_url, 11_000)
    assert_refused(admin.post("/api/cases", json={"Subject": "Parcel never arrived"}), 409)
    assert owner.put(SETTINGS, json=defaults(NumberPrefix="SUP-")).status_code == 200
    assert admin.create_case()["CaseNumber"] == "SUP-11001"


def test_returning_to_a_prefix_whose_numbers_are_all_used_up_is_allowed(
    owner: ApiUser, admin: ApiUser
) -> None:
    admin.create_case()
    assert owner.put(SETTINGS, json=defaults(NumberPrefix="SUP-")).status_code == 200
    admin.create_case()
    assert owner.put(SETTINGS, json=defaults(NumberPrefix="CS-")).status_code == 200
    assert admin.create_case()["CaseNumber"] == "CS-1003"


def test_a_prefix_matching_only_numbers_with_a_leading_zero_is_allowed(
    owner: ApiUser, admin: ApiUser
) -> None:
    owner.put(SETTINGS, json=defaults(NumberPrefix="CS-0"))
    admin.create_case()
    assert owner.put(SETTINGS, json=defaults(NumberPrefix="CS-")).status_code == 200


# --- who may change them -----------------------------------------------------------------


@pytest.mark.parametrize("markets", [("NO",), ("NO", "SE")])
def test_an_owner_limited_to_markets_may_not_change_the_settings(
    make_user: UserFactory, markets: tuple[str, ...]
) -> None:
    limited = make_user("ApiOwner", markets=markets)
    body = assert_refused(limited.put(SETTINGS, json=defaults(NumberPrefix="SUP-")), 403)
    assert "AllMarkets" in body["detail"]
    assert limited.get(SETTINGS).json() == DEFAULTS


def test_an_owner_limited_to_markets_learns_nothing_of_the_cases_in_use(
    make_user: UserFactory,
) -> None:
    make_user("CaseAdmin", markets=("SE",)).create_case(MarketId="SE")
    limited = make_user("ApiOwner", markets=("NO",))
    limited.create_case(MarketId="NO")
    response = limited.put(
        SETTINGS, json=defaults(Statuses=without_status("New"), StatusNew="In Progress")
    )
    body = assert_refused(response, 403)
    assert "case" not in body["detail"].replace("case settings", "")


def test_a_market_scoped_reader_may_read_the_settings(make_user: UserFactory) -> None:
    assert make_user("CaseRead", markets=("NO",)).get(SETTINGS).json() == DEFAULTS


# --- invalid settings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        pytest.param({"StatusNew": "Open"}, {"StatusNew"}, id="status-new-not-in-list"),
        pytest.param({"StatusClosed": "Done"}, {"StatusClosed"}, id="status-closed-not-in-list"),
        pytest.param(
            {"Statuses": [*DEFAULTS["Statuses"], {"Name": "new", "Level": 60}]},
            {"Statuses"},
            id="duplicate-status",
        ),
        pytest.param(
            {"Priorities": [*DEFAULTS["Priorities"], {"Name": "Low", "Severity": 0}]},
            {"Priorities"},
            id="duplicate-priority",
        ),
        pytest.param({"Statuses": []}, {"Statuses"}, id="no-statuses"),
        pytest.param({"Priorities": []}, {"Priorities"}, id="no-priorities"),
        pytest.param(
            {"DefaultPriority": "Urgent"}, {"DefaultPriority"}, id="default-priority-not-in-list"
        ),
        pytest.param({"DefaultPriority": None}, {"DefaultPriority"}, id="default-priority-null"),
        pytest.param(
            {"Statuses": [{"Name": " ", "Level": 10}, *DEFAULTS["Statuses"]]},
            {"Statuses[0].Name"},
            id="blank-status-name",
        ),
        pytest.param(
            {"Statuses": [{"Name": "Open"}, *DEFAULTS["Statuses"]]},
            {"Statuses[0].Level"},
            id="status-without-level",
        ),
        pytest.param({"Colour": "blue"}, {"Colour"}, id="unknown-field"),
        pytest.param(
            {"StatusNew": "Open", "DefaultPriority": "Urgent"},
            {"StatusNew", "DefaultPriority"},
            id="two-problems",
        ),
    ],
)
def test_invalid_settings_are_400_naming_the_fields(
    owner: ApiUser, changes: dict[str, Any], fields: set[str]
) -> None:
    body = assert_refused(owner.put(SETTINGS, json=defaults(**changes)), 400)
    assert set(body["errors"]) == fields
    assert owner.get(SETTINGS).json() == DEFAULTS


def test_settings_missing_a_required_field_are_400_naming_it(owner: ApiUser) -> None:
    settings = defaults()
    del settings["DefaultPriority"]
    body = assert_refused(owner.put(SETTINGS, json=settings), 400)
    assert body["errors"] == {"DefaultPriority": ["The DefaultPriority field is required."]}


# --- tenants -----------------------------------------------------------------------------


def test_settings_are_per_tenant(owner: ApiUser, make_user: UserFactory) -> None:
    owner.put(SETTINGS, json=defaults(NumberPrefix="SUP-", DefaultPriority="High"))
    other = make_user("CaseRead", tenant="acme")
    assert other.get(SETTINGS).json() == DEFAULTS


def test_another_tenants_cases_keep_the_default_prefix(
    owner: ApiUser, make_user: UserFactory
) -> None:
    owner.put(SETTINGS, json=defaults(NumberPrefix="SUP-"))
    other = make_user("CaseAdmin", tenant="acme")
    assert other.create_case()["CaseNumber"] == "CS-1001"


def test_another_tenants_cases_do_not_block_removing_a_priority(
    owner: ApiUser, make_user: UserFactory
) -> None:
    make_user("CaseAdmin", tenant="acme").create_case(Priority="High")
    response = owner.put(SETTINGS, json=defaults(Priorities=without_priority("High")))
    assert response.status_code == 200
