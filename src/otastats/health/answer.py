"""The answer of ``GET /statistics/app/:app_id/health`` (SPEC section 8), shaped from the kept
counters of one read: per version, the distinct devices of each class up to ``to`` (totals),
on each label day (daily), and the rollback and crash rates."""

from __future__ import annotations

from typing import Any

from otastats.health.classes import CLASSES, CRASHES, DEVICES, INSTALLS, ROLLBACKS
from otastats.stats.parser import StatsQuery
from otastats.storage.records import HealthRows
from otastats.timeparse import day_to_iso


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _totals(rows: HealthRows) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Each version's counts up to ``to`` (its devices of the whole history less those whose
    first day is later) and its first day."""
    totals: dict[str, dict[str, int]] = {}
    first_day: dict[str, int] = {}
    for (version, name), (devices, first) in rows.totals.items():
        totals.setdefault(version, dict.fromkeys(CLASSES, 0))[name] = devices - rows.later.get(
            (version, name), 0
        )
        first_day[version] = min(first, first_day.get(version, first))
    return totals, first_day


def _listed(totals: dict[str, dict[str, int]]) -> list[str]:
    return [version for version, counts in totals.items() if any(counts.values())]


def versions_answered(rows: HealthRows) -> int:
    """How many versions the answer lists (those with a non-zero total): what its size grows
    with, times its days."""
    return len(_listed(_totals(rows)[0]))


def health_answer(rows: HealthRows, query: StatsQuery) -> dict[str, Any]:
    """``{"labels", "versions"}``; totals count up to the last label day (today when ``to`` is
    later), so that they never include a day the answer leaves out."""
    days = query.days
    totals, first_day = _totals(rows)
    listed = _listed(totals)
    listed.sort(key=lambda version: (first_day[version], version))
    versions = []
    for version in listed:
        counts = totals[version]
        daily = {
            name: [rows.days.get((version, name), {}).get(day, 0) for day in days]
            for name in CLASSES
        }
        versions.append(
            {
                "version": version,
                "totals": counts,
                "rates": {
                    "rollback": _rate(counts[ROLLBACKS], counts[INSTALLS]),
                    "crash": _rate(counts[CRASHES], counts[DEVICES]),
                },
                "daily": daily,
            }
        )
    return {"labels": [day_to_iso(day) for day in days], "versions": versions}
