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
MAX_JSON_DEPTH = 8
"""Levels of nesting in a request body, the body's own array or object counted as 1."""
MAX_JSON_CONTAINERS = 40_000
"""``{`` and ``[`` in a request body (4 for each of its at most 10,000 events)."""
MAX_JSON_SEPARATORS = 400_000
"""``,`` in a request body (40 for each of its at most 10,000 events)."""

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
    webhook_timeout_ms: int = 10_000
    """The longest time one webhook call may take."""
    webhook_retry_first_ms: int = 5_000
    """The delay before the first retry of a failed webhook call; each next one doubles."""
    webhook_retry_max_ms: int = 3_600_000
    """The longest delay between two attempts of a webhook call."""
    webhook_retry_for_ms: int = 86_400_000
    """How long a failed webhook call is retried, from its state change."""
    alert_poll_ms: int = 1_000
    """How often the delivery worker reads the outbox when nothing wakes it up."""
    alert_claim_ms: int = 60_000
    """How long a call stays with the worker that claimed it; more than the webhook timeout."""
    alert_evaluate_every_ms: int = 60_000
    """How often the worker evaluates every alert, ingests or not; 0: only after ingests."""
    max_header_count: int = 100
    """Header fields a request may send (431 beyond); 0 turns the limit off."""
    max_header_bytes: int = 16_384
    """Bytes of the request target and header fields together (431 beyond); 0: no limit."""
    header_timeout_ms: int = 10_000
    """Time from a request's first byte (or a new connection) to the end of its headers."""
    body_timeout_ms: int = 60_000
    """Time from the end of a request's headers to the end of its body."""
    max_answer_rows: int = 100_000
    """Rows (apps or versions × days) a Statistics answer may hold (400 beyond); 0: no limit."""
    public_url: str | None = None
    """The base URL that `otastats plugin create` writes into the plugin URLs; None: the
    local default."""
    plugin_rate_limit: int = 6000
    """Plugin requests a minute per token and client address; 0 turns the limit off."""
    upstream_timeout_ms: int = 5000
    """Longest wait for the update server a plugin URL forwards update checks to."""

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
            **_alert_settings(env),
            max_header_count=_non_negative_int(env, "OTASTATS_MAX_HEADER_COUNT", 100),
            max_header_bytes=_non_negative_int(env, "OTASTATS_MAX_HEADER_BYTES", 16_384),
            header_timeout_ms=_non_negative_int(env, "OTASTATS_HEADER_TIMEOUT_MS", 10_000),
            body_timeout_ms=_non_negative_int(env, "OTASTATS_BODY_TIMEOUT_MS", 60_000),
            max_answer_rows=_non_negative_int(env, "OTASTATS_MAX_ANSWER_ROWS", 100_000),
            public_url=_public_url(env),
            plugin_rate_limit=_non_negative_int(env, "OTASTATS_PLUGIN_RATE_LIMIT", 6000),
            upstream_timeout_ms=_non_negative_int(env, "OTASTATS_UPSTREAM_TIMEOUT_MS", 5000),
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


_ALERT_SETTINGS = {
    "webhook_timeout_ms": ("OTASTATS_WEBHOOK_TIMEOUT_MS", 10_000),
    "webhook_retry_first_ms": ("OTASTATS_WEBHOOK_RETRY_FIRST_MS", 5_000),
    "webhook_retry_max_ms": ("OTASTATS_WEBHOOK_RETRY_MAX_MS", 3_600_000),
    "webhook_retry_for_ms": ("OTASTATS_WEBHOOK_RETRY_FOR_MS", 86_400_000),
    "alert_poll_ms": ("OTASTATS_ALERT_POLL_MS", 1_000),
    "alert_claim_ms": ("OTASTATS_ALERT_CLAIM_MS", 60_000),
    "alert_evaluate_every_ms": ("OTASTATS_ALERT_EVALUATE_EVERY_MS", 60_000),
}


def _alert_settings(env: Mapping[str, str]) -> dict[str, int]:
    values = {field: _non_negative_int(env, *spec) for field, spec in _ALERT_SETTINGS.items()}
    for field in ("webhook_timeout_ms", "webhook_retry_first_ms", "alert_poll_ms"):
        if values[field] == 0:
            name = _ALERT_SETTINGS[field][0]
            raise SettingsError(f"{name}=0 cannot be used; set it to 1 or more, or unset it")
    if values["alert_claim_ms"] <= values["webhook_timeout_ms"]:
        raise SettingsError(
            "OTASTATS_ALERT_CLAIM_MS must be longer than OTASTATS_WEBHOOK_TIMEOUT_MS (else a"
            " call still being sent could be claimed and sent again by another worker)"
        )
    return values


def _public_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("OTASTATS_PUBLIC_URL", "").strip()
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")) or len(raw) <= len("https://"):
        raise SettingsError(
            f"OTASTATS_PUBLIC_URL={raw!r} is not an http(s) URL; set it to the address devices"
            " reach otastats at (https://stats.example.com), or unset it"
        )
    return raw.rstrip("/")
