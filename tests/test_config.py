"""Settings come from the environment; a value casedesk cannot use fails loudly at start."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from casedesk.cli.commands import app
from casedesk.config import (
    DEFAULT_DATABASE_URL,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TOKEN_LIFETIME_SECONDS,
    MAX_TOKEN_LIFETIME_SECONDS,
    ConfigError,
    Settings,
)
from casedesk.main import app_from_env

LONG_ENOUGH = "k" * 32
OLD_LONG_ENOUGH = "o" * 32


def test_defaults_without_any_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///casedesk.storage.database"
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
            "CASEDESK_SECRET_KEY": LONG_ENOUGH,
            "CASEDESK_PREVIOUS_SECRET_KEY": OLD_LONG_ENOUGH,
            "CASEDESK_TOKEN_LIFETIME_SECONDS": "3600",
            "CASEDESK_MAX_BODY_BYTES": "1024",
        }
    )
    assert settings == Settings(
        database_url="postgresql://casedesk@db/casedesk",
        secret_key=LONG_ENOUGH,
        previous_secret_key=OLD_LONG_ENOUGH,
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
    "url",
    [
        "sqlite:///casedesk.storage.database",
        "sqlite+aiosqlite:///x.db",
        "postgresql+psycopg://u@h/d",
    ],
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


# The signing key.


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("k" * 31, id="31-ascii"),
        pytest.param("secret", id="a-word"),
        # 16 characters but 31 bytes: the length that counts is HMAC's, in UTF-8 bytes.
        pytest.param("é" * 15 + "k", id="16-characters-31-bytes"),
    ],
)
@pytest.mark.parametrize("name", ["CASEDESK_SECRET_KEY", "CASEDESK_PREVIOUS_SECRET_KEY"])
def test_a_signing_key_under_32_bytes_is_refused(name: str, key: str) -> None:
    env = {"CASEDESK_SECRET_KEY": LONG_ENOUGH, name: key}
    with pytest.raises(ConfigError, match=rf"{name} is 31 bytes long|{name} is 6 bytes long"):
        Settings.from_env(env)


@pytest.mark.parametrize("key", ["k" * 32, "é" * 16])
def test_a_signing_key_of_32_bytes_is_accepted(key: str) -> None:
    assert Settings.from_env({"CASEDESK_SECRET_KEY": key}).secret_key == key


def test_settings_built_in_code_refuse_a_short_key_too() -> None:
    with pytest.raises(ConfigError, match="at least 32"):
        Settings(secret_key="short")


def test_app_creation_refuses_a_short_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEDESK_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="CASEDESK_SECRET_KEY is 5 bytes long"):
        app_from_env()


def test_a_previous_key_without_a_current_one_is_refused() -> None:
    with pytest.raises(ConfigError, match="CASEDESK_PREVIOUS_SECRET_KEY is set without"):
        Settings.from_env({"CASEDESK_PREVIOUS_SECRET_KEY": OLD_LONG_ENOUGH})


def test_serve_refuses_a_short_key_in_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda *_, **__: pytest.fail("served with a short key"))
    env = {"CASEDESK_SECRET_KEY": "short", "CASEDESK_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        "error: CASEDESK_SECRET_KEY is 5 bytes long; a signing key needs at least 32 "
        "(make one with: openssl rand -base64 48)"
    )


# Logging, the time limit, connections, CORS, HSTS.


def test_protections_default_to_info_logs_30_seconds_and_no_cors_or_hsts() -> None:
    settings = Settings.from_env({})
    assert settings.log_level == "INFO"
    assert settings.request_timeout_seconds == 30
    assert settings.search_timeout_seconds == 10
    assert settings.max_connections == 1000
    assert settings.cors_origins == ()
    assert settings.hsts is None
    assert settings.secret_verifications == os.cpu_count()


def test_protection_settings_are_read() -> None:
    settings = Settings.from_env(
        {
            "CASEDESK_LOG_LEVEL": " debug ",
            "CASEDESK_REQUEST_TIMEOUT_SECONDS": "5",
            "CASEDESK_SEARCH_TIMEOUT_SECONDS": "3",
            "CASEDESK_MAX_CONNECTIONS": "200",
            "CASEDESK_CORS_ORIGINS": "https://shop.example.com, http://localhost:3000,",
            "CASEDESK_HSTS": "max-age=31536000; includeSubDomains",
            "CASEDESK_SECRET_VERIFICATIONS": "3",
        }
    )
    assert settings.log_level == "DEBUG"
    assert settings.request_timeout_seconds == 5
    assert settings.search_timeout_seconds == 3
    assert settings.max_connections == 200
    assert settings.cors_origins == ("https://shop.example.com", "http://localhost:3000")
    assert settings.hsts == "max-age=31536000; includeSubDomains"
    assert settings.secret_verifications == 3


@pytest.mark.parametrize(("search", "request_"), [(30, 30), (10, 5)])
def test_a_search_limit_not_below_the_request_limit_is_refused(search: int, request_: int) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(
            {
                "CASEDESK_SEARCH_TIMEOUT_SECONDS": str(search),
                "CASEDESK_REQUEST_TIMEOUT_SECONDS": str(request_),
            }
        )

    assert str(refused.value) == (
        f"CASEDESK_SEARCH_TIMEOUT_SECONDS ({search} s) must be below "
        f"CASEDESK_REQUEST_TIMEOUT_SECONDS ({request_} s), so that a search stopped for its "
        "cost says so instead of the request limit's generic 503: lower the first or raise "
        "the second"
    )


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("CASEDESK_LOG_LEVEL", "verbose"),
        ("CASEDESK_LOG_LEVEL", "10"),
        ("CASEDESK_REQUEST_TIMEOUT_SECONDS", "0"),
        ("CASEDESK_REQUEST_TIMEOUT_SECONDS", "0.5"),
        ("CASEDESK_REQUEST_TIMEOUT_SECONDS", "3601"),
        ("CASEDESK_SEARCH_TIMEOUT_SECONDS", "0"),
        ("CASEDESK_SEARCH_TIMEOUT_SECONDS", "2.5"),
        ("CASEDESK_MAX_CONNECTIONS", "-1"),
        ("CASEDESK_CORS_ORIGINS", "*"),
        ("CASEDESK_CORS_ORIGINS", "https://shop.example.com/"),
        ("CASEDESK_CORS_ORIGINS", "https://shop.example.com/app"),
        ("CASEDESK_CORS_ORIGINS", "shop.example.com"),
        ("CASEDESK_CORS_ORIGINS", "https://*.example.com"),
        ("CASEDESK_HSTS", "1 year"),
        ("CASEDESK_HSTS", "max-age=31536000\r\nX-Injected: 1"),
        ("CASEDESK_SECRET_VERIFICATIONS", "0"),
        ("CASEDESK_SECRET_VERIFICATIONS", "1025"),
    ],
)
def test_a_bad_protection_setting_is_refused_naming_it(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: raw})


# Where settings come from: the variables named, nothing else.


def test_variable_names_are_case_sensitive() -> None:
    assert Settings.from_env({"casedesk_max_body_bytes": "1024"}) == Settings()


def test_a_dotenv_file_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("CASEDESK_MAX_BODY_BYTES=1024\n")
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({}) == Settings()


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEDESK_MAX_BODY_BYTES", "1024")
    assert Settings.from_env().max_body_bytes == 1024
