"""Percentages: one decimal, exactly 100.0 a day, largest remainders, first listed on ties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from otastats.stats.rounding import percentages, tenths


def test_three_equal_shares_give_the_extra_tenth_to_the_first() -> None:
    assert percentages([1, 1, 1]) == [33.4, 33.3, 33.3]


def test_a_day_with_no_devices_is_zero_for_every_version() -> None:
    assert percentages([0, 0, 0]) == [0.0, 0.0, 0.0]


def test_largest_remainder_gets_the_missing_tenth() -> None:
    # 2/3 = 66.66.. and 1/3 = 33.33..: floors 66.6 + 33.3, the larger remainder is 2/3's.
    assert percentages([2, 1]) == [66.7, 33.3]
    assert percentages([1, 2]) == [33.3, 66.7]


def test_a_tiny_share_can_round_to_zero_and_still_sums_to_100() -> None:
    shares = percentages([1, 9999])
    assert shares == [0.0, 100.0]


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12))
def test_shares_sum_to_exactly_1000_tenths_and_are_floor_or_ceiling(counts: list[int]) -> None:
    result = tenths(counts)
    total = sum(counts)
    if total == 0:
        assert result == [0] * len(counts)
        return
    assert sum(result) == 1000
    for count, share in zip(counts, result, strict=True):
        exact = count * 1000 / total
        assert share in (int(exact), int(exact) + 1)
