"""Typed settings, read once from ``OTASTATS_*`` environment variables and checked at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

DEFAULT_DATABASE_URL = "sqlite:///./otastats.db"

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_EVENTS_PER_REQUEST = 10_000

RateLimitStore = Literal["database", "redis", "memory"]
RATE_LIMIT_STORES: tuple[RateLimitStore, ...] = get_args(RateLimitStore)
REDIS_STORE_WITHOUT_URL = (
    "OTASTATS_RATE_LIMIT_STORE='redis' needs OTASTATS_REDIS_URL; set it to the Redis server"
    " (redis://host:6379/0), or set OTASTATS_RATE_LIMIT_STORE to database or memory"
)


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    rate_limit: int = 2000
    """Requests a minute per API key; 0 turns the limit off."""
    auth_failure_limit: int = 20
    """Failed authentications per client address in 15 minutes; 0 turns the limit off."""
    query_timeout_ms: int = 10_000
    """Longest time a statistics query may run before it is cut off."""
    redis_url: str | None = None
    """A Redis server that may keep the rate-limit counters; None: there is none."""
    rate_limit_store: RateLimitStore | None = None
    """Where the rate-limit counters live; None: Redis when ``redis_url`` is set, else the
    database (see ``counters_store``)."""
    fake_now: datetime | None = None
    """A test and demo aid: "now" for every command (``serve``'s clock starts there and runs
    on); None: the system clock. Never set in production."""

    @property
    def counters_store(self) -> RateLimitStore:
        """Where the rate-limit counters live, the default resolved."""
        if self.rate_limit_store is not None:
            return self.rate_limit_store
        return "redis" if self.redis_url is not None else "database"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        redis_url = _redis_url(env)
        return cls(
            database_url=env.get("OTASTATS_DATABASE_URL", DEFAULT_DATABASE_URL),
            rate_limit=_non_negative_int(env, "OTASTATS_RATE_LIMIT", 2000),
            auth_failure_limit=_non_negative_int(env, "OTASTATS_AUTH_FAILURE_LIMIT", 20),
            query_timeout_ms=_non_negative_int(env, "OTASTATS_QUERY_TIMEOUT_MS", 10_000),
            redis_url=redis_url,
            rate_limit_store=_rate_limit_store(env, redis_url),
            fake_now=_fake_now(env),
        )


def _non_negative_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(
            f"{name}={raw!r} is not a whole number; set it to 0 or more, or unset it"
            f" for the default ({default})"
        ) from None
    if value < 0:
        raise SettingsError(f"{name}={raw!r} is negative; set it to 0 or more")
    return value


def _redis_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("OTASTATS_REDIS_URL", "").strip()
    if not raw:
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(
            f"OTASTATS_REDIS_URL={raw!r} is not a Redis URL; use redis://host:6379/0"
            " (or rediss:// with TLS), or unset it to keep rate limits in the database"
        )
    return raw


def _rate_limit_store(env: Mapping[str, str], redis_url: str | None) -> RateLimitStore | None:
    raw = env.get("OTASTATS_RATE_LIMIT_STORE", "")
    if not raw.strip():
        return None
    chosen = next((name for name in RATE_LIMIT_STORES if name == raw.strip().lower()), None)
    if chosen is None:
        raise SettingsError(
            f"OTASTATS_RATE_LIMIT_STORE={raw!r} is not a place for rate-limit counters; set it"
            " to database, redis or memory, or unset it for the default (redis when"
            " OTASTATS_REDIS_URL is set, else database)"
        )
    if chosen == "redis" and redis_url is None:
        raise SettingsError(REDIS_STORE_WITHOUT_URL)
    return chosen


def _fake_now(env: Mapping[str, str]) -> datetime | None:
    raw = env.get("OTASTATS_FAKE_NOW", "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or value.utcoffset() is None:
        raise SettingsError(
            f"OTASTATS_FAKE_NOW={raw!r} is not an instant with its time zone; use the form"
            " 2028-03-01T12:00:00Z, or unset it to use the system clock"
        )
    return value
