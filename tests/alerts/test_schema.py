"""Databases of the schema before alerts are upgraded, their data kept, and alerts then work."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import psycopg

from otastats.alerts import service
from otastats.storage import open_store
from otastats.storage.alerts_base import alert_store_for
from otastats.storage.base import Store
from otastats.storage.postgres import SCHEMA_VERSION as POSTGRES_VERSION
from otastats.storage.sqlite import SCHEMA_VERSION as SQLITE_VERSION

SCHEMA = Path(__file__).parents[2] / "src" / "otastats" / "storage" / "schema"


def alerts_work(store: Store) -> None:
    assert store.get_apps(["com.old"])["com.old"].org_id == "o"
    alerts = alert_store_for(store)
    try:
        made = service.create_alert(
            store, alerts, app_id="com.old", metric="mau", above="0", min_devices=None,
            webhook="https://h.test/", now=1,
        )  # fmt: skip
        assert [alert.alert_id for alert in alerts.alerts()] == [made.alert_id]
    finally:
        alerts.close()


def test_a_sqlite_database_of_version_2_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    with sqlite3.connect(path) as conn:
        for step in (1, 2):
            conn.executescript((SCHEMA / f"sqlite_{step}.sql").read_text())
        conn.execute("INSERT INTO meta VALUES ('key_secret', ?)", (secrets.token_hex(32),))
        conn.execute("INSERT INTO orgs VALUES ('o', 'old', 0)")
        conn.execute("INSERT INTO apps VALUES ('com.old', 'o', 0, NULL)")
        conn.execute("PRAGMA user_version=2")
    store = open_store(f"sqlite:///{path}")
    try:
        alerts_work(store)
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SQLITE_VERSION,)


def test_a_postgresql_database_of_version_1_is_upgraded(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute((SCHEMA / "postgres_1.sql").read_text().encode())
        conn.execute("INSERT INTO meta VALUES ('key_secret', %s)", (secrets.token_hex(32),))
        conn.execute("INSERT INTO orgs VALUES ('o', 'old', 0)")
        conn.execute("INSERT INTO apps VALUES ('com.old', 'o', 0, NULL)")
        conn.execute("UPDATE schema_version SET version = 1")
    store = open_store(postgres_url)
    try:
        alerts_work(store)
    finally:
        store.close()
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [
            (POSTGRES_VERSION,)
        ]
