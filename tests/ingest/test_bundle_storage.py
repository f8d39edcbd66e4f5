"""Storage per version: latest creation, deletions that follow it, any arrival order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from otastats.ingest.bundle_storage import level_changes, storage_delta
from otastats.timeparse import MICROS_PER_DAY

DAY = MICROS_PER_DAY


def levels(changes: dict[int, int], days: range) -> list[int]:
    return [sum(c for day, c in changes.items() if day <= at) for at in days]


def brute_force(events: list[tuple[int, bool, int]], days: range) -> list[int]:
    result = []
    for at in days:
        end = (at + 1) * DAY - 1
        created = [(ts, size) for ts, is_created, size in events if is_created and ts <= end]
        if not created:
            result.append(0)
            continue
        ts, size = max(created)
        deleted = any(not c and ts <= t <= end for t, c, _ in events)
        result.append(0 if deleted else size)
    return result


def test_created_then_deleted_days_later() -> None:
    events = [(10 * DAY + 5, True, 100), (12 * DAY, False, 0)]
    assert levels(level_changes(events), range(9, 14)) == [0, 100, 100, 0, 0]


def test_a_recreation_after_a_deletion_counts_again_with_its_new_size() -> None:
    events = [(10 * DAY, True, 100), (11 * DAY, False, 0), (12 * DAY, True, 70)]
    assert levels(level_changes(events), range(10, 14)) == [100, 0, 70, 70]


def test_a_deletion_at_the_same_instant_as_the_creation_follows_it() -> None:
    events = [(10 * DAY + 1, True, 100), (10 * DAY + 1, False, 0)]
    assert levels(level_changes(events), range(10, 12)) == [0, 0]


def test_equal_creation_timestamps_take_the_larger_size() -> None:
    events = [(10 * DAY, True, 100), (10 * DAY, True, 300)]
    assert levels(level_changes(events), range(10, 11)) == [300]


bundle_event = st.tuples(
    st.integers(min_value=0, max_value=6 * DAY).map(lambda t: t - t % (DAY // 4)),
    st.booleans(),
    st.integers(min_value=0, max_value=1000),
)


@given(st.lists(bundle_event, max_size=8), st.lists(bundle_event, max_size=8))
def test_incremental_deltas_equal_the_brute_force(
    first: list[tuple[int, bool, int]], later: list[tuple[int, bool, int]]
) -> None:
    deleted_sizes = [(ts, c, size if c else 0) for ts, c, size in first + later]
    old = deleted_sizes[: len(first)]
    new = deleted_sizes
    applied = dict(level_changes(old))
    for day, change in storage_delta(old, new).items():
        applied[day] = applied.get(day, 0) + change
    days = range(-1, 8)
    assert levels(applied, days) == brute_force(new, days)
