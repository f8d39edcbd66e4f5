"""The update-health state on PostgreSQL: the statements of otastats.ingest.health_state's
writes and of the health endpoint's read (see health_state for the tables' meaning). The
writer holds its apps' advisory locks (postgres_write.py), so a read-merge-write of first days
cannot interleave with another writer's. Every statement names its app ids (Citus routing)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from otastats.storage.base import HealthCounts, HealthDay, HealthKey, HealthTotals
from otastats.storage.records import HealthRows

Conn = psycopg.Connection[tuple[Any, ...]]


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


def claim_days(conn: Conn, rows: Sequence[HealthDay]) -> set[HealthDay]:
    if not rows:
        return set()
    cur = conn.execute(
        "INSERT INTO health_device_days (app_id, device_id, version_name, class, day)"
        " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::int[])"
        " ON CONFLICT DO NOTHING RETURNING app_id, device_id, version_name, class, day",
        _columns(sorted(rows), 5),
    )
    return {(a, d, v, c, day) for a, d, v, c, day in cur.fetchall()}


def load_firsts(conn: Conn, keys: Iterable[HealthKey]) -> dict[HealthKey, int]:
    wanted = sorted(keys)
    if not wanted:
        return {}
    cur = conn.execute(
        "SELECT f.app_id, f.device_id, f.version_name, f.class, f.first_day"
        " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[])"
        " AS k (app_id, device_id, version_name, class)"
        " JOIN health_firsts AS f ON f.app_id = k.app_id AND f.device_id = k.device_id"
        " AND f.version_name = k.version_name AND f.class = k.class"
        # The condition Citus prunes on: the shards of the batch's apps alone.
        " WHERE f.app_id = ANY(%s)",
        (*_columns(wanted, 4), sorted({key[0] for key in wanted})),
    )
    return {(a, d, v, c): day for a, d, v, c, day in cur.fetchall()}


def set_firsts(conn: Conn, rows: Sequence[HealthDay]) -> None:
    if not rows:
        return
    conn.execute(
        "INSERT INTO health_firsts (app_id, device_id, version_name, class, first_day)"
        " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::int[])"
        " ON CONFLICT (app_id, device_id, version_name, class) DO UPDATE"
        " SET first_day = EXCLUDED.first_day",
        _columns(sorted(rows), 5),
    )


def add_counts(conn: Conn, daily: HealthCounts, totals: HealthTotals) -> None:
    if daily:
        ordered = sorted((*key, *value) for key, value in daily.items())
        conn.execute(
            "INSERT INTO health_days AS t"
            " (app_id, version_name, class, day, devices, new_devices)"
            " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::int[], %s::bigint[],"
            " %s::bigint[])"
            " ON CONFLICT (app_id, day, version_name, class) DO UPDATE"
            " SET devices = t.devices + EXCLUDED.devices,"
            " new_devices = t.new_devices + EXCLUDED.new_devices",
            _columns(ordered, 6),
        )
    if totals:
        rows = sorted((*key, *value) for key, value in totals.items())
        conn.execute(
            "INSERT INTO health_totals AS t (app_id, version_name, class, devices, first_day)"
            " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], %s::int[])"
            " ON CONFLICT (app_id, version_name, class) DO UPDATE"
            " SET devices = t.devices + EXCLUDED.devices,"
            " first_day = LEAST(t.first_day, EXCLUDED.first_day)",
            _columns(rows, 5),
        )


def health_rows(conn: Conn, app_id: str, from_day: int, to_day: int) -> HealthRows:
    """Read in the caller's snapshot, like health_sqlite.health_rows."""
    rows = HealthRows()
    for version, name, devices, first_day in conn.execute(
        "SELECT version_name, class, devices, first_day FROM health_totals WHERE app_id = %s",
        (app_id,),
    ):
        rows.totals[(version, name)] = (devices, first_day)
    for version, name, later in conn.execute(
        "SELECT version_name, class, SUM(new_devices)::bigint FROM health_days"
        " WHERE app_id = %s AND day > %s GROUP BY version_name, class",
        (app_id, to_day),
    ):
        rows.later[(version, name)] = later
    for version, name, day, devices in conn.execute(
        "SELECT version_name, class, day, devices FROM health_days"
        " WHERE app_id = %s AND day BETWEEN %s AND %s",
        (app_id, from_day, to_day),
    ):
        rows.days.setdefault((version, name), {})[day] = devices
    return rows
