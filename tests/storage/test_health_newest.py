"""The search for an app's newest version by first day (storage.health_newest.newest_version),
on hand-made class rows: the version with the latest first day, ties to the greater name, a
class that first reports late on an older version, and the rows it reads."""

from __future__ import annotations

import pytest

from otastats.storage.health_newest import newest_version

# version -> the first day of each of its classes
Rows = dict[str, list[int]]


def search(rows: Rows, to_day: int) -> tuple[str | None, set[str]]:
    looked_up: set[str] = set()

    def last_day(day: int) -> int | None:
        return max((d for days in rows.values() for d in days if d <= day), default=None)

    def versions_on(day: int) -> list[str]:
        return sorted(v for v, days in rows.items() if day in days)

    def first_day(version: str) -> int:
        looked_up.add(version)
        return min(rows[version])

    return newest_version(last_day, versions_on, first_day, to_day), looked_up


@pytest.mark.parametrize(
    ("rows", "to_day", "newest"),
    [
        ({}, 10, None),
        ({"1.0": [1, 2], "2.0": [5, 6]}, 10, "2.0"),
        ({"1.0": [1, 9], "2.0": [5, 6]}, 10, "2.0"),  # 1.0's late class does not make it newer
        ({"1.0": [5], "1.1": [5], "0.9": [5, 7]}, 10, "1.1"),  # a tie: the greater name
        ({"1.0": [1, 2], "2.0": [5, 6]}, 4, "1.0"),  # 2.0 reports after to: not listed
        ({"1.0": [1, 2], "2.0": [5, 6]}, 0, None),
        ({"1.0": [1, 2], "2.0": [5, 6]}, 5, "2.0"),
    ],
)
def test_the_newest_is_the_last_in_the_health_ordering(
    rows: Rows, to_day: int, newest: str | None
) -> None:
    listed = [v for v in rows if min(rows[v]) <= to_day]
    ordering = sorted(listed, key=lambda v: (min(rows[v]), v))
    assert search(rows, to_day)[0] == newest == (ordering[-1] if ordering else None)


def test_only_versions_reporting_since_the_newest_first_day_are_read() -> None:
    rows = {f"1.{i}": [i, i + 1] for i in range(1_000)}
    rows["0.1"] = [0, 999]  # an old version with a class that first reports late
    newest, looked_up = search(rows, 2_000)
    assert newest == "1.999"
    # 1.998 and 0.1 have a class first reported on 1.999's first day (999): read, no other.
    assert looked_up == {"1.999", "1.998", "0.1"}
