"""Turning stored per-day deltas into the zero-filled daily points of a range."""

from __future__ import annotations

from otastats.stats.parser import StatsQuery
from otastats.storage.records import MetricRows
from otastats.timeparse import day_to_iso

Point = dict[str, int | str]


def points(
    rows: MetricRows,
    key: str | None,
    query: StatsQuery,
    dates: list[str] | None = None,
    *,
    named: bool = False,
) -> list[Point]:
    """The points of one app (or of the apps summed, key None), mau and storage as levels.

    With ``named``, each point starts with the ``app_id`` it is of (the rows of an org
    breakdown); ``dates`` may pass the ISO dates of ``query.days`` when many series share them.
    """
    mau = rows.mau_base.get(key, 0)
    storage = rows.storage_base.get(key, 0)
    bandwidth_total = 0
    by_day = rows.days.get(key, {})
    accumulate = not query.no_accumulate
    result: list[Point] = []
    append = result.append
    for day, date in zip(query.days, dates or iso_dates(query), strict=True):
        mau_delta, storage_delta, bandwidth = by_day.get(day, _NOTHING)
        mau += mau_delta
        storage += storage_delta
        bandwidth_total += bandwidth
        shown = bandwidth_total if accumulate else bandwidth
        if named:
            assert key is not None
            append(
                {"app_id": key, "date": date, "mau": mau, "storage": storage, "bandwidth": shown}
            )
        else:
            append({"date": date, "mau": mau, "storage": storage, "bandwidth": shown})
    return result


_NOTHING = (0, 0, 0)


def iso_dates(query: StatsQuery) -> list[str]:
    return [day_to_iso(day) for day in query.days]
