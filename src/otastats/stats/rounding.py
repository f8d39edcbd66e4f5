"""Percentages with one decimal that sum to exactly 100.0 (largest remainders)."""

from __future__ import annotations


def tenths(counts: list[int]) -> list[int]:
    """Each count's share in tenths of a percent, summing to 1000 when any count is above 0.

    Shares are floored to a tenth; the missing tenths go to the largest remainders, and at
    equal remainders to the count listed first.
    """
    total = sum(counts)
    if total == 0:
        return [0] * len(counts)
    floors = [count * 1000 // total for count in counts]
    remainders = [count * 1000 % total for count in counts]
    missing = 1000 - sum(floors)
    order = sorted(range(len(counts)), key=lambda i: (-remainders[i], i))
    for i in order[:missing]:
        floors[i] += 1
    return floors


def percentages(counts: list[int]) -> list[float]:
    return [share / 10 for share in tenths(counts)]
