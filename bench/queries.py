"""The fixed search query set, with its words picked from the data: word frequencies counted
on a sample choose a rare, a medium and a very common word."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.sampling import SampledCase
from casedesk.cases.schemas import SortOrder
from casedesk.seeding import vocabulary
from casedesk.seeding.generator import VOCABULARY_SIZE

COMMON_SHARE = 0.30
MEDIUM_SHARE = 0.003
DATE_FROM = "2025-03-01T00:00:00Z"
DATE_TO = "2025-03-31T23:59:59Z"


@dataclass(frozen=True)
class Words:
    rare: str
    medium: str
    common: str
    two_letters: str


@dataclass(frozen=True)
class SearchClass:
    name: str
    body: dict[str, Any]


def _generator_ranks() -> dict[str, int]:
    """Each word's rank in the generator's Zipf vocabulary: the higher, the rarer."""
    words = vocabulary.COMMON_WORDS + vocabulary.synthetic_words(
        VOCABULARY_SIZE - len(vocabulary.COMMON_WORDS)
    )
    return {word: rank for rank, word in enumerate(words)}


def choose_words(samples: Sequence[SampledCase]) -> Words:
    if not samples:
        raise ValueError("no cases to choose search words from")
    documents: Counter[str] = Counter()
    for case in samples:
        documents.update({w for w in case.text.lower().split() if w.isalpha() and len(w) >= 3})
    total = len(samples)

    def closest(share: float) -> str:
        return min(
            sorted(documents),
            key=lambda w: abs(math.log(documents[w] / total) - math.log(share)),
        )

    ranks = _generator_ranks()
    rare = max(sorted(documents), key=lambda w: ranks.get(w, -1))
    return Words(rare, closest(MEDIUM_SHARE), closest(COMMON_SHARE), rare[:2])


def _first(values: Sequence[str | None]) -> str:
    return next((value for value in values if value), "none")


def search_classes(samples: Sequence[SampledCase]) -> list[SearchClass]:
    words = choose_words(samples)
    assignee = _first([case.assigned_to_user_id for case in samples])
    customer = _first([case.customer_id for case in samples])
    order = _first([case.orders[0] if case.orders else None for case in samples])
    classes = [
        SearchClass(f"rare word '{words.rare}'", {"SearchText": words.rare}),
        SearchClass(f"medium word '{words.medium}'", {"SearchText": words.medium}),
        SearchClass(f"common word '{words.common}'", {"SearchText": words.common}),
        SearchClass(f"two letters '{words.two_letters}'", {"SearchText": words.two_letters}),
        SearchClass("Status", {"Status": "Waiting for Customer"}),
        SearchClass("Priority", {"Priority": "Critical"}),
        SearchClass("AssignedToUserId", {"AssignedToUserId": assignee}),
        SearchClass("Tags", {"Tags": ["VIP"]}),
        SearchClass("CustomerId", {"CustomerId": customer}),
        SearchClass("OrderId", {"OrderId": order}),
        SearchClass("medium word + Status", {"SearchText": words.medium, "Status": "Closed"}),
        SearchClass(
            "common word + Priority + Tags",
            {"SearchText": words.common, "Priority": "High", "Tags": ["Shipping"]},
        ),
        SearchClass("DateFrom..DateTo (one month)", {"DateFrom": DATE_FROM, "DateTo": DATE_TO}),
    ]
    classes += [
        SearchClass(f"sort {sort.value}", {"SortOrder": sort.value, "Page": 0, "Take": 20})
        for sort in SortOrder
    ]
    classes += [
        SearchClass("Page 99, Take 100", {"Page": 99, "Take": 100}),
        SearchClass("Page 499, Take 20", {"Page": 499, "Take": 20}),
    ]
    return classes
