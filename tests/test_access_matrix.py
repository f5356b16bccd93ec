"""Who may call what: every endpoint against every kind of caller, then market scoping.

The case under test lives in market NO of the default tenant. "other market" is a CaseAdmin
limited to market SE; "other tenant" is an all-markets CaseAdmin of tenant acme.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import httpx2 as httpx
import pytest

from casedesk.case_settings.rules import DEFAULT_RULES
from casedesk.config import Settings
from casedesk.main import create_app
from tests.conftest import ApiUser, UserFactory

CASE_ID = "abc123"
MARKET = "NO"
PROBLEM_JSON = "application/problem+json"


ACTORS = (
    "no token",
    "bad token",
    "CaseRead",
    "CaseAdmin",
    "ApiOwner",
    "other market",
    "other tenant",
)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    # restore only applies to a soft-deleted case
    needs_deleted_case: bool = False
    # the next batch of a scroll the ApiOwner started: {scrollId} is filled in
    needs_scroll: bool = False


CALLS = {
    "GET case": Call("GET", f"/api/cases/{CASE_ID}"),
    "POST case": Call(
        "POST", "/api/cases", body={"Subject": "Parcel never arrived", "MarketId": MARKET}
    ),
    "PUT case": Call(
        "PUT",
        "/api/cases",
        body={
            "Id": CASE_ID,
            "Subject": "Order arrived damaged",
            "Status": "In Progress",
            "Priority": "High",
            "MarketId": MARKET,
        },
    ),
    "PATCH case": Call("PATCH", "/api/cases", body={"Id": CASE_ID, "Priority": "Critical"}),
    "DELETE case": Call("DELETE", f"/api/cases/{CASE_ID}"),
    "search": Call("POST", "/api/cases/search", body={}),
    "assignto": Call(
        "POST",
        f"/api/cases/{CASE_ID}/assignto",
        params={"userId": "user-456", "userName": "John Agent"},
    ),
    "changestatus": Call(
        "POST", f"/api/cases/{CASE_ID}/changestatus", params={"status": "In Progress"}
    ),
    "comments": Call(
        "POST", f"/api/cases/{CASE_ID}/comments", body={"Detail": "Called the customer."}
    ),
    "restore": Call("POST", f"/api/cases/{CASE_ID}/restore", needs_deleted_case=True),
    "addmany": Call(
        "POST", "/api/cases/addmany", body=[{"Subject": "Parcel never arrived", "MarketId": MARKET}]
    ),
    "patchmany": Call("PATCH", "/api/cases/patchmany", body=[{"Id": CASE_ID, "Priority": "High"}]),
    "scroll": Call("POST", "/api/cases/scroll", body={}),
    "scroll next": Call("GET", "/api/cases/scroll/{scrollId}", needs_scroll=True),
    "GET settings": Call("GET", "/api/cases/settings"),
    "PUT settings": Call("PUT", "/api/cases/settings", body=DEFAULT_RULES.to_document()),
}

# fmt: off
MATRIX: dict[str, tuple[int, ...]] = {
    #                no token  bad token  CaseRead  CaseAdmin  ApiOwner  other market  other tenant
    "GET case":     (401,      401,       200,      200,       200,      404,          404),
    "POST case":    (401,      401,       403,      201,       201,      403,          201),
    "PUT case":     (401,      401,       403,      200,       200,      404,          404),
    "PATCH case":   (401,      401,       403,      200,       200,      404,          404),
    "DELETE case":  (401,      401,       403,      200,       200,      404,          404),
    "search":       (401,      401,       200,      200,       200,      200,          200),
    "assignto":     (401,      401,       403,      200,       200,      404,          404),
    "changestatus": (401,      401,       403,      200,       200,      404,          404),
    "comments":     (401,      401,       403,      201,       201,      404,          404),
    "restore":      (401,      401,       403,      200,       200,      404,          404),
    # per-item market and tenant refusals are inside a 200 answer: see tests/cases/test_batch.py
    "addmany":      (401,      401,       403,      200,       200,      200,          200),
    "patchmany":    (401,      401,       403,      200,       200,      200,          200),
    "scroll":       (401,      401,       200,      200,       200,      200,          200),
    # a scroll belongs to the user who started it (here the ApiOwner)
    "scroll next":  (401,      401,       404,      404,       200,      404,          404),
    "GET settings": (401,      401,       200,      200,       200,      200,          200),
    "PUT settings": (401,      401,       403,      403,       200,      403,          403),
}
# fmt: on


CELLS = [
    pytest.param(call, actor, expected, id=f"{call} as {actor}")
    for call, row in MATRIX.items()
    for actor, expected in zip(ACTORS, row, strict=True)
]


def test_the_matrix_covers_every_cases_endpoint() -> None:
    paths = create_app(Settings()).openapi()["paths"]
    served = {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/api/cases")
        for method in operations
    }
    covered = {(call.method, call.path.replace(CASE_ID, "{id}")) for call in CALLS.values()}
    assert served == covered


def caller(actor: str, make_user: UserFactory, owner: ApiUser) -> dict[str, str]:
    """The Authorization header `actor` sends; the owner who set up the case is the ApiOwner."""
    if actor == "no token":
        return {}
    if actor == "bad token":
        return {"Authorization": "Bearer not-a-valid-token"}
    if actor == "ApiOwner":
        return owner.headers
    if actor == "other market":
        return make_user("CaseAdmin", markets=("SE",)).headers
    if actor == "other tenant":
        return make_user("CaseAdmin", tenant="acme").headers
    return make_user(actor).headers


def send(owner: ApiUser, call: Call, headers: dict[str, str]) -> httpx.Response:
    return owner.http.request(
        call.method, call.path, params=call.params, json=call.body, headers=headers
    )


@pytest.mark.parametrize(("call_name", "actor", "expected"), CELLS)
def test_access(
    make_user: UserFactory, owner: ApiUser, call_name: str, actor: str, expected: int
) -> None:
    call = CALLS[call_name]
    owner.create_case(Id=CASE_ID, MarketId=MARKET)
    if call.needs_deleted_case:
        assert owner.delete(f"/api/cases/{CASE_ID}").status_code == 200
    if call.needs_scroll:
        scroll_id = owner.post("/api/cases/scroll", json={}).json()["ScrollId"]
        call = replace(call, path=call.path.replace("{scrollId}", scroll_id))
    response = send(owner, call, caller(actor, make_user, owner))
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.headers["content-type"] == PROBLEM_JSON
    if expected == 401:
        assert response.headers["www-authenticate"] == "Bearer"


# fmt: off
SEARCH_HITS = {
    "CaseRead": 1, "CaseAdmin": 1, "ApiOwner": 1, "other market": 0, "other tenant": 0,
}
# fmt: on


@pytest.mark.parametrize(("actor", "hits"), SEARCH_HITS.items())
def test_search_shows_the_case_only_to_those_who_may_see_it(
    make_user: UserFactory, owner: ApiUser, actor: str, hits: int
) -> None:
    owner.create_case(Id=CASE_ID, MarketId=MARKET)
    response = send(owner, CALLS["search"], caller(actor, make_user, owner))
    assert [item["Id"] for item in response.json()["Items"]] == [CASE_ID] * hits
    assert response.json()["TotalHits"] == hits


# --- markets -----------------------------------------------------------------------------


def test_a_user_created_without_markets_gets_all_markets(make_user: UserFactory) -> None:
    assert make_user("CaseRead").roles == ["CaseRead", "AllMarkets"]


def test_a_user_created_with_markets_gets_only_those(make_user: UserFactory) -> None:
    assert make_user("CaseRead", markets=("NO", "SE")).roles == [
        "CaseRead",
        "market-NO",
        "market-SE",
    ]


def test_a_market_scoped_user_reads_a_case_in_its_market(
    make_user: UserFactory, admin: ApiUser
) -> None:
    admin.create_case(Id=CASE_ID, MarketId="NO")
    response = make_user("CaseRead", markets=("NO",)).get(f"/api/cases/{CASE_ID}")
    assert response.status_code == 200


def test_a_market_scoped_user_does_not_see_a_case_without_market(
    make_user: UserFactory, admin: ApiUser
) -> None:
    admin.create_case(Id=CASE_ID)
    response = make_user("CaseRead", markets=("NO",)).get(f"/api/cases/{CASE_ID}")
    assert response.status_code == 404


BY_ID = [
    name
    for name, call in CALLS.items()
    if CASE_ID in call.path or (isinstance(call.body, dict) and call.body.get("Id") == CASE_ID)
]


def aimed_at(call: Call, case_id: str) -> Call:
    body = {**call.body, "Id": case_id} if isinstance(call.body, dict) else call.body
    return replace(call, path=call.path.replace(CASE_ID, case_id), body=body)


def without_trace(response: httpx.Response, case_id: str) -> tuple[int, str, dict[str, Any]]:
    body = {key: value for key, value in response.json().items() if key != "traceId"}
    return (
        response.status_code,
        response.headers["content-type"],
        {
            key: value.replace(case_id, "?") if isinstance(value, str) else value
            for key, value in body.items()
        },
    )


@pytest.mark.parametrize("call_name", BY_ID)
def test_a_case_of_another_market_answers_every_call_by_id_as_a_missing_one_does(
    make_user: UserFactory, owner: ApiUser, call_name: str
) -> None:
    """docs/api.md, Markets: the same 404, whole body, as for an id that exists nowhere."""
    call = CALLS[call_name]
    owner.create_case(Id=CASE_ID, MarketId=MARKET)
    if call.needs_deleted_case:
        owner.delete(f"/api/cases/{CASE_ID}")
    swede = make_user("CaseAdmin", markets=("SE",)).headers
    hidden = send(owner, call, swede)
    missing = send(owner, aimed_at(call, "no-such-case"), swede)
    assert hidden.status_code == 404
    assert without_trace(hidden, CASE_ID) == without_trace(missing, "no-such-case")


def test_a_market_scoped_user_creates_a_case_in_its_market(make_user: UserFactory) -> None:
    created = make_user("CaseAdmin", markets=("NO",)).create_case(MarketId="NO")
    assert created["MarketId"] == "NO"


def test_a_market_scoped_user_cannot_create_a_case_without_market_id(
    make_user: UserFactory,
) -> None:
    norwegian = make_user("CaseAdmin", markets=("NO",))
    response = norwegian.post("/api/cases", json={"Subject": "Parcel never arrived"})
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON


def test_a_market_scoped_user_cannot_patch_its_case_into_a_market_it_lacks(
    make_user: UserFactory,
) -> None:
    norwegian = make_user("CaseAdmin", markets=("NO",))
    norwegian.create_case(Id=CASE_ID, MarketId="NO")
    response = norwegian.patch("/api/cases", json={"Id": CASE_ID, "MarketId": "SE"})
    assert response.status_code == 403
    assert norwegian.get(f"/api/cases/{CASE_ID}").json()["MarketId"] == "NO"


def test_a_market_scoped_user_cannot_clear_the_market_of_its_case(
    make_user: UserFactory,
) -> None:
    norwegian = make_user("CaseAdmin", markets=("NO",))
    norwegian.create_case(Id=CASE_ID, MarketId="NO")
    response = norwegian.patch(
        "/api/cases", json={"Id": CASE_ID, "FieldsToForceNull": ["MarketId"]}
    )
    assert response.status_code == 403


def test_a_market_scoped_user_cannot_put_its_case_into_a_market_it_lacks(
    make_user: UserFactory,
) -> None:
    norwegian = make_user("CaseAdmin", markets=("NO",))
    norwegian.create_case(Id=CASE_ID, MarketId="NO")
    response = norwegian.put(
        "/api/cases",
        json={
            "Id": CASE_ID,
            "Subject": "Order arrived damaged",
            "Status": "New",
            "Priority": "Normal",
            "MarketId": "SE",
        },
    )
    assert response.status_code == 403
    assert norwegian.get(f"/api/cases/{CASE_ID}").json()["MarketId"] == "NO"


def test_a_market_scoped_user_may_move_a_case_between_its_own_markets(
    make_user: UserFactory,
) -> None:
    nordic = make_user("CaseAdmin", markets=("NO", "SE"))
    nordic.create_case(Id=CASE_ID, MarketId="NO")
    response = nordic.patch("/api/cases", json={"Id": CASE_ID, "MarketId": "SE"})
    assert response.status_code == 200
    assert response.json()["MarketId"] == "SE"


def test_search_gives_a_market_scoped_user_only_its_markets(
    make_user: UserFactory, admin: ApiUser
) -> None:
    admin.create_case(Id="case-no", MarketId="NO")
    admin.create_case(Id="case-se", MarketId="SE")
    admin.create_case(Id="case-dk", MarketId="DK")
    admin.create_case(Id="case-without-market")
    nordic = make_user("CaseRead", markets=("NO", "SE"))
    response = nordic.post("/api/cases/search", json={"SortOrder": "CreatedAscending"})
    assert [item["Id"] for item in response.json()["Items"]] == ["case-no", "case-se"]
    assert response.json()["TotalHits"] == 2


def test_search_gives_an_all_markets_user_every_case(admin: ApiUser, reader: ApiUser) -> None:
    admin.create_case(Id="case-no", MarketId="NO")
    admin.create_case(Id="case-without-market")
    response = reader.post("/api/cases/search", json={"SortOrder": "CreatedAscending"})
    assert response.json()["TotalHits"] == 2
