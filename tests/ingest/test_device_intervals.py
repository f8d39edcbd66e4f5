"""The interval engine: activity days -> mau and per-version deltas, for any arrival order."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from otastats.ingest.device_intervals import (
    WINDOW_DAYS,
    IntervalDeltas,
    merge_activity,
    neighbourhood,
)
from otastats.storage.base import DayState

APP = "com.example.app"


def fold(checkins: list[tuple[int, str, int]]) -> dict[int, DayState]:
    """Fold (day, version, ts) check-ins one at a time, keeping the kept deltas."""
    states: dict[int, DayState] = {}
    for day, version, ts in checkins:
        merge_activity(states, day, version, ts)
    return states


def levels(deltas: IntervalDeltas, days: range) -> tuple[list[int], dict[str, list[int]]]:
    """Prefix sums of the deltas: mau and each version's count on each day of ``days``."""
    mau = [sum(d for (_, day), d in deltas.mau.items() if day <= at) for at in days]
    versions: dict[str, list[int]] = {}
    for (_, version, _), _ in deltas.versions.items():
        versions[version] = [
            sum(d for (_, v, day), d in deltas.versions.items() if v == version and day <= at)
            for at in days
        ]
    return mau, versions


def brute_force(states: dict[int, DayState], days: range) -> tuple[list[int], dict[str, list[int]]]:
    mau = []
    versions: dict[str, list[int]] = {}
    for at in days:
        window = [day for day in states if at - WINDOW_DAYS < day <= at]
        mau.append(1 if window else 0)
        for version in {v for v, _ in states.values()}:
            versions.setdefault(version, [])
            latest = max((day for day in states if day <= at), default=None)
            on = bool(window) and latest is not None and states[latest][0] == version
            versions[version].append(1 if on else 0)
    return mau, versions


def incremental(arrivals: list[list[tuple[int, str, int]]]) -> IntervalDeltas:
    """Apply batches the way ingestion does: each batch against the state stored so far."""
    deltas = IntervalDeltas()
    stored: dict[int, DayState] = {}
    for batch in arrivals:
        # Only the stored days near the batch's days are read, as the store does.
        ranges = neighbourhood(day for day, _, _ in batch)
        old = {day: state for day, state in stored.items() if within(day, ranges)}
        new = dict(old)
        dirty = {day for day, version, ts in batch if merge_activity(new, day, version, ts)}
        changed = {day for day in dirty if day not in old or old[day][0] != new[day][0]}
        if changed:
            deltas.replace_days(APP, old, new, changed)
        stored.update((day, new[day]) for day in dirty)
    return deltas


def within(day: int, ranges: list[tuple[int, int]]) -> bool:
    return any(low <= day <= high for low, high in ranges)


def test_one_checkin_counts_for_thirty_days() -> None:
    deltas = incremental([[(100, "1.0", 5)]])
    mau, versions = levels(deltas, range(99, 132))
    assert mau == [0] + [1] * 30 + [0, 0]
    assert versions["1.0"] == mau


def test_a_later_day_moves_the_device_to_its_new_version() -> None:
    deltas = incremental([[(100, "1.0", 5)], [(110, "2.0", 7)]])
    mau, versions = levels(deltas, range(100, 141))
    assert mau == [1] * 40 + [0]
    assert versions["1.0"] == [1] * 10 + [0] * 31
    assert versions["2.0"] == [0] * 10 + [1] * 30 + [0]


def test_a_late_event_for_an_earlier_day_splits_the_interval() -> None:
    on_time = incremental([[(100, "1.0", 5), (105, "1.1", 6), (110, "2.0", 7)]])
    late = incremental([[(100, "1.0", 5)], [(110, "2.0", 7)], [(105, "1.1", 6)]])
    assert levels(on_time, range(95, 145)) == levels(late, range(95, 145))
    _, versions = levels(late, range(100, 111))
    assert versions["1.1"] == [0] * 5 + [1] * 5 + [0]


def test_at_equal_timestamps_the_greatest_version_name_wins() -> None:
    states = fold([(100, "1.9", 42), (100, "1.10", 42)])
    assert states[100] == ("1.9", 42)  # "1.9" > "1.10" in code-point order
    states = fold([(100, "2.0", 41), (100, "1.0", 42)])
    assert states[100] == ("1.0", 42)  # the latest check-in of the day decides


def test_the_neighbourhood_of_days_is_30_days_either_side_merged() -> None:
    assert neighbourhood([]) == []
    assert neighbourhood([100]) == [(70, 130)]
    assert neighbourhood([100, 161, 100]) == [(70, 191)]  # 131 follows 130: one range
    assert neighbourhood([162, 100]) == [(70, 130), (132, 192)]


checkin = st.tuples(
    st.integers(min_value=0, max_value=200),
    st.sampled_from(["1.0", "1.1", "2.0"]),
    st.integers(min_value=0, max_value=3),
)


@given(st.lists(checkin, min_size=1, max_size=16), st.randoms(use_true_random=False))
def test_any_order_and_batching_equals_the_brute_force(
    checkins: list[tuple[int, str, int]], rng: object
) -> None:
    import random

    assert isinstance(rng, random.Random)
    shuffled = list(checkins)
    rng.shuffle(shuffled)
    cuts = sorted(rng.sample(range(len(shuffled) + 1), k=min(3, len(shuffled) + 1)))
    batches = [shuffled[a:b] for a, b in itertools.pairwise([0, *cuts, len(shuffled)])]
    deltas = incremental(batches)
    days = range(-1, 235)
    expected_mau, expected_versions = brute_force(fold(checkins), days)
    mau, versions = levels(deltas, days)
    assert mau == expected_mau
    for version, counts in expected_versions.items():
        assert versions.get(version, [0] * len(days)) == counts
