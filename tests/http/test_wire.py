"""The wire rules every request model shares, tested on small models of their own."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from casedesk.case_settings.schemas import CasePriorityDefinition, CaseStatusDefinition
from casedesk.cases.schemas import OmniumCaseScrollRequest, OmniumCaseSearchRequest
from casedesk.http.wire import FilledText, StoredText, UtcDateTime, WireModel


class Parcel(WireModel):
    server_managed: ClassVar[frozenset[str]] = frozenset({"casenumber"})

    tracking_number: FilledText
    note: StoredText | None = None
    sent_at: UtcDateTime | None = None


def error_types(data: dict[str, Any]) -> dict[tuple[int | str, ...], str]:
    with pytest.raises(ValidationError) as raised:
        Parcel.model_validate(data)
    return {tuple(error["loc"]): error["type"] for error in raised.value.errors()}


@pytest.mark.parametrize(
    "name", ["TrackingNumber", "trackingNumber", "trackingnumber", "TRACKINGNUMBER"]
)
def test_names_match_case_insensitively(name: str) -> None:
    assert Parcel.model_validate({name: "TN-1"}).tracking_number == "TN-1"


def test_python_names_are_not_accepted_on_the_wire() -> None:
    assert error_types({"tracking_number": "TN-1"}) == {
        ("TrackingNumber",): "missing",
        ("tracking_number",): "extra_forbidden",
    }


def test_output_uses_the_pascal_case_names() -> None:
    parcel = Parcel.model_validate({"TrackingNumber": "TN-1"})
    assert parcel.model_dump() == {"TrackingNumber": "TN-1", "Note": None, "SentAt": None}


def test_each_unknown_field_is_rejected_by_name() -> None:
    assert error_types({"TrackingNumber": "TN-1", "Colour": "red", "Weight": 2}) == {
        ("Colour",): "extra_forbidden",
        ("Weight",): "extra_forbidden",
    }


def test_a_field_given_twice_in_different_cases_is_rejected() -> None:
    assert error_types({"TrackingNumber": "TN-1", "trackingnumber": "TN-2"}) == {
        (): "duplicate_field"
    }


@pytest.mark.parametrize("name", ["CaseNumber", "casenumber"])
def test_server_managed_fields_are_accepted_and_ignored(name: str) -> None:
    parcel = Parcel.model_validate({"TrackingNumber": "TN-1", name: "CS-1001"})
    assert "CaseNumber" not in parcel.model_dump()


@pytest.mark.parametrize("text", ["before\x00after", "\x00"])
def test_nul_characters_are_rejected(text: str) -> None:
    assert error_types({"TrackingNumber": "TN-1", "Note": text}) == {("Note",): "nul_character"}


@pytest.mark.parametrize("text", ["\ud800", "lone \udfff surrogate"])
def test_lone_surrogates_are_rejected(text: str) -> None:
    assert error_types({"TrackingNumber": "TN-1", "Note": text}) == {("Note",): "invalid_unicode"}


def test_paired_surrogates_from_json_are_one_valid_character() -> None:
    parcel = Parcel.model_validate_json('{"TrackingNumber": "TN-1", "Note": "\\ud83d\\udce6"}')
    assert parcel.note == "\U0001f4e6"


@pytest.mark.parametrize("text", ["", " ", "\t\n "])
def test_filled_text_may_not_be_blank(text: str) -> None:
    assert error_types({"TrackingNumber": text}) in (
        {("TrackingNumber",): "string_too_short"},
        {("TrackingNumber",): "blank"},
    )


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2026-03-15T10:30:00Z", datetime(2026, 3, 15, 10, 30)),
        ("2026-03-15T12:30:00+02:00", datetime(2026, 3, 15, 10, 30)),
        ("2026-03-15T10:30:00", datetime(2026, 3, 15, 10, 30)),
        ("2026-03-15T10:30:00.123456Z", datetime(2026, 3, 15, 10, 30, 0, 123000)),
        ("2026-03-15", datetime(2026, 3, 15)),
    ],
)
def test_times_are_stored_as_naive_utc_milliseconds(sent: str, stored: datetime) -> None:
    assert Parcel.model_validate({"TrackingNumber": "TN-1", "SentAt": sent}).sent_at == stored


@pytest.mark.parametrize("sent", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_times_beyond_the_utc_range_are_rejected(sent: str) -> None:
    assert error_types({"TrackingNumber": "TN-1", "SentAt": sent}) == {
        ("SentAt",): "datetime_range"
    }


def test_schema_titles_are_readable_words() -> None:
    properties = Parcel.model_json_schema()["properties"]
    assert {name: spec["title"] for name, spec in properties.items()} == {
        "TrackingNumber": "Tracking Number",
        "Note": "Note",
        "SentAt": "Sent At",
    }


@pytest.mark.parametrize("number", [-20354, 0, 1764237600, 1.5, True])
def test_a_date_must_be_a_string_not_a_number(number: object) -> None:
    """Pydantic would read a number as Unix time; the document says an ISO 8601 string
    (found by schema fuzzing: DateFrom -20354 was accepted)."""
    assert error_types({"TrackingNumber": "x", "SentAt": number}) == {("SentAt",): "datetime_type"}


def test_a_date_string_is_still_read() -> None:
    parcel = Parcel.model_validate({"TrackingNumber": "x", "SentAt": "2026-11-27T10:00:00Z"})
    assert parcel.sent_at == datetime(2026, 11, 27, 10, 0)


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (OmniumCaseSearchRequest, {"IncludeDeleted": 0}),
        (OmniumCaseSearchRequest, {"IncludeDeleted": "true"}),
        (OmniumCaseSearchRequest, {"Page": False}),
        (OmniumCaseSearchRequest, {"Take": True}),
        (OmniumCaseSearchRequest, {"Take": "5"}),
        (OmniumCaseScrollRequest, {"Take": "500"}),
        (OmniumCaseScrollRequest, {"IncludeDeleted": 1}),
        (CaseStatusDefinition, {"Name": "New", "Level": True}),
        (CasePriorityDefinition, {"Name": "Low", "Severity": "1"}),
    ],
)
def test_a_number_or_flag_of_another_json_type_is_refused(
    model: type[WireModel], body: dict[str, Any]
) -> None:
    """The document says integer or boolean: true is no number, 0 no flag, "5" neither."""
    with pytest.raises(ValidationError):
        model.model_validate(body)


def test_a_whole_number_written_with_a_fraction_of_zero_is_a_json_integer() -> None:
    assert OmniumCaseSearchRequest.model_validate({"Take": 5.0}).take == 5
