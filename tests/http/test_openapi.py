"""The OpenAPI document at /swagger/v1/swagger.json: what an integrator generates a client from."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from casedesk.cases import examples
from casedesk.config import Settings
from casedesk.main import create_app
from tests.conftest import ApiUser

REFERENCE_OPERATIONS = [
    ("get", "/api/cases/{id}"),
    ("post", "/api/cases"),
    ("put", "/api/cases"),
    ("patch", "/api/cases"),
    ("delete", "/api/cases/{id}"),
    ("post", "/api/cases/search"),
    ("post", "/api/cases/{id}/assignto"),
    ("post", "/api/cases/{id}/changestatus"),
]
CASEDESK_OPERATIONS = [
    ("post", "/api/cases/{id}/comments"),
    ("post", "/api/cases/{id}/restore"),
    ("get", "/api/cases/settings"),
    ("put", "/api/cases/settings"),
    ("post", "/api/token"),
    ("get", "/health"),
    ("post", "/api/cases/scroll"),
    ("get", "/api/cases/scroll/{scrollId}"),
    ("post", "/api/cases/addmany"),
    ("patch", "/api/cases/patchmany"),
]
CASE_OPERATIONS = [*REFERENCE_OPERATIONS, *CASEDESK_OPERATIONS[:2]]
OMNIUM_MODELS = [
    "OmniumCase",
    "OmniumCasePatch",
    "OmniumCaseSearchRequest",
    "OmniumCaseSearchResult",
    "OmniumCaseScrollRequest",
    "OmniumCaseScrollResult",
    "OmniumComment",
    "OmniumCaseParticipant",
    "OmniumPropertyItem",
    "OmniumCaseStatusLogItem",
]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # Not entered as a context manager: the document needs no database, so no lifespan.
    client = TestClient(create_app(Settings()))
    response = client.get("/swagger/v1/swagger.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method]
    return found


def schemas(document: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"]
    return found


def test_the_document_is_openapi_3(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]


def test_every_reference_and_casedesk_operation_is_listed(document: dict[str, Any]) -> None:
    listed = {
        (method, path) for path, operations in document["paths"].items() for method in operations
    }
    assert listed == set(REFERENCE_OPERATIONS) | set(CASEDESK_OPERATIONS)


@pytest.mark.parametrize(("method", "path"), REFERENCE_OPERATIONS)
def test_reference_operations_carry_the_reference_summary(
    document: dict[str, Any], method: str, path: str
) -> None:
    summaries = {
        ("get", "/api/cases/{id}"): "Get a case by ID",
        ("post", "/api/cases"): "Create a new case",
        ("put", "/api/cases"): "Full update of a case",
        ("patch", "/api/cases"): "Partial update (only non-null fields are applied)",
        ("delete", "/api/cases/{id}"): "Delete a case (soft delete)",
        ("post", "/api/cases/search"): "Search cases with filters and pagination",
        ("post", "/api/cases/{id}/assignto"): "Assign a case to a user",
        ("post", "/api/cases/{id}/changestatus"): "Change the status of a case",
    }
    assert operation(document, method, path)["summary"] == summaries[(method, path)]


@pytest.mark.parametrize(("method", "path"), CASE_OPERATIONS)
def test_case_operations_document_their_problem_responses(
    document: dict[str, Any], method: str, path: str
) -> None:
    responses = operation(document, method, path)["responses"]
    # Search answers a list, so it has no 404 to document.
    expected = (
        {"400", "401", "403"} if path == "/api/cases/search" else {"400", "401", "403", "404"}
    )
    for status in expected:
        content = responses[status]["content"]
        assert set(content) == {"application/problem+json"}, (status, content)
        assert content["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }


IDEMPOTENT_OPERATIONS = [
    ("post", "/api/cases"),
    ("put", "/api/cases"),
    ("patch", "/api/cases"),
    ("delete", "/api/cases/{id}"),
    ("post", "/api/cases/{id}/assignto"),
    ("post", "/api/cases/{id}/changestatus"),
    ("post", "/api/cases/{id}/comments"),
    ("post", "/api/cases/{id}/restore"),
    ("post", "/api/cases/addmany"),
    ("patch", "/api/cases/patchmany"),
]


def test_validation_is_never_documented_as_a_422(document: dict[str, Any]) -> None:
    """Validation is a 400. The only 422 is an Idempotency-Key reused for another request."""
    for path, operations in document["paths"].items():
        for method, spec in operations.items():
            if (method, path) not in IDEMPOTENT_OPERATIONS:
                assert "422" not in spec["responses"], (method, path)
    assert "HTTPValidationError" not in schemas(document)


def test_exactly_the_case_writes_take_an_idempotency_key(document: dict[str, Any]) -> None:
    taking = {
        (method, path)
        for path, operations in document["paths"].items()
        for method, spec in operations.items()
        if any(p["name"] == "Idempotency-Key" for p in spec.get("parameters", []))
    }
    assert taking == set(IDEMPOTENT_OPERATIONS)


@pytest.mark.parametrize(("method", "path"), IDEMPOTENT_OPERATIONS)
def test_idempotent_writes_document_the_header_and_its_409_and_422(
    document: dict[str, Any], method: str, path: str
) -> None:
    spec = operation(document, method, path)
    (header,) = [p for p in spec["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["in"] == "header"
    assert header["required"] is False
    assert header["schema"]["maxLength"] == 255
    for status in ("409", "422"):
        content = spec["responses"][status]["content"]
        assert set(content) == {"application/problem+json"}, (status, content)


def test_operations_with_a_body_document_413_and_415(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, spec in operations.items():
            if "requestBody" in spec:
                assert {"413", "415"} <= spec["responses"].keys(), (method, path)


def test_api_operations_require_a_bearer_token(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["Bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for path, operations in document["paths"].items():
        for spec in operations.values():
            public = path in ("/api/token", "/health")
            assert ("security" not in spec) is public, path


def test_create_returns_201_with_the_case(document: dict[str, Any]) -> None:
    responses = operation(document, "post", "/api/cases")["responses"]
    assert responses["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OmniumCase"
    }


@pytest.mark.parametrize(
    ("method", "path", "example"),
    [
        ("post", "/api/cases", examples.CREATE),
        ("patch", "/api/cases", examples.PATCH),
        ("post", "/api/cases/search", examples.SEARCH),
    ],
)
def test_the_reference_request_examples_appear(
    document: dict[str, Any], method: str, path: str, example: dict[str, Any]
) -> None:
    body = operation(document, method, path)["requestBody"]["content"]["application/json"]
    assert example in [entry["value"] for entry in body["examples"].values()]


def test_the_reference_search_response_example_appears(document: dict[str, Any]) -> None:
    ok = operation(document, "post", "/api/cases/search")["responses"]["200"]
    assert ok["content"]["application/json"]["example"] == examples.SEARCH_RESULT
    assert examples.SEARCH_RESULT["Items"][0]["CaseNumber"] == "CS-1042"


def test_the_reference_examples_are_the_reference_texts() -> None:
    assert examples.CREATE["Tags"] == ["Shipping", "Product Issue"]
    assert examples.CREATE["RelatedOrders"] == ["ORD-10542"]
    assert examples.PATCH == {
        "Id": "abc123",
        "Priority": "Critical",
        "Tags": ["Shipping", "Product Issue", "Escalated"],
    }


@pytest.mark.parametrize("model", [*OMNIUM_MODELS, "Problem"])
def test_the_models_exist(document: dict[str, Any], model: str) -> None:
    assert schemas(document)[model]["type"] == "object"


@pytest.mark.parametrize("model", OMNIUM_MODELS)
def test_omnium_models_have_pascal_case_properties_with_readable_titles(
    document: dict[str, Any], model: str
) -> None:
    properties: dict[str, Any] = schemas(document)[model]["properties"]
    for name, spec in properties.items():
        assert name[0].isupper(), name
        assert "_" not in name, name
        assert spec["title"].replace(" ", "") == name, spec["title"]


def test_omnium_case_has_every_reference_field(document: dict[str, Any]) -> None:
    reference = [
        "Id",
        "CaseNumber",
        "Subject",
        "Description",
        "Status",
        "Priority",
        "Source",
        "AssignedToUserId",
        "AssignedToName",
        "CustomerId",
        "CustomerName",
        "CustomerEmail",
        "Tags",
        "RelatedOrders",
        "RelatedCustomers",
        "RelatedProjects",
        "RelatedCarts",
        "RelatedSkuIds",
        "RelatedProductIds",
        "Participants",
        "CaseNotes",
        "InternalNotes",
        "Properties",
        "CaseStatusLog",
        "FollowUpDate",
        "ResolvedDate",
        "ClosedDate",
        "LastCommentDate",
        "LastCommenterName",
        "CommentCount",
        "Created",
        "Changed",
        "MarketId",
        "MarketGroupId",
    ]
    assert set(reference) <= set(schemas(document)["OmniumCase"]["properties"])


def test_omnium_case_patch_requires_only_the_id(document: dict[str, Any]) -> None:
    assert schemas(document)["OmniumCasePatch"]["required"] == ["Id"]


def test_the_search_request_has_every_reference_field(document: dict[str, Any]) -> None:
    reference = [
        "SearchText",
        "Status",
        "Priority",
        "AssignedToUserId",
        "Tags",
        "CustomerId",
        "OrderId",
        "DateFrom",
        "DateTo",
        "SortOrder",
        "Page",
        "Take",
        "IncludeDeleted",
    ]
    assert set(schemas(document)["OmniumCaseSearchRequest"]["properties"]) == set(reference)


def test_the_problem_model_has_the_rfc_9457_fields(document: dict[str, Any]) -> None:
    problem = schemas(document)["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "traceId"}
    assert {"detail", "errors"} <= problem["properties"].keys()


def test_a_date_before_the_year_1000_is_a_valid_date_time(admin: ApiUser) -> None:
    # Found by the run below: strftime wrote the year 242 as "242", which is no date-time.
    case = admin.create_case(FollowUpDate="0242-05-30T06:42:10Z")
    assert case["FollowUpDate"] == "0242-05-30T06:42:10.000Z"


CASE_ANSWERS = [
    ("post", "/api/cases", "201"),
    ("get", "/api/cases/{id}", "200"),
    ("put", "/api/cases", "200"),
    ("patch", "/api/cases", "200"),
    ("post", "/api/cases/{id}/assignto", "200"),
    ("post", "/api/cases/{id}/changestatus", "200"),
    ("post", "/api/cases/{id}/comments", "201"),
    ("post", "/api/cases/{id}/restore", "200"),
]


@pytest.mark.parametrize(("method", "path", "status"), CASE_ANSWERS)
def test_a_case_answer_links_to_every_next_step_by_its_id_and_etag(
    document: dict[str, Any], method: str, path: str, status: str
) -> None:
    links = operation(document, method, path)["responses"][status]["links"]
    assert set(links) == {
        "GetCase",
        "ReplaceCase",
        "PatchCase",
        "AssignCase",
        "ChangeStatus",
        "AddComment",
        "DeleteCase",
    }
    assert links["GetCase"]["parameters"] == {"path.id": "$response.body#/Id"}
    assert links["PatchCase"]["requestBody"] == {"Id": "$response.body#/Id"}
    assert links["ChangeStatus"]["parameters"] == {
        "path.id": "$response.body#/Id",
        "header.If-Match": "$response.header.ETag",
    }
    operation_ids = {
        spec["operationId"]
        for operations in document["paths"].values()
        for spec in operations.values()
    }
    assert {link["operationId"] for link in links.values()} <= operation_ids


def test_a_deleted_case_links_only_to_reading_and_restoring_it(document: dict[str, Any]) -> None:
    links = operation(document, "delete", "/api/cases/{id}")["responses"]["200"]["links"]
    assert set(links) == {"GetCase", "RestoreCase"}


# The constraints the server enforces, stated where a generated client can check them first.


def _parameter(document: dict[str, Any], method: str, path: str, name: str) -> dict[str, Any]:
    (found,) = [p for p in operation(document, method, path)["parameters"] if p["name"] == name]
    return found


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema of an optional value without its `null` branch."""
    (branch,) = [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]
    return branch


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p in CASE_OPERATIONS if "{id}" in p])
def test_a_case_id_in_the_path_is_bounded_and_never_a_reserved_word(
    document: dict[str, Any], method: str, path: str
) -> None:
    schema = _parameter(document, method, path, "id")["schema"]
    assert (schema["minLength"], schema["maxLength"]) == (1, 100)
    reserved = re.compile(schema["not"]["pattern"])
    assert all(reserved.search(word) for word in ("search", "Settings", "SCROLL", "addmany"))
    assert not reserved.search("abc123")
    assert not reserved.search("searches")


def test_a_client_chosen_id_states_its_pattern_length_and_reserved_words(
    document: dict[str, Any],
) -> None:
    schema = _non_null(schemas(document)["OmniumCaseCreate"]["properties"]["Id"])
    assert schema["pattern"] == "^[A-Za-z0-9._~:@-]+$"
    assert (schema["minLength"], schema["maxLength"]) == (1, 100)
    assert re.search(schema["not"]["pattern"], "patchMany")


IF_MATCH_OPERATIONS = [
    operation
    for operation in IDEMPOTENT_OPERATIONS
    if operation
    not in {
        ("post", "/api/cases"),
        ("post", "/api/cases/addmany"),
        ("patch", "/api/cases/patchmany"),
    }
]


@pytest.mark.parametrize(("method", "path"), IF_MATCH_OPERATIONS)
def test_if_match_states_its_format(document: dict[str, Any], method: str, path: str) -> None:
    schema = _non_null(_parameter(document, method, path, "If-Match")["schema"])
    well_formed = re.compile(schema["pattern"])
    for sent in ('"3"', 'W/"3"', "*", '"1", "2"', '"1",W/"x"'):
        assert well_formed.search(sent), sent
    for sent in ("3", "abc", '"3', '"3" "4"', '*, "3"', ""):
        assert not well_formed.search(sent), sent


@pytest.mark.parametrize("path", ["/api/cases/addmany", "/api/cases/patchmany"])
def test_a_batch_states_that_it_takes_0_to_1000_items(document: dict[str, Any], path: str) -> None:
    (spec,) = document["paths"][path].values()
    schema = spec["requestBody"]["content"]["application/json"]["schema"]
    assert (schema["minItems"], schema["maxItems"]) == (0, 1000)


@pytest.mark.parametrize(
    ("model", "field", "bounds"),
    [
        ("OmniumCaseSearchRequest", "Take", (1, 100)),
        ("OmniumCaseSearchRequest", "Page", (0, 10_000)),
        ("OmniumCaseScrollRequest", "Take", (1, 1_000)),
    ],
)
def test_paging_states_its_bounds(
    document: dict[str, Any], model: str, field: str, bounds: tuple[int, int]
) -> None:
    schema = _non_null(schemas(document)[model]["properties"][field])
    assert (schema["minimum"], schema["maximum"]) == bounds


@pytest.mark.parametrize(
    ("model", "field", "defaults"),
    [
        (
            "OmniumCaseCreate",
            "Status",
            ["New", "In Progress", "Waiting for Customer", "Resolved", "Closed"],
        ),
        (
            "OmniumCaseReplace",
            "Status",
            ["New", "In Progress", "Waiting for Customer", "Resolved", "Closed"],
        ),
        ("OmniumCasePatch", "Priority", ["Low", "Normal", "High", "Critical"]),
        ("OmniumCaseSearchRequest", "Priority", ["Low", "Normal", "High", "Critical"]),
    ],
)
def test_statuses_and_priorities_show_the_defaults_without_limiting_them(
    document: dict[str, Any], model: str, field: str, defaults: list[str]
) -> None:
    """Statuses and priorities are each tenant's own: an enum would make a custom one invalid."""
    schema = _non_null(schemas(document)[model]["properties"][field])
    assert schema["examples"] == defaults
    assert "enum" not in schema
    assert "/api/cases/settings" in schema["description"]


def test_changestatus_shows_the_default_statuses(document: dict[str, Any]) -> None:
    schema = _parameter(document, "post", "/api/cases/{id}/changestatus", "status")["schema"]
    assert schema["examples"] == [
        "New",
        "In Progress",
        "Waiting for Customer",
        "Resolved",
        "Closed",
    ]
    assert "enum" not in schema


def test_no_parameter_is_documented_as_null(document: dict[str, Any]) -> None:
    """A header or query value is text: left out it is absent, never null. A `null` branch
    makes generated clients and fuzzers send the text "null" (If-Match: null is a 400)."""
    for path, operations in document["paths"].items():
        for method, spec in operations.items():
            for parameter in spec.get("parameters", []):
                assert "null" not in str(parameter["schema"]), (method, path, parameter)
