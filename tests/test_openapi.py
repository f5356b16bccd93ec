"""The OpenAPI document at /swagger/v1/swagger.json: what an integrator generates a client from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import BaseSchema, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

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


def test_no_operation_documents_a_422(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, spec in operations.items():
            assert "422" not in spec["responses"], (method, path)
    assert "HTTPValidationError" not in schemas(document)


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


# A short Schemathesis run over every operation, with a valid token: whatever it sends, the
# answer is never a 5xx and always matches the document (status, content type, body schema).

FUZZ_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ_EXAMPLES = {GenerationMode.POSITIVE: 60, GenerationMode.NEGATIVE: 25}


@pytest.fixture
def fuzzed(settings: Settings, owner: ApiUser) -> Iterator[tuple[BaseSchema, dict[str, str]]]:
    """The app as Schemathesis loads it, a case with the reference's Id, and an ApiOwner token."""
    owner.create_case(Id="abc123")
    schema = schemathesis.openapi.from_asgi("/swagger/v1/swagger.json", create_app(settings))
    try:
        yield schema, owner.headers
    finally:
        asgi.shutdown_lifespans()


def test_fuzzed_requests_get_no_server_error_and_match_the_document(
    fuzzed: tuple[BaseSchema, dict[str, str]],
) -> None:
    schema, headers = fuzzed
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    assert len(operations) == len(REFERENCE_OPERATIONS) + len(CASEDESK_OPERATIONS)
    for operation in operations:
        spec = operation.definition.raw
        has_input = "parameters" in spec or "requestBody" in spec
        for mode, examples_per_mode in FUZZ_EXAMPLES.items():
            if mode is GenerationMode.NEGATIVE and not has_input:
                continue  # nothing to make invalid

            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis.settings(
                max_examples=examples_per_mode,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(hypothesis.HealthCheck),
                # No shrinking: the failure names a curl command, and shrinking is slow here.
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            )
            def call(case: schemathesis.Case[Any]) -> None:
                case.call_and_validate(headers=dict(headers), checks=FUZZ_CHECKS)

            call()
