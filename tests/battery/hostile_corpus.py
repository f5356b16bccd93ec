"""The hostile input corpus: values, keys, malformed bodies, odd ids, queries and headers,
the endpoints they are thrown at, and the bodies built from them (tests/battery/
test_hostile_inputs.py sends them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from casedesk.case_settings.rules import DEFAULT_RULES

TARGET = "target-case"
SENTINEL = "sentinel-case"
HOLE = "__HOSTILE__"
MEGABYTE = 1024 * 1024


# --- the values --------------------------------------------------------------------------


def _s(text: str) -> str:
    """A JSON string literal; lone surrogates come out as \\uXXXX escapes, as a client sends."""
    return json.dumps(text)


def _nested(depth: int, opener: str, closer: str, core: str = "1") -> str:
    return opener * depth + core + closer * depth


# (label, the value as raw JSON text)
STRINGS: list[tuple[str, str]] = [
    ("NUL", r'"\u0000"'),
    ("NUL inside", r'"Order\u0000arrived"'),
    ("lone high surrogate", r'"\ud800"'),
    ("lone low surrogate", r'"\udfff"'),
    ("surrogate after text", r'"damaged\udbff"'),
    ("reversed surrogate pair", r'"\udc00\ud800"'),
    ("escaped surrogate pair", r'"\ud83d\ude00"'),
    ("megabyte string", _s("x" * MEGABYTE)),
    ("megabyte of two-byte letters", _s("\u00e9" * (MEGABYTE // 2))),
    ("10 KB string", _s("y" * 10_240)),
    ("empty string", '""'),
    ("blank string", '"   "'),
    ("whitespace controls", _s("\t\n\r\x0b\x0c")),
    ("control characters", _s("\x01\x1f\x7f")),
    ("fts operators", _s('" AND OR NEAR * ( ) -')),
    ("caret", '"^"'),
    ("colon", '":"'),
    ("column filter", _s("subject:damaged")),
    ("near group", _s("NEAR(order arrived, 2)")),
    ("lone quote", _s('"')),
    ("two apostrophes", _s("''")),
    ("star", '"*"'),
    ("percent", '"%"'),
    ("underscore", '"_"'),
    ("like pattern", _s("a%b_c")),
    ("backslash", _s("\\")),
    ("escaped percent", _s("\\%")),
    ("sql drop", _s("'; DROP TABLE cases; --")),
    ("sql tautology", _s("1 OR 1=1")),
    ("sql quoted tautology", _s("' OR '1'='1")),
    ("sql stacked", _s('"; DELETE FROM cases; --')),
    ("sql sleep", _s("1; SELECT pg_sleep(5); --")),
    ("sql union", _s("' UNION SELECT secret_hash FROM api_users --")),
    ("path traversal", _s("../../etc/passwd")),
    ("encoded slash", '"%2F"'),
    ("encoded NUL", '"%00"'),
    ("html", _s("<script>alert(1)</script>")),
    ("json in text", _s('{"Subject": 1}')),
    ("word null", '"null"'),
    ("emoji", _s("\U0001f642 damaged")),
    ("titlecase digraph", _s("\u01c5\u01c6")),
    ("sharp s", _s("stra\u00dfe")),
    ("dotted capital I", _s("\u0130stanbul")),
    ("ligature", _s("\ufb01le")),
    ("right-to-left override", _s("\u202eevil")),
    ("zero-width space", _s("dam\u200baged")),
    ("combining accent", _s("cafe\u0301")),
    ("byte order mark", _s("\ufeffOrder")),
    ("noncharacter", _s("\uffff")),
    ("format string", _s("%s%s%n{0}{name}")),
]

NUMBERS: list[tuple[str, str]] = [
    ("10**30", str(10**30)),
    ("-10**30", str(-(10**30))),
    ("2**63", str(2**63)),
    ("-2**63-1", str(-(2**63) - 1)),
    ("-1", "-1"),
    ("0", "0"),
    ("1e309", "1e309"),
    ("-1e309", "-1e309"),
    ("1e-400", "1e-400"),
    ("NaN", "NaN"),
    ("Infinity", "Infinity"),
    ("-Infinity", "-Infinity"),
    ("float 1.5", "1.5"),
    ("float 1.0", "1.0"),
    ("string number", '"20"'),
    ("true", "true"),
    ("false", "false"),
    ("null", "null"),
    ("5,000-digit number", "1" + "0" * 5_000),
]

DATES: list[tuple[str, str]] = [
    ("month 13", '"2026-13-01T00:00:00Z"'),
    ("year 0", '"0000-01-01T00:00:00Z"'),
    ("year 99999", '"99999-01-01T00:00:00Z"'),
    ("February 30", '"2026-02-30T00:00:00Z"'),
    ("hour 24", '"2026-01-01T24:00:00Z"'),
    ("offset +25:00", '"2026-01-01T00:00:00+25:00"'),
    ("timezone name", '"2026-01-01T00:00:00 Europe/Oslo"'),
    ("timezone garbage", '"2026-01-01T00:00:00Zulu"'),
    ("overflows on conversion to UTC", '"9999-12-31T23:59:59-23:59"'),
    ("underflows on conversion to UTC", '"0001-01-01T00:00:00+23:59"'),
    ("last moment", '"9999-12-31T23:59:59.999999Z"'),
    ("first moment", '"0001-01-01T00:00:00Z"'),
    ("date only", '"2026-03-15"'),
    ("words", '"yesterday"'),
    ("huge unix time", str(10**20)),
    ("negative unix time", "-62135596801"),
]

STRUCTURES: list[tuple[str, str]] = [
    ("empty list", "[]"),
    ("empty object", "{}"),
    ("list of null", "[null]"),
    ("mixed list", '["a", 1, null, {}]'),
    ("nested empty list", "[[]]"),
    ("10,000 tags", json.dumps([f"tag-{i}" for i in range(10_000)])),
    ("201 tags", json.dumps([f"tag-{i}" for i in range(201)])),
    ("10,000 numbers", json.dumps(list(range(10_000)))),
    ("operator object", '{"$ne": 1}'),
    ("10,000-deep list", _nested(10_000, "[", "]")),
    ("10,000-deep object", _nested(10_000, '{"a":', "}")),
    ("900-deep list", _nested(900, "[", "]")),
    ("object with odd keys", r'{"\ud800": 1, "\u0000": 2, "": 3}'),
]

SORTS: list[tuple[str, str]] = [
    ("sort in lower case", '"createdascending"'),
    ("sort with a space", '"Created Ascending"'),
    ("sort with sql", _s("CreatedAscending; DROP TABLE cases")),
    ("sort as number", "3"),
    ("sort out of range", "17"),
    ("sort proto", '"__proto__"'),
]

VALUES = STRINGS + NUMBERS + DATES + STRUCTURES + SORTS

# Keys a body may carry besides its real fields.
KEYS: list[tuple[str, str]] = [
    ("lone surrogate key", r'"\ud800"'),
    ("NUL key", r'"\u0000"'),
    ("NUL in a real key", r'"Sub\u0000ject"'),
    ("empty key", '""'),
    ("megabyte key", _s("k" * MEGABYTE)),
    ("proto key", '"__proto__"'),
    ("trailing-space key", '"Subject "'),
    ("upper-case duplicate", '"SUBJECT"'),
    ("sql key", _s("Subject'; DROP TABLE cases; --")),
]


# --- the endpoints -----------------------------------------------------------------------

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class BodyEndpoint:
    name: str
    method: str
    url: str
    base: Any
    fields: tuple[Path, ...]
    # fields holding text stored on the case, checked to round-trip on a 2xx
    returns_case: bool = False


CASE_FIELDS: tuple[Path, ...] = (
    ("Subject",),
    ("Description",),
    ("Status",),
    ("Priority",),
    ("Source",),
    ("CustomerName",),
    ("CustomerEmail",),
    ("AssignedToUserId",),
    ("Tags",),
    ("Tags", 0),
    ("RelatedOrders",),
    ("Participants",),
    ("Participants", 0, "Email"),
    ("Properties",),
    ("Properties", 0, "Value"),
    ("FollowUpDate",),
    ("MarketId",),
)
SEARCH_FIELDS: tuple[Path, ...] = (
    ("SearchText",),
    ("Status",),
    ("Priority",),
    ("Tags",),
    ("Tags", 0),
    ("CustomerId",),
    ("OrderId",),
    ("AssignedToUserId",),
    ("DateFrom",),
    ("DateTo",),
    ("SortOrder",),
    ("Take",),
    ("IncludeDeleted",),
)
ITEM = {"Subject": "Hostile batch", "Participants": [{"Email": "a@example.com"}]}
PARTICIPANTS = [{"Name": "Kari", "Email": "kari@example.com"}]
PROPERTIES = [{"Key": "channel", "Value": "email"}]

BODY_ENDPOINTS = (
    BodyEndpoint(
        "create",
        "POST",
        "/api/cases",
        {"Subject": "Hostile create", "Participants": PARTICIPANTS, "Properties": PROPERTIES},
        (("Id",), *CASE_FIELDS, ("CaseNotes",), ("CaseNotes", 0, "Detail")),
        returns_case=True,
    ),
    BodyEndpoint(
        "PUT",
        "PUT",
        "/api/cases",
        {
            "Id": TARGET,
            "Subject": "Hostile replace",
            "Status": "New",
            "Priority": "Normal",
            "Participants": PARTICIPANTS,
            "Properties": PROPERTIES,
        },
        (("Id",), *CASE_FIELDS, ("InternalNotes",)),
        returns_case=True,
    ),
    BodyEndpoint(
        "PATCH",
        "PATCH",
        "/api/cases",
        {"Id": TARGET, "Participants": PARTICIPANTS, "Properties": PROPERTIES},
        (("Id",), *CASE_FIELDS, ("FieldsToForceNull",), ("FieldsToForceNull", 0)),
        returns_case=True,
    ),
    BodyEndpoint(
        "search", "POST", "/api/cases/search", {"Tags": ["x"]}, (*SEARCH_FIELDS, ("Page",))
    ),
    BodyEndpoint(
        "scroll", "POST", "/api/cases/scroll", {"Tags": ["x"]}, (*SEARCH_FIELDS, ("Page",))
    ),
    BodyEndpoint(
        "addmany",
        "POST",
        "/api/cases/addmany",
        [ITEM],
        ((0,), (0, "Subject"), (0, "Id"), (0, "Tags"), (0, "FollowUpDate"), (0, "Status")),
    ),
    BodyEndpoint(
        "patchmany",
        "PATCH",
        "/api/cases/patchmany",
        [{"Id": TARGET, "Tags": ["x"]}],
        ((0,), (0, "Id"), (0, "Subject"), (0, "Tags"), (0, "FollowUpDate"), (0, "Status")),
    ),
    BodyEndpoint(
        "comments",
        "POST",
        f"/api/cases/{TARGET}/comments",
        {"Detail": "Hostile note", "Tags": ["x"]},
        (
            ("Detail",),
            ("Title",),
            ("Type",),
            ("Created",),
            ("Creator",),
            ("Id",),
            ("Tags",),
            ("ParentId",),
        ),
        returns_case=True,
    ),
    BodyEndpoint(
        "PUT settings",
        "PUT",
        "/api/cases/settings",
        DEFAULT_RULES.to_document(),
        (
            ("Statuses",),
            ("Statuses", 0, "Name"),
            ("Statuses", 0, "Level"),
            ("StatusNew",),
            ("Priorities",),
            ("Priorities", 1, "Severity"),
            ("DefaultPriority",),
            ("NumberPrefix",),
        ),
    ),
)

# Text a case keeps as it was sent: a 2xx must answer it unchanged, and GET must agree.
VERBATIM = {
    "Subject",
    "Description",
    "Source",
    "CustomerName",
    "CustomerEmail",
    "AssignedToUserId",
    "MarketId",
    "Tags",
    "RelatedOrders",
}

MALFORMED_BODIES: list[tuple[str, bytes]] = [
    ("empty body", b""),
    ("whitespace body", b"  \n "),
    ("truncated object", b'{"Subject": "Order arr'),
    ("truncated after colon", b'{"Subject":'),
    ("only an opening brace", b"{"),
    ("trailing comma in object", b'{"Subject": "x",}'),
    ("trailing comma in list", b'{"Subject": "x", "Tags": ["a",]}'),
    ("NaN value", b'{"Subject": NaN}'),
    ("Infinity value", b'{"Subject": "x", "Take": Infinity}'),
    ("duplicate key", b'{"Subject": "first", "Subject": "second"}'),
    ("duplicate key in other case", b'{"Subject": "first", "subject": "second"}'),
    ("byte order mark", b'\xef\xbb\xbf{"Subject": "x"}'),
    ("UTF-16 with BOM", '{"Subject": "x"}'.encode("utf-16")),
    ("UTF-32", '{"Subject": "x"}'.encode("utf-32")),
    ("invalid UTF-8", b'{"Subject": "\xff\xfe"}'),
    ("overlong UTF-8", b'{"Subject": "\xc0\xaf"}'),
    ("UTF-8 encoded surrogate", b'{"Subject": "\xed\xa0\x80"}'),
    ("raw NUL byte", b'{"Subject": "a\x00b"}'),
    ("raw control character in string", b'{"Subject": "a\x01b"}'),
    ("single quotes", b"{'Subject': 'x'}"),
    ("comment", b'{"Subject": "x" /* note */}'),
    ("trailing garbage", b'{"Subject": "x"}garbage'),
    ("two documents", b'{"Subject": "x"}{"Subject": "y"}'),
    ("bare null", b"null"),
    ("bare true", b"true"),
    ("bare number", b"1"),
    ("bare string", b'"Subject"'),
    ("empty list", b"[]"),
    ("empty object", b"{}"),
    ("10,000-deep list", _nested(10_000, "[", "]").encode()),
    ("10,000-deep object", _nested(10_000, '{"a":', "}").encode()),
    (
        "10,000-deep in a field",
        b'{"Subject": "x", "Tags": ' + _nested(10_000, "[", "]").encode() + b"}",
    ),
    ("5,000-digit number", b'{"Subject": "x", "Take": 1' + b"0" * 5_000 + b"}"),
    ("huge exponent", b'{"Subject": "x", "Take": 1e999999}'),
    ("unescaped newline in string", b'{"Subject": "a\nb"}'),
    ("bad escape", b'{"Subject": "\\x41"}'),
    ("short unicode escape", b'{"Subject": "\\u12"}'),
]

CONTENT_TYPES = [
    "text/plain",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/json; charset=utf-16",
    "application/json; charset=latin-1",
    "application/json; charset=nonsense",
    "application/json;;;",
    "application/vnd.api+json",
    "application/jsonx",
    "*/*",
    "json",
    "",
]

# Raw path segments, sent as written (percent-escapes included).
PATH_IDS: list[tuple[str, str]] = [
    ("encoded slash", "%2F"),
    ("encoded slash inside", "a%2Fb"),
    ("dot dot", ".."),
    ("encoded dot dot", "%2E%2E"),
    ("encoded NUL", "%00"),
    ("encoded NUL inside", "a%00b"),
    ("lone percent", "%25"),
    ("broken escape", "%ZZ"),
    ("invalid UTF-8 escape", "%FF"),
    ("encoded surrogate", "%ED%A0%80"),
    ("encoded e-acute", "%C3%A9"),
    ("unicode", "\u00e9t\u00e9-\U0001f642"),
    ("10 KB id", "i" * 10_240),
    ("101-character id", "i" * 101),
    ("sql", "%27%3B%20DROP%20TABLE%20cases%3B%20--"),
    ("sql tautology", "1%20OR%201%3D1"),
    ("star", "*"),
    ("encoded space", "%20"),
    ("encoded tab", "%09"),
    ("encoded question mark", "%3F"),
    ("encoded hash", "%23"),
    ("semicolon", "a;b"),
    ("backslash", "%5C"),
    ("reserved word", "search"),
    ("minus one", "-1"),
]

PATH_ENDPOINTS: list[tuple[str, str, dict[str, str], Any]] = [
    ("GET", "/api/cases/{id}", {}, None),
    ("DELETE", "/api/cases/{id}", {}, None),
    ("POST", "/api/cases/{id}/assignto", {"userId": "user-456"}, None),
    ("POST", "/api/cases/{id}/changestatus", {"status": "In Progress"}, None),
    ("POST", "/api/cases/{id}/comments", {}, {"Detail": "note"}),
    ("POST", "/api/cases/{id}/restore", {}, None),
    ("GET", "/api/cases/scroll/{id}", {}, None),
]

QUERY_ENDPOINTS: list[tuple[str, str, dict[str, str], tuple[str, ...]]] = [
    ("POST", f"/api/cases/{TARGET}/assignto", {"userId": "u1"}, ("userId", "userName")),
    ("POST", f"/api/cases/{TARGET}/changestatus", {"status": "In Progress"}, ("status",)),
    ("POST", "/api/token", {"clientId": "x", "clientSecret": "y"}, ("clientId", "clientSecret")),
    ("POST", "/api/token", {"clientId": "x", "clientSecret": "y"}, ("returnAsJson",)),
]

# Raw query strings, appended after '?' as written.
RAW_QUERIES = [
    "status=%ZZ",
    "status=%00",
    "status=%FF",
    "status=%ED%A0%80",
    "status",
    "=",
    "&&&",
    "status=New&status=Closed",
    "status[]=New",
    "status=" + "s" * 10_240,
    "userId=%00&userName=%00",
    "userId=&userName=",
    "userId=%20",
    "userName=" + "n" * 10_240 + "&userId=u",
    "clientId=%00&clientSecret=%00",
    "clientId=x&clientSecret=y&returnAsJson=%00",
    "clientId=x&clientSecret=y&returnAsJson=maybe",
    "Take=1e309&Page=-1",
]

IF_MATCHES = [
    "",
    " ",
    "*",
    '"1"',
    'W/"1"',
    "1",
    '"' + "9" * 100 + '"',
    '"-1"',
    ",,,,",
    '"',
    "*, *",
    '"' + "e" * 10_000 + '"',
]

UNIQUE_URLS = (
    "/api/cases",
    f"/api/cases/{TARGET}",
    "/api/cases/search",
    "/api/cases/scroll",
    "/api/cases/scroll/no-such-scroll",
    "/api/cases/addmany",
    "/api/cases/patchmany",
    f"/api/cases/{TARGET}/assignto",
    f"/api/cases/{TARGET}/changestatus",
    f"/api/cases/{TARGET}/comments",
    f"/api/cases/{TARGET}/restore",
    "/api/cases/settings",
    "/api/token",
)

# Headers casedesk reads besides Authorization and If-Match; bytes are sent as they are.
ODD_HEADERS: dict[str, list[str | bytes]] = {
    "X-Request-Id": ["", " ", "\t", "r" * 10_240, b"\xff\xfe", "\x7f", '"><script>', "a\tb"],
    "Idempotency-Key": ["", " ", "k" * 256, "k" * 10_240, b"\xc3\xa9", b"\xff", "\x7f", "a\tb"],
    "Accept": ["application/xml", "*/*;q=x", ""],
    "Content-Length": ["-1", "1" * 30, "abc"],
}

WRITES_WITH_IF_MATCH: list[tuple[str, str, dict[str, str], Any]] = [
    ("PATCH", "/api/cases", {}, {"Id": TARGET, "Source": "If-Match"}),
    ("PUT", "/api/cases", {}, {"Id": TARGET, "Subject": "s", "Status": "New", "Priority": "Low"}),
    ("POST", f"/api/cases/{TARGET}/changestatus", {"status": "New"}, None),
    ("POST", f"/api/cases/{TARGET}/assignto", {"userId": "u1"}, None),
    ("POST", f"/api/cases/{TARGET}/comments", {}, {"Detail": "If-Match note"}),
    ("DELETE", f"/api/cases/{SENTINEL}-missing", {}, None),
]


# --- building the requests ---------------------------------------------------------------


def with_holes(base: Any, path: Path, hole: str) -> Any:
    """A copy of `base` with `hole` at `path`; list indexes past the end append."""
    if not path:
        return hole
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(base) if isinstance(base, list) else []
        while len(items) <= head:
            items.append({} if rest and isinstance(rest[0], str) else "x")
        items[head] = with_holes(items[head], rest, hole)
        return items
    copy = dict(base) if isinstance(base, dict) else {}
    copy[head] = with_holes(copy.get(head), rest, hole)
    return copy


def fill(base: Any, *placed: tuple[Path, str]) -> bytes:
    """`base` as JSON with each raw value written in at its path."""
    document = base
    for number, (path, _) in enumerate(placed):
        document = with_holes(document, path, f"{HOLE}{number}")
    text = json.dumps(document)
    for number, (_, raw) in enumerate(placed):
        text = text.replace(json.dumps(f"{HOLE}{number}"), raw, 1)
    return text.encode()


def field_label(path: Path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "$"


@dataclass(frozen=True)
class BodyInput:
    endpoint: BodyEndpoint
    label: str
    placed: tuple[tuple[Path, str], ...]


def body_inputs(scale: int) -> Iterator[BodyInput]:
    """Each value as the whole body and in 2 x scale fields of each endpoint (rotating, so
    every field meets many values; from scale 10 on, every value meets every field); then
    pairs of values in two fields at once, 60 x scale of them."""
    for endpoint in BODY_ENDPOINTS:
        fields = endpoint.fields
        for index, (label, raw) in enumerate(VALUES):
            yield BodyInput(endpoint, f"$={label}", (((), raw),))
            for step in range(min(len(fields), 2 * scale)):
                path = fields[(index + step * 5) % len(fields)]
                yield BodyInput(endpoint, f"{field_label(path)}={label}", ((path, raw),))
    for k in range(60 * scale):
        endpoint = BODY_ENDPOINTS[k % len(BODY_ENDPOINTS)]
        tops = [p for p in endpoint.fields if len(p) == (2 if isinstance(p[0], int) else 1)]
        turn = k // len(BODY_ENDPOINTS)
        first = tops[turn % len(tops)]
        second = tops[(turn * 5 + 1) % len(tops)]
        if second == first:
            second = tops[(tops.index(first) + 1) % len(tops)]
        (l1, r1), (l2, r2) = VALUES[(k * 7) % len(VALUES)], VALUES[(k * 13 + 5) % len(VALUES)]
        label = f"{field_label(first)}={l1} & {field_label(second)}={l2}"
        yield BodyInput(endpoint, label, ((first, r1), (second, r2)))


def keyed_bodies(endpoint: BodyEndpoint) -> Iterator[tuple[str, bytes]]:
    """The endpoint's valid body with each odd key added to it, or to each of its objects."""
    top = endpoint.base[0] if isinstance(endpoint.base, list) else endpoint.base
    for label, raw_key in KEYS:
        if label == "upper-case duplicate":
            raw_key = json.dumps(next(iter(top)).upper())
        text = json.dumps(top)
        yield f"$ {label}", _wrap(endpoint, "{" + raw_key + ': "x", ' + text[1:])
        for where in {p[:-1] for p in endpoint.fields if len(p) == 3}:
            if label == "upper-case duplicate":
                continue
            document = with_holes(endpoint.base, where, HOLE)
            text = json.dumps(document).replace(json.dumps(HOLE), "{" + raw_key + ': "x"}', 1)
            yield f"{field_label(where)} {label}", text.encode()


def _wrap(endpoint: BodyEndpoint, item: str) -> bytes:
    return (f"[{item}]" if isinstance(endpoint.base, list) else item).encode()


# JSON that no parser should take: each must be a 400.
MUST_REFUSE = {
    "empty body",
    "whitespace body",
    "truncated object",
    "truncated after colon",
    "only an opening brace",
    "trailing comma in object",
    "trailing comma in list",
    "NaN value",
    "Infinity value",
    "invalid UTF-8",
    "overlong UTF-8",
    "UTF-8 encoded surrogate",
    "raw NUL byte",
    "raw control character in string",
    "single quotes",
    "comment",
    "trailing garbage",
    "two documents",
    "10,000-deep list",
    "10,000-deep object",
    "10,000-deep in a field",
    "5,000-digit number",
    "huge exponent",
    "unescaped newline in string",
    "bad escape",
    "short unicode escape",
}


def storable(raw: str) -> str | None:
    """The text a raw JSON string literal carries, if a case can hold it (no NUL, no lone
    surrogate); None otherwise."""
    value = json.loads(raw)
    if not isinstance(value, str) or "\x00" in value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value
