"""Deriving the update-health state of a database made by an older version, from its stored
events, when the migration that adds the health tables runs.

The stored device_seen events and actions of counted devices are read once, classified with the
same pure rules as ingestion (otastats.health.classes), and written as report days; the per-day
and whole-history counters are then grouped from those rows in SQL. The result is the state
that ingesting the same events would have built.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from otastats.health.classes import report_classes
from otastats.storage.base import HealthDay

MICROS_PER_DAY = 86_400_000_000
_BATCH = 50_000
_SELECT = (
    "SELECT app_id, device_id, version_name, ts, type, action, platform, extra FROM events"
    " WHERE type IN (0, 4) AND is_emulator = 0 AND is_prod = 1"
)
_DERIVE = (
    "INSERT INTO health_firsts SELECT app_id, device_id, version_name, class, MIN(day)"
    " FROM health_device_days GROUP BY app_id, device_id, version_name, class",
    "INSERT INTO health_days SELECT app_id, version_name, class, day, COUNT(*), 0"
    " FROM health_device_days GROUP BY app_id, version_name, class, day",
    "INSERT INTO health_days SELECT app_id, version_name, class, first_day, 0, COUNT(*)"
    " FROM health_firsts GROUP BY app_id, version_name, class, first_day"
    " ON CONFLICT (app_id, day, version_name, class) DO UPDATE"
    " SET new_devices = excluded.new_devices",
    "INSERT INTO health_totals SELECT app_id, version_name, class, COUNT(*), MIN(first_day)"
    " FROM health_firsts GROUP BY app_id, version_name, class",
)


def report_days(rows: Iterable[tuple[Any, ...]]) -> Iterator[HealthDay]:
    """The report days of stored event rows (the columns of ``_SELECT``)."""
    for app_id, device_id, version, ts, kind, action, platform, extra in rows:
        plugin_version = None
        if extra:
            value = orjson.loads(extra).get("plugin_version")
            plugin_version = value if isinstance(value, str) else None
        for name in report_classes(action if kind == 4 else None, platform, plugin_version):
            yield (app_id, device_id, version, name, ts // MICROS_PER_DAY)


def backfill_sqlite(conn: sqlite3.Connection) -> None:
    cursor = conn.execute(_SELECT)
    while batch := cursor.fetchmany(_BATCH):
        conn.executemany(
            "INSERT OR IGNORE INTO health_device_days VALUES (?, ?, ?, ?, ?)",
            sorted(set(report_days(batch))),
        )
    for statement in _DERIVE:
        conn.execute(statement)


def backfill_postgres(conn: Any) -> None:
    """On a psycopg connection, inside the migration's transaction."""
    with conn.cursor(name="otastats_health_backfill") as cursor:
        cursor.execute(_SELECT)
        while batch := cursor.fetchmany(_BATCH):
            rows = sorted(set(report_days(batch)))
            conn.execute(
                "INSERT INTO health_device_days"
                " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::int[])"
                " ON CONFLICT DO NOTHING",
                [[row[i] for row in rows] for i in range(5)],
            )
    for statement in _DERIVE:
        conn.execute(statement)
