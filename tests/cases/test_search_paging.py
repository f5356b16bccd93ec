"""Paging: zero-based Page, Take of at most 100, no deeper than 10,000, exact TotalHits."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ApiUser

SEARCH = "/api/cases/search"


def search(user: ApiUser, **body: Any) -> dict[str, Any]:
    response = user.post(SEARCH, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def subjects(result: dict[str, Any]) -> list[str]:
    return [case["Subject"] for case in result["Items"]]


@pytest.fixture
def five_cases(admin: ApiUser) -> None:
    for number in range(1, 6):
        admin.create_case(Id=f"case-{number}", Subject=f"Case {number}")


@pytest.mark.usefixtures("five_cases")
def test_response_has_exactly_items_total_hits_page_and_page_size(admin: ApiUser) -> None:
    result = search(admin, Page=1, Take=2)

    assert set(result) == {"Items", "TotalHits", "Page", "PageSize"}
    assert (result["TotalHits"], result["Page"], result["PageSize"]) == (5, 1, 2)


@pytest.mark.usefixtures("five_cases")
def test_items_are_whole_cases(admin: ApiUser) -> None:
    item = search(admin, Take=1, SortOrder="CreatedAscending")["Items"][0]

    assert item == admin.get("/api/cases/case-1").json()


@pytest.mark.usefixtures("five_cases")
def test_page_is_zero_based(admin: ApiUser) -> None:
    result = search(admin, SortOrder="SubjectAscending", Page=0, Take=2)

    assert subjects(result) == ["Case 1", "Case 2"]


@pytest.mark.usefixtures("five_cases")
def test_later_pages_continue_where_the_previous_ended(admin: ApiUser) -> None:
    pages = [
        subjects(search(admin, SortOrder="SubjectAscending", Page=page, Take=2))
        for page in range(3)
    ]

    assert pages == [["Case 1", "Case 2"], ["Case 3", "Case 4"], ["Case 5"]]


@pytest.mark.usefixtures("five_cases")
@pytest.mark.parametrize("page", [0, 1, 2, 3])
def test_total_hits_is_exact_on_every_page(admin: ApiUser, page: int) -> None:
    assert search(admin, Page=page, Take=2)["TotalHits"] == 5


@pytest.mark.usefixtures("five_cases")
def test_total_hits_counts_matches_not_the_page(admin: ApiUser) -> None:
    admin.create_case(Subject="Other")

    result = search(admin, SearchText="case", Take=2)

    assert (len(result["Items"]), result["TotalHits"]) == (2, 5)


@pytest.mark.usefixtures("five_cases")
def test_a_page_past_the_end_is_empty_with_the_right_total(admin: ApiUser) -> None:
    result = search(admin, Page=3, Take=2)

    assert (result["Items"], result["TotalHits"], result["Page"], result["PageSize"]) == (
        [],
        5,
        3,
        2,
    )


def test_no_match_is_an_empty_page_with_total_zero(admin: ApiUser) -> None:
    result = search(admin, SearchText="nothing")

    assert (result["Items"], result["TotalHits"]) == ([], 0)


def test_take_defaults_to_20(admin: ApiUser) -> None:
    for number in range(21):
        admin.create_case(Subject=f"Case {number}")

    result = search(admin)

    assert (len(result["Items"]), result["TotalHits"], result["Page"], result["PageSize"]) == (
        20,
        21,
        0,
        20,
    )


@pytest.mark.usefixtures("five_cases")
def test_page_take_and_include_deleted_sent_as_null_behave_as_defaults(admin: ApiUser) -> None:
    admin.delete("/api/cases/case-1")

    result = search(admin, Page=None, Take=None, IncludeDeleted=None)

    assert (result["TotalHits"], result["Page"], result["PageSize"]) == (4, 0, 20)


def test_take_of_100_is_allowed(admin: ApiUser) -> None:
    assert search(admin, Take=100)["PageSize"] == 100


@pytest.mark.parametrize(
    ("page", "take"), [(100, 100), (10_000, 1), (200, 50), (0, 100), (9_999, 1)]
)
def test_paging_exactly_10000_deep_is_allowed(admin: ApiUser, page: int, take: int) -> None:
    result = search(admin, Page=page, Take=take)

    assert (result["Items"], result["Page"], result["PageSize"]) == ([], page, take)


@pytest.mark.parametrize("take", [0, -1, 101, 1000])
def test_take_outside_1_to_100_is_a_400(admin: ApiUser, take: int) -> None:
    response = admin.post(SEARCH, json={"Take": take})

    assert response.status_code == 400
    assert "Take" in response.json()["errors"]


def test_negative_page_is_a_400(admin: ApiUser) -> None:
    response = admin.post(SEARCH, json={"Page": -1})

    assert response.status_code == 400
    assert "Page" in response.json()["errors"]


@pytest.mark.parametrize(("page", "take"), [(101, 100), (10_001, 1), (5_001, 2), (201, 50)])
def test_paging_past_10000_is_a_400(admin: ApiUser, page: int, take: int) -> None:
    response = admin.post(SEARCH, json={"Page": page, "Take": take})

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Page" in response.json()["errors"]


def test_paging_past_10000_points_to_scroll(admin: ApiUser) -> None:
    response = admin.post(SEARCH, json={"Page": 101, "Take": 100})

    assert response.json()["errors"]["Page"] == [
        "Page * Take may not pass 10,000 (got 101 * 100). Use scroll to read further."
    ]


def test_page_past_10000_with_the_default_take_is_a_400(admin: ApiUser) -> None:
    response = admin.post(SEARCH, json={"Page": 501})

    assert response.status_code == 400


def test_a_page_number_beyond_10000_gets_the_scroll_hint_too(admin: ApiUser) -> None:
    response = admin.post(SEARCH, json={"Page": 10**12, "Take": 1})

    assert response.status_code == 400
    assert "Use scroll" in response.json()["errors"]["Page"][0]


@pytest.mark.parametrize("body", [{"Page": "one"}, {"Take": 2.5}, {"IncludeDeleted": "maybe"}])
def test_paging_fields_of_the_wrong_type_are_a_400(admin: ApiUser, body: dict[str, Any]) -> None:
    assert admin.post(SEARCH, json=body).status_code == 400


def test_an_empty_body_is_a_search_with_every_default(admin: ApiUser) -> None:
    admin.create_case(Subject="Only one")

    result = search(admin)

    assert (subjects(result), result["TotalHits"], result["Page"], result["PageSize"]) == (
        ["Only one"],
        1,
        0,
        20,
    )
