"""The adoption forecast on synthetic share curves: exact logistics, flat, falling, past."""

from __future__ import annotations

import math

import pytest

from otastats.stats.adoption_forecast import MAX_REACH, fit, forecast


def logistic(rate: float, midpoint: float, days: int) -> list[float]:
    """A logistic share curve of ceiling 100 %, rounded to one decimal as the API gives it."""
    return [round(100 / (1 + math.exp(-rate * (t - midpoint))), 1) for t in range(days)]


def test_an_exact_logistic_gives_the_day_it_reaches_each_level() -> None:
    # 50 % at t = 9.5, so first on day 10; 90 % at t = 9.5 + ln(9) / 0.5 = 13.89, so day 14.
    curve = logistic(0.5, 9.5, 30)
    assert curve[9] < 50 <= curve[10]
    assert curve[13] < 90 <= curve[14]
    for seen in (5, 7, 9):
        assert forecast(curve[:seen], max_reach=math.inf) == {50.0: 10, 90.0: 14}
    model = fit(curve[:7])
    assert model is not None
    assert model.rate == pytest.approx(0.5, rel=0.01)
    assert model.midpoint == pytest.approx(9.5, abs=0.05)


def test_another_rate_and_midpoint() -> None:
    # 50 % at t = 6.5, so day 7; 90 % at 6.5 + ln(9) / 0.8 = 9.25, so day 10.
    curve = logistic(0.8, 6.5, 20)
    assert forecast(curve[:5], max_reach=math.inf) == {50.0: 7, 90.0: 10}


def test_days_further_ahead_than_the_limit_get_no_forecast() -> None:
    curve = logistic(0.5, 9.5, 30)
    # 7 days seen: the limit is 7 * MAX_REACH days after the last one (day 6).
    answer = forecast(curve[:7])
    for level, day in ((50.0, 10), (90.0, 14)):
        assert answer[level] == (day if day - 6 <= MAX_REACH * 7 else None)
    assert answer[90.0] is None
    assert forecast(curve[:12]) == {50.0: None, 90.0: 14}  # 50 % reached on day 10


@pytest.mark.parametrize(
    "shares",
    [
        [20.0] * 8,  # flat
        [30.0, 28.0, 25.0, 22.0, 20.0, 18.0],  # falling
        [10.0, 20.0, 30.0, 32.0, 31.0, 30.0, 30.0],  # stopped rising
        [0.0, 0.0, 0.0, 0.0],  # no device yet
        [5.0, 10.0],  # too few days
        [],
    ],
)
def test_no_forecast_when_the_share_is_not_rising(shares: list[float]) -> None:
    assert forecast(shares, max_reach=math.inf) == {50.0: None, 90.0: None}


def test_no_forecast_for_a_level_already_reached() -> None:
    curve = logistic(0.5, 9.5, 30)
    answer = forecast(curve[:13], max_reach=math.inf)
    assert answer == {50.0: None, 90.0: 14}
    # Reached, then fallen back below: still past.
    assert forecast([20.0, 40.0, 55.0, 45.0, 48.0], max_reach=math.inf)[50.0] is None
    assert forecast([100.0, 100.0, 100.0]) == {50.0: None, 90.0: None}


def test_a_forecast_is_always_after_the_last_day_seen() -> None:
    # A curve that jumps slower than its fit: the fitted day may be in the past, the answer
    # is then the next day.
    shares = [1.0, 10.0, 30.0, 45.0, 49.0]
    answer = forecast(shares, max_reach=math.inf)
    assert answer[50.0] == 5


def test_zero_days_are_left_out_of_the_fit() -> None:
    curve = logistic(0.5, 9.5, 30)
    with_gap = [0.0, 0.0, *curve[2:9]]
    assert forecast(with_gap, max_reach=math.inf) == {50.0: 10, 90.0: 14}
