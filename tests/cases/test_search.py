"""Which words of a SearchText a search must match (pure: no database)."""

from __future__ import annotations

import pytest

from casedesk.cases.search import MAX_WORDS, split_words
from casedesk.errors import InvalidInput


@pytest.mark.parametrize(
    ("search_text", "words"),
    [
        (None, ()),
        ("  \t ", ()),
        ("damaged parcel", ("damaged", "parcel")),
        ("Damaged DAMAGED damaged", ("Damaged",)),
        ("dam damaged age", ("damaged",)),
        ("ed Damaged", ("Damaged",)),
        ("øs Østfold", ("Østfold",)),
        ("ab ba", ("ab", "ba")),
        ("50% 0%", ("50%",)),
    ],
)
def test_words_are_distinct_and_none_is_part_of_another(
    search_text: str | None, words: tuple[str, ...]
) -> None:
    assert split_words(search_text) == words


def test_the_most_words_a_search_may_have_are_kept() -> None:
    words = tuple(f"w{number:02}" for number in range(MAX_WORDS))

    assert split_words(" ".join(words)) == words


def test_one_word_more_than_the_most_is_refused() -> None:
    words = [f"w{number:02}" for number in range(MAX_WORDS + 1)]

    with pytest.raises(InvalidInput) as refused:
        split_words(" ".join(words))

    assert list(refused.value.errors) == ["SearchText"]


def test_repeated_and_contained_words_do_not_count_towards_the_most() -> None:
    words = [f"w{number:02}" for number in range(MAX_WORDS)]
    extra = [word.upper() for word in words] + [word[1:] for word in words] + ["w", "0"]

    assert split_words(" ".join(words + extra)) == tuple(words)
