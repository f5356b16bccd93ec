"""Hostile input corpus: every endpoint against bytes, values, ids, queries and headers meant to
break it. Nothing may answer 5xx, every 4xx is problem JSON with a message, and what is
stored comes back exactly as sent.

The corpus is built, not listed: each hostile value goes into each field of each endpoint's
valid body, each malformed body to each endpoint, each odd id into each path. Pairs of
hostile values grow with figures.scale().
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
import pytest

from tests.battery import figures
from tests.battery.hostile_corpus import (
    BODY_ENDPOINTS,
    CONTENT_TYPES,
    IF_MATCHES,
    MALFORMED_BODIES,
    MUST_REFUSE,
    NUMBERS,
    ODD_HEADERS,
    PARTICIPANTS,
    PATH_ENDPOINTS,
    PATH_IDS,
    PROPERTIES,
    QUERY_ENDPOINTS,
    RAW_QUERIES,
    SENTINEL,
    STRINGS,
    TARGET,
    UNIQUE_URLS,
    VERBATIM,
    WRITES_WITH_IF_MATCH,
    BodyEndpoint,
    BodyInput,
    body_inputs,
    fill,
    keyed_bodies,
    storable,
)
from tests.conftest import ApiUser

PROBLEM_JSON = "application/problem+json"
JSON_TYPE = {"Content-Type": "application/json"}


# --- what every answer must be -----------------------------------------------------------


@dataclass
class Tally:
    """What was tried and every answer that broke a goal."""

    tried: int = 0
    server_errors: list[str] = field(default_factory=list)
    non_problems: list[str] = field(default_factory=list)
    corrupted: list[str] = field(default_factory=list)
    created: int = 0

    def check(self, label: str, response: httpx.Response) -> bool:
        """Whether the answer was a success; records it if it broke a goal."""
        self.tried += 1
        status = response.status_code
        if status >= 500:
            self.server_errors.append(f"{label}: {status} {response.text[:300]}")
            return False
        if status >= 400:
            fault = problem_fault(response)
            if fault:
                self.non_problems.append(f"{label}: {status} {fault}: {response.text[:300]}")
            return False
        return True

    def count_created(self, endpoint: BodyEndpoint, response: httpx.Response) -> None:
        if endpoint.name == "create" and response.status_code == 201:
            self.created += 1
        elif endpoint.name == "addmany" and response.status_code == 200:
            self.created += response.json()["CreatedCount"]

    def failures(self) -> list[str]:
        return self.server_errors + self.non_problems + self.corrupted

    def record(self, part: str, backend: str) -> None:
        figures.record(
            part,
            backend,
            inputs=self.tried,
            server_errors=len(self.server_errors),
            non_problem_4xx=len(self.non_problems),
            corrupted=len(self.corrupted),
        )


def problem_fault(response: httpx.Response) -> str | None:
    """What makes an error answer fall short of problem JSON with a clear message, if anything."""
    if response.headers.get("content-type") != PROBLEM_JSON:
        return f"content-type {response.headers.get('content-type')!r}"
    try:
        body = response.json()
    except ValueError:
        return "body is not JSON"
    if not isinstance(body, dict):
        return "body is not an object"
    if body.get("status") != response.status_code:
        return "status in body differs"
    for name in ("type", "title", "detail", "traceId"):
        if not isinstance(body.get(name), str) or not body[name].strip():
            return f"no {name}"
    if response.status_code == 400:
        errors = body.get("errors")
        if not isinstance(errors, dict) or not errors:
            return "a 400 without errors"
        if not all(isinstance(m, list) and m and all(m) for m in errors.values()):
            return "an empty message in errors"
    return None


@pytest.fixture
def victims(owner: ApiUser) -> dict[str, Any]:
    """The case the hostile writes aim at, and one they never touch: it must survive as is."""
    owner.create_case(Id=TARGET, MarketId="NO", Tags=["x"])
    owner.create_case(
        Id=SENTINEL,
        Subject="100% sure_thing '; DROP TABLE cases; -- \U0001f642",
        Description='He said "AND OR NEAR * ( ) -" ^ : \\ %_',
        CustomerName="O'Brien \u0130stanbul",
        Tags=["fragile", "a%b", "c_d"],
        Participants=PARTICIPANTS,
        Properties=PROPERTIES,
    )
    response = owner.post(
        f"/api/cases/{SENTINEL}/comments", json={"Detail": "Kept \\u0000 as text"}
    )
    assert response.status_code == 201, response.text
    return {"sentinel": response.json(), "cases": 2}


def assert_intact(owner: ApiUser, victims: dict[str, Any], tally: Tally) -> None:
    """The case no hostile request aimed at is exactly as it was, and no case went missing."""
    response = owner.get(f"/api/cases/{SENTINEL}")
    if response.status_code != 200 or response.json() != victims["sentinel"]:
        tally.corrupted.append(f"sentinel case changed: {response.status_code} {response.text}")
    search = owner.post("/api/cases/search", json={"IncludeDeleted": True, "Take": 1})
    expected = victims["cases"] + tally.created
    if search.status_code != 200 or search.json()["TotalHits"] != expected:
        tally.corrupted.append(f"expected {expected} cases, search answered {search.text[:300]}")
    if owner.get(f"/api/cases/{TARGET}").status_code != 200:
        tally.corrupted.append("the target case can no longer be read")


def check_stored(owner: ApiUser, tally: Tally, item: BodyInput, response: httpx.Response) -> None:
    """A write that succeeded answers the text it was sent, and GET answers the same case."""
    endpoint = item.endpoint
    tally.count_created(endpoint, response)
    if not endpoint.returns_case:
        return
    case = response.json()
    for path, raw in item.placed:
        if len(path) == 1 and path[0] in VERBATIM:
            sent = json.loads(raw)
            if sent is not None and sent != [] and case.get(path[0]) != sent:
                tally.corrupted.append(f"{item.label}: answered {str(case.get(path[0]))[:200]}")
    stored = owner.get(f"/api/cases/{case['Id']}")
    if stored.status_code != 200 or stored.json() != case:
        tally.corrupted.append(f"{item.label}: GET differs from the write's answer")


def send_body(
    owner: ApiUser, endpoint: BodyEndpoint, body: bytes, **headers: str
) -> httpx.Response:
    return owner.request(endpoint.method, endpoint.url, content=body, headers=headers or JSON_TYPE)


def test_hostile_values_in_every_field_break_nothing(
    owner: ApiUser, victims: dict[str, Any], backend: str
) -> None:
    tally = Tally()
    for item in body_inputs(figures.scale()):
        body = fill(item.endpoint.base, *item.placed)
        response = send_body(owner, item.endpoint, body)
        label = f"{item.endpoint.name} {item.label}"
        if tally.check(label, response):
            check_stored(owner, tally, item, response)
    assert_intact(owner, victims, tally)
    tally.record("hostile inputs: values in fields", backend)
    assert not tally.failures(), "\n".join(tally.failures())


def test_hostile_keys_break_nothing(owner: ApiUser, victims: dict[str, Any], backend: str) -> None:
    tally = Tally()
    for endpoint in BODY_ENDPOINTS:
        for label, body in keyed_bodies(endpoint):
            response = send_body(owner, endpoint, body)
            label = f"{endpoint.name} {label}"
            if not tally.check(label, response):
                continue
            # Every one of these keys is unknown, a duplicate or misplaced: none may be taken.
            refused = isinstance(endpoint.base, list) and response.json()["ErrorCount"] == 1
            if not refused:
                tally.corrupted.append(f"{label}: accepted with {response.status_code}")
    assert_intact(owner, victims, tally)
    tally.record("hostile inputs: keys", backend)
    assert not tally.failures(), "\n".join(tally.failures())


def test_malformed_bodies_and_content_types_break_nothing(
    owner: ApiUser, victims: dict[str, Any], backend: str
) -> None:
    tally = Tally()
    for endpoint in BODY_ENDPOINTS:
        for label, body in MALFORMED_BODIES:
            response = send_body(owner, endpoint, body)
            tally.check(f"{endpoint.name} {label}", response)
            if label in MUST_REFUSE and response.status_code != 400:
                tally.non_problems.append(f"{endpoint.name} {label}: {response.status_code}")
            else:
                tally.count_created(endpoint, response)
        valid = json.dumps(endpoint.base).encode()
        for content_type in CONTENT_TYPES:
            response = send_body(owner, endpoint, valid, **{"Content-Type": content_type})
            tally.check(f"{endpoint.name} Content-Type {content_type!r}", response)
            tally.count_created(endpoint, response)
    assert_intact(owner, victims, tally)
    tally.record("hostile inputs: malformed bodies", backend)
    assert not tally.failures(), "\n".join(tally.failures())


def test_odd_path_ids_break_nothing(owner: ApiUser, victims: dict[str, Any], backend: str) -> None:
    tally = Tally()
    for method, template, params, body in PATH_ENDPOINTS:
        for label, raw_id in PATH_IDS:
            url = template.replace("{id}", raw_id)
            response = owner.request(method, url, params=params, json=body)
            tally.check(f"{method} {template} id={label}", response)
            # No case has any of these ids: anything but a refusal would be a wrong case.
            if response.status_code < 400:
                tally.corrupted.append(f"{method} {template} id={label}: {response.status_code}")
    assert_intact(owner, victims, tally)
    tally.record("hostile inputs: path ids", backend)
    assert not tally.failures(), "\n".join(tally.failures())


def test_odd_query_strings_and_headers_break_nothing(
    owner: ApiUser, victims: dict[str, Any], backend: str
) -> None:
    tally = Tally()
    for method, url, base, names in QUERY_ENDPOINTS:
        for name in names:
            for label, raw in STRINGS + NUMBERS[:6]:
                value = json.loads(raw)
                text = value if isinstance(value, str) else raw
                if len(text) > 10_240 or not storable(json.dumps(text.replace("\x00", ""))):
                    continue  # a lone surrogate or a megabyte cannot be put in a URL at all
                response = owner.request(method, url, params={**base, name: text})
                tally.check(f"{method} {url} {name}={label}", response)
        for query in RAW_QUERIES:
            response = owner.request(method, f"{url}?{query}")
            tally.check(f"{method} {url}?{query[:60]}", response)
    for query in RAW_QUERIES:
        response = owner.request("POST", f"/api/cases/search?{query}", json={})
        tally.check(f"search?{query[:60]}", response)
        response = owner.request("GET", f"/api/cases/{SENTINEL}?{query}")
        tally.check(f"GET case?{query[:60]}", response)
    for url in ("/api/cases/settings", "/api/token"):
        for query in RAW_QUERIES:
            response = owner.request("GET" if "settings" in url else "POST", f"{url}?{query}")
            tally.check(f"{url}?{query[:60]}", response)
    for url in UNIQUE_URLS:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"):
            response = owner.request(method, url, json={})
            tally.check(f"{method} {url}", response)
    for method, url, params, body in WRITES_WITH_IF_MATCH:
        for name, values in ODD_HEADERS.items():
            for value in values:
                response = owner.request(
                    method, url, params=params, json=body, headers={name: value}
                )
                tally.check(f"{method} {url} {name} {value[:40]!r}", response)
        for if_match in IF_MATCHES:
            response = owner.request(
                method, url, params=params, json=body, headers={"If-Match": if_match}
            )
            tally.check(f"{method} {url} If-Match {if_match[:40]!r}", response)
    assert_intact(owner, victims, tally)
    tally.record("hostile inputs: queries and headers", backend)
    assert not tally.failures(), "\n".join(tally.failures())


def special_texts() -> list[tuple[str, str]]:
    """Every hostile string a case can hold as a Subject."""
    texts = [(label, storable(raw)) for label, raw in STRINGS]
    return [(label, t) for label, t in texts if t is not None and t.strip() and len(t) <= 500]


def searchable(case: dict[str, Any]) -> list[str]:
    return [case[name] or "" for name in ("CaseNumber", "Subject", "Description", "CustomerName")]


def matches(words: list[str], case: dict[str, Any]) -> bool:
    """search's rule, for ASCII words: each word a substring of one field, ignoring case."""
    fields = [text.lower() for text in searchable(case)]
    return all(any(word.lower() in text for text in fields) for word in words)


def test_special_text_round_trips_exactly_in_every_field(owner: ApiUser, backend: str) -> None:
    texts = special_texts()
    wrong: list[str] = []
    for label, text in texts:
        short = text[:100]
        sent = {
            "Subject": text,
            "Description": text,
            "CustomerName": text[:200],
            "Source": text[:200],
            "Tags": [short] if short.strip() else [],
            "Participants": [{"Name": text[:200], "Email": text[:200]}],
            "Properties": [{"Key": short, "Value": text}] if short.strip() else [],
        }
        created = owner.post("/api/cases", json=sent)
        assert created.status_code == 201, f"{label}: {created.text}"
        case_id = created.json()["Id"]
        noted = owner.post(f"/api/cases/{case_id}/comments", json={"Detail": text, "Title": text})
        assert noted.status_code == 201, f"{label}: {noted.text}"
        stored = owner.get(f"/api/cases/{case_id}").json()
        got = {name: stored[name] for name in sent}
        got["Participants"] = [{k: p[k] for k in ("Name", "Email")} for p in stored["Participants"]]
        got["Properties"] = [{k: p[k] for k in ("Key", "Value")} for p in stored["Properties"]]
        note = stored["InternalNotes"][0]
        if got != sent or (note["Detail"], note["Title"]) != (text, text):
            wrong.append(label)
    figures.record("hostile inputs: round trip", backend, texts=len(texts), changed=len(wrong))
    assert wrong == []


def test_search_finds_special_text_literally(owner: ApiUser, backend: str) -> None:
    texts = special_texts()
    cases = [owner.create_case(Subject=text, CustomerName=label) for label, text in texts]
    wrong: list[str] = []
    for (label, text), own in zip(texts, cases, strict=True):
        response = owner.post("/api/cases/search", json={"SearchText": text, "Take": 100})
        assert response.status_code == 200, f"{label}: {response.text}"
        hits = {item["Id"] for item in response.json()["Items"]}
        words = text.split()
        if text.isascii():
            expected = {case["Id"] for case in cases if matches(words, case)}
        else:
            # Case folding beyond ASCII differs between Python and the databases: only ask
            # that the text finds its own case.
            expected = hits | {own["Id"]}
        if hits != expected:
            wrong.append(f"{label}: {len(hits)} hits, expected {len(expected)}")
    figures.record("hostile inputs: literal search", backend, texts=len(texts), wrong=len(wrong))
    assert wrong == []


@pytest.mark.parametrize(
    ("search_text", "expected"),
    [
        ("%", ["100% sure"]),
        ("_", ["snake_case"]),
        ("0%", ["100% sure"]),
        ("e_c", ["snake_case"]),
        ("%%", []),
        ("__", []),
        ("\\", ["back\\slash"]),
        ("'", ["O'Brien"]),
        ('"', ['say "hi"']),
        ("*", []),
    ],
)
def test_like_and_fts_characters_match_only_themselves(
    admin: ApiUser, search_text: str, expected: list[str]
) -> None:
    for subject in ("100% sure", "1000 sure", "snake_case", "snakeXcase", "back\\slash"):
        admin.create_case(Subject=subject)
    for subject in ("O'Brien", 'say "hi"', "OBrien", "say hi"):
        admin.create_case(Subject=subject)
    response = admin.post("/api/cases/search", json={"SearchText": search_text})
    assert response.status_code == 200, response.text
    assert sorted(item["Subject"] for item in response.json()["Items"]) == expected
