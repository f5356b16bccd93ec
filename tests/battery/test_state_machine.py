"""Model-based testing: Hypothesis drives the API with random sequences of create, GET, PUT,
PATCH, assignto, changestatus, comments, DELETE, restore and search, and every answer must be
the one the plain model in case_model.py predicts (status, the whole case, ETag, search
Items and TotalHits).

Each sequence runs in a tenant of its own, so case numbers start at CS-1001 and search sees
only the sequence's cases. casedesk's clock is driven by the test, so the model predicts every
timestamp exactly; between calls it moves on by anything from nothing (a tie) to two minutes.

Each call carries at most one fault (bad input, stale If-Match, missing case): where two
apply at once the spec does not say which answer wins.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from casedesk import clock
from tests.battery import figures
from tests.battery.case_model import (
    CLEARABLE,
    PRIORITY_SEVERITIES,
    STATUS_LEVELS,
    Answer,
    CaseModel,
    ModelCase,
    stamp,
)
from tests.conftest import ApiUser, UserFactory

SEQUENCES = 12
STEPS = 30
ROLE = "CaseAdmin"
# conftest's make_user names a user after its roles.
ACTOR_NAME = f"{ROLE} user"
SEARCH_ALL: dict[str, Any] = {"IncludeDeleted": True, "Take": 100, "SortOrder": "CreatedAscending"}

# Small vocabularies, so that filters, text search and ties actually hit. Text that is sorted
# is ASCII: the docs promise lower-cased byte-wise order, which the model computes with
# str.lower(); non-ASCII text is in Description, which only text search reads.
SUBJECTS = [
    "Order arrived damaged",
    "Refund request",
    "refund REQUEST",
    "Wrong size delivered",
    "damaged box again",
    "order ORD-10542 late",
]
DESCRIPTIONS = [
    "Customer reports that package was visibly damaged on arrival.",
    "Ärger mit der Lieferung",
    "needs a refund asap",
    "x",
]
CUSTOMER_NAMES = ["Jane Smith", "jane smith", "Ola Nordmann", "Zed", "Ann"]
ASSIGNEE_IDS = ["user-456", "user-7", "User-7"]
ASSIGNEE_NAMES = ["John Agent", "anna", "Bob"]
CUSTOMER_IDS = ["cust-1", "cust-2", "CUST-1"]
TAGS = ["Shipping", "shipping", "Product Issue", "Escalated", "vip"]
ORDERS = ["ORD-10542", "ORD-2", "ord-2"]
FOLLOW_UPS = [
    "2026-04-01T12:00:00Z",
    "2026-04-01T14:00:00+02:00",
    "2026-04-02T08:30:00.123456Z",
    "2026-03-31T23:59:59.999",
    "0999-01-01T00:00:00Z",
]
PARTICIPANTS = [
    {"Name": "Jane Smith", "Email": "jane@example.com"},
    {"Name": "Carrier", "Role": "Shipper", "CustomerId": "cust-9"},
]
PROPERTIES = [
    {"Key": "channel", "Value": "web"},
    {"Key": "weight", "Value": "2.5", "KeyGroup": "parcel", "ValueType": "decimal"},
]
CLIENT_IDS = ["abc123", "case-1", "Case-1", "x.y~z:1@2"]
SEARCH_WORDS = [
    "damaged",
    "DAMAGED",
    "order",
    "refund",
    "cs-100",
    "1001",
    "or",
    "äRGER",
    "jane",
    "ann",
    "ORD-10542",
    "zz",
]
SORT_ORDERS = [
    f"{key}{direction}"
    for key in (
        "Created",
        "Changed",
        "Status",
        "Priority",
        "Subject",
        "CustomerName",
        "AssignedToName",
        "FollowUpDate",
    )
    for direction in ("Ascending", "Descending")
]
FAULTS = ["none"] * 6 + ["invalid", "stale", "missing"]


def _spellings(names: list[str]) -> st.SearchStrategy[str]:
    """A name as the settings spell it, or in other letter case (matched case-insensitively)."""
    return st.sampled_from(names).flatmap(
        lambda name: st.sampled_from([name, name.lower(), name.upper()])
    )


STATUSES = _spellings(list(STATUS_LEVELS))
PRIORITIES = _spellings(list(PRIORITY_SEVERITIES))


FILTERS: dict[str, st.SearchStrategy[Any]] = {
    "SearchText": st.lists(st.sampled_from(SEARCH_WORDS), min_size=1, max_size=2).map(" ".join),
    "Status": STATUSES,
    "Priority": PRIORITIES,
    "AssignedToUserId": st.sampled_from(ASSIGNEE_IDS),
    "Tags": st.lists(st.sampled_from(TAGS), min_size=1, max_size=2),
    "CustomerId": st.sampled_from(CUSTOMER_IDS),
    "OrderId": st.sampled_from(ORDERS),
    # Drawn near a Created time of the model's cases.
    "DateFrom": st.nothing(),
    "DateTo": st.nothing(),
}
PAGING: dict[str, st.SearchStrategy[Any]] = {
    "SortOrder": st.sampled_from(SORT_ORDERS).flatmap(
        lambda name: st.sampled_from([name, name.lower()])
    ),
    "Page": st.sampled_from([None, 0, 1, 2]),
    "Take": st.sampled_from([None, 1, 2, 3, 5, 100]),
    "IncludeDeleted": st.sampled_from([None, False, True]),
}


def _maybe(values: list[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from([None, *values])


def _some(values: list[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(values), max_size=3)


SCALAR_CHOICES: dict[str, list[Any]] = {
    "Description": DESCRIPTIONS,
    "Source": ["Phone", "Email", "Web"],
    "AssignedToUserId": ASSIGNEE_IDS,
    "AssignedToName": ASSIGNEE_NAMES,
    "CustomerId": CUSTOMER_IDS,
    "CustomerName": CUSTOMER_NAMES,
    "CustomerEmail": ["customer@example.com", "ola@example.no"],
    "FollowUpDate": FOLLOW_UPS,
    "MarketId": ["NO", "SE"],
    "MarketGroupId": ["nordic"],
}
LIST_CHOICES: dict[str, list[Any]] = {
    "Tags": TAGS,
    "RelatedOrders": ORDERS,
    "RelatedCustomers": CUSTOMER_IDS,
    "RelatedProjects": ["proj-1"],
    "RelatedCarts": ["cart-1"],
    "RelatedSkuIds": ["sku-1", "sku-2"],
    "RelatedProductIds": ["prod-1"],
    "Participants": PARTICIPANTS,
    "Properties": PROPERTIES,
}
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "Subject": st.sampled_from(SUBJECTS),
    **{name: _maybe(values) for name, values in SCALAR_CHOICES.items()},
    **{name: st.none() | _some(values) for name, values in LIST_CHOICES.items()},
}
# Every field filled: the cases a sequence starts with give the filters something to find.
RICH_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "Subject": st.sampled_from(SUBJECTS),
    **{name: st.sampled_from(values) for name, values in SCALAR_CHOICES.items()},
    **{
        name: st.lists(st.sampled_from(values), min_size=1, max_size=3)
        for name, values in LIST_CHOICES.items()
    },
}


def _fields(*, subject: bool, rich: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Some client-writable fields (null values included), Subject among them if asked."""
    if rich:
        return st.fixed_dictionaries(RICH_VALUES)
    optional = {name: values for name, values in FIELD_VALUES.items() if name != "Subject"}
    required = {"Subject": FIELD_VALUES["Subject"]} if subject else {}
    if not subject:
        optional["Subject"] = FIELD_VALUES["Subject"]
    return st.fixed_dictionaries(required, optional=optional)


def _camel(name: str) -> str:
    return name[0].lower() + name[1:]


def _differences(actual: Any, expected: Any, where: str = "") -> str:
    """Where two JSON values differ, as `path: casedesk != model` lines."""
    if isinstance(actual, dict) and isinstance(expected, dict):
        keys = sorted(set(actual) | set(expected))
        parts = [
            _differences(actual.get(key), expected.get(key), f"{where}.{key}")
            for key in keys
            if actual.get(key) != expected.get(key)
        ]
        return "; ".join(parts)
    if isinstance(actual, list) and isinstance(expected, list) and len(actual) == len(expected):
        return "; ".join(
            _differences(a, e, f"{where}[{index}]")
            for index, (a, e) in enumerate(zip(actual, expected, strict=True))
            if a != e
        )
    return f"{where or '$'}: {actual!r} != {expected!r}"


class FakeClock:
    """casedesk's clock.now, moved on by the test."""

    def __init__(self) -> None:
        self.moment = self.start()

    @staticmethod
    def start() -> datetime:
        # A day back: tokens are issued at this clock, and their iat may not be in the future.
        moment = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    def __call__(self) -> datetime:
        return self.moment


@dataclass
class Tally:
    sequences: int = 0
    steps: int = 0
    divergences: int = 0


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(clock, "now", fake)
    return fake


class CasesMachine(RuleBasedStateMachine):
    """One sequence: a fresh tenant, a CaseAdmin in it, and the model beside it."""

    make_user: Callable[..., ApiUser]
    fake_clock: FakeClock
    tally: Tally
    tenants: Iterator[int]

    def __init__(self) -> None:
        super().__init__()
        self.fake_clock.moment = self.fake_clock.start()
        self.user = type(self).make_user(ROLE, tenant=f"model-{next(self.tenants)}")
        self.model = CaseModel(actor_name=ACTOR_NAME, actor_client_id=self.user.client_id)
        self.focus = ""
        self.tally.sequences += 1

    # ---- plumbing ------------------------------------------------------------------------

    def tick(self, data: st.DataObject) -> str:
        """Move the clock on; the time the next call happens at, as the API writes it."""
        self.tally.steps += 1
        # Often no time passes at all: ties on Created, Changed and note times are real.
        step = data.draw(st.sampled_from([0, 1]) | st.integers(2, 120_000))
        self.fake_clock.moment += timedelta(milliseconds=step)
        return stamp(self.fake_clock.moment)

    def agree(self, answer: Answer, response: Any, what: str) -> None:
        """casedesk's answer is the model's: status, body, and for a case its ETag."""
        body = response.json() if response.status_code < 500 else response.text
        problems = []
        if response.status_code != answer.status:
            problems.append(f"status {response.status_code}, model says {answer.status}")
        elif answer.body is not None and body != answer.body:
            problems.append(f"casedesk vs model: {_differences(body, answer.body)}")
        if not problems and answer.status < 300 and "Id" in (answer.body or {}):
            expected_tag = f'"{self.model.cases[answer.body["Id"]].version}"'
            if response.headers.get("ETag") != expected_tag:
                problems.append(f"ETag {response.headers.get('ETag')}, model says {expected_tag}")
        if problems:
            self.tally.divergences += 1
            raise AssertionError(f"{what}: {'; '.join(problems)}")

    def target(self, data: st.DataObject, fault: str, *, deleted: bool = False) -> str:
        """A case to act on: a live one (a deleted one if asked), or for a `missing` fault one
        that does not exist or (for a write) is soft-deleted."""
        # In creation order: generated Ids are random, and draws must not depend on them.
        live = [i for i, case in self.model.cases.items() if not case.deleted]
        gone = [i for i, case in self.model.cases.items() if case.deleted]
        if fault == "missing":
            return data.draw(st.sampled_from(["no-such-case", *([] if deleted else gone)]))
        pool = gone if deleted else live
        if not pool:
            return "no-such-case"
        # Half the time the case acted on last: long histories on one case are where the
        # status log, the comment counters and the version have the most to get wrong.
        if self.focus in pool and data.draw(st.booleans()):
            return self.focus
        self.focus = data.draw(st.sampled_from(pool))
        return self.focus

    def if_match(self, data: st.DataObject, case_id: str, fault: str) -> str | None:
        case = self.model.cases.get(case_id)
        if case is None:
            return None
        if fault == "stale":
            return data.draw(st.sampled_from([f'"{case.version + 1}"', '"0"', 'W/"1"']))
        current = case.etag
        return data.draw(
            st.sampled_from([None, None, None, current, "*", f'"{case.version + 7}", {current}'])
        )

    def headers(self, if_match: str | None) -> dict[str, str]:
        return {} if if_match is None else {"If-Match": if_match}

    def note(self, data: st.DataObject) -> dict[str, Any]:
        return data.draw(
            st.fixed_dictionaries(
                {"Detail": st.sampled_from(["Called the customer", "Refund sent", "ok"])},
                optional={
                    "Type": st.sampled_from(["Public", "public", "Internal", "INTERNAL"]),
                    "Title": st.sampled_from(["Call", "Note"]),
                    "Creator": st.sampled_from(["Agent Smith", "Kari"]),
                    "Tags": _some(["call", "refund"]),
                    "ParentId": st.sampled_from(["note-0"]),
                },
            )
        )

    def has_live_cases(self) -> bool:
        return any(not case.deleted for case in self.model.cases.values())

    # ---- the rules -----------------------------------------------------------------------

    @initialize(data=st.data(), count=st.integers(1, 4))
    def create_some(self, data: st.DataObject, count: int) -> None:
        for _ in range(count):
            self.create_one(data, fault="none", rich=True)

    @rule(data=st.data())
    def create(self, data: st.DataObject) -> None:
        self.create_one(data, data.draw(st.sampled_from(["none"] * 4 + ["invalid", "taken"])))

    @rule(data=st.data())
    def create_another(self, data: st.DataObject) -> None:
        """Creating is weighted twice: every other rule needs cases."""
        self.create_one(data, fault="none")

    def create_one(self, data: st.DataObject, fault: str, *, rich: bool = False) -> None:
        now = self.tick(data)
        body = data.draw(_fields(subject=True, rich=rich))
        if data.draw(st.booleans()):
            body["Status"] = data.draw(STATUSES)
        if data.draw(st.booleans()):
            body["Priority"] = data.draw(PRIORITIES)
        if fault == "taken" and self.model.cases:
            body["Id"] = data.draw(st.sampled_from(list(self.model.cases)))
        elif data.draw(st.booleans()):
            body["Id"] = data.draw(st.sampled_from(CLIENT_IDS))
        if fault == "invalid":
            body.update(
                data.draw(
                    st.sampled_from(
                        [{"Status": "Reopened"}, {"Priority": "Urgent"}, {"Subjekt": "typo"}]
                    )
                )
            )
            if data.draw(st.booleans()):
                body.pop("Subject")
        if data.draw(st.booleans()):
            body = {_camel(name): value for name, value in body.items()}
        response = self.user.post("/api/cases", json=body)
        server_id = ""
        if response.status_code == 201 and "Id" not in body and "id" not in body:
            server_id = response.json()["Id"]
            # docs/api.md: otherwise the server generates a UUID.
            assert str(uuid.UUID(server_id)) == server_id, server_id
            assert server_id not in self.model.cases, server_id
        answer = self.model.create(body, now, server_id=server_id)
        self.agree(answer, response, f"POST /api/cases {body!r}")
        if answer.status == 201:
            assert response.headers["Location"] == f"/api/cases/{answer.body['Id']}"

    @rule(data=st.data())
    def get(self, data: st.DataObject) -> None:
        self.tick(data)
        case_id = self.target(data, data.draw(st.sampled_from(["none", "missing"])))
        response = self.user.get(f"/api/cases/{case_id}")
        self.agree(self.model.get(case_id), response, f"GET {case_id}")

    @precondition(has_live_cases)
    @rule(data=st.data())
    def replace(self, data: st.DataObject) -> None:
        """GET → modify → PUT, as the conventions promise round-trips."""
        now = self.tick(data)
        fault = data.draw(st.sampled_from(FAULTS))
        case_id = self.target(data, fault)
        current = self.model.cases.get(case_id)
        if current is None:
            body: dict[str, Any] = {
                "Id": case_id,
                "Subject": "Refund request",
                "Status": "New",
                "Priority": "Normal",
            }
        else:
            body = dict(current.json)
        droppable = [name for name in FIELD_VALUES if name != "Subject"]
        for name in data.draw(st.lists(st.sampled_from(droppable), max_size=4)):
            body.pop(name, None)
        body.update(data.draw(_fields(subject=False)))
        notes = data.draw(st.sampled_from(["both", "none", "public"]))
        if notes == "none":
            body.pop("CaseNotes", None)
            body.pop("InternalNotes", None)
        elif notes == "public":
            body.pop("InternalNotes", None)
        if data.draw(st.booleans()):
            body["Status"] = data.draw(STATUSES)
        if data.draw(st.booleans()):
            body["Priority"] = data.draw(PRIORITIES)
        if fault == "invalid":
            change = data.draw(st.sampled_from(["Subject", "Status", "Priority", "unknown"]))
            if change == "unknown":
                body["Status"] = "Reopened"
            else:
                body.pop(change)
        if_match = self.if_match(data, case_id, fault)
        response = self.user.put("/api/cases", json=body, headers=self.headers(if_match))
        answer = self.model.replace(body, if_match, now)
        self.agree(answer, response, f"PUT {body!r} If-Match {if_match}")

    @precondition(has_live_cases)
    @rule(data=st.data())
    def patch(self, data: st.DataObject) -> None:
        now = self.tick(data)
        fault = data.draw(st.sampled_from(FAULTS))
        case_id = self.target(data, fault)
        body: dict[str, Any] = {"Id": case_id, **data.draw(_fields(subject=False))}
        if data.draw(st.booleans()):
            body["Status"] = data.draw(STATUSES)
        if data.draw(st.booleans()):
            body["Priority"] = data.draw(PRIORITIES)
        unset = [name for name in CLEARABLE if body.get(name) is None]
        if data.draw(st.booleans()) and unset:
            cleared = data.draw(st.lists(st.sampled_from(unset), min_size=1, max_size=3))
            body["FieldsToForceNull"] = [
                data.draw(st.sampled_from([name, name.lower()])) for name in cleared
            ]
        if fault == "invalid":
            given = [name for name in CLEARABLE if body.get(name) is not None]
            choices: list[dict[str, Any]] = [
                {"Status": "Reopened"},
                {"CaseNotes": []},
                {"FieldsToForceNull": ["Subject"]},
                {"Subject": "   "},
            ]
            if given:
                choices.append({"FieldsToForceNull": [given[0]]})
            body.update(data.draw(st.sampled_from(choices)))
        if data.draw(st.booleans()):
            body = {_camel(name): value for name, value in body.items()}
        if_match = self.if_match(data, case_id, fault)
        response = self.user.patch("/api/cases", json=body, headers=self.headers(if_match))
        answer = self.model.patch(body, if_match, now)
        self.agree(answer, response, f"PATCH {body!r} If-Match {if_match}")

    @precondition(has_live_cases)
    @rule(data=st.data())
    def assign(self, data: st.DataObject) -> None:
        now = self.tick(data)
        fault = data.draw(st.sampled_from(FAULTS))
        case_id = self.target(data, fault)
        user_id = data.draw(st.sampled_from(ASSIGNEE_IDS))
        user_name = data.draw(_maybe(ASSIGNEE_NAMES))
        if fault == "invalid":
            user_id = "  "
        params = {"userId": user_id, **({} if user_name is None else {"userName": user_name})}
        if_match = self.if_match(data, case_id, fault)
        response = self.user.post(
            f"/api/cases/{case_id}/assignto", params=params, headers=self.headers(if_match)
        )
        answer = self.model.assign(case_id, user_id, user_name, if_match, now)
        self.agree(answer, response, f"assignto {case_id} {params!r} If-Match {if_match}")

    @precondition(has_live_cases)
    @rule(data=st.data())
    def change_status(self, data: st.DataObject) -> None:
        now = self.tick(data)
        fault = data.draw(st.sampled_from(FAULTS))
        case_id = self.target(data, fault)
        status = "Reopened" if fault == "invalid" else data.draw(STATUSES)
        if_match = self.if_match(data, case_id, fault)
        response = self.user.post(
            f"/api/cases/{case_id}/changestatus",
            params={"status": status},
            headers=self.headers(if_match),
        )
        answer = self.model.change_status(case_id, status, if_match, now)
        self.agree(answer, response, f"changestatus {case_id} {status!r} If-Match {if_match}")

    @precondition(has_live_cases)
    @rule(data=st.data())
    def comment(self, data: st.DataObject) -> None:
        now = self.tick(data)
        fault = data.draw(st.sampled_from(FAULTS))
        case_id = self.target(data, fault)
        body = self.note(data)
        if fault == "invalid":
            body["Detail"] = " "
        if_match = self.if_match(data, case_id, fault)
        response = self.user.post(
            f"/api/cases/{case_id}/comments", json=body, headers=self.headers(if_match)
        )
        note_id = ""
        if response.status_code == 201:
            note_id = self.new_note_id(response.json(), self.model.cases.get(case_id))
        answer = self.model.comment(case_id, body, if_match, now, note_id=note_id)
        self.agree(answer, response, f"comments {case_id} {body!r} If-Match {if_match}")

    def new_note_id(self, answered: dict[str, Any], case: ModelCase | None) -> str:
        """The Id casedesk gave the new note: the one note Id it answers that is not known."""
        known = self.model.note_ids
        if case is not None:
            known = known | {
                n["Id"] for n in (*case.json["CaseNotes"], *case.json["InternalNotes"])
            }
        new = [
            note["Id"]
            for note in (*answered["CaseNotes"], *answered["InternalNotes"])
            if note["Id"] not in known
        ]
        assert len(new) == 1, f"expected one new note Id, got {new!r}"
        assert new[0], "the new note has an empty Id"
        return str(new[0])

    @precondition(has_live_cases)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        now = self.tick(data)
        fault = data.draw(st.sampled_from([f for f in FAULTS if f != "invalid"]))
        case_id = self.target(data, fault)
        if_match = self.if_match(data, case_id, fault)
        response = self.user.delete(f"/api/cases/{case_id}", headers=self.headers(if_match))
        answer = self.model.delete(case_id, if_match, now)
        self.agree(answer, response, f"DELETE {case_id} If-Match {if_match}")

    @rule(data=st.data())
    def restore(self, data: st.DataObject) -> None:
        now = self.tick(data)
        fault = data.draw(st.sampled_from(["none", "none", "live", "stale", "missing"]))
        if fault == "live":
            case_id = self.target(data, "none")
        else:
            case_id = self.target(data, fault, deleted=True)
        if_match = self.if_match(data, case_id, fault)
        response = self.user.post(f"/api/cases/{case_id}/restore", headers=self.headers(if_match))
        answer = self.model.restore(case_id, if_match, now)
        self.agree(answer, response, f"restore {case_id} If-Match {if_match}")

    @rule(data=st.data())
    def search(self, data: st.DataObject) -> None:
        self.tick(data)
        request = data.draw(st.fixed_dictionaries({}, optional=PAGING))
        # One or two filters at a time: more would rarely leave a hit among a few cases.
        created = sorted(case.json["Created"] for case in self.model.cases.values())
        for name in data.draw(st.lists(st.sampled_from(list(FILTERS)), max_size=2, unique=True)):
            if name in ("DateFrom", "DateTo"):
                if created:
                    request[name] = self.near(data, data.draw(st.sampled_from(created)))
            else:
                present = self.present(name)
                if data.draw(st.booleans()) and present:
                    request[name] = data.draw(st.sampled_from(present))
                else:
                    request[name] = data.draw(FILTERS[name])
        if data.draw(st.integers(0, 9)) == 0:
            request.update(
                data.draw(st.sampled_from([{"Status": "Reopened"}, {"Page": 10_001, "Take": 1}]))
            )
        self.compare_search(request)

    @rule(data=st.data())
    def search_again(self, data: st.DataObject) -> None:
        """Searching is weighted twice: it reads many cases at once."""
        self.search(data)

    def present(self, name: str) -> list[Any]:
        """Filter values some case of the model has, so that filters also find something."""
        values: list[Any] = []
        for model in self.model.cases.values():
            case = model.json
            if name == "Tags":
                values.extend([tag] for tag in case["Tags"])
            elif name == "CustomerId":
                values.extend([case["CustomerId"], *case["RelatedCustomers"]])
            elif name == "OrderId":
                values.extend(case["RelatedOrders"])
            elif name in ("AssignedToUserId", "Status", "Priority"):
                values.append(case[name])
            elif name == "SearchText":
                for field in ("CaseNumber", "Subject", "Description", "CustomerName"):
                    words = (case[field] or "").split()
                    values.extend(word[1:].upper() if len(word) > 3 else word for word in words)
        return [value for value in values if value is not None]

    def near(self, data: st.DataObject, stamp: str) -> str:
        """A time at, or a millisecond either side of, `stamp`; sometimes with an offset."""
        moment = datetime.fromisoformat(stamp[:-1]) + timedelta(
            milliseconds=data.draw(st.sampled_from([-1, 0, 1]))
        )
        if data.draw(st.booleans()):
            return moment.isoformat(timespec="milliseconds") + "Z"
        return (moment + timedelta(hours=2)).isoformat(timespec="milliseconds") + "+02:00"

    def compare_search(self, request: dict[str, Any]) -> None:
        response = self.user.post("/api/cases/search", json=request)
        answer = self.model.search(request)
        self.agree(answer, response, f"search {request!r}")

    @rule(data=st.data())
    def audit(self, data: st.DataObject) -> None:
        """Every case of the tenant, deleted ones included, is exactly the model's."""
        self.tick(data)
        if len(self.model.cases) <= SEARCH_ALL["Take"]:
            self.compare_search(dict(SEARCH_ALL))


def test_random_call_sequences_answer_as_the_model_predicts(
    make_user: UserFactory, fake_clock: FakeClock, backend: str
) -> None:
    tally = Tally()

    class Machine(CasesMachine):
        pass

    Machine.make_user = staticmethod(make_user)
    Machine.fake_clock = fake_clock
    Machine.tally = tally
    Machine.tenants = itertools.count(1)
    try:
        run_state_machine_as_test(
            Machine,
            settings=hypothesis.settings(
                max_examples=SEQUENCES * figures.scale(),
                stateful_step_count=STEPS,
                deadline=None,
                database=None,
                print_blob=True,
                suppress_health_check=[hypothesis.HealthCheck.too_slow],
            ),
        )
    finally:
        figures.record(
            "model-based sequences",
            backend,
            sequences=tally.sequences,
            steps=tally.steps,
            divergences=tally.divergences,
        )
    assert tally.divergences == 0
