"""The bundle_usage answer: each version's share of the devices counted in mau, by day."""

from __future__ import annotations

from otastats.stats.parser import StatsQuery
from otastats.stats.rounding import percentages
from otastats.storage.records import VersionRows
from otastats.timeparse import day_to_iso


def bundle_usage(rows: VersionRows, query: StatsQuery) -> dict[str, list[object]]:
    days = query.days
    counts: dict[str, list[int]] = {}
    for version in set(rows.base) | set(rows.days):
        level = rows.base.get(version, 0)
        by_day = rows.days.get(version, {})
        series = []
        for day in days:
            level += by_day.get(day, 0)
            series.append(level)
        if any(series):
            counts[version] = series
    order = sorted(counts, key=lambda v: (rows.first_seen.get(v, 0), v))
    shares = [percentages([counts[v][i] for v in order]) for i in range(len(days))]
    return {
        "labels": [day_to_iso(day) for day in days],
        "datasets": [
            {
                "label": version,
                "data": [shares[i][position] for i in range(len(days))],
                "counts": counts[version],
            }
            for position, version in enumerate(order)
        ],
    }
