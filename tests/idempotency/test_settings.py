"""CASEDESK_IDEMPOTENCY_KEY_LIFETIME_SECONDS: a day by default, never less, at most 30 days."""

from __future__ import annotations

import pytest

from casedesk.config import ConfigError, Settings


def test_keys_live_a_day_by_default() -> None:
    assert Settings.from_env({}).idempotency_key_lifetime_seconds == 86_400


@pytest.mark.parametrize(("raw", "seconds"), [("86400", 86_400), (" 172800 ", 172_800)])
def test_the_lifetime_is_read_in_whole_seconds(raw: str, seconds: int) -> None:
    env = {"CASEDESK_IDEMPOTENCY_KEY_LIFETIME_SECONDS": raw}
    assert Settings.from_env(env).idempotency_key_lifetime_seconds == seconds


@pytest.mark.parametrize("raw", ["86399", "3600", "0", "2592001"])
def test_a_lifetime_under_a_day_or_over_30_days_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"between 86,400 and 2,592,000"):
        Settings.from_env({"CASEDESK_IDEMPOTENCY_KEY_LIFETIME_SECONDS": raw})


def test_a_lifetime_that_is_no_whole_number_is_refused() -> None:
    with pytest.raises(ConfigError, match="must be a whole number"):
        Settings.from_env({"CASEDESK_IDEMPOTENCY_KEY_LIFETIME_SECONDS": "1d"})
