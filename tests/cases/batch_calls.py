"""Calls and readings the batch tests share."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx

from tests.conftest import ApiUser

ADD = "/api/cases/addmany"
PATCH = "/api/cases/patchmany"
SUBJECT = "Order arrived damaged"
PROBLEM_JSON = "application/problem+json"


def add_many(user: ApiUser, items: Any) -> dict[str, Any]:
    response = user.post(ADD, json=items)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def patch_many(user: ApiUser, items: Any) -> dict[str, Any]:
    response = user.patch(PATCH, json=items)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def counts(body: dict[str, Any]) -> dict[str, int]:
    names = ("Total", "Created", "Updated", "Unchanged", "NotFound", "Error")
    return {name: body[f"{name}Count"] for name in names}


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    (error,) = body["Errors"]
    assert isinstance(error, dict)
    return error


def as_item_error(problem: httpx.Response, index: int, case_id: str | None) -> dict[str, Any]:
    """The Errors entry a batch gives for what a single-item request answered with `problem`."""
    body = problem.json()
    return {
        "Index": index,
        "Id": case_id,
        "Status": body["status"],
        "Title": body["title"],
        "Detail": body["detail"],
        "Errors": body.get("errors"),
    }
