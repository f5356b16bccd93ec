"""Settings read from the environment, once, by whoever starts the process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///casedesk.db"
DEFAULT_TOKEN_LIFETIME_SECONDS = 864_000
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024


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
            database_url=env.get("CASEDESK_DATABASE_URL") or DEFAULT_DATABASE_URL,
            secret_key=env.get("CASEDESK_SECRET_KEY") or None,
            token_lifetime_seconds=_positive_int(
                env, "CASEDESK_TOKEN_LIFETIME_SECONDS", DEFAULT_TOKEN_LIFETIME_SECONDS
            ),
            max_body_bytes=_positive_int(env, "CASEDESK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        )


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value
