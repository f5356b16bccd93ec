"""PATCH /api/cases/patchmany: each patch applied on its own, in order, by the rules of PATCH."""

from __future__ import annotations

from tests.cases.batch_calls import SUBJECT, as_item_error, counts, only_error, patch_many
from tests.conftest import ApiUser, UserFactory


def test_patchmany_counts_updated_unchanged_not_found_and_error(admin: ApiUser) -> None:
    admin.create_case(Id="first")
    admin.create_case(Id="second", Priority="High")
    body = patch_many(
        admin,
        [
            {"Id": "first", "Priority": "Critical"},
            {"Id": "second", "Priority": "High"},
            {"Id": "missing", "Priority": "Low"},
            {"Id": "first", "Status": "Pending"},
        ],
    )
    assert counts(body) == {
        "Total": 4,
        "Created": 0,
        "Updated": 1,
        "Unchanged": 1,
        "NotFound": 1,
        "Error": 1,
    }
    assert [(item["Id"], item["Result"]) for item in body["Items"]] == [
        ("first", "Updated"),
        ("second", "Unchanged"),
    ]
    assert [(error["Index"], error["Status"]) for error in body["Errors"]] == [(2, 404), (3, 400)]


def test_patchmany_applies_only_the_fields_sent(admin: ApiUser) -> None:
    admin.create_case(Id="abc123", CustomerName="Jane Smith", Tags=["Shipping"])
    patch_many(admin, [{"Id": "abc123", "Priority": "Critical", "Tags": ["Shipping", "Escalated"]}])
    case = admin.get("/api/cases/abc123").json()
    assert (case["Priority"], case["Tags"]) == ("Critical", ["Shipping", "Escalated"])
    assert (case["CustomerName"], case["Subject"]) == ("Jane Smith", SUBJECT)


def test_patchmany_reports_errors_with_the_single_patch_messages(admin: ApiUser) -> None:
    admin.create_case(Id="abc123", Description="Box crushed")
    bad = {"Id": "abc123", "Description": "x", "FieldsToForceNull": ["Description", "Subject"]}
    single = admin.patch("/api/cases", json=bad)
    body = patch_many(admin, [bad, {"Id": "abc123", "Priority": "Whenever"}])
    unknown = admin.patch("/api/cases", json={"Id": "abc123", "Priority": "Whenever"})
    assert body["Errors"] == [
        as_item_error(single, 0, "abc123"),
        as_item_error(unknown, 1, "abc123"),
    ]


def test_a_patch_item_without_an_id_is_a_validation_error(admin: ApiUser) -> None:
    body = patch_many(admin, [{"Priority": "High"}])
    assert only_error(body)["Errors"] == {"Id": ["The Id field is required."]}
    assert body["ErrorCount"] == 1


def test_patchmany_reports_a_deleted_case_as_not_found(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    admin.delete("/api/cases/abc123")
    single = admin.patch("/api/cases", json={"Id": "abc123", "Priority": "High"})
    body = patch_many(admin, [{"Id": "abc123", "Priority": "High"}])
    assert only_error(body) == as_item_error(single, 0, "abc123")
    assert body["NotFoundCount"] == 1


def test_patchmany_hides_a_case_in_another_market_as_not_found(
    make_user: UserFactory, admin: ApiUser
) -> None:
    admin.create_case(Id="swedish", MarketId="SE")
    norwegian = make_user("CaseAdmin", markets=("NO",))
    body = patch_many(
        norwegian, [{"Id": "swedish", "Priority": "High"}, {"Id": "absent", "Priority": "High"}]
    )
    hidden, missing = body["Errors"]
    assert hidden["Detail"].replace("swedish", "?") == missing["Detail"].replace("absent", "?")
    assert (hidden["Status"], body["NotFoundCount"]) == (404, 2)
    assert admin.get("/api/cases/swedish").json()["Priority"] == "Normal"


def test_patchmany_refuses_a_move_into_a_market_the_user_lacks(make_user: UserFactory) -> None:
    norwegian = make_user("CaseAdmin", markets=("NO",))
    norwegian.create_case(Id="abc123", MarketId="NO")
    body = patch_many(norwegian, [{"Id": "abc123", "MarketId": "SE", "Priority": "High"}])
    assert (only_error(body)["Status"], body["ErrorCount"]) == (403, 1)
    case = norwegian.get("/api/cases/abc123").json()
    assert (case["MarketId"], case["Priority"]) == ("NO", "Normal")


def test_a_refused_patch_leaves_the_case_for_the_next_patch_of_the_batch(
    make_user: UserFactory,
) -> None:
    norwegian = make_user("CaseAdmin", markets=("NO",))
    norwegian.create_case(Id="abc123", MarketId="NO")
    body = patch_many(
        norwegian,
        [{"Id": "abc123", "MarketId": "SE", "Priority": "High"}, {"Id": "abc123", "Source": "Web"}],
    )
    assert body["Items"] == [
        {"Index": 1, "Id": "abc123", "CaseNumber": "CS-1001", "Result": "Updated"}
    ]
    case = norwegian.get("/api/cases/abc123").json()
    assert (case["MarketId"], case["Priority"], case["Source"]) == ("NO", "Normal", "Web")


def test_patchmany_bumps_the_etag_as_single_patches_would(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    patch_many(admin, [{"Id": "abc123", "Priority": "High"}, {"Id": "abc123", "Source": "Web"}])
    case = admin.get("/api/cases/abc123")
    assert case.headers["ETag"] == '"3"'
    assert case.json()["Changed"] > case.json()["Created"]


def test_an_unchanged_patch_keeps_the_etag_and_changed(admin: ApiUser) -> None:
    created = admin.post("/api/cases", json={"Id": "abc123", "Subject": SUBJECT})
    body = patch_many(admin, [{"Id": "abc123", "Subject": SUBJECT, "Priority": "Normal"}])
    assert body["UnchangedCount"] == 1
    case = admin.get("/api/cases/abc123")
    assert case.headers["ETag"] == created.headers["ETag"]
    assert case.json()["Changed"] == created.json()["Changed"]


def test_patches_of_the_same_case_apply_in_order_and_log_each_status(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    body = patch_many(
        admin,
        [
            {"Id": "abc123", "Status": "In Progress"},
            {"Id": "abc123", "Status": "Resolved"},
            {"Id": "abc123", "Status": "Resolved"},
        ],
    )
    assert [item["Result"] for item in body["Items"]] == ["Updated", "Updated", "Unchanged"]
    case = admin.get("/api/cases/abc123").json()
    log = case["CaseStatusLog"]
    assert [item["Status"] for item in log] == ["New", "In Progress", "Resolved"]
    assert all(item["DurationSincePreviousMs"] is not None for item in log[1:])
    assert case["ResolvedDate"] == log[-1]["Timestamp"]


def test_patchmany_moves_the_search_refs_with_the_tags(admin: ApiUser) -> None:
    admin.create_case(Id="abc123", Tags=["Shipping"])
    admin.create_case(Id="abc124", Tags=["Shipping"])
    patch_many(admin, [{"Id": "abc123", "Tags": ["Escalated"]}, {"Id": "abc124", "Source": "Web"}])
    escalated = admin.post("/api/cases/search", json={"Tags": ["Escalated"]}).json()
    shipping = admin.post("/api/cases/search", json={"Tags": ["Shipping"]}).json()
    assert [case["Id"] for case in escalated["Items"]] == ["abc123"]
    assert [case["Id"] for case in shipping["Items"]] == ["abc124"]


def test_patchmany_clears_what_fields_to_force_null_names(admin: ApiUser) -> None:
    admin.create_case(Id="abc123", FollowUpDate="2026-04-01T09:00:00Z", RelatedOrders=["ORD-1"])
    patch_many(admin, [{"Id": "abc123", "FieldsToForceNull": ["FollowUpDate", "RelatedOrders"]}])
    case = admin.get("/api/cases/abc123").json()
    assert (case["FollowUpDate"], case["RelatedOrders"]) == (None, [])
    assert admin.post("/api/cases/search", json={"OrderId": "ORD-1"}).json()["TotalHits"] == 0


def test_patchmany_never_reaches_another_tenants_case(make_user: UserFactory) -> None:
    make_user("CaseAdmin", tenant="acme").create_case(Id="abc123")
    body = patch_many(make_user("CaseAdmin"), [{"Id": "abc123", "Priority": "High"}])
    assert body["NotFoundCount"] == 1
