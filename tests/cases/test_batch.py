"""POST /api/cases/addmany, and what it shares with patchmany: each item on its own, by the rules
of the single-item endpoints, answered with counts, the applied items and the failed ones."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk import clock
from casedesk.auth.policy import Actor
from casedesk.cases import batch, service
from casedesk.cases.errors import CaseIdTaken
from casedesk.cases.schemas import OmniumCaseCreate
from casedesk.config import Settings
from casedesk.errors import Conflict, ValueTaken
from casedesk.main import create_app
from tests.cases.batch_calls import (
    ADD,
    PATCH,
    PROBLEM_JSON,
    SUBJECT,
    add_many,
    as_item_error,
    counts,
    only_error,
)
from tests.cases.numbering import set_last_case_number
from tests.conftest import ApiUser, UserFactory, run_in_transaction

# addmany: what is created


def test_addmany_creates_every_item_and_lists_its_id_and_case_number(admin: ApiUser) -> None:
    body = add_many(admin, [{"Id": "abc123", "Subject": SUBJECT}, {"Subject": "Refund missing"}])
    first, second = body["Items"]
    assert first == {"Index": 0, "Id": "abc123", "CaseNumber": "CS-1001", "Result": "Created"}
    assert (second["Index"], second["CaseNumber"], second["Result"]) == (1, "CS-1002", "Created")
    assert admin.get(f"/api/cases/{second['Id']}").json()["Subject"] == "Refund missing"


def test_addmany_counts_created_cases_as_created_and_updated(admin: ApiUser) -> None:
    body = add_many(admin, [{"Subject": SUBJECT}, {"Subject": "Refund missing"}])
    assert counts(body) == {
        "Total": 2,
        "Created": 2,
        "Updated": 2,
        "Unchanged": 0,
        "NotFound": 0,
        "Error": 0,
    }
    assert body["Errors"] == []


def test_a_batch_created_case_reads_back_like_a_single_created_one(admin: ApiUser) -> None:
    fields = {
        "Subject": SUBJECT,
        "Priority": "high",
        "Status": "Closed",
        "Tags": ["Shipping"],
        "Participants": [{"Name": "Jane Smith", "Email": "jane@example.com"}],
        "InternalNotes": [{"Detail": "Courier confirmed the damage.", "Creator": "Ola"}],
        "FollowUpDate": "2026-04-01T09:00:00+02:00",
    }
    single = admin.create_case(Id="single", **fields)
    add_many(admin, [{"Id": "batched", **fields}])
    batched = admin.get("/api/cases/batched").json()
    differ = {"Id", "CaseNumber", "Created", "Changed", "ResolvedDate", "ClosedDate"}
    times = {"CaseStatusLog", "InternalNotes", "LastCommentDate"}

    def same(case: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in case.items() if key not in differ | times}

    assert same(batched) == same(single)
    assert [item["Status"] for item in batched["CaseStatusLog"]] == ["Closed"]
    assert batched["CaseStatusLog"][0]["DurationSincePreviousMs"] is None
    assert batched["ClosedDate"] == batched["ResolvedDate"] == batched["Created"]


def test_case_numbers_of_a_batch_are_unique_and_consecutive(admin: ApiUser) -> None:
    admin.create_case()
    body = add_many(admin, [{"Subject": f"Parcel {n}"} for n in range(1000)])
    numbers = [item["CaseNumber"] for item in body["Items"]]
    assert numbers == [f"CS-{n}" for n in range(1002, 2002)]
    assert admin.create_case()["CaseNumber"] == "CS-2002"


def test_a_rejected_item_takes_no_case_number(admin: ApiUser) -> None:
    body = add_many(admin, [{"Subject": SUBJECT}, {"Subject": ""}, {"Subject": "Refund missing"}])
    assert [item["CaseNumber"] for item in body["Items"]] == ["CS-1001", "CS-1002"]


def test_search_by_tag_and_order_finds_batch_created_cases(admin: ApiUser) -> None:
    add_many(
        admin,
        [
            {"Id": "tagged", "Subject": SUBJECT, "Tags": ["Shipping"]},
            {"Id": "ordered", "Subject": SUBJECT, "RelatedOrders": ["ORD-10542"]},
            {"Id": "plain", "Subject": SUBJECT},
        ],
    )
    by_tag = admin.post("/api/cases/search", json={"Tags": ["shipping"]}).json()
    by_order = admin.post("/api/cases/search", json={"OrderId": "ORD-10542"}).json()
    assert [case["Id"] for case in by_tag["Items"]] == ["tagged"]
    assert [case["Id"] for case in by_order["Items"]] == ["ordered"]


def test_search_text_finds_a_batch_created_case(admin: ApiUser) -> None:
    add_many(admin, [{"Id": "crushed", "Subject": "Box crushed in transit"}])
    found = admin.post("/api/cases/search", json={"SearchText": "crushed"}).json()
    assert [case["Id"] for case in found["Items"]] == ["crushed"]


# addmany: items that fail, each alone


def test_an_invalid_item_is_reported_with_the_single_create_messages(admin: ApiUser) -> None:
    bad = {"Id": "abc123", "Subjekt": SUBJECT, "Tags": ["", "Shipping"]}
    single = admin.post("/api/cases", json=bad)
    body = add_many(admin, [{"Subject": SUBJECT}, bad])
    assert only_error(body) == as_item_error(single, 1, "abc123")
    assert set(only_error(body)["Errors"]) == {"Subjekt", "Subject", "Tags[0]"}


def test_an_unknown_status_is_reported_with_the_allowed_values(admin: ApiUser) -> None:
    bad = {"Subject": SUBJECT, "Status": "Pending"}
    single = admin.post("/api/cases", json=bad)
    body = add_many(admin, [bad])
    assert only_error(body) == as_item_error(single, 0, None)
    assert "New, In Progress" in only_error(body)["Errors"]["Status"][0]


def test_a_taken_id_is_reported_as_409(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    single = admin.post("/api/cases", json={"Id": "abc123", "Subject": SUBJECT})
    body = add_many(admin, [{"Id": "abc123", "Subject": "Refund missing"}])
    assert only_error(body) == as_item_error(single, 0, "abc123")
    assert only_error(body)["Status"] == 409
    assert admin.get("/api/cases/abc123").json()["Subject"] == SUBJECT


def test_an_id_repeated_in_the_batch_fails_the_later_item_with_409(admin: ApiUser) -> None:
    body = add_many(
        admin,
        [{"Id": "abc123", "Subject": SUBJECT}, {"Id": "abc123", "Subject": "Refund missing"}],
    )
    assert [item["Index"] for item in body["Items"]] == [0]
    assert (only_error(body)["Index"], only_error(body)["Status"]) == (1, 409)
    assert admin.get("/api/cases/abc123").json()["Subject"] == SUBJECT


def store_new_cases(url: str, rows: list[tuple[str, int]]) -> list[int | Conflict]:
    """Store cases of these (Id, number) straight away, as addmany does after its Id check."""
    actor = Actor("batch", "batch", tenant_id=1, roles=frozenset({"CaseAdmin", "AllMarkets"}))

    async def store(session: AsyncSession) -> list[int | Conflict]:
        rules = await service.write_rules(session, actor)
        built = [
            service.build_case(
                actor,
                rules,
                service.plan_new_case(
                    actor, rules, OmniumCaseCreate.model_validate({"Id": case_id, "Subject": "x"})
                ),
                number=number,
                moment=clock.now(),
            )
            for case_id, number in rows
        ]
        return await batch.store_new_cases(session, tenant_id=1, rows=built)

    return run_in_transaction(url, store)


def test_an_id_taken_by_another_request_after_the_check_fails_only_its_item(
    database_url: str, admin: ApiUser
) -> None:
    admin.create_case(Id="abc123")
    stored = store_new_cases(database_url, [("abc124", 2001), ("abc123", 2002), ("abc125", 2003)])
    assert [type(pk) for pk in stored] == [int, CaseIdTaken, int]
    assert admin.get("/api/cases/abc123").json()["Subject"] == SUBJECT
    assert admin.get("/api/cases/abc125").json()["CaseNumber"] == "CS-2003"


def test_a_number_taken_when_the_cases_are_stored_fails_only_its_item(
    database_url: str, admin: ApiUser
) -> None:
    admin.create_case(Id="abc123")
    stored = store_new_cases(database_url, [("abc124", 2001), ("abc125", 1001), ("abc126", 2003)])
    assert [type(pk) for pk in stored] == [int, ValueTaken, int]
    assert admin.get("/api/cases/abc123").json()["CaseNumber"] == "CS-1001"
    assert admin.get("/api/cases/abc126").json()["CaseNumber"] == "CS-2003"


@pytest.mark.parametrize("chosen_id", [None, "abc124"], ids=["server-ids", "chosen-ids"])
def test_an_item_meeting_a_case_number_taken_already_fails_alone_with_the_single_409(
    admin: ApiUser, database_url: str, chosen_id: str | None
) -> None:
    admin.create_case()
    set_last_case_number(database_url, 1000)
    single = admin.post("/api/cases", json={"Id": chosen_id, "Subject": SUBJECT})
    assert single.status_code == 409, single.text
    body = add_many(admin, [{"Id": chosen_id, "Subject": SUBJECT}, {"Subject": "Refund missing"}])
    assert only_error(body) == as_item_error(single, 0, chosen_id)
    assert [(item["Index"], item["CaseNumber"]) for item in body["Items"]] == [(1, "CS-1002")]
    assert admin.post("/api/cases/search", json={}).json()["TotalHits"] == 2


def test_an_item_in_a_market_the_user_lacks_is_refused_with_403(make_user: UserFactory) -> None:
    norwegian = make_user("CaseAdmin", markets=("NO",))
    single = norwegian.post("/api/cases", json={"Subject": SUBJECT, "MarketId": "SE"})
    body = add_many(
        norwegian,
        [{"Subject": SUBJECT, "MarketId": "SE"}, {"Subject": SUBJECT, "MarketId": "NO"}],
    )
    assert only_error(body) == as_item_error(single, 0, None)
    assert only_error(body)["Status"] == 403
    assert [item["Index"] for item in body["Items"]] == [1]


def test_an_item_that_is_not_an_object_is_a_400_for_that_item(admin: ApiUser) -> None:
    body = add_many(admin, ["Order arrived damaged", {"Subject": SUBJECT}])
    assert only_error(body)["Index"] == 0
    assert only_error(body)["Status"] == 400
    assert set(only_error(body)["Errors"]) == {"$"}
    assert body["CreatedCount"] == 1


def test_mixed_items_are_counted_and_listed_in_order(admin: ApiUser) -> None:
    admin.create_case(Id="taken")
    body = add_many(
        admin,
        [
            {"Subject": SUBJECT},
            {"Subject": SUBJECT, "Priority": "Urgent"},
            {"Id": "taken", "Subject": SUBJECT},
            {"Id": "fresh", "Subject": SUBJECT},
            {"Description": "No subject"},
            {"Id": "fresh", "Subject": SUBJECT},
        ],
    )
    assert [item["Index"] for item in body["Items"]] == [0, 3]
    assert [(error["Index"], error["Status"]) for error in body["Errors"]] == [
        (1, 400),
        (2, 409),
        (4, 400),
        (5, 409),
    ]
    assert counts(body) == {
        "Total": 6,
        "Created": 2,
        "Updated": 2,
        "Unchanged": 0,
        "NotFound": 0,
        "Error": 4,
    }


# addmany and patchmany: the request as a whole


@pytest.mark.parametrize(("method", "url"), [("POST", ADD), ("PATCH", PATCH)])
def test_an_empty_array_answers_every_count_zero(admin: ApiUser, method: str, url: str) -> None:
    response = admin.request(method, url, json=[])
    assert response.status_code == 200
    assert response.json() == {
        "TotalCount": 0,
        "CreatedCount": 0,
        "UpdatedCount": 0,
        "UnchangedCount": 0,
        "NotFoundCount": 0,
        "ErrorCount": 0,
        "Items": [],
        "Errors": [],
    }


@pytest.mark.parametrize(("method", "url"), [("POST", ADD), ("PATCH", PATCH)])
def test_more_than_1000_items_is_a_400_for_the_whole_request(
    admin: ApiUser, method: str, url: str
) -> None:
    items = [{"Id": f"case-{n}", "Subject": SUBJECT} for n in range(1001)]
    response = admin.request(method, url, json=items)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "1000" in response.json()["errors"]["$"][0]
    assert admin.post("/api/cases/search", json={}).json()["TotalHits"] == 0


@pytest.mark.parametrize(("method", "url"), [("POST", ADD), ("PATCH", PATCH)])
def test_a_body_that_is_not_an_array_is_a_400(admin: ApiUser, method: str, url: str) -> None:
    response = admin.request(method, url, json={"Id": "abc123", "Subject": SUBJECT})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"$"}


@pytest.mark.parametrize(("method", "url"), [("POST", ADD), ("PATCH", PATCH)])
def test_a_reader_may_not_write_in_batches(reader: ApiUser, method: str, url: str) -> None:
    response = reader.request(method, url, json=[{"Id": "abc123", "Subject": SUBJECT}])
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize(("method", "url"), [("POST", ADD), ("PATCH", PATCH)])
def test_a_batch_without_a_token_is_401(client: TestClient, method: str, url: str) -> None:
    response = client.request(method, url, json=[{"Id": "abc123", "Subject": SUBJECT}])
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


# The OpenAPI document


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    body: dict[str, Any] = create_app(Settings()).openapi()
    return body


@pytest.mark.parametrize(
    ("method", "url", "model"),
    [("post", ADD, "OmniumCaseCreate"), ("patch", PATCH, "OmniumCasePatch")],
)
def test_the_document_shows_the_body_as_an_array_of_the_single_item_model(
    document: dict[str, Any], method: str, url: str, model: str
) -> None:
    schema = document["paths"][url][method]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["type"] == "array"
    assert schema["maxItems"] == 1000
    assert schema["items"] == {"$ref": f"#/components/schemas/{model}"}


@pytest.mark.parametrize(("method", "url"), [("post", ADD), ("patch", PATCH)])
def test_the_document_shows_the_batch_result_and_the_problems(
    document: dict[str, Any], method: str, url: str
) -> None:
    responses = document["paths"][url][method]["responses"]
    ok = responses["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/OmniumBatchResult"}
    for status in ("400", "401", "403", "413", "415"):
        assert set(responses[status]["content"]) == {PROBLEM_JSON}, status


def test_the_batch_result_model_has_the_five_counters(document: dict[str, Any]) -> None:
    properties = document["components"]["schemas"]["OmniumBatchResult"]["properties"]
    assert {
        "TotalCount",
        "UpdatedCount",
        "UnchangedCount",
        "NotFoundCount",
        "ErrorCount",
    } <= properties.keys()
