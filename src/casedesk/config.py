"""Settings read from the environment, once, by whoever starts the process."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///casedesk.db"
DEFAULT_TOKEN_LIFETIME_SECONDS = 864_000
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
# Ten years: beyond that an expiry is a typo, and far enough out it overflows a datetime.
MAX_TOKEN_LIFETIME_SECONDS = 10 * 365 * 24 * 3600
MAX_MAX_BODY_BYTES = 1024**3
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


class ConfigError(ValueError):
    """A setting in the environment has a value casedesk cannot use."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str | None = None
    token_lifetime_seconds: int = DEFAULT_TOKEN_LIFETIME_SECONDS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            database_url=_database_url(env.get("CASEDESK_DATABASE_URL") or DEFAULT_DATABASE_URL),
            secret_key=env.get("CASEDESK_SECRET_KEY") or None,
            token_lifetime_seconds=_positive_int(
                env,
                "CASEDESK_TOKEN_LIFETIME_SECONDS",
                DEFAULT_TOKEN_LIFETIME_SECONDS,
                maximum=MAX_TOKEN_LIFETIME_SECONDS,
            ),
            max_body_bytes=_positive_int(
                env, "CASEDESK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, maximum=MAX_MAX_BODY_BYTES
            ),
        )


def database_backend(url: str) -> str:
    """'sqlite' or 'postgresql'; anything else is refused."""
    try:
        name = make_url(url).get_backend_name()
    except ArgumentError:
        raise ConfigError(
            f"{url!r} is not a database URL: use sqlite:/// or postgresql://"
        ) from None
    if name not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database {name!r}: use sqlite:/// or postgresql://")
    return name


def _database_url(url: str) -> str:
    database_backend(url)
    return url


def _positive_int(env: Mapping[str, str], name: str, default: int, *, maximum: int) -> int:
    """A whole number of plain digits: '1e3', '1_000', '60s' or '1.5' are refused, not guessed."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not _WHOLE_NUMBER.fullmatch(raw):
        raise ConfigError(f"{name} must be a whole number, got {raw!r}")
    value = int(raw)
    if not 0 < value <= maximum:
        raise ConfigError(f"{name} must be between 1 and {maximum:,}, got {value:,}")
    return value
