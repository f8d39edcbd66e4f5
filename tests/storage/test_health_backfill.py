"""Upgrading a database made before update health: the migration derives the health state from
the stored events, and it is exactly the state that ingesting those events builds."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from otastats.ingest.service import existing_app, ingest
from otastats.storage.base import Store
from otastats.storage.postgres import PostgresStore
from otastats.storage.sqlite import SQLiteStore
from tests.conftest import NOW, Tenants

SCHEMA = Path(__file__).parents[2] / "src/otastats/storage/schema"
TABLES = {
    "health_device_days": "app_id, device_id, version_name, class, day",
    "health_firsts": "app_id, device_id, version_name, class, first_day",
    "health_days": "app_id, version_name, class, day, devices, new_devices",
    "health_totals": "app_id, version_name, class, devices, first_day",
}
EVENT_COLUMNS = (
    "app_id, type, device_id, ts, version_name, bytes, platform, is_emulator, is_prod, extra,"
    " action"
)
ACTIONS = ("set", "update_fail", "download_fail", "app_crash", "app_launch_ready", "set_fail")


def events(count: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    result: list[dict[str, Any]] = []
    for _ in range(count):
        day = rng.randint(1, 14)
        event: dict[str, Any] = {
            "app_id": rng.choice(("a.one", "a.two")),
            "device_id": f"d{rng.randint(1, 9)}",
            "timestamp": f"2024-03-{day:02d}T{rng.randint(0, 23):02d}:00:00Z",
            "version_name": rng.choice(("1.0.0", "1.1.0", "builtin", "1.2.0:main.js")),
            "is_emulator": rng.random() < 0.1,
            "is_prod": rng.random() > 0.1,
        }
        if rng.random() < 0.2:
            event |= {"type": "device_seen", "platform": "ios", "version_name": "1.0.0"}
        else:
            event |= {
                "type": "action",
                "action": rng.choice(ACTIONS),
                "platform": rng.choice(("ios", "android", "electron")),
                "plugin_version": rng.choice(("7.16.0", "7.17.0", "8.1.0")),
                "version_build": "0.9",
            }
        result.append(event)
    return result


def ingested(store: Store) -> None:
    tenants = Tenants(store)
    org = tenants.org("acme")
    tenants.app("a.one", org)
    tenants.app("a.two", org)
    now = int(NOW.timestamp() * 1_000_000)
    ingest(store, events(400), now, existing_app)


def health_state(rows_of: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: sorted(tuple(row) for row in rows_of(f"SELECT {columns} FROM {table}"))  # noqa: S608
        for table, columns in TABLES.items()
    }


def test_sqlite_version_5_databases_get_the_health_of_their_events(tmp_path: Path) -> None:
    fresh = SQLiteStore(str(tmp_path / "fresh.db"))
    ingested(fresh)
    fresh.close()
    with sqlite3.connect(tmp_path / "fresh.db") as conn:
        stored = conn.execute(f"SELECT {EVENT_COLUMNS} FROM events").fetchall()  # noqa: S608
        expected = health_state(lambda sql: conn.execute(sql).fetchall())
    assert expected["health_totals"], "the events must count in some class"
    old = tmp_path / "v5.db"
    with sqlite3.connect(old) as conn:
        for step in (1, 2, 3, 4, 5):
            conn.executescript((SCHEMA / f"sqlite_{step}.sql").read_text())
        conn.execute("INSERT INTO meta VALUES ('key_secret', '00')")
        insert = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 11)})"  # noqa: S608
        conn.executemany(insert, stored)
        conn.execute("PRAGMA user_version=5")
    SQLiteStore(str(old)).close()
    with sqlite3.connect(old) as conn:
        assert health_state(lambda sql: conn.execute(sql).fetchall()) == expected


def test_postgres_version_4_schemas_get_the_health_of_their_events(
    postgres_schemas: Any,
) -> None:
    fresh_url, old_url = postgres_schemas(), postgres_schemas()
    fresh = PostgresStore(fresh_url)
    ingested(fresh)
    fresh.close()
    with psycopg.connect(fresh_url) as conn:
        stored = conn.execute(f"SELECT {EVENT_COLUMNS} FROM events").fetchall()  # noqa: S608
        expected = health_state(lambda sql: conn.execute(sql).fetchall())
    assert expected["health_totals"]
    with psycopg.connect(old_url, autocommit=True) as conn:
        for step in (1, 2, 3, 4):
            conn.execute((SCHEMA / f"postgres_{step}.sql").read_text().encode())
        conn.execute("INSERT INTO meta VALUES ('key_secret', '00')")
        conn.execute("UPDATE schema_version SET version = 4")
        with conn.cursor().copy(f"COPY events ({EVENT_COLUMNS}) FROM STDIN") as copy:
            for row in stored:
                copy.write_row(row)
    PostgresStore(old_url).close()
    with psycopg.connect(old_url) as conn:
        assert health_state(lambda sql: conn.execute(sql).fetchall()) == expected
