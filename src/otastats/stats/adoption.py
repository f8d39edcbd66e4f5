"""The adoption answer: each version's share and count on one day, its first day, and when its
share is expected to reach 50 % and 90 %.

The shares and counts are bundle_usage's, computed by the same function over a range that ends
on the day, so the two answers always agree; the forecast (otastats.stats.adoption_forecast)
reads each version's curve of those same shares since its first day.
"""

from __future__ import annotations

from dataclasses import dataclass

from otastats.stats.adoption_forecast import forecast
from otastats.stats.bundle_usage import bundle_usage
from otastats.stats.parser import FIRST_DAY, LAST_DAY, StatsQuery
from otastats.storage.records import VersionRows
from otastats.timeparse import MICROS_PER_DAY, day_to_iso

FORECAST_DAYS = 90
"""A version gets a forecast in its first 90 days; the answer reads at most these many days."""
LEVELS = (50.0, 90.0)

Answer = dict[str, object]


@dataclass(frozen=True, slots=True)
class Curve:
    """One version's bundle_usage figures, day by day from ``from_day``."""

    version: str
    first_day: int
    from_day: int
    shares: list[float]
    counts: list[int]

    def since_first_day(self) -> list[float] | None:
        """The shares from the version's first day on; None when that day is before the read."""
        if self.first_day < self.from_day:
            return None
        return self.shares[self.first_day - self.from_day :]


def read_range(day: int) -> tuple[int, int]:
    """The days to read for the answer on ``day``: the last FORECAST_DAYS up to it."""
    return max(FIRST_DAY, day - FORECAST_DAYS + 1), day


def first_day(rows: VersionRows, version: str) -> int:
    """The day of the version's first ``bundle_created`` or counted activity: the instant that
    orders bundle_usage's datasets, so both answers list versions alike."""
    return rows.first_seen.get(version, 0) // MICROS_PER_DAY


def share_curves(rows: VersionRows, from_day: int, to_day: int) -> list[Curve]:
    """bundle_usage's datasets over the days, in its order, as curves."""
    answer = bundle_usage(rows, StatsQuery(from_day, to_day))
    curves = []
    for dataset in answer["datasets"]:
        assert isinstance(dataset, dict)
        version = dataset["label"]
        curves.append(
            Curve(version, first_day(rows, version), from_day, dataset["data"], dataset["counts"])
        )
    return curves


def adoption(rows: VersionRows, day: int) -> Answer:
    """The answer on ``day`` from the rows of ``read_range(day)``."""
    from_day, to_day = read_range(day)
    versions = []
    for curve in share_curves(rows, from_day, to_day):
        if curve.counts[-1] == 0:
            continue
        history = curve.since_first_day()
        dates: dict[float, int | None] = (
            dict.fromkeys(LEVELS) if history is None else forecast(history, LEVELS)
        )
        versions.append(
            {
                "version": curve.version,
                "share": curve.shares[-1],
                "count": curve.counts[-1],
                "first_day": day_to_iso(curve.first_day),
                "forecast": {
                    f"{level:.0f}": _date(curve.first_day, at) for level, at in dates.items()
                },
            }
        )
    return {"date": day_to_iso(day), "versions": versions}


def _date(first: int, offset: int | None) -> str | None:
    if offset is None or first + offset > LAST_DAY:
        return None
    return day_to_iso(first + offset)
