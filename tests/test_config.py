"""Settings come from the environment; a value casedesk cannot use fails loudly at start."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from casedesk.cli import app
from casedesk.config import (
    DEFAULT_DATABASE_URL,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TOKEN_LIFETIME_SECONDS,
    MAX_TOKEN_LIFETIME_SECONDS,
    ConfigError,
    Settings,
)


def test_defaults_without_any_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///casedesk.db"
    assert settings.secret_key is None
    assert settings.token_lifetime_seconds == DEFAULT_TOKEN_LIFETIME_SECONDS == 864_000
    assert settings.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 4 * 1024 * 1024


def test_empty_values_mean_the_default() -> None:
    settings = Settings.from_env(
        {
            "CASEDESK_DATABASE_URL": "",
            "CASEDESK_SECRET_KEY": "",
            "CASEDESK_TOKEN_LIFETIME_SECONDS": "",
            "CASEDESK_MAX_BODY_BYTES": "  ",
        }
    )
    assert settings == Settings()


def test_every_setting_is_read() -> None:
    settings = Settings.from_env(
        {
            "CASEDESK_DATABASE_URL": "postgresql://casedesk@db/casedesk",
            "CASEDESK_SECRET_KEY": "a-key",
            "CASEDESK_TOKEN_LIFETIME_SECONDS": "3600",
            "CASEDESK_MAX_BODY_BYTES": "1024",
        }
    )
    assert settings == Settings(
        database_url="postgresql://casedesk@db/casedesk",
        secret_key="a-key",
        token_lifetime_seconds=3600,
        max_body_bytes=1024,
    )


@pytest.mark.parametrize(("raw", "seconds"), [("1", 1), (" 60 ", 60), ("+86400", 86_400)])
def test_token_lifetime_accepts_whole_seconds(raw: str, seconds: int) -> None:
    env = {"CASEDESK_TOKEN_LIFETIME_SECONDS": raw}
    assert Settings.from_env(env).token_lifetime_seconds == seconds


def test_token_lifetime_accepts_the_maximum() -> None:
    env = {"CASEDESK_TOKEN_LIFETIME_SECONDS": str(MAX_TOKEN_LIFETIME_SECONDS)}
    assert Settings.from_env(env).token_lifetime_seconds == MAX_TOKEN_LIFETIME_SECONDS


@pytest.mark.parametrize("raw", ["ten days", "1.5", "1e3", "1_000", "60s", "0x10", "١٢", "--1"])
def test_token_lifetime_that_is_not_a_whole_number_is_refused(raw: str) -> None:
    with pytest.raises(
        ConfigError, match=r"CASEDESK_TOKEN_LIFETIME_SECONDS must be a whole number"
    ):
        Settings.from_env({"CASEDESK_TOKEN_LIFETIME_SECONDS": raw})


@pytest.mark.parametrize(
    "raw", ["0", "-1", "-864000", str(MAX_TOKEN_LIFETIME_SECONDS + 1), "9" * 40]
)
def test_token_lifetime_out_of_range_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"CASEDESK_TOKEN_LIFETIME_SECONDS must be between 1"):
        Settings.from_env({"CASEDESK_TOKEN_LIFETIME_SECONDS": raw})


@pytest.mark.parametrize("raw", ["big", "0", "-5"])
def test_a_bad_body_limit_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="CASEDESK_MAX_BODY_BYTES"):
        Settings.from_env({"CASEDESK_MAX_BODY_BYTES": raw})


@pytest.mark.parametrize(
    "url", ["mysql://root@db/casedesk", "not a url", "mongodb://db", "oracle+cx_oracle://x"]
)
def test_an_unsupported_database_url_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match=r"sqlite:/// or postgresql://"):
        Settings.from_env({"CASEDESK_DATABASE_URL": url})


@pytest.mark.parametrize(
    "url", ["sqlite:///casedesk.db", "sqlite+aiosqlite:///x.db", "postgresql+psycopg://u@h/d"]
)
def test_sqlite_and_postgresql_urls_with_any_driver_are_accepted(url: str) -> None:
    assert Settings.from_env({"CASEDESK_DATABASE_URL": url}).database_url == url


def test_the_cli_reports_a_bad_setting_in_one_line_and_exits_2() -> None:
    result = CliRunner().invoke(
        app, ["db", "upgrade"], env={"CASEDESK_TOKEN_LIFETIME_SECONDS": "ten days"}
    )
    assert result.exit_code == 2
    assert "CASEDESK_TOKEN_LIFETIME_SECONDS must be a whole number, got 'ten days'" in result.output
    assert "Traceback" not in result.output


# Logging, the time limit, connections, CORS, HSTS.


def test_protections_default_to_info_logs_30_seconds_and_no_cors_or_hsts() -> None:
    settings = Settings.from_env({})
    assert settings.log_level == "INFO"
    assert settings.request_timeout_seconds == 30
    assert settings.max_connections == 1000
    assert settings.cors_origins == ()
    assert settings.hsts is None


def test_protection_settings_are_read() -> None:
    settings = Settings.from_env(
        {
            "CASEDESK_LOG_LEVEL": " debug ",
            "CASEDESK_REQUEST_TIMEOUT_SECONDS": "5",
            "CASEDESK_MAX_CONNECTIONS": "200",
            "CASEDESK_CORS_ORIGINS": "https://shop.example.com, http://localhost:3000,",
            "CASEDESK_HSTS": "max-age=31536000; includeSubDomains",
        }
    )
    assert settings.log_level == "DEBUG"
    assert settings.request_timeout_seconds == 5
    assert settings.max_connections == 200
    assert settings.cors_origins == ("https://shop.example.com", "http://localhost:3000")
    assert settings.hsts == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("CASEDESK_LOG_LEVEL", "verbose"),
        ("CASEDESK_LOG_LEVEL", "10"),
        ("CASEDESK_REQUEST_TIMEOUT_SECONDS", "0"),
        ("CASEDESK_REQUEST_TIMEOUT_SECONDS", "0.5"),
        ("CASEDESK_REQUEST_TIMEOUT_SECONDS", "3601"),
        ("CASEDESK_MAX_CONNECTIONS", "-1"),
        ("CASEDESK_CORS_ORIGINS", "*"),
        ("CASEDESK_CORS_ORIGINS", "https://shop.example.com/"),
        ("CASEDESK_CORS_ORIGINS", "https://shop.example.com/app"),
        ("CASEDESK_CORS_ORIGINS", "shop.example.com"),
        ("CASEDESK_CORS_ORIGINS", "https://*.example.com"),
        ("CASEDESK_HSTS", "1 year"),
        ("CASEDESK_HSTS", "max-age=31536000\r\nX-Injected: 1"),
    ],
)
def test_a_bad_protection_setting_is_refused_naming_it(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: raw})
