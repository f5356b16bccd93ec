"""Realistic, deterministic cases for benchmarks and demos: the same seed gives the same cases."""

from __future__ import annotations

import random
import uuid
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from casedesk import clock
from casedesk.case_settings.rules import DEFAULT_RULES, CaseRules, StatusDef
from casedesk.cases import lifecycle
from casedesk.seeding import vocabulary

# Created dates are spread over the three years before this moment.
ANCHOR = datetime(2026, 11, 1)
SPAN = timedelta(days=3 * 365)
VOCABULARY_SIZE = 50_000
# Flat enough that the commonest word is in about a third of cases, the rarest in a handful.
ZIPF_EXPONENT = 0.75
ASSIGNEES = 300
STATUS_WEIGHTS = {
    "New": 12,
    "In Progress": 18,
    "Waiting for Customer": 10,
    "Resolved": 25,
    "Closed": 35,
}
PRIORITY_WEIGHTS = {"Low": 20, "Normal": 50, "High": 22, "Critical": 8}


_TABLE_BITS = 20
_TABLE_MASK = (1 << _TABLE_BITS) - 1


def _sampling_table(words: list[str], exponent: float) -> list[str]:
    """A lookup table in which each word fills a share of slots proportional to its Zipf
    weight (at least one), so a draw is one random index instead of a bisection."""
    weights = [1 / rank**exponent for rank in range(1, len(words) + 1)]
    scale = (1 << _TABLE_BITS) / sum(weights)
    table: list[str] = []
    for word, weight in zip(words, weights, strict=True):
        table.extend([word] * max(1, round(weight * scale)))
    del table[1 << _TABLE_BITS :]
    table.extend(words[-1:] * ((1 << _TABLE_BITS) - len(table)))
    return table


@dataclass(frozen=True)
class GeneratedCase:
    """A case's columns (as stored) and the references the filters look up."""

    columns: dict[str, Any]
    refs: list[tuple[str, str]]


class CaseGenerator:
    def __init__(self, seed: int, rules: CaseRules = DEFAULT_RULES) -> None:
        self.rng = random.Random(seed)
        self.rules = rules
        words = vocabulary.COMMON_WORDS + vocabulary.synthetic_words(
            VOCABULARY_SIZE - len(vocabulary.COMMON_WORDS)
        )
        self.words = words
        self.word_table = _sampling_table(words, ZIPF_EXPONENT)
        self.assignees = [
            (
                f"agent-{n:03d}",
                f"{self.rng.choice(vocabulary.FIRST_NAMES)} "
                f"{self.rng.choice(vocabulary.LAST_NAMES)}",
            )
            for n in range(1, ASSIGNEES + 1)
        ]
        self.statuses = [rules.status(name) for name in STATUS_WEIGHTS]
        self.status_weights = list(accumulate(STATUS_WEIGHTS.values()))
        self.priorities = [rules.priority(name) for name in PRIORITY_WEIGHTS]
        self.priority_weights = list(accumulate(PRIORITY_WEIGHTS.values()))
        self.market_weights = list(accumulate(vocabulary.MARKET_WEIGHTS))

    def _text(self, low: int, high: int) -> str:
        count = self.rng.randint(low, high)
        table = self.word_table
        draws = array("I", self.rng.randbytes(4 * count))
        return " ".join([table[draw & _TABLE_MASK] for draw in draws])

    def _uuid(self, number: int = 0) -> str:
        """Random from the seed, mixed with the case number so that seeding the same seed
        twice into one database (numbers are never reused) gives new ids."""
        return str(uuid.UUID(int=self.rng.getrandbits(128) ^ (number << 80), version=4))

    def _moment(self, start: datetime, max_hours: float) -> datetime:
        return clock.to_utc(start + timedelta(hours=self.rng.uniform(0.05, max_hours)))

    def _status_path(self, final_level: int) -> list[StatusDef]:
        """Statuses visited before the final one: a plausible climb through the levels."""
        below = [s for s in self.rules.statuses if s.level < final_level]
        steps = self.rng.randint(0, min(5, len(below)))
        path = sorted(self.rng.sample(below, steps), key=lambda s: s.level)
        if path and path[0].name != self.rules.status_new:
            path.insert(0, self.rules.new)
        return path[:5]

    def case(self, tenant_id: int, number: int) -> GeneratedCase:
        rng = self.rng
        created = clock.to_utc(ANCHOR - SPAN * rng.random())
        final = rng.choices(self.statuses, cum_weights=self.status_weights)[0]
        priority = rng.choices(self.priorities, cum_weights=self.priority_weights)[0]
        path = self._status_path(final.level) if final.name != self.rules.status_new else []
        state = lifecycle.initial_state(path[0] if path else final, self.rules, created)
        moment = created
        for status in [*path[1:], final] if path else []:
            moment = self._moment(moment, 72)
            state = lifecycle.change_status(state, status, self.rules, moment) or state
        first, last = rng.choice(vocabulary.FIRST_NAMES), rng.choice(vocabulary.LAST_NAMES)
        customer_id = f"cust-{rng.randint(1, 200_000):06d}"
        assignee = rng.choice(self.assignees) if rng.random() < 0.8 else (None, None)
        tags = sorted(set(rng.sample(vocabulary.TAGS, rng.choice((0, 1, 1, 2, 2, 3, 4)))))
        orders = [
            f"ORD-{rng.randint(10_000, 999_999)}" for _ in range(rng.choice((0, 1, 1, 1, 2, 3)))
        ]
        related_customers = [
            f"cust-{rng.randint(1, 200_000):06d}" for _ in range(rng.choice((0, 0, 0, 1)))
        ]
        products = [f"PRD-{rng.randint(1, 50_000):05d}" for _ in range(rng.choice((0, 0, 1, 2)))]
        skus = [f"{p}-{rng.choice('SMLX')}" for p in products]
        notes_public: list[dict[str, Any]] = []
        notes_internal: list[dict[str, Any]] = []
        note_time = created
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            note_time = self._moment(note_time, 48)
            public = rng.random() < 0.4
            author = (
                f"{first} {last}" if public and rng.random() < 0.5 else (assignee[1] or "Support")
            )
            note: dict[str, Any] = {
                "Id": self._uuid(),
                "Created": clock.format_utc(note_time),
                "Detail": self._text(8, 40),
                "Title": None,
                "Type": "Public" if public else "Internal",
                "Creator": author,
                "UserId": assignee[0],
                "CustomerId": customer_id if public else None,
                "Tags": [],
                "ParentId": None,
            }
            (notes_public if public else notes_internal).append(note)
        notes = notes_public + notes_internal
        latest = max(notes, key=lambda n: n["Created"], default=None)
        changed = max([moment, *(clock.parse_utc(n["Created"]) for n in notes)])
        market = rng.choices(vocabulary.MARKETS, cum_weights=self.market_weights)[0]
        columns: dict[str, Any] = {
            "tenant_id": tenant_id,
            "id": self._uuid(number),
            "case_number": f"{self.rules.number_prefix}{number}",
            "version": 1 + len(state.log) - 1 + len(notes),
            "subject": self._text(3, 8).capitalize(),
            "description": self._text(10, 40),
            "status": state.status,
            "status_level": state.level,
            "priority": priority.name,
            "priority_severity": priority.severity,
            "source": rng.choice(vocabulary.SOURCES),
            "assigned_to_user_id": assignee[0],
            "assigned_to_name": assignee[1],
            "customer_id": customer_id,
            "customer_name": f"{first} {last}",
            "customer_email": f"{first}.{last}@example.com".lower(),
            "market_id": market,
            "market_group_id": "Nordics" if market != "DE" else "DACH",
            "tags": tags,
            "related_orders": orders,
            "related_customers": related_customers,
            "related_projects": [],
            "related_carts": [],
            "related_sku_ids": skus,
            "related_product_ids": products,
            "participants": [],
            "properties": [
                {
                    "Key": "Channel",
                    "Value": rng.choice(vocabulary.SOURCES),
                    "KeyGroup": None,
                    "ValueType": "String",
                }
            ]
            if rng.random() < 0.3
            else [],
            "case_notes": notes_public,
            "internal_notes": notes_internal,
            "status_log": list(state.log),
            "follow_up_date": (
                clock.to_utc(created + timedelta(days=rng.randint(1, 30)))
                if rng.random() < 0.25
                else None
            ),
            "resolved_date": state.resolved_date,
            "closed_date": state.closed_date,
            "last_comment_date": clock.parse_utc(latest["Created"]) if latest else None,
            "last_commenter_name": latest["Creator"] if latest else None,
            "comment_count": len(notes),
            "created": created,
            "changed": changed,
            "deleted_date": None,
        }
        refs = [("t", t.lower()) for t in tags] + [("o", o) for o in orders]
        refs += [("c", c) for c in {customer_id, *related_customers}]
        return GeneratedCase(columns, sorted(set(refs)))

    def cases(self, tenant_id: int, first_number: int, count: int) -> Iterator[GeneratedCase]:
        for offset in range(count):
            yield self.case(tenant_id, first_number + offset)
