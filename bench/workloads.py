"""The workloads: what each wrk script sends, and the files it reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.queries import SearchClass
from casedesk.seeding.generator import CaseGenerator

CREATE_BODIES = 1_000
# A seed the dataset never uses, so created cases do not repeat seeded ones.
CREATE_SEED = 9_999


@dataclass(frozen=True)
class Workload:
    name: str
    script: str
    what: str


CEILING = Workload("ceiling", "health.lua", "GET /health: same server, no auth, no database")
WORKLOADS = (
    CEILING,
    Workload("get", "get.lua", "GET /api/cases/{id}, 80 % of requests on 5 % of the ids"),
    Workload("search", "search.lua", "POST /api/cases/search, the fixed query set in turn"),
    Workload("patch", "patch.lua", "PATCH /api/cases: Priority and Tags on random ids"),
    Workload("create", "create.lua", "POST /api/cases with a realistic body"),
    Workload("mix", "mix.lua", "60 % get, 25 % search, 10 % patch, 5 % create"),
)


@dataclass(frozen=True)
class Inputs:
    ids: Path
    queries: Path
    creates: Path

    def env(self) -> dict[str, str]:
        return {
            "BENCH_IDS": str(self.ids),
            "BENCH_QUERIES": str(self.queries),
            "BENCH_CREATES": str(self.creates),
        }


def _create_body(columns: dict[str, Any]) -> dict[str, Any]:
    return {
        "Subject": columns["subject"],
        "Description": columns["description"],
        "Priority": columns["priority"],
        "Source": columns["source"],
        "AssignedToUserId": columns["assigned_to_user_id"],
        "AssignedToName": columns["assigned_to_name"],
        "CustomerId": columns["customer_id"],
        "CustomerName": columns["customer_name"],
        "CustomerEmail": columns["customer_email"],
        "MarketId": columns["market_id"],
        "MarketGroupId": columns["market_group_id"],
        "Tags": columns["tags"],
        "RelatedOrders": columns["related_orders"],
        "RelatedCustomers": columns["related_customers"],
        "RelatedProductIds": columns["related_product_ids"],
        "RelatedSkuIds": columns["related_sku_ids"],
    }


def create_bodies(count: int = CREATE_BODIES) -> list[dict[str, Any]]:
    """New cases as a client would send them, drawn by the seeding generator."""
    generator = CaseGenerator(CREATE_SEED)
    return [_create_body(case.columns) for case in generator.cases(1, 1, count)]


def _write_lines(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def write_inputs(directory: Path, *, ids: Sequence[str], classes: Sequence[SearchClass]) -> Inputs:
    directory.mkdir(parents=True, exist_ok=True)
    return Inputs(
        ids=_write_lines(directory / "ids.txt", ids),
        queries=write_queries(directory / "queries.jsonl", [c.body for c in classes]),
        creates=_write_lines(
            directory / "creates.jsonl", [orjson.dumps(b).decode() for b in create_bodies()]
        ),
    )


def write_queries(path: Path, bodies: Sequence[dict[str, Any]]) -> Path:
    return _write_lines(path, [orjson.dumps(body).decode() for body in bodies])
