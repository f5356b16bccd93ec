"""Settings read from the environment, once, by whoever starts the process."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, ValidationError, ValidationInfo
from pydantic_core import PydanticUseDefault
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///casedesk.storage.database"
DEFAULT_TOKEN_LIFETIME_SECONDS = 864_000
# HS256's key should be at least as long as its 256-bit hash (RFC 7518, 3.2).
MIN_SECRET_KEY_BYTES = 32
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
# Ten years: beyond that an expiry is a typo, and far enough out it overflows a datetime.
MAX_TOKEN_LIFETIME_SECONDS = 10 * 365 * 24 * 3600
MAX_MAX_BODY_BYTES = 1024**3
# Idempotency keys live at least a day (what clients are promised), at most 30 days.
DEFAULT_IDEMPOTENCY_KEY_LIFETIME_SECONDS = MIN_IDEMPOTENCY_KEY_LIFETIME_SECONDS = 24 * 3600
MAX_IDEMPOTENCY_KEY_LIFETIME_SECONDS = 30 * 24 * 3600
DEFAULT_REQUEST_TIMEOUT_SECONDS = 30
# Each search statement: above the broadest searches on 1M cases (4.1 s on SQLite, see
# docs/performance.md), under the request time limit so that a search stopped here says why.
DEFAULT_SEARCH_TIMEOUT_SECONDS = 10
MAX_REQUEST_TIMEOUT_SECONDS = 3600
DEFAULT_MAX_CONNECTIONS = 1000
MAX_MAX_CONNECTIONS = 100_000
MAX_SECRET_VERIFICATIONS = 1024
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_ORIGIN = re.compile(
    r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?"
)
_HSTS = re.compile(r"max-age=[0-9]{1,10}(; *includeSubDomains)?(; *preload)?", re.IGNORECASE)
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


class ConfigError(ValueError):
    """A setting in the environment has a value casedesk cannot use."""


ENV_PREFIX = "CASEDESK_"
VERIFICATIONS_ENV = f"{ENV_PREFIX}SECRET_VERIFICATIONS"


def _cpus() -> int:
    """Argon2 keeps a core busy: one verification per core is as fast as more would be."""
    return os.cpu_count() or 1


def verifications_per_worker(workers: int) -> int:
    """The default cap for each of `workers` processes: together they keep every core busy,
    never more (64 MiB each)."""
    return max(1, _cpus() // workers)


@dataclass(frozen=True)
class RateLimits:
    """Omnium's limits per API user, and the throttle on failed token requests
    (docs/operations.md, "Rate limits")."""

    enabled: bool = True
    concurrent: int = 20
    burst: int = 12_000
    refill: int = 1_000
    refill_seconds: int = 10
    token_failures: int = 10
    token_failure_seconds: int = 30
    # Set by `casedesk serve` for its workers: the table they share (ratelimit/shared_file.py).
    shared_file: str | None = None


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str | None = None
    # Still accepted for verifying tokens, for as long as it is set (docs/operations.md).
    previous_secret_key: str | None = None
    token_lifetime_seconds: int = DEFAULT_TOKEN_LIFETIME_SECONDS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    idempotency_key_lifetime_seconds: int = DEFAULT_IDEMPOTENCY_KEY_LIFETIME_SECONDS
    rate_limits: RateLimits = field(default_factory=RateLimits)
    log_level: str = "INFO"
    request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_SECONDS
    search_timeout_seconds: float = DEFAULT_SEARCH_TIMEOUT_SECONDS
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    # Client secrets verified at once per worker (auth/passwords.py's Verifier).
    secret_verifications: int = field(default_factory=_cpus)
    cors_origins: tuple[str, ...] = ()
    hsts: str | None = None

    def __post_init__(self) -> None:
        """No Settings holds a key too short to sign with, or a search limit that the request
        limit would cut short, however it was built."""
        _check_secret_key("CASEDESK_SECRET_KEY", self.secret_key)
        _check_secret_key("CASEDESK_PREVIOUS_SECRET_KEY", self.previous_secret_key)
        if self.previous_secret_key and not self.secret_key:
            raise ConfigError(
                "CASEDESK_PREVIOUS_SECRET_KEY is set without CASEDESK_SECRET_KEY: set both, "
                "or neither to use the key kept in the database"
            )
        if self.search_timeout_seconds >= self.request_timeout_seconds:
            raise ConfigError(
                f"CASEDESK_SEARCH_TIMEOUT_SECONDS ({self.search_timeout_seconds:g} s) must be "
                f"below CASEDESK_REQUEST_TIMEOUT_SECONDS ({self.request_timeout_seconds:g} s), "
                "so that a search stopped for its cost says so instead of the request limit's "
                "generic 503: lower the first or raise the second"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings the CASEDESK_* variables of `env` (the process's by default) say; an
        unset or empty variable means the default."""
        variables = _Variables(_Environment, os.environ if env is None else env)
        try:
            given = _Environment(**variables()).model_dump(exclude_none=True)
        except ValidationError as error:
            raise _config_error(error) from None
        # A RateLimits field is read from CASEDESK_RATE_LIMIT_<NAME>, or for the token
        # throttle from CASEDESK_<NAME>.
        rate_limits = {
            limit.name: given.pop(variable)
            for limit in fields(RateLimits)
            for variable in (f"rate_limit_{limit.name}", limit.name)
            if variable in given
        }
        return cls(**given, rate_limits=RateLimits(**rate_limits))


def database_backend(url: str) -> str:
    """'sqlite' or 'postgresql'; anything else is refused."""
    try:
        name = make_url(url).get_backend_name()
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ConfigError(
            f"{url!r} is not a database URL: use sqlite:/// or postgresql://"
        ) from None
    if name not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database {name!r}: use sqlite:/// or postgresql://")
    return name


def _variable(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def _database_url(url: str) -> str:
    database_backend(url)
    return url


def _check_secret_key(name: str, key: str | None) -> None:
    if key is not None and len(key.encode()) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            f"{name} is {len(key.encode())} bytes long; a signing key needs at least "
            f"{MIN_SECRET_KEY_BYTES} (make one with: openssl rand -base64 48)"
        )


def _stripped(raw: object) -> str:
    """The value without surrounding blanks; only blanks mean the default."""
    value = str(raw).strip()
    if not value:
        raise PydanticUseDefault()
    return value


def _whole_number(*, maximum: int, minimum: int = 1) -> BeforeValidator:
    """A whole number of plain digits: '1e3', '1_000', '60s' or '1.5' are refused, not guessed."""

    def parse(raw: object, info: ValidationInfo) -> int:
        name, text = _variable(info.field_name or ""), _stripped(raw)
        if not _WHOLE_NUMBER.fullmatch(text):
            raise ConfigError(f"{name} must be a whole number, got {text!r}")
        value = int(text)
        if not minimum <= value <= maximum:
            raise ConfigError(f"{name} must be between {minimum:,} and {maximum:,}, got {value:,}")
        return value

    return BeforeValidator(parse)


_FLAGS = {"true": True, "1": True, "on": True, "false": False, "0": False, "off": False}


def _flag(raw: object, info: ValidationInfo) -> bool:
    text = _stripped(raw)
    if text.lower() not in _FLAGS:
        raise ConfigError(f"{_variable(info.field_name or '')} must be true or false, got {text!r}")
    return _FLAGS[text.lower()]


def _log_level(raw: str) -> str:
    level = raw.strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        raise ConfigError(f"CASEDESK_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def _cors_origins(raw: str) -> tuple[str, ...]:
    """Exact origins (scheme, host, optional port), comma-separated; no wildcard, no path."""
    origins = tuple(origin.strip() for origin in raw.split(",") if origin.strip())
    for origin in origins:
        if not _ORIGIN.fullmatch(origin):
            raise ConfigError(
                "CASEDESK_CORS_ORIGINS must list exact origins like https://app.example.com "
                f"(scheme, host and optional port; no wildcard, path or trailing slash), "
                f"got {origin!r}"
            )
    return origins


def _hsts(raw: str) -> str | None:
    """A Strict-Transport-Security value, e.g. 'max-age=31536000; includeSubDomains'."""
    value = raw.strip()
    if not value:
        return None
    if not _HSTS.fullmatch(value):
        raise ConfigError(
            "CASEDESK_HSTS must be a Strict-Transport-Security value such as "
            f"'max-age=31536000; includeSubDomains', got {value!r}"
        )
    return value


_Seconds = Annotated[int | None, _whole_number(maximum=MAX_REQUEST_TIMEOUT_SECONDS)]
_Flag = Annotated[bool | None, BeforeValidator(_flag)]


class _Environment(BaseSettings):
    """Each CASEDESK_* variable and what it may hold; None where it is not set, so that the
    defaults stay in Settings and RateLimits alone. Ordered as errors are reported: the first
    bad variable is the one named."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, validate_default=False
    )

    database_url: Annotated[str | None, AfterValidator(_database_url)] = None
    secret_key: str | None = None
    previous_secret_key: str | None = None
    token_lifetime_seconds: Annotated[
        int | None, _whole_number(maximum=MAX_TOKEN_LIFETIME_SECONDS)
    ] = None
    max_body_bytes: Annotated[int | None, _whole_number(maximum=MAX_MAX_BODY_BYTES)] = None
    idempotency_key_lifetime_seconds: Annotated[
        int | None,
        _whole_number(
            minimum=MIN_IDEMPOTENCY_KEY_LIFETIME_SECONDS,
            maximum=MAX_IDEMPOTENCY_KEY_LIFETIME_SECONDS,
        ),
    ] = None
    rate_limit_enabled: _Flag = None
    rate_limit_concurrent: Annotated[int | None, _whole_number(maximum=10_000)] = None
    rate_limit_burst: Annotated[int | None, _whole_number(maximum=1_000_000)] = None
    rate_limit_refill: Annotated[int | None, _whole_number(maximum=1_000_000)] = None
    rate_limit_refill_seconds: Annotated[int | None, _whole_number(maximum=3600)] = None
    token_failures: Annotated[int | None, _whole_number(maximum=10_000)] = None
    token_failure_seconds: Annotated[int | None, _whole_number(maximum=3600)] = None
    rate_limit_shared_file: str | None = None
    log_level: Annotated[str | None, AfterValidator(_log_level)] = None
    request_timeout_seconds: _Seconds = None
    search_timeout_seconds: _Seconds = None
    max_connections: Annotated[int | None, _whole_number(maximum=MAX_MAX_CONNECTIONS)] = None
    secret_verifications: Annotated[int | None, _whole_number(maximum=MAX_SECRET_VERIFICATIONS)] = (
        None
    )
    cors_origins: Annotated[tuple[str, ...] | None, NoDecode, BeforeValidator(_cors_origins)] = None
    hsts: Annotated[str | None, AfterValidator(_hsts)] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # What Settings.from_env read through _Variables: no .env file, no secrets directory.
        return (init_settings,)


class _Variables(EnvSettingsSource):
    """pydantic-settings' reading of environment variables, from a mapping of our choice."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Names are case-sensitive, as they always were here: casedesk_secret_key is not read.
        return {
            name.lower(): value for name, value in self._env.items() if name.isupper() and value
        }


def _config_error(error: ValidationError) -> ConfigError:
    """The first variable's own message: every rule above raises a ConfigError."""
    first = error.errors()[0]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ConfigError):
        return cause
    field = str(first["loc"][0]) if first["loc"] else ""
    return ConfigError(f"{_variable(field)}: {first['msg']}")
