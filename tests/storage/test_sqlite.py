"""The SQLite backend: schema at start, refusal of a newer schema, durable settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from otastats.ingest.service import existing_app, ingest
from otastats.storage import open_store
from otastats.storage.open import UnsupportedDatabase
from otastats.storage.sqlite import SCHEMA_VERSION, SchemaTooNew, SQLiteStore

NOW = 1_710_504_000_000_000  # 2024-03-15T12:00:00Z


def test_the_schema_is_created_and_data_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "stats.db"
    store = SQLiteStore(str(path))
    store.create_org("00000000-0000-4000-8000-000000000001", "Acme", 0)
    store.close()
    reopened = SQLiteStore(str(path))
    try:
        org = reopened.get_org("00000000-0000-4000-8000-000000000001")
        assert org is not None
        assert org.name == "Acme"
    finally:
        reopened.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_database_with_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNew, match="newer than this otastats understands"):
        SQLiteStore(str(path))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_urls_name_relative_and_absolute_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    open_store("sqlite:///./relative.db").close()
    open_store(f"sqlite:///{tmp_path}/absolute.db").close()
    assert (tmp_path / "relative.db").exists()
    assert (tmp_path / "absolute.db").exists()


@pytest.mark.parametrize(
    "url", ["mysql://x/y", "sqlite://", "sqlite:relative.db", "sqlite:///:memory:"]
)
def test_unsupported_urls_say_what_to_use(url: str) -> None:
    with pytest.raises(UnsupportedDatabase, match="sqlite:///"):
        open_store(url)


def test_version_1_databases_are_upgraded_and_their_plain_key_hashes_revoked(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v1.db"
    script = (Path(__file__).parents[2] / "src/otastats/storage/schema/sqlite_1.sql").read_text()
    with sqlite3.connect(path) as conn:
        conn.executescript(script)
        conn.execute("INSERT INTO users VALUES ('u', 'a@b.c', 'a@b.c', 0)")
        conn.execute(
            "INSERT INTO api_keys VALUES ('k', 'u', 'plainsha', 'read', '[]', '[]', NULL, NULL, 0)"
        )
        conn.execute("PRAGMA user_version=1")
    store = SQLiteStore(str(path))
    try:
        key = store.key_by_hash("plainsha")
        assert key is not None
        assert key.revoked_at == 0
        assert len(store.key_secret()) == 32
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_each_database_has_its_own_key_secret(tmp_path: Path) -> None:
    first, second = SQLiteStore(str(tmp_path / "a.db")), SQLiteStore(str(tmp_path / "b.db"))
    try:
        assert first.key_secret() != second.key_secret()
    finally:
        first.close()
        second.close()


def test_version_2_databases_keep_their_events_and_gain_the_action_column(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v2.db"
    schema = Path(__file__).parents[2] / "src/otastats/storage/schema"
    with sqlite3.connect(path) as conn:
        for step in (1, 2):
            conn.executescript((schema / f"sqlite_{step}.sql").read_text())
        conn.execute("INSERT INTO meta VALUES ('key_secret', '00')")
        conn.execute("INSERT INTO events VALUES ('a', 0, 'd', 1, '1.0', NULL, 'ios', 0, 1, NULL)")
        conn.execute("PRAGMA user_version=2")
    SQLiteStore(str(path)).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT type, device_id, action FROM events").fetchall() == [
            (0, "d", None)
        ]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_version_3_databases_get_the_versions_of_their_device_days(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    store = SQLiteStore(str(path))
    try:
        store.create_org("o", "Acme", 0)
        store.create_app("com.example.app", "o", 0)
        events = [
            {"type": "device_seen", "app_id": "com.example.app", "device_id": f"d{n}",
             "timestamp": f"2024-03-{10 + n}T12:00:00Z", "version_name": f"1.0.{n}",
             "platform": "ios"}
            for n in range(3)
        ]  # fmt: skip
        ingest(store, events, NOW, existing_app)
        expected = store.version_rows("com.example.app", 19795, 19797)
    finally:
        store.close()
    with sqlite3.connect(path) as conn:  # version 4 had no version_days
        conn.execute("DROP TABLE version_days")
        for table in ("health_device_days", "health_firsts", "health_days", "health_totals"):
            conn.execute(f"DROP TABLE {table}")  # made by a later version
        conn.execute("PRAGMA user_version=4")
    upgraded = SQLiteStore(str(path))
    try:
        assert upgraded.upgraded_from == 4
        assert upgraded.version_rows("com.example.app", 19795, 19797) == expected
        assert set(expected.days) | set(expected.base) == {"1.0.0", "1.0.1", "1.0.2"}
    finally:
        upgraded.close()
