"""The PostgreSQL backend: migrations, refusal of a newer schema, and the rules Citus needs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from otastats.ingest.service import existing_app, ingest
from otastats.storage import open_store
from otastats.storage.open import UnsupportedDatabase
from otastats.storage.postgres import SCHEMA_VERSION, PostgresStore
from otastats.storage.schema_version import SchemaTooNew
from tests.cli_helpers import run_cli

METRIC_TABLES = {
    "events",
    "event_ids",
    "device_days",
    "level_deltas",
    "version_deltas",
    "version_days",
    "versions",
    "bundle_events",
    "health_device_days",
    "health_firsts",
    "health_days",
    "health_totals",
}
REFERENCE_TABLES = {
    "orgs",
    "users",
    "members",
    "apps",
    "api_keys",
    "meta",
    "schema_version",
    "alerts",
    "alert_calls",
    "alert_attempts",
    "plugin_tokens",
}


@pytest.fixture
def pg(postgres_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        yield conn


def test_the_schema_is_versioned_and_the_secret_kept(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    secret = store.key_secret()
    store.close()
    reopened = open_store(postgres_url.replace("postgresql://", "postgres://", 1))
    try:
        assert reopened.key_secret() == secret
    finally:
        reopened.close()
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_version_1_schemas_keep_their_events_and_gain_the_action_column(
    postgres_url: str,
) -> None:
    script = Path(__file__).parents[2] / "src/otastats/storage/schema/postgres_1.sql"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(script.read_text().encode())
        conn.execute("INSERT INTO meta VALUES ('key_secret', '00')")
        conn.execute("UPDATE schema_version SET version = 1")
        conn.execute("INSERT INTO events VALUES ('a', 0, 'd', 1, '1.0', NULL, 'ios', 0, 1, NULL)")
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT type, action FROM events").fetchall() == [(0, None)]
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_a_newer_schema_is_refused_and_left_alone(postgres_url: str, tmp_path: Path) -> None:
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaTooNew, match="newer than this otastats understands"):
        PostgresStore(postgres_url)
    result = run_cli("db", "upgrade", database=postgres_url, cwd=tmp_path)
    assert result.code == 1
    assert "newer than this otastats understands" in result.data["error"]
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone() == (
            SCHEMA_VERSION + 1,
        )


def test_db_upgrade_creates_then_keeps_the_schema(postgres_url: str, tmp_path: Path) -> None:
    first = run_cli("db", "upgrade", database=postgres_url, cwd=tmp_path)
    assert first.data == {"backend": "postgresql", "from_version": 0, "to_version": SCHEMA_VERSION}
    again = run_cli("db", "upgrade", database=postgres_url, cwd=tmp_path)
    assert again.data["from_version"] == SCHEMA_VERSION


def test_version_2_databases_get_the_versions_of_their_device_days(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    try:
        store.create_org("o", "Acme", 0)
        store.create_app("com.example.app", "o", 0)
        events = [
            {"type": "device_seen", "app_id": "com.example.app", "device_id": f"d{n}",
             "timestamp": f"2024-03-{10 + n}T12:00:00Z", "version_name": f"1.0.{n}",
             "platform": "ios"}
            for n in range(3)
        ]  # fmt: skip
        ingest(store, events, 1_710_504_000_000_000, existing_app)
        expected = store.version_rows("com.example.app", 19795, 19797)
    finally:
        store.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # version 3 had no version_days
        conn.execute("DROP TABLE version_days")
        for table in ("health_device_days", "health_firsts", "health_days", "health_totals"):
            conn.execute(f"DROP TABLE {table}")  # made by a later version
        conn.execute("UPDATE schema_version SET version = 3")
    upgraded = PostgresStore(postgres_url)
    try:
        assert upgraded.upgraded_from == 3
        assert upgraded.version_rows("com.example.app", 19795, 19797) == expected
        assert set(expected.days) | set(expected.base) == {"1.0.0", "1.0.1", "1.0.2"}
    finally:
        upgraded.close()


def test_an_unreachable_server_is_named_at_once() -> None:
    with pytest.raises(UnsupportedDatabase, match="cannot use the PostgreSQL database"):
        open_store("postgresql://postgres@127.0.0.1:1/otastats")


# --- the rules that let the schema run unchanged on Citus (docs/operations.md) ---------------


def test_every_unique_index_of_a_metric_table_includes_app_id(pg: psycopg.Connection) -> None:  # type: ignore[type-arg]
    rows = pg.execute(
        "SELECT t.relname, i.relname, array_agg(a.attname::text)"
        " FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid"
        " JOIN pg_class i ON i.oid = x.indexrelid"
        " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey)"
        " WHERE x.indisunique AND t.relnamespace = current_schema()::regnamespace"
        " GROUP BY t.relname, i.relname"
    ).fetchall()
    metric = [(table, index, columns) for table, index, columns in rows if table in METRIC_TABLES]
    assert metric, "no unique index found on the metric tables"
    for table, index, columns in metric:
        assert "app_id" in columns, f"{table}.{index} ({columns}) does not include app_id"


def test_the_tables_are_the_known_ones_and_every_metric_table_has_app_id(
    pg: psycopg.Connection,  # type: ignore[type-arg]
) -> None:
    tables = {
        name
        for (name,) in pg.execute(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()"
        )
    }
    assert tables == METRIC_TABLES | REFERENCE_TABLES
    for table in METRIC_TABLES:
        row = pg.execute(
            "SELECT is_nullable FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s AND column_name = 'app_id'",
            (table,),
        ).fetchone()
        assert row == ("NO",), f"{table}.app_id is missing or nullable"


def test_no_triggers_and_no_foreign_keys_from_metric_tables(pg: psycopg.Connection) -> None:  # type: ignore[type-arg]
    triggers = pg.execute(
        "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
    ).fetchall()
    assert triggers == []
    keys = pg.execute(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c"
        " WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace"
    ).fetchall()
    for source, target in keys:
        assert source not in METRIC_TABLES or target in REFERENCE_TABLES, (source, target)
        assert source in METRIC_TABLES or target in REFERENCE_TABLES, (source, target)


def test_the_sql_keeps_the_citus_rules() -> None:
    """No volatile function or subquery in ON CONFLICT ... DO UPDATE SET; no GROUPING SETS."""
    source = Path(__file__).parents[2] / "src" / "otastats" / "storage"
    text = " ".join(
        " ".join(path.read_text().split())
        for path in [
            source / "postgres.py",
            source / "postgres_write.py",
            source / "health_postgres.py",
            source / "health_backfill.py",
            source / "alerts_postgres.py",
        ]
    ).upper()
    text = text.replace('" "', "")  # adjacent string literals are one statement
    clauses = [part.split('",', 1)[0] for part in text.split("DO UPDATE SET")[1:]]
    assert len(clauses) >= 5
    for clause in clauses:
        for forbidden in ("NOW()", "RANDOM()", "SELECT", "CLOCK_TIMESTAMP"):
            assert forbidden not in clause, clause
    for forbidden in ("GROUPING SETS", "ROLLUP", "CREATE TRIGGER", "FOR UPDATE"):
        assert forbidden not in text
