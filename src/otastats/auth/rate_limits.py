"""Request-rate limits: per API key, per client address for failed authentications, and per
plugin URL token and client address.

All are moving windows of the ``limits`` library. The counters of the first two live where
``OTASTATS_RATE_LIMIT_STORE`` says: in the database (shared by every server process on it), in
Redis (shared by every process using that server), or in this process's memory. The plugin
limit is counted in Redis when that is the store, else in this process's memory: a database
count is a write transaction, which would cost a third of the CPU of a plugin request.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute, storage, strategies

from otastats.config import REDIS_STORE_WITHOUT_URL, Settings, SettingsError
from otastats.errors import TooManyRequests
from otastats.storage.base import Store
from otastats.storage.rate_limit_counters import (
    CountersUnavailable,
    DatabaseCounters,
    counters_beside,
)

AUTH_FAILURE_WINDOW_MINUTES = 15


@dataclass
class RateLimits:
    per_key: RateLimitItem | None
    auth_failures: RateLimitItem | None
    limiter: strategies.RateLimiter
    per_plugin_client: RateLimitItem | None = None
    """Requests a minute to the plugin URLs of one token from one client address."""
    plugin_limiter: strategies.RateLimiter | None = None

    @classmethod
    def in_memory(cls, per_key_per_minute: int, auth_failures: int) -> RateLimits:
        return cls.counted_in(storage.MemoryStorage(), per_key_per_minute, auth_failures)

    @classmethod
    def from_settings(
        cls, settings: Settings, store: Store, *, redis_prefix: str = "otastats"
    ) -> RateLimits:
        """Counters where the settings say; ``store`` is the database the service uses."""
        limits = cls._key_limits(settings, store, redis_prefix)
        if settings.plugin_rate_limit:
            limits.per_plugin_client = RateLimitItemPerMinute(settings.plugin_rate_limit)
            counters = (
                _redis(settings, redis_prefix)
                if settings.counters_store == "redis"
                else storage.MemoryStorage()
            )
            limits.plugin_limiter = strategies.MovingWindowRateLimiter(counters)
        return limits

    @classmethod
    def _key_limits(cls, settings: Settings, store: Store, redis_prefix: str) -> RateLimits:
        per_minute, failures = settings.rate_limit, settings.auth_failure_limit
        where = settings.counters_store
        if where == "memory" or not (per_minute or failures):
            return cls.in_memory(per_minute, failures)
        if where == "redis":
            return cls.counted_in(_redis(settings, redis_prefix), per_minute, failures)
        try:
            counters = counters_beside(store)
        except CountersUnavailable as exc:
            raise SettingsError(
                f"OTASTATS_RATE_LIMIT_STORE=database: the database cannot keep the rate-limit"
                f" counters ({exc}); fix that, or set OTASTATS_RATE_LIMIT_STORE to redis or memory"
            ) from None
        if counters is None:
            # A database in memory belongs to this process alone: so do its counters.
            return cls.in_memory(per_minute, failures)
        return cls.counted_in(counters, per_minute, failures)

    @classmethod
    def counted_in(
        cls, counters: storage.Storage, per_minute: int, auth_failures: int
    ) -> RateLimits:
        """The two limits (0: off), counted in ``counters``."""
        return cls(
            per_key=RateLimitItemPerMinute(per_minute) if per_minute else None,
            auth_failures=(
                RateLimitItemPerMinute(auth_failures, AUTH_FAILURE_WINDOW_MINUTES)
                if auth_failures
                else None
            ),
            limiter=strategies.MovingWindowRateLimiter(counters),
        )

    def close(self) -> None:
        """Release the database connections of the counters (a later use opens them again)."""
        if isinstance(self.limiter.storage, DatabaseCounters):
            self.limiter.storage.close()

    def check_address(self, address: str) -> None:
        """Refuse an address that has used up its failed authentications."""
        item = self.auth_failures
        if item is not None and not self.limiter.test(item, "auth-failures", address):
            raise TooManyRequests(
                f"Too many failed authentications from this address; at most {item.amount}"
                f" in {AUTH_FAILURE_WINDOW_MINUTES} minutes",
                self._retry_after(item, "auth-failures", address),
            )

    def record_failure(self, address: str) -> None:
        if self.auth_failures is not None:
            self.limiter.hit(self.auth_failures, "auth-failures", address)

    def hit_key(self, key_id: str) -> None:
        item = self.per_key
        if item is not None and not self.limiter.hit(item, "key", key_id):
            raise TooManyRequests(
                f"Too many requests with this API key; at most {item.amount} a minute",
                self._retry_after(item, "key", key_id),
            )

    @property
    def plugin_counted_in_memory(self) -> bool:
        """Whether counting a plugin request waits on no I/O (it may run on the event loop)."""
        limiter = self.plugin_limiter
        return limiter is None or isinstance(limiter.storage, storage.MemoryStorage)

    def hit_plugin(self, token_id: str, address: str) -> None:
        """Count a request to a plugin URL; TooManyRequests (with its retry delay) when over."""
        item, limiter = self.per_plugin_client, self.plugin_limiter
        if item is None or limiter is None or limiter.hit(item, "plugin", token_id, address):
            return
        stats = limiter.get_window_stats(item, "plugin", token_id, address)
        raise TooManyRequests(
            f"Too many requests to this plugin URL from this address; at most {item.amount}"
            " a minute",
            max(1, math.ceil(stats.reset_time - time.time())),
        )

    def _retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        stats = self.limiter.get_window_stats(item, *identifiers)
        return max(1, math.ceil(stats.reset_time - time.time()))


def _redis(settings: Settings, prefix: str) -> storage.Storage:
    """Counters in Redis, shared by every server process that uses the same server."""
    if settings.redis_url is None:
        raise SettingsError(REDIS_STORE_WITHOUT_URL)
    shared = storage.RedisStorage(settings.redis_url, key_prefix=prefix)
    if not shared.check():
        raise SettingsError(
            f"OTASTATS_REDIS_URL: no Redis answers at {settings.redis_url}; start it,"
            " correct the URL, or unset it to keep rate limits in the database"
        )
    return shared
