"""Request-rate limits: per API key, and per client address for failed authentications."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute, storage, strategies

from otastats.config import Settings, SettingsError
from otastats.errors import TooManyRequests

AUTH_FAILURE_WINDOW_MINUTES = 15


@dataclass
class RateLimits:
    per_key: RateLimitItem | None
    auth_failures: RateLimitItem | None
    limiter: strategies.RateLimiter

    @classmethod
    def in_memory(cls, per_key_per_minute: int, auth_failures: int) -> RateLimits:
        return cls._with(storage.MemoryStorage(), per_key_per_minute, auth_failures)

    @classmethod
    def from_settings(cls, settings: Settings, *, redis_prefix: str = "otastats") -> RateLimits:
        """Counters in Redis when OTASTATS_REDIS_URL is set, so that every server process
        sharing it shares the limits; otherwise in this process's memory."""
        if settings.redis_url is None:
            return cls.in_memory(settings.rate_limit, settings.auth_failure_limit)
        shared = storage.RedisStorage(settings.redis_url, key_prefix=redis_prefix)
        if not shared.check():
            raise SettingsError(
                f"OTASTATS_REDIS_URL: no Redis answers at {settings.redis_url}; start it,"
                " correct the URL, or unset it to keep rate limits in memory"
            )
        return cls._with(shared, settings.rate_limit, settings.auth_failure_limit)

    @classmethod
    def _with(cls, counters: storage.Storage, per_minute: int, auth_failures: int) -> RateLimits:
        return cls(
            per_key=RateLimitItemPerMinute(per_minute) if per_minute else None,
            auth_failures=(
                RateLimitItemPerMinute(auth_failures, AUTH_FAILURE_WINDOW_MINUTES)
                if auth_failures
                else None
            ),
            limiter=strategies.MovingWindowRateLimiter(counters),
        )

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

    def _retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        stats = self.limiter.get_window_stats(item, *identifiers)
        return max(1, math.ceil(stats.reset_time - time.time()))
