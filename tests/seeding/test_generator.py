"""The generator alone: deterministic, realistic, consistent with the case rules."""

from __future__ import annotations

from collections import Counter

from casedesk.case_settings.rules import DEFAULT_RULES
from casedesk.seeding.generator import CaseGenerator


def _cases(seed: int, count: int = 400) -> list[dict[str, object]]:
    return [
        c.columns for c in CaseGenerator(seed).cases(tenant_id=1, first_number=1001, count=count)
    ]


def test_the_same_seed_gives_the_same_cases() -> None:
    assert _cases(7) == _cases(7)


def test_another_seed_gives_other_cases() -> None:
    assert [c["subject"] for c in _cases(7)] != [c["subject"] for c in _cases(8)]


def test_case_numbers_follow_the_first_number() -> None:
    numbers = [c["case_number"] for c in _cases(1, count=5)]
    assert numbers == ["CS-1001", "CS-1002", "CS-1003", "CS-1004", "CS-1005"]


def test_status_logs_have_one_to_six_entries_ending_in_the_current_status() -> None:
    for case in _cases(3):
        log = case["status_log"]
        assert isinstance(log, list)
        assert 1 <= len(log) <= 6
        assert log[0]["DurationSincePreviousMs"] is None
        assert all(item["DurationSincePreviousMs"] >= 0 for item in log[1:])
        assert log[-1]["Status"] == case["status"]


def test_resolved_and_closed_dates_agree_with_the_status_level() -> None:
    for case in _cases(4):
        level = DEFAULT_RULES.status(str(case["status"])).level
        assert (case["resolved_date"] is not None) == (level >= DEFAULT_RULES.resolved.level)
        assert (case["closed_date"] is not None) == (level >= DEFAULT_RULES.closed.level)


def test_comment_fields_are_derived_from_the_notes() -> None:
    for case in _cases(5):
        notes = [*case["case_notes"], *case["internal_notes"]]  # type: ignore[misc]
        assert case["comment_count"] == len(notes)
        if notes:
            latest = max(notes, key=lambda n: n["Created"])
            assert case["last_commenter_name"] == latest["Creator"]


def test_every_status_and_priority_occurs_in_realistic_proportions() -> None:
    cases = _cases(6, count=4000)
    statuses = Counter(c["status"] for c in cases)
    priorities = Counter(c["priority"] for c in cases)
    assert set(statuses) == {s.name for s in DEFAULT_RULES.statuses}
    assert set(priorities) == {p.name for p in DEFAULT_RULES.priorities}
    assert statuses["Closed"] > statuses["New"]
    assert priorities["Normal"] > priorities["Critical"]


def test_some_words_are_in_about_a_third_of_cases_and_many_are_rare() -> None:
    cases = _cases(9, count=4000)
    seen: Counter[str] = Counter()
    for case in cases:
        seen.update(set(f"{case['subject']} {case['description']}".lower().split()))
    commonest = seen.most_common(1)[0][1] / len(cases)
    rare = sum(1 for count in seen.values() if count <= 2)
    assert 0.2 <= commonest <= 0.6
    assert rare > 1000


def test_created_dates_spread_over_three_years() -> None:
    created = [c["created"] for c in _cases(10, count=2000)]
    span = max(created) - min(created)  # type: ignore[operator]
    assert span.days > 2 * 365


def test_a_few_hundred_assignees_and_several_markets_appear() -> None:
    cases = _cases(11, count=4000)
    assert len({c["assigned_to_user_id"] for c in cases if c["assigned_to_user_id"]}) > 200
    assert {c["market_id"] for c in cases} == {"NO", "SE", "DK", "FI", "DE"}
