"""The update-health counters of an app's newest version (the last in the health answer's
ordering), read without going through the app's history: what an alert on a rate watches.

The newest version is the one whose first day (the earliest ``first_day`` of its classes in
``health_totals``) is the latest, ties broken by the greater name. The search walks the index
of ``health_totals`` on ``(app_id, first_day)`` back from ``to``, one first day at a time, and
stops at the first day before the best version's: it reads only the versions that first
reported some class on or after the newest version's first day, however long the history.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

from otastats.storage.records import HealthRows

Conn = psycopg.Connection[tuple[Any, ...]]


def newest_version(
    last_day: Callable[[int], int | None],
    versions_on: Callable[[int], Iterable[str]],
    first_day: Callable[[str], int],
    to_day: int,
) -> str | None:
    """``last_day(d)``: the latest first day of any class at or before ``d``; ``versions_on(d)``:
    the versions with a class whose first day is ``d``; ``first_day(v)``: the first day of
    ``v``. A version whose first day is after ``to`` has no device up to ``to``: not listed."""
    best: tuple[int, str] | None = None
    seen: set[str] = set()
    day = last_day(to_day)
    # A version not seen yet has all its first days before ``day``: none can beat ``best``
    # once ``day`` is earlier than best's first day.
    while day is not None and (best is None or day >= best[0]):
        for version in versions_on(day):
            if version not in seen:
                seen.add(version)
                found = (first_day(version), version)
                best = found if best is None else max(best, found)
        day = last_day(day - 1)
    return None if best is None else best[1]


def _rows(
    version: str | None, totals: Iterable[tuple[Any, ...]], later: Iterable[tuple[Any, ...]]
) -> HealthRows:
    rows = HealthRows()
    if version is None:
        return rows
    for name, devices, first in totals:
        rows.totals[(version, name)] = (devices, first)
    for name, count in later:
        rows.later[(version, name)] = count
    return rows


def sqlite_rows(conn: sqlite3.Connection, app_id: str, to_day: int) -> HealthRows:
    """The newest version's totals and later counts (no days), as health_rows reads them."""
    version = newest_version(
        lambda day: conn.execute(
            "SELECT MAX(first_day) FROM health_totals WHERE app_id = ? AND first_day <= ?",
            (app_id, day),
        ).fetchone()[0],
        lambda day: [
            v
            for (v,) in conn.execute(
                "SELECT DISTINCT version_name FROM health_totals"
                " WHERE app_id = ? AND first_day = ?",
                (app_id, day),
            )
        ],
        # The class rows by key, their minimum here: MIN() in SQL would walk the first-day
        # index of the whole app instead.
        lambda v: min(
            day
            for (day,) in conn.execute(
                "SELECT first_day FROM health_totals WHERE app_id = ? AND version_name = ?",
                (app_id, v),
            )
        ),
        to_day,
    )
    return _rows(
        version,
        conn.execute(
            "SELECT class, devices, first_day FROM health_totals"
            " WHERE app_id = ? AND version_name = ?",
            (app_id, version),
        ),
        conn.execute(
            "SELECT class, SUM(new_devices) FROM health_days"
            " WHERE app_id = ? AND day > ? AND version_name = ? GROUP BY class",
            (app_id, to_day, version),
        ),
    )


def postgres_rows(conn: Conn, app_id: str, to_day: int) -> HealthRows:
    """Like sqlite_rows; every statement names the app id (Citus routing)."""

    def one(row: tuple[Any, ...] | None) -> Any:
        return None if row is None else row[0]

    version = newest_version(
        lambda day: one(
            conn.execute(
                "SELECT MAX(first_day) FROM health_totals WHERE app_id = %s AND first_day <= %s",
                (app_id, day),
            ).fetchone()
        ),
        lambda day: [
            v
            for (v,) in conn.execute(
                "SELECT DISTINCT version_name FROM health_totals"
                " WHERE app_id = %s AND first_day = %s",
                (app_id, day),
            )
        ],
        lambda v: min(
            day
            for (day,) in conn.execute(
                "SELECT first_day FROM health_totals WHERE app_id = %s AND version_name = %s",
                (app_id, v),
            )
        ),
        to_day,
    )
    return _rows(
        version,
        conn.execute(
            "SELECT class, devices, first_day FROM health_totals"
            " WHERE app_id = %s AND version_name = %s",
            (app_id, version),
        ).fetchall(),
        conn.execute(
            "SELECT class, SUM(new_devices)::bigint FROM health_days"
            " WHERE app_id = %s AND day > %s AND version_name = %s GROUP BY class",
            (app_id, to_day, version),
        ).fetchall(),
    )
