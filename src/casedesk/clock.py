"""Time as casedesk stores and shows it: naive UTC, millisecond precision, ISO 8601 with Z."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime


def now() -> datetime:
    moment = datetime.now(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def to_utc(moment: datetime) -> datetime:
    """An aware time converted to naive UTC; a naive time is taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def epoch_seconds(moment: datetime) -> int:
    """Whole seconds since 1970 of a UTC moment, naive or aware (as JWT claims count time)."""
    return calendar.timegm(moment.utctimetuple())


def format_utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    # isoformat, not strftime: glibc's %Y writes the year 242 as "242", which is no ISO 8601.
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_utc(text: str) -> datetime:
    return to_utc(datetime.fromisoformat(text))
