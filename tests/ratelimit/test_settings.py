"""Rate limit settings from the environment: Omnium's numbers by default, bad values refused."""

from __future__ import annotations

import pytest

from casedesk.config import ConfigError, RateLimits, Settings


def test_the_defaults_are_omniums_limits() -> None:
    limits = Settings.from_env({}).rate_limits
    assert limits == RateLimits()
    assert (limits.enabled, limits.concurrent, limits.burst) == (True, 20, 12_000)
    assert (limits.refill, limits.refill_seconds) == (1_000, 10)
    assert (limits.token_failures, limits.token_failure_seconds) == (10, 30)
    assert limits.shared_file is None


def test_every_rate_limit_setting_is_read() -> None:
    limits = Settings.from_env(
        {
            "CASEDESK_RATE_LIMIT_ENABLED": "false",
            "CASEDESK_RATE_LIMIT_CONCURRENT": "5",
            "CASEDESK_RATE_LIMIT_BURST": "100",
            "CASEDESK_RATE_LIMIT_REFILL": "7",
            "CASEDESK_RATE_LIMIT_REFILL_SECONDS": "3",
            "CASEDESK_TOKEN_FAILURES": "4",
            "CASEDESK_TOKEN_FAILURE_SECONDS": "60",
            "CASEDESK_RATE_LIMIT_SHARED_FILE": "/dev/shm/casedesk-ratelimit-x",
        }
    ).rate_limits
    assert limits == RateLimits(
        enabled=False,
        concurrent=5,
        burst=100,
        refill=7,
        refill_seconds=3,
        token_failures=4,
        token_failure_seconds=60,
        shared_file="/dev/shm/casedesk-ratelimit-x",
    )


@pytest.mark.parametrize(
    ("raw", "enabled"),
    [("true", True), ("ON", True), ("1", True), ("false", False), (" off ", False), ("0", False)],
)
def test_the_switch_reads_true_or_false(raw: str, enabled: bool) -> None:
    assert Settings.from_env({"CASEDESK_RATE_LIMIT_ENABLED": raw}).rate_limits.enabled is enabled


@pytest.mark.parametrize("raw", ["yes please", "disabled", "2"])
def test_a_switch_that_is_neither_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="CASEDESK_RATE_LIMIT_ENABLED must be true or false"):
        Settings.from_env({"CASEDESK_RATE_LIMIT_ENABLED": raw})


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("CASEDESK_RATE_LIMIT_CONCURRENT", "0"),
        ("CASEDESK_RATE_LIMIT_CONCURRENT", "10001"),
        ("CASEDESK_RATE_LIMIT_BURST", "1_000"),
        ("CASEDESK_RATE_LIMIT_BURST", "1000001"),
        ("CASEDESK_RATE_LIMIT_REFILL", "-1"),
        ("CASEDESK_RATE_LIMIT_REFILL_SECONDS", "0.5"),
        ("CASEDESK_RATE_LIMIT_REFILL_SECONDS", "3601"),
        ("CASEDESK_TOKEN_FAILURES", "many"),
        ("CASEDESK_TOKEN_FAILURE_SECONDS", "0"),
    ],
)
def test_a_limit_that_is_not_a_usable_whole_number_is_refused(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: raw})
