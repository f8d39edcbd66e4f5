"""Retry delays: growing, with jitter, for at least the retry window, then given up."""

from __future__ import annotations

import itertools

from otastats.alerts.retry import RetryPolicy, next_attempt

S = 1_000_000  # microseconds in a second


def test_delays_double_up_to_the_cap_within_their_jitter() -> None:
    policy = RetryPolicy(first_ms=5_000, max_ms=3_600_000, retry_for_ms=86_400_000)
    for attempts, nominal_s in ((1, 5), (2, 10), (3, 20), (10, 2560), (11, 3600), (30, 3600)):
        low = next_attempt(policy, 0, attempts, 100 * S, lambda: 0.0)
        high = next_attempt(policy, 0, attempts, 100 * S, lambda: 0.999999)
        assert low == 100 * S + nominal_s * S // 2
        assert high is not None
        assert nominal_s * S // 2 < high - 100 * S <= nominal_s * S


def test_retries_span_at_least_the_window_then_stop() -> None:
    policy = RetryPolicy()
    created = 7 * S
    now, attempts = created, 1
    times = [now]
    while True:
        later = next_attempt(policy, created, attempts, now, lambda: 0.5)
        if later is None:
            break
        now, attempts = later, attempts + 1
        times.append(now)
    assert times[-1] - created >= 24 * 3600 * S
    assert times[-2] - created < 24 * 3600 * S
    assert 25 <= len(times) <= 60
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == sorted(gaps)


def test_a_short_window_for_tests() -> None:
    policy = RetryPolicy(first_ms=10, max_ms=40, retry_for_ms=1_000)
    assert next_attempt(policy, 0, 1, 0, lambda: 0.0) == 5_000
    assert next_attempt(policy, 0, 9, 999_999, lambda: 0.0) == 999_999 + 20_000
    assert next_attempt(policy, 0, 9, 1_000_000, lambda: 0.0) is None
