"""A plain in-memory model of the Cases API rules, written from conventions.md and docs/api.md
alone: it imports nothing from casedesk, so agreeing with casedesk proves something.

Times are given to the model (the test drives casedesk's clock with the same values), so it
predicts every timestamp exactly. The two values casedesk picks at random, a generated case
Id and a note Id, are adopted from casedesk's answer after checking they are fresh.

Every operation answers `(status, body)` as the API should; on an error the model is left as
it was, as the API must leave the case.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# conventions.md, "ours" defaults.
STATUS_LEVELS = {
    "New": 10,
    "In Progress": 20,
    "Waiting for Customer": 30,
    "Resolved": 40,
    "Closed": 50,
}
STATUS_NEW, STATUS_RESOLVED, STATUS_CLOSED = "New", "Resolved", "Closed"
PRIORITY_SEVERITIES = {"Low": 1, "Normal": 2, "High": 3, "Critical": 4}
DEFAULT_PRIORITY = "Normal"
NUMBER_PREFIX = "CS-"
FIRST_NUMBER = 1001
MAX_TAKE = 100
DEFAULT_TAKE = 20
MAX_DEPTH = 10_000

SCALARS = (
    "Subject",
    "Description",
    "Source",
    "AssignedToUserId",
    "AssignedToName",
    "CustomerId",
    "CustomerName",
    "CustomerEmail",
    "FollowUpDate",
    "MarketId",
    "MarketGroupId",
)
STRING_LISTS = (
    "Tags",
    "RelatedOrders",
    "RelatedCustomers",
    "RelatedProjects",
    "RelatedCarts",
    "RelatedSkuIds",
    "RelatedProductIds",
)
OBJECT_LISTS = {
    "Participants": ("Name", "Email", "CustomerId", "Role"),
    "Properties": ("Key", "Value", "KeyGroup", "ValueType"),
}
NOTE_LISTS = ("CaseNotes", "InternalNotes")
NOTE_FIELDS = (
    "Id",
    "Created",
    "Detail",
    "Title",
    "Type",
    "Creator",
    "UserId",
    "CustomerId",
    "Tags",
    "ParentId",
)
CLEARABLE = tuple(name for name in (*SCALARS, *STRING_LISTS, *OBJECT_LISTS) if name != "Subject")
SERVER_MANAGED = (
    "CaseNumber",
    "CaseStatusLog",
    "Created",
    "Changed",
    "ResolvedDate",
    "ClosedDate",
    "LastCommentDate",
    "LastCommenterName",
    "CommentCount",
    "DeletedDate",
)
CASE_FIELDS = ("Id", *SCALARS, "Status", "Priority", *STRING_LISTS, *OBJECT_LISTS, *NOTE_LISTS)
PATCH_FIELDS = ("Id", *SCALARS, "Status", "Priority", *STRING_LISTS, *OBJECT_LISTS)
SORT_KEYS = (
    "Created",
    "Changed",
    "Status",
    "Priority",
    "Subject",
    "CustomerName",
    "AssignedToName",
    "FollowUpDate",
)
SORT_ORDERS = {
    f"{key}{direction}": index
    for index, (key, direction) in enumerate(
        (key, direction) for key in SORT_KEYS for direction in ("Ascending", "Descending")
    )
}


def stamp(moment: datetime) -> str:
    """A time as the API writes it: UTC, milliseconds, Z (and always four year digits)."""
    m = moment
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
        f".{m.microsecond // 1000:03d}Z"
    )


def normalize_time(text: str) -> str:
    """An input time as the API stores it: converted to UTC (none given means UTC), truncated
    to the millisecond."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return stamp(moment.replace(microsecond=moment.microsecond // 1000 * 1000))


def wire_body(body: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any] | None:
    """A request body with its names matched case-insensitively and server-managed fields
    dropped; None when it names an unknown field (a 400)."""
    known = {name.lower(): name for name in fields}
    ignored = {name.lower() for name in SERVER_MANAGED}
    matched: dict[str, Any] = {}
    for key, value in body.items():
        if key.lower() in ignored:
            continue
        if key.lower() not in known:
            return None
        matched[known[key.lower()]] = value
    return matched


def _blank(text: Any) -> bool:
    return isinstance(text, str) and not text.strip()


def _canonical(names: dict[str, int], name: str) -> str | None:
    for known in names:
        if known.lower() == name.lower():
            return known
    return None


@dataclass
class Answer:
    status: int
    body: Any = None


@dataclass
class ModelCase:
    json: dict[str, Any]
    version: int = 1

    @property
    def deleted(self) -> bool:
        return self.json["DeletedDate"] is not None

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


def _blank_case(case_id: str, number: int, now: str) -> dict[str, Any]:
    case: dict[str, Any] = {
        "Id": case_id,
        "CaseNumber": f"{NUMBER_PREFIX}{number}",
        **dict.fromkeys(SCALARS),
        "Status": None,
        "Priority": None,
        **{name: [] for name in (*STRING_LISTS, *OBJECT_LISTS, *NOTE_LISTS)},
        "CaseStatusLog": [],
        "ResolvedDate": None,
        "ClosedDate": None,
        "LastCommentDate": None,
        "LastCommenterName": None,
        "CommentCount": 0,
        "Created": now,
        "Changed": now,
        "DeletedDate": None,
    }
    return case


def _object_item(names: tuple[str, ...], item: dict[str, Any]) -> dict[str, Any]:
    return {name: item.get(name) for name in names}


def _note(item: dict[str, Any], kind: str, now: str) -> dict[str, Any]:
    note = {name: item.get(name) for name in NOTE_FIELDS}
    note["Type"] = kind
    note["Tags"] = list(item.get("Tags") or [])
    note["Created"] = normalize_time(item["Created"]) if item.get("Created") else now
    return note


def _visible(case: dict[str, Any]) -> dict[str, Any]:
    """Everything a write may change, except Changed (which follows from a change)."""
    return {key: value for key, value in case.items() if key != "Changed"}


class CaseModel:
    """One tenant's cases, seen by one CaseAdmin with every market."""

    def __init__(self, *, actor_name: str, actor_client_id: str) -> None:
        self.actor_name = actor_name
        self.actor_client_id = actor_client_id
        self.cases: dict[str, ModelCase] = {}
        self.next_number = FIRST_NUMBER
        self.note_ids: set[str] = set()

    # ---- helpers -------------------------------------------------------------------------

    def _live(self, case_id: str) -> ModelCase | None:
        case = self.cases.get(case_id)
        return None if case is None or case.deleted else case

    @staticmethod
    def _stale(case: ModelCase, if_match: str | None) -> bool:
        if if_match is None:
            return False
        tags = {tag.strip() for tag in if_match.split(",")}
        return not tags & {case.etag, "*"}

    def _enter_status(self, case: dict[str, Any], target: str, now: str) -> None:
        """conventions.md / docs/api.md: the status log and the resolved and closed dates."""
        if case["Status"] == target:
            return
        log = case["CaseStatusLog"]
        previous = log[-1]["Timestamp"] if log else None
        duration = None
        if previous is not None:
            delta = datetime.fromisoformat(now[:-1]) - datetime.fromisoformat(previous[:-1])
            duration = delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
        log.append({"Status": target, "Timestamp": now, "DurationSincePreviousMs": duration})
        case["Status"] = target
        level = STATUS_LEVELS[target]
        if target == STATUS_RESOLVED:
            case["ResolvedDate"] = now
            case["ClosedDate"] = None
        elif target == STATUS_CLOSED:
            case["ClosedDate"] = now
            case["ResolvedDate"] = case["ResolvedDate"] or now
        else:
            if level < STATUS_LEVELS[STATUS_RESOLVED]:
                case["ResolvedDate"] = None
            if level < STATUS_LEVELS[STATUS_CLOSED]:
                case["ClosedDate"] = None

    @staticmethod
    def _names_errors(status: str | None, priority: str | None) -> bool:
        return (status is not None and _canonical(STATUS_LEVELS, status) is None) or (
            priority is not None and _canonical(PRIORITY_SEVERITIES, priority) is None
        )

    @staticmethod
    def _recount(case: dict[str, Any], *, added: str | None = None) -> None:
        """docs/api.md: derived from both lists. The last comment has the latest Created; of
        notes created in the same millisecond, the one just added, else the current last
        comment (a PUT sending the notes back changes nothing), else the one listed last."""
        notes = [*case["CaseNotes"], *case["InternalNotes"]]
        current = (case["LastCommentDate"], case["LastCommenterName"])

        def rank(pair: tuple[int, dict[str, Any]]) -> tuple[str, int, int]:
            index, note = pair
            if note["Id"] == added:
                return note["Created"], 2, index
            return note["Created"], int((note["Created"], note["Creator"]) == current), index

        case["CommentCount"] = len(notes)
        latest = max(enumerate(notes), key=rank, default=None)
        case["LastCommentDate"] = latest[1]["Created"] if latest else None
        case["LastCommenterName"] = latest[1]["Creator"] if latest else None

    def _commit(self, model: ModelCase, after: dict[str, Any], now: str) -> ModelCase:
        """Store `after`; a write that changes nothing keeps Changed and the version."""
        if _visible(after) != _visible(model.json):
            after["Changed"] = now
            model.version += 1
        model.json = after
        return model

    def _write_fields(self, case: dict[str, Any], body: dict[str, Any]) -> None:
        for name in SCALARS:
            value = body.get(name)
            case[name] = normalize_time(value) if name == "FollowUpDate" and value else value
        for name in STRING_LISTS:
            case[name] = list(body.get(name) or [])
        for name, names in OBJECT_LISTS.items():
            case[name] = [_object_item(names, item) for item in body.get(name) or []]

    # ---- the API -------------------------------------------------------------------------

    def create(self, body: dict[str, Any], now: str, *, server_id: str) -> Answer:
        """POST /api/cases; `server_id` is the Id the server picked when the body has none."""
        matched = wire_body(body, CASE_FIELDS)
        if matched is None or not matched.get("Subject") or _blank(matched["Subject"]):
            return Answer(400)
        body = matched
        if self._names_errors(body.get("Status"), body.get("Priority")):
            return Answer(400)
        case_id = body.get("Id") or server_id
        if case_id in self.cases:
            return Answer(409)
        case = _blank_case(case_id, self.next_number, now)
        self._write_fields(case, body)
        model = ModelCase(case)
        self._replace_notes(case, body, now)
        case["Priority"] = _canonical(PRIORITY_SEVERITIES, body.get("Priority") or DEFAULT_PRIORITY)
        self._enter_status(
            case, _canonical(STATUS_LEVELS, body.get("Status") or STATUS_NEW) or "", now
        )
        self.next_number += 1
        self.cases[case_id] = model
        return Answer(201, copy.deepcopy(case))

    def _replace_notes(self, case: dict[str, Any], body: dict[str, Any], now: str) -> None:
        case["CaseNotes"] = [_note(item, "Public", now) for item in body.get("CaseNotes") or []]
        case["InternalNotes"] = [
            _note(item, "Internal", now) for item in body.get("InternalNotes") or []
        ]
        self._recount(case)

    def get(self, case_id: str) -> Answer:
        case = self._live(case_id)
        return Answer(404) if case is None else Answer(200, copy.deepcopy(case.json))

    def replace(self, body: dict[str, Any], if_match: str | None, now: str) -> Answer:
        """PUT /api/cases: every client-writable field replaced; notes only as sent back."""
        required = ("Id", "Subject", "Status", "Priority")
        matched = wire_body(body, CASE_FIELDS)
        if matched is None or any(not matched.get(name) for name in required):
            return Answer(400)
        body = matched
        if _blank(body["Subject"]) or self._names_errors(body["Status"], body["Priority"]):
            return Answer(400)
        model = self._live(body["Id"])
        if model is None:
            return Answer(404)
        if self._stale(model, if_match):
            return Answer(412)
        after = copy.deepcopy(model.json)
        self._write_fields(after, body)
        self._replace_notes(after, body, now)
        after["Priority"] = _canonical(PRIORITY_SEVERITIES, body["Priority"])
        self._enter_status(after, _canonical(STATUS_LEVELS, body["Status"]) or "", now)
        return Answer(200, copy.deepcopy(self._commit(model, after, now).json))

    def patch(self, body: dict[str, Any], if_match: str | None, now: str) -> Answer:
        """PATCH /api/cases: only non-null fields; FieldsToForceNull clears."""
        matched = wire_body(body, (*PATCH_FIELDS, "FieldsToForceNull"))
        if matched is None or _blank(matched.get("Subject")):
            return Answer(400)
        body = matched
        to_clear = body.get("FieldsToForceNull") or []
        canonical_clear = []
        for name in to_clear:
            match = next((known for known in CLEARABLE if known.lower() == name.lower()), None)
            if match is None or body.get(match) is not None:
                return Answer(400)
            canonical_clear.append(match)
        if self._names_errors(body.get("Status"), body.get("Priority")):
            return Answer(400)
        model = self._live(body["Id"])
        if model is None:
            return Answer(404)
        if self._stale(model, if_match):
            return Answer(412)
        after = copy.deepcopy(model.json)
        for name in SCALARS:
            value = body.get(name)
            if value is not None:
                after[name] = normalize_time(value) if name == "FollowUpDate" else value
        for name in STRING_LISTS:
            if body.get(name) is not None:
                after[name] = list(body[name])
        for name, names in OBJECT_LISTS.items():
            if body.get(name) is not None:
                after[name] = [_object_item(names, item) for item in body[name]]
        for name in canonical_clear:
            after[name] = [] if name in STRING_LISTS or name in OBJECT_LISTS else None
        if body.get("Priority") is not None:
            after["Priority"] = _canonical(PRIORITY_SEVERITIES, body["Priority"])
        if body.get("Status") is not None:
            self._enter_status(after, _canonical(STATUS_LEVELS, body["Status"]) or "", now)
        return Answer(200, copy.deepcopy(self._commit(model, after, now).json))

    def assign(
        self, case_id: str, user_id: str, user_name: str | None, if_match: str | None, now: str
    ) -> Answer:
        if not user_id.strip():
            return Answer(400)
        model = self._live(case_id)
        if model is None:
            return Answer(404)
        if self._stale(model, if_match):
            return Answer(412)
        after = copy.deepcopy(model.json)
        after["AssignedToUserId"] = user_id
        after["AssignedToName"] = user_name
        return Answer(200, copy.deepcopy(self._commit(model, after, now).json))

    def change_status(self, case_id: str, status: str, if_match: str | None, now: str) -> Answer:
        if not status.strip():
            return Answer(400)
        model = self._live(case_id)
        if model is None:
            return Answer(404)
        if self._stale(model, if_match):
            return Answer(412)
        target = _canonical(STATUS_LEVELS, status)
        if target is None:
            return Answer(400)
        after = copy.deepcopy(model.json)
        self._enter_status(after, target, now)
        return Answer(200, copy.deepcopy(self._commit(model, after, now).json))

    def comment(
        self, case_id: str, body: dict[str, Any], if_match: str | None, now: str, *, note_id: str
    ) -> Answer:
        """POST /api/cases/{id}/comments; `note_id` is the Id the server gave the note."""
        if not (body.get("Detail") or "").strip():
            return Answer(400)
        model = self._live(case_id)
        if model is None:
            return Answer(404)
        if self._stale(model, if_match):
            return Answer(412)
        kind = _canonical({"Public": 0, "Internal": 0}, body.get("Type") or "Internal")
        note = _note(
            {
                **body,
                "Id": note_id,
                "Created": None,
                "Creator": body.get("Creator") or self.actor_name,
                "UserId": body.get("UserId") or self.actor_client_id,
            },
            kind or "",
            now,
        )
        after = copy.deepcopy(model.json)
        after["CaseNotes" if kind == "Public" else "InternalNotes"].append(note)
        self.note_ids.add(note_id)
        self._recount(after, added=note_id)
        return Answer(201, copy.deepcopy(self._commit(model, after, now).json))

    def delete(self, case_id: str, if_match: str | None, now: str) -> Answer:
        model = self._live(case_id)
        if model is None:
            return Answer(404)
        if self._stale(model, if_match):
            return Answer(412)
        after = copy.deepcopy(model.json)
        after["DeletedDate"] = now
        return Answer(200, copy.deepcopy(self._commit(model, after, now).json))

    def restore(self, case_id: str, if_match: str | None, now: str) -> Answer:
        model = self.cases.get(case_id)
        if model is None:
            return Answer(404)
        if not model.deleted:
            return Answer(409)
        if self._stale(model, if_match):
            return Answer(412)
        after = copy.deepcopy(model.json)
        after["DeletedDate"] = None
        return Answer(200, copy.deepcopy(self._commit(model, after, now).json))

    # ---- search --------------------------------------------------------------------------

    def search(self, request: dict[str, Any]) -> Answer:
        status = request.get("Status")
        priority = request.get("Priority")
        if self._names_errors(status, priority):
            return Answer(400)
        page = request.get("Page") or 0
        take = request.get("Take") or DEFAULT_TAKE
        if page < 0 or not 1 <= take <= MAX_TAKE or page * take > MAX_DEPTH:
            return Answer(400)
        hits = [model.json for model in self.cases.values() if self._matches(model.json, request)]
        sort_order = _canonical(SORT_ORDERS, request.get("SortOrder") or "CreatedDescending")
        if sort_order is None:
            return Answer(400)
        ordered = self._sorted(hits, sort_order)
        items = ordered[page * take : (page + 1) * take]
        return Answer(
            200,
            {
                "Items": copy.deepcopy(items),
                "TotalHits": len(hits),
                "Page": page,
                "PageSize": take,
            },
        )

    @staticmethod
    def _matches(case: dict[str, Any], request: dict[str, Any]) -> bool:
        if case["DeletedDate"] is not None and not request.get("IncludeDeleted"):
            return False
        if request.get("Status") and case["Status"] != _canonical(STATUS_LEVELS, request["Status"]):
            return False
        priority = request.get("Priority")
        if priority and case["Priority"] != _canonical(PRIORITY_SEVERITIES, priority):
            return False
        assignee = request.get("AssignedToUserId")
        if assignee and case["AssignedToUserId"] != assignee:
            return False
        tags = {tag.lower() for tag in case["Tags"]}
        if any(tag.lower() not in tags for tag in request.get("Tags") or []):
            return False
        customer = request.get("CustomerId")
        if customer and customer != case["CustomerId"] and customer not in case["RelatedCustomers"]:
            return False
        order = request.get("OrderId")
        if order and order not in case["RelatedOrders"]:
            return False
        created = case["Created"]
        if request.get("DateFrom") and created < normalize_time(request["DateFrom"]):
            return False
        if request.get("DateTo") and created > normalize_time(request["DateTo"]):
            return False
        texts = [
            (case[name] or "").lower()
            for name in ("CaseNumber", "Subject", "Description", "CustomerName")
        ]
        words = (request.get("SearchText") or "").split()
        return all(any(word.lower() in text for text in texts) for word in words)

    @staticmethod
    def _sorted(hits: list[dict[str, Any]], sort_order: str) -> list[dict[str, Any]]:
        """docs/api.md: Status by Level, Priority by Severity, text lower-cased, empty values
        last in both directions, ties on Id in the sort's direction."""
        descending = sort_order.endswith("Descending")
        name = sort_order.removesuffix("Descending").removesuffix("Ascending")

        def key(case: dict[str, Any]) -> Any:
            value = case[name]
            if name == "Status":
                return STATUS_LEVELS[value]
            if name == "Priority":
                return PRIORITY_SEVERITIES[value]
            if name in ("Subject", "CustomerName", "AssignedToName") and value is not None:
                return value.lower().encode()
            return value

        filled = [case for case in hits if key(case) is not None]
        empty = [case for case in hits if key(case) is None]
        filled.sort(key=lambda case: (key(case), case["Id"].encode()), reverse=descending)
        empty.sort(key=lambda case: case["Id"].encode(), reverse=descending)
        return filled + empty
