"""Settings read from the environment, once, by whoever starts the process."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

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


VERIFICATIONS_ENV = "CASEDESK_SECRET_VERIFICATIONS"


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
    # Set by `casedesk serve` for its workers: the table they share (ratelimit/table.py).
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
        env = os.environ if env is None else env
        return cls(
            database_url=_database_url(env.get("CASEDESK_DATABASE_URL") or DEFAULT_DATABASE_URL),
            secret_key=env.get("CASEDESK_SECRET_KEY") or None,
            previous_secret_key=env.get("CASEDESK_PREVIOUS_SECRET_KEY") or None,
            token_lifetime_seconds=_positive_int(
                env,
                "CASEDESK_TOKEN_LIFETIME_SECONDS",
                DEFAULT_TOKEN_LIFETIME_SECONDS,
                maximum=MAX_TOKEN_LIFETIME_SECONDS,
            ),
            max_body_bytes=_positive_int(
                env, "CASEDESK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, maximum=MAX_MAX_BODY_BYTES
            ),
            idempotency_key_lifetime_seconds=_positive_int(
                env,
                "CASEDESK_IDEMPOTENCY_KEY_LIFETIME_SECONDS",
                DEFAULT_IDEMPOTENCY_KEY_LIFETIME_SECONDS,
                minimum=MIN_IDEMPOTENCY_KEY_LIFETIME_SECONDS,
                maximum=MAX_IDEMPOTENCY_KEY_LIFETIME_SECONDS,
            ),
            rate_limits=_rate_limits(env),
            log_level=_log_level(env.get("CASEDESK_LOG_LEVEL", "")),
            request_timeout_seconds=_positive_int(
                env,
                "CASEDESK_REQUEST_TIMEOUT_SECONDS",
                DEFAULT_REQUEST_TIMEOUT_SECONDS,
                maximum=MAX_REQUEST_TIMEOUT_SECONDS,
            ),
            search_timeout_seconds=_positive_int(
                env,
                "CASEDESK_SEARCH_TIMEOUT_SECONDS",
                DEFAULT_SEARCH_TIMEOUT_SECONDS,
                maximum=MAX_REQUEST_TIMEOUT_SECONDS,
            ),
            max_connections=_positive_int(
                env,
                "CASEDESK_MAX_CONNECTIONS",
                DEFAULT_MAX_CONNECTIONS,
                maximum=MAX_MAX_CONNECTIONS,
            ),
            secret_verifications=_positive_int(
                env,
                VERIFICATIONS_ENV,
                _cpus(),
                maximum=MAX_SECRET_VERIFICATIONS,
            ),
            cors_origins=_cors_origins(env.get("CASEDESK_CORS_ORIGINS", "")),
            hsts=_hsts(env.get("CASEDESK_HSTS", "")),
        )


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


def _database_url(url: str) -> str:
    database_backend(url)
    return url


def _check_secret_key(name: str, key: str | None) -> None:
    if key is not None and len(key.encode()) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            f"{name} is {len(key.encode())} bytes long; a signing key needs at least "
            f"{MIN_SECRET_KEY_BYTES} (make one with: openssl rand -base64 48)"
        )


def _positive_int(
    env: Mapping[str, str], name: str, default: int, *, maximum: int, minimum: int = 1
) -> int:
    """A whole number of plain digits: '1e3', '1_000', '60s' or '1.5' are refused, not guessed."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not _WHOLE_NUMBER.fullmatch(raw):
        raise ConfigError(f"{name} must be a whole number, got {raw!r}")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum:,} and {maximum:,}, got {value:,}")
    return value


_FLAGS = {"true": True, "1": True, "on": True, "false": False, "0": False, "off": False}


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() not in _FLAGS:
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    return _FLAGS[raw.lower()]


def _rate_limits(env: Mapping[str, str]) -> RateLimits:
    default = RateLimits()
    return RateLimits(
        enabled=_flag(env, "CASEDESK_RATE_LIMIT_ENABLED", default.enabled),
        concurrent=_positive_int(
            env, "CASEDESK_RATE_LIMIT_CONCURRENT", default.concurrent, maximum=10_000
        ),
        burst=_positive_int(env, "CASEDESK_RATE_LIMIT_BURST", default.burst, maximum=1_000_000),
        refill=_positive_int(env, "CASEDESK_RATE_LIMIT_REFILL", default.refill, maximum=1_000_000),
        refill_seconds=_positive_int(
            env, "CASEDESK_RATE_LIMIT_REFILL_SECONDS", default.refill_seconds, maximum=3600
        ),
        token_failures=_positive_int(
            env, "CASEDESK_TOKEN_FAILURES", default.token_failures, maximum=10_000
        ),
        token_failure_seconds=_positive_int(
            env, "CASEDESK_TOKEN_FAILURE_SECONDS", default.token_failure_seconds, maximum=3600
        ),
        shared_file=env.get("CASEDESK_RATE_LIMIT_SHARED_FILE") or None,
    )


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
