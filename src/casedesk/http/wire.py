"""What every request body shares: Omnium's PascalCase names matched case-insensitively,
unknown fields rejected by name, server-managed fields ignored, and text that every
backend can store."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, ClassVar

from fastapi import Request
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_pascal
from pydantic.fields import ComputedFieldInfo, FieldInfo
from pydantic_core import PydanticCustomError

from casedesk import clock
from casedesk.errors import InvalidInput


def _storable(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "Text must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "invalid_unicode", "Text must be valid Unicode (no lone surrogates)."
        ) from None
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "The value must not be empty or blank.")
    return value


def _utc(value: datetime) -> datetime:
    try:
        return clock.to_utc(value)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "The date is out of range.") from None


# Text that every backend can store; bound its length where it is used.
StoredText = Annotated[str, AfterValidator(_storable)]
# Text that must say something: not empty, not only spaces.
FilledText = Annotated[
    str, Field(min_length=1), AfterValidator(_storable), AfterValidator(_not_blank)
]


def _not_a_number(value: Any) -> Any:
    """The document says an ISO 8601 string; pydantic would also take a number (Unix time)."""
    if isinstance(value, int | float):
        raise PydanticCustomError(
            "datetime_type", "The date must be an ISO 8601 string, such as 2026-11-27T10:00:00Z."
        )
    return value


UtcDateTime = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(_utc)]


def _json_integer(value: Any) -> Any:
    """JSON Schema's integer, which the document states: a number with no fraction. Pydantic
    would also take true and false, and a number written as a string."""
    if isinstance(value, bool | str):
        raise PydanticCustomError("int_type", "The value must be a whole number.")
    return value


def _json_boolean(value: Any) -> Any:
    """JSON's true or false; pydantic would also take 0, 1, "yes" and the like."""
    if not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "The value must be true or false.")
    return value


# Placed after an integer's bounds (`Annotated[int, Field(ge=1), JSON_INTEGER]`), so that the
# document still shows them as minimum and maximum.
JSON_INTEGER = BeforeValidator(_json_integer)
Flag = Annotated[bool, BeforeValidator(_json_boolean)]

_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _title(name: str, field: FieldInfo | ComputedFieldInfo) -> str:
    """'case_number' → 'Case Number' in the OpenAPI document (not pydantic's 'Casenumber')."""
    return _WORD_START.sub(" ", to_pascal(name))


class WireModel(BaseModel):
    """Base of Omnium request and response models (snake_case in Python, PascalCase on the wire)."""

    model_config = ConfigDict(
        alias_generator=to_pascal,
        validate_by_name=False,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        field_title_generator=_title,
    )

    # Lower-cased wire names that a client may send but the server owns and ignores.
    server_managed: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _match_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        names = _wire_names(cls)
        matched: dict[Any, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                matched[key] = value
                continue
            lowered = key.lower()
            if lowered in cls.server_managed:
                continue
            name = names.get(lowered, key)
            if name in matched:
                raise PydanticCustomError(
                    "duplicate_field", "The field {name} is given more than once.", {"name": name}
                )
            matched[name] = value
        return matched


_NAMES: dict[type[BaseModel], dict[str, str]] = {}


def _wire_names(model: type[BaseModel]) -> dict[str, str]:
    names = _NAMES.get(model)
    if names is None:
        names = {
            (field.alias or name).lower(): field.alias or name
            for name, field in model.model_fields.items()
        }
        _NAMES[model] = names
    return names


async def storable_parameters(request: Request) -> None:
    """Path, query and header values obey the body's text rule: PostgreSQL cannot even compare
    against a NUL, so one would fail the query instead of finding nothing."""
    values = [
        *request.path_params.items(),
        *request.query_params.multi_items(),
        *request.headers.items(),
    ]
    bad = [name for name, value in values if isinstance(value, str) and "\x00" in value]
    if bad:
        raise InvalidInput({name: ["Text must not contain NUL characters."] for name in bad})
