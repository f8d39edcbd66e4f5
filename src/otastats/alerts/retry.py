"""When a failed webhook call is tried again: delays that double up to a cap, with jitter, for
at least the retry window; then the call is given up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first_ms: int = 5_000
    """The delay after the first failed attempt (before jitter)."""
    max_ms: int = 3_600_000
    """The longest delay between two attempts (before jitter)."""
    retry_for_ms: int = 86_400_000
    """A call is tried again while less than this has passed since its state change."""


def next_attempt(
    policy: RetryPolicy,
    created_at: int,
    attempts: int,
    now: int,
    jitter: Callable[[], float],
) -> int | None:
    """The instant (microseconds) of the next attempt after ``attempts`` failed ones, the last
    at ``now``; None when the call is given up. ``jitter()`` returns a number in [0, 1): each
    delay is between half and all of its nominal value, so that calls that failed together do
    not all come back together."""
    if (now - created_at) >= policy.retry_for_ms * 1000:
        return None
    nominal = min(policy.max_ms, policy.first_ms * 2 ** min(attempts - 1, 40))
    delay_ms = nominal * (0.5 + 0.5 * jitter())
    return now + int(delay_ms * 1000)
