"""SearchText: every word must appear, as a substring, in one of the searched fields."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ApiUser

SEARCH = "/api/cases/search"


def found(user: ApiUser, search_text: str, **body: Any) -> set[str]:
    response = user.post(SEARCH, json={"SearchText": search_text, **body})
    assert response.status_code == 200, response.text
    assert response.json()["TotalHits"] == len(response.json()["Items"])
    return {case["Subject"] for case in response.json()["Items"]}


def test_a_word_matches_inside_the_subject(admin: ApiUser) -> None:
    admin.create_case(Subject="Order arrived damaged")
    admin.create_case(Subject="Wrong size")

    assert found(admin, "damaged") == {"Order arrived damaged"}


def test_a_word_matches_as_a_substring(admin: ApiUser) -> None:
    admin.create_case(Subject="Order arrived damaged")
    admin.create_case(Subject="Wrong size")

    assert found(admin, "rive") == {"Order arrived damaged"}


def test_a_word_matches_case_insensitively(admin: ApiUser) -> None:
    admin.create_case(Subject="Order arrived damaged")

    assert found(admin, "DaMaGeD") == {"Order arrived damaged"}


def test_a_word_matches_inside_the_description(admin: ApiUser) -> None:
    admin.create_case(Subject="Complaint", Description="The package was visibly crushed.")
    admin.create_case(Subject="Question", Description="Where is my parcel?")

    assert found(admin, "crushed") == {"Complaint"}


def test_a_word_matches_inside_the_customer_name(admin: ApiUser) -> None:
    admin.create_case(Subject="Complaint", CustomerName="Jane Smith")
    admin.create_case(Subject="Question", CustomerName="John Doe")

    assert found(admin, "smith") == {"Complaint"}


def test_a_word_matches_inside_the_case_number(admin: ApiUser) -> None:
    admin.create_case(Subject="First")
    admin.create_case(Subject="Second")

    assert found(admin, "cs-1002") == {"Second"}


def test_fields_outside_the_searched_four_are_not_searched(admin: ApiUser) -> None:
    admin.create_case(
        Subject="Complaint",
        CustomerEmail="crushed@example.com",
        Tags=["crushed"],
        AssignedToName="Crushed Agent",
    )

    assert found(admin, "crushed") == set()


def test_every_word_must_match(admin: ApiUser) -> None:
    admin.create_case(Subject="Order arrived damaged")
    admin.create_case(Subject="Order arrived late")

    assert found(admin, "arrived damaged") == {"Order arrived damaged"}


def test_words_may_match_in_different_fields(admin: ApiUser) -> None:
    admin.create_case(Subject="Parcel damaged", CustomerName="Jane Smith")
    admin.create_case(Subject="Parcel damaged too", CustomerName="John Doe")

    assert found(admin, "damaged smith") == {"Parcel damaged"}


def test_a_word_does_not_match_across_two_fields(admin: ApiUser) -> None:
    admin.create_case(Subject="Broken lamp", Description="Glass shattered", CustomerName="Ann")

    assert (
        found(admin, "lampglass"),
        found(admin, "lamp glass"),
        found(admin, "shatteredann"),
        found(admin, "1001broken"),
    ) == (set(), {"Broken lamp"}, set(), set())


def test_words_are_split_on_any_whitespace(admin: ApiUser) -> None:
    admin.create_case(Subject="Order arrived damaged")
    admin.create_case(Subject="Order arrived late")

    assert found(admin, "  order\tarrived\n damaged  ") == {"Order arrived damaged"}


def test_blank_search_text_matches_every_case(admin: ApiUser) -> None:
    admin.create_case(Subject="Order arrived damaged")
    admin.create_case(Subject="Wrong size")

    assert found(admin, "   ") == {"Order arrived damaged", "Wrong size"}


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("z", {"Wrong size"}),
        ("ZE", {"Wrong size"}),
        ("ed", {"Order arrived damaged"}),
        ("r", {"Wrong size", "Order arrived damaged"}),
        ("q", set()),
        ("7", set()),
        ("02", {"Order arrived damaged"}),
    ],
)
def test_words_of_one_or_two_characters_match_as_substrings(
    admin: ApiUser, word: str, expected: set[str]
) -> None:
    admin.create_case(Subject="Wrong size")
    admin.create_case(Subject="Order arrived damaged")

    assert found(admin, word) == expected


def test_a_short_word_and_a_long_word_must_both_match(admin: ApiUser) -> None:
    admin.create_case(Subject="Box 7 crushed")
    admin.create_case(Subject="Box 8 crushed")
    admin.create_case(Subject="Box 7 missing")

    assert found(admin, "crushed 7") == {"Box 7 crushed"}


def test_a_short_word_does_not_match_across_two_fields(admin: ApiUser) -> None:
    admin.create_case(Subject="Lamp", Description="Glass", CustomerName="Ann")

    assert (found(admin, "pg"), found(admin, "sa"), found(admin, "an")) == (
        set(),
        set(),
        {"Lamp"},
    )


NOTHING_TO_MATCH = (
    *("%", "_", '"', "*", "(", ")", "'", "\\", "%%%", "___", '"""', "***", "(((", ")))", "---"),
    *("'''", "\\\\\\", "AND", "OR", "NOT", "NEAR", "NEAR(", "a OR b", "^abc", "col:abc"),
    *("{a b}", "a+b", "abc*", '"abc', "[abc]", ":", ";", "--", "/*", "\\%", "\\_"),
)


def test_special_characters_never_fail_and_match_nothing_absent(admin: ApiUser) -> None:
    admin.create_case(Subject="Plain text", Description="Just letters")

    assert {text: found(admin, text) for text in NOTHING_TO_MATCH} == {
        text: set() for text in NOTHING_TO_MATCH
    }


LITERAL_SUBJECTS = (
    "50% refund",
    "snake_case name",
    'The "fragile" label',
    "Rated * stars",
    "Formula x*y wrong",
    "Note (urgent)",
    "Invoice re-sent",
    "Bread and butter",
    "Ordered twice",
    "Nearest shop",
    "Customer's parcel",
    "Path C:\\temp",
)
LITERAL_MATCHES = {
    "%": {"50% refund"},
    "50%": {"50% refund"},
    "_": {"snake_case name"},
    "e_c": {"snake_case name"},
    '"': {'The "fragile" label'},
    '"fragile"': {'The "fragile" label'},
    "*": {"Rated * stars", "Formula x*y wrong"},
    "x*y": {"Formula x*y wrong"},
    "(": {"Note (urgent)"},
    ")": {"Note (urgent)"},
    "(urgent)": {"Note (urgent)"},
    "re-sent": {"Invoice re-sent"},
    "AND": {"Bread and butter"},
    "OR": {"Formula x*y wrong", "Ordered twice"},
    "NEAR": {"Nearest shop"},
    "'": {"Customer's parcel"},
    "customer's": {"Customer's parcel"},
    "\\": {"Path C:\\temp"},
    "c:\\temp": {"Path C:\\temp"},
    "\\t": {"Path C:\\temp"},
}


def test_special_characters_match_literally(admin: ApiUser) -> None:
    for subject in LITERAL_SUBJECTS:
        admin.create_case(Subject=subject)

    assert {word: found(admin, word) for word in LITERAL_MATCHES} == LITERAL_MATCHES


def test_like_wildcards_are_not_wildcards(admin: ApiUser) -> None:
    admin.create_case(Subject="Order arrived damaged")
    admin.create_case(Subject="Wrong size")
    words = ("%", "_", "%%", "__", "%_%", "a%", "%a", "a_", "d_m", "w%g", "\\%")

    assert {word: found(admin, word) for word in words} == {word: set() for word in words}


@pytest.mark.parametrize("word", ["Øst", "øst", "ØST", "Østfold", "østfold"])
def test_non_ascii_words_match_case_insensitively(admin: ApiUser, word: str) -> None:
    admin.create_case(Subject="Delivery to Østfold")
    admin.create_case(Subject="Delivery to Oslo")

    assert found(admin, word) == {"Delivery to Østfold"}


@pytest.mark.parametrize("word", ["Ø", "ø", "Øs", "øS"])
def test_short_non_ascii_words_match_case_insensitively(admin: ApiUser, word: str) -> None:
    admin.create_case(Subject="Delivery to Østfold")
    admin.create_case(Subject="Delivery to Oslo")

    assert found(admin, word) == {"Delivery to Østfold"}


@pytest.mark.parametrize("word", ["straße", "STRAßE", "ße", "ß"])
def test_sharp_s_matches_itself(admin: ApiUser, word: str) -> None:
    admin.create_case(Subject="Hauptstraße 5")
    admin.create_case(Subject="Main street 5")

    assert found(admin, word) == {"Hauptstraße 5"}


def test_accents_are_not_ignored(admin: ApiUser) -> None:
    admin.create_case(Subject="Café order")

    assert (found(admin, "café"), found(admin, "CAFÉ"), found(admin, "cafe")) == (
        {"Café order"},
        {"Café order"},
        set(),
    )


def test_words_in_other_scripts_match(admin: ApiUser) -> None:
    admin.create_case(Subject="Заказ повреждён", CustomerName="山田太郎")
    admin.create_case(Subject="Order damaged")

    assert (found(admin, "ЖДЁ"), found(admin, "山田"), found(admin, "太")) == (
        {"Заказ повреждён"},
        {"Заказ повреждён"},
        {"Заказ повреждён"},
    )


def test_search_follows_a_patched_subject(admin: ApiUser) -> None:
    case = admin.create_case(Subject="Order arrived damaged")
    admin.patch("/api/cases", json={"Id": case["Id"], "Subject": "Parcel lost in transit"})

    assert (found(admin, "damaged"), found(admin, "transit")) == (
        set(),
        {"Parcel lost in transit"},
    )


def test_search_follows_a_replaced_subject_and_description(admin: ApiUser) -> None:
    case = admin.create_case(Subject="Order arrived damaged", Description="Crushed box")
    admin.put(
        "/api/cases",
        json={"Id": case["Id"], "Subject": "Parcel lost", "Status": "New", "Priority": "Normal"},
    )

    assert (found(admin, "damaged"), found(admin, "crushed"), found(admin, "lost")) == (
        set(),
        set(),
        {"Parcel lost"},
    )


def test_search_follows_a_patched_customer_name(admin: ApiUser) -> None:
    case = admin.create_case(Subject="Complaint", CustomerName="Jane Smith")
    admin.patch("/api/cases", json={"Id": case["Id"], "CustomerName": "John Doe"})

    assert (found(admin, "smith"), found(admin, "doe")) == (set(), {"Complaint"})


def test_search_follows_a_cleared_description(admin: ApiUser) -> None:
    case = admin.create_case(Subject="Complaint", Description="Crushed box")
    admin.patch("/api/cases", json={"Id": case["Id"], "FieldsToForceNull": ["Description"]})

    assert found(admin, "crushed") == set()


def test_a_deleted_case_is_not_found_by_text_unless_deleted_cases_are_included(
    admin: ApiUser,
) -> None:
    case = admin.create_case(Subject="Order arrived damaged")
    admin.delete(f"/api/cases/{case['Id']}")

    assert (
        found(admin, "damaged"),
        found(admin, "damaged", IncludeDeleted=True),
    ) == (set(), {"Order arrived damaged"})


def test_a_restored_case_is_found_by_text_again(admin: ApiUser) -> None:
    case = admin.create_case(Subject="Order arrived damaged")
    admin.delete(f"/api/cases/{case['Id']}")
    admin.post(f"/api/cases/{case['Id']}/restore")

    assert found(admin, "damaged") == {"Order arrived damaged"}


def test_search_text_combines_with_filters(admin: ApiUser) -> None:
    admin.create_case(Subject="Order arrived damaged", Priority="High")
    admin.create_case(Subject="Order arrived damaged again", Priority="Low")

    assert found(admin, "damaged", Priority="High") == {"Order arrived damaged"}


def test_search_text_of_32_distinct_short_words_is_answered(admin: ApiUser) -> None:
    admin.create_case(Subject="Plain text")
    words = [first + second for first in "abcdefghijklm" for second in "nopqrstuvwxyz"]
    search_text = " ".join(words[:16] + ["ø" + letter for letter in "abcdefghijklmnop"])

    assert found(admin, search_text) == set()


def test_search_text_of_500_characters_in_repeated_and_contained_words_is_answered(
    admin: ApiUser,
) -> None:
    admin.create_case(Subject="Damaged parcel delivered late")
    search_text = " ".join(["Damaged", "DAMAGED", "dam", "age", "par", "cel", "de", "d", "a"] * 12)

    assert len(search_text) <= 500
    assert found(admin, search_text) == {"Damaged parcel delivered late"}


def test_search_text_of_33_distinct_words_is_a_400_naming_the_limit(admin: ApiUser) -> None:
    words = [first + second for first in "abcdefghijklm" for second in "nopqrstuvwxyz"]
    response = admin.post(SEARCH, json={"SearchText": " ".join(words[:33])})

    assert response.status_code == 400
    assert "at most 32 words" in response.json()["errors"]["SearchText"][0]


def test_a_scroll_of_33_distinct_words_is_a_400(admin: ApiUser) -> None:
    words = [first + second for first in "abcdefghijklm" for second in "nopqrstuvwxyz"]
    response = admin.post("/api/cases/scroll", json={"SearchText": " ".join(words[:33])})

    assert response.status_code == 400
    assert "at most 32 words" in response.json()["errors"]["SearchText"][0]


def test_search_text_longer_than_500_characters_is_a_400(admin: ApiUser) -> None:
    response = admin.post(SEARCH, json={"SearchText": "a" * 501})

    assert response.status_code == 400
    assert "SearchText" in response.json()["errors"]
