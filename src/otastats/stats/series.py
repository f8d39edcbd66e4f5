"""Turning stored per-day deltas into the zero-filled daily points of a range."""

from __future__ import annotations

from otastats.stats.parser import StatsQuery
from otastats.storage.records import MetricRows
from otastats.timeparse import day_to_iso

Point = dict[str, int | str]


def points(rows: MetricRows, key: str | None, query: StatsQuery) -> list[Point]:
    """The points of one app (or of the apps summed, key None), mau and storage as levels."""
    mau = rows.mau_base.get(key, 0)
    storage = rows.storage_base.get(key, 0)
    bandwidth_total = 0
    by_day = rows.days.get(key, {})
    result: list[Point] = []
    for day in query.days:
        mau_delta, storage_delta, bandwidth = by_day.get(day, (0, 0, 0))
        mau += mau_delta
        storage += storage_delta
        bandwidth_total += bandwidth
        result.append(
            {
                "date": day_to_iso(day),
                "mau": mau,
                "storage": storage,
                "bandwidth": bandwidth if query.no_accumulate else bandwidth_total,
            }
        )
    return result
