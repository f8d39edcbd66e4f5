"""What every request handler shares: the store, the clock and the rate limits."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from otastats.alerts.hook import AlertHook
from otastats.auth.rate_limits import RateLimits
from otastats.config import Settings
from otastats.ingest.group_commit import GroupCommit
from otastats.storage.base import Store
from otastats.timeparse import datetime_to_micros

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def clock_for(settings: Settings) -> Clock:
    """The system clock, or one that starts at ``settings.fake_now`` and runs on from there.

    A running clock, not a frozen one, so that rate-limit windows and timings still move."""
    start = settings.fake_now
    if start is None:
        return system_clock
    started = time.monotonic()
    return lambda: start.astimezone(UTC) + timedelta(seconds=time.monotonic() - started)


@dataclass(frozen=True)
class ServiceContext:
    settings: Settings
    store: Store
    clock: Clock
    limits: RateLimits
    writes: GroupCommit
    alerts: AlertHook

    def now(self) -> int:
        """The current instant, in microseconds since the epoch."""
        return datetime_to_micros(self.clock())
