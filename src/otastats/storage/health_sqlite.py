"""The update-health state on SQLite: the statements of otastats.ingest.health_state's writes
and of the health endpoint's read, on a connection of the store (see health_state for the
tables' meaning)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

import orjson

from otastats.storage.base import HealthCounts, HealthDay, HealthKey, HealthTotals
from otastats.storage.records import HealthRows

_JSON_CHUNK = 50_000


def _chunks(items: Sequence[object]) -> Iterable[Sequence[object]]:
    for start in range(0, len(items), _JSON_CHUNK):
        yield items[start : start + _JSON_CHUNK]


def claim_days(conn: sqlite3.Connection, rows: Sequence[HealthDay]) -> set[HealthDay]:
    # Sorted rows, one statement a chunk: each index page is visited once per batch.
    new: set[HealthDay] = set()
    for part in _chunks(rows):
        new.update(
            conn.execute(
                "INSERT INTO health_device_days SELECT j.value ->> 0, j.value ->> 1,"
                " j.value ->> 2, j.value ->> 3, j.value ->> 4 FROM json_each(?) AS j WHERE true"
                " ON CONFLICT DO NOTHING"
                " RETURNING app_id, device_id, version_name, class, day",
                (orjson.dumps(part).decode(),),
            )
        )
    return new


def load_firsts(conn: sqlite3.Connection, keys: Iterable[HealthKey]) -> dict[HealthKey, int]:
    found: dict[HealthKey, int] = {}
    for part in _chunks(sorted(keys)):
        for app_id, device_id, version, name, day in conn.execute(
            "SELECT f.app_id, f.device_id, f.version_name, f.class, f.first_day"
            " FROM json_each(?) AS j JOIN health_firsts AS f"
            " ON f.app_id = j.value ->> 0 AND f.device_id = j.value ->> 1"
            " AND f.version_name = j.value ->> 2 AND f.class = j.value ->> 3",
            (orjson.dumps(part).decode(),),
        ):
            found[(app_id, device_id, version, name)] = day
    return found


def set_firsts(conn: sqlite3.Connection, rows: Sequence[HealthDay]) -> None:
    conn.executemany("INSERT OR REPLACE INTO health_firsts VALUES (?, ?, ?, ?, ?)", sorted(rows))


def add_counts(conn: sqlite3.Connection, daily: HealthCounts, totals: HealthTotals) -> None:
    conn.executemany(
        "INSERT INTO health_days VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (app_id, day, version_name, class) DO UPDATE"
        " SET devices = devices + excluded.devices,"
        " new_devices = new_devices + excluded.new_devices",
        [(app, version, name, day, a, b) for (app, version, name, day), (a, b) in daily.items()],
    )
    conn.executemany(
        "INSERT INTO health_totals VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (app_id, version_name, class) DO UPDATE"
        " SET devices = devices + excluded.devices,"
        " first_day = MIN(first_day, excluded.first_day)",
        [(app, version, name, a, b) for (app, version, name), (a, b) in totals.items()],
    )


def health_rows(conn: sqlite3.Connection, app_id: str, from_day: int, to_day: int) -> HealthRows:
    """Read in the caller's snapshot: whole-history totals, the first-day counts after
    ``to_day``, and the days of the range."""
    rows = HealthRows()
    for version, name, devices, first_day in conn.execute(
        "SELECT version_name, class, devices, first_day FROM health_totals WHERE app_id = ?",
        (app_id,),
    ):
        rows.totals[(version, name)] = (devices, first_day)
    for version, name, later in conn.execute(
        "SELECT version_name, class, SUM(new_devices) FROM health_days"
        " WHERE app_id = ? AND day > ? GROUP BY version_name, class",
        (app_id, to_day),
    ):
        rows.later[(version, name)] = later
    for version, name, day, devices in conn.execute(
        "SELECT version_name, class, day, devices FROM health_days"
        " WHERE app_id = ? AND day BETWEEN ? AND ?",
        (app_id, from_day, to_day),
    ):
        rows.days.setdefault((version, name), {})[day] = devices
    return rows
