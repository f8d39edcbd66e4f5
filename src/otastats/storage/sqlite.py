"""The SQLite backend: one writer connection, per-thread readers, WAL, durable commits."""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from otastats.errors import Conflict, NotFound
from otastats.storage import health_newest, health_sqlite
from otastats.storage.health_backfill import backfill_sqlite
from otastats.storage.plugin_tokens import SQLitePluginTokens
from otastats.storage.records import (
    PRESENCE_DAYS,
    ApiKey,
    App,
    HealthRows,
    MetricRows,
    Org,
    User,
    VersionRows,
    key_from_row,
    key_to_row,
)
from otastats.storage.schema_version import SchemaTooNew, too_new
from otastats.storage.sqlite_write import SQLiteWriteTx, chunks_of

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "SQLiteWriteTx", "SchemaTooNew", "path_from_url"]

SCHEMA_VERSION = 7
_CHUNK = 400  # bound parameters per statement stay well under SQLite's limit


def path_from_url(url: str) -> str:
    """The file path of ``sqlite:///relative.db`` or ``sqlite:////absolute.db``."""
    rest = url.removeprefix("sqlite://")
    path = rest[1:]
    # An in-memory database would be a different, empty one for each connection.
    if not rest.startswith("/") or not path or path == ":memory:":
        raise ValueError(f"not a SQLite URL with a file path: {url!r}")
    return path


class SQLiteStore(SQLitePluginTokens):
    def __init__(self, path: str, *, query_timeout_ms: int = 10_000) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._query_timeout = query_timeout_ms / 1000
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._key_secret: bytes | None = None
        self._writer = self._connect()
        self._writer.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before it is acknowledged, even across a power loss.
        self._writer.execute("PRAGMA synchronous=FULL")
        # Checkpoint the WAL every ~400 MB rather than every 4 MB: with large indexes, each
        # checkpoint copies back and syncs pages spread over the whole file, and a page changed
        # by several transactions between two checkpoints is copied once.
        self._writer.execute("PRAGMA wal_autocheckpoint=100000")
        # A 64 MiB page cache (default 2 MiB): the event-id and device-day indexes are written at
        # random places, and pages kept between transactions are not read again.
        self._writer.execute("PRAGMA cache_size=-65536")
        self._migrate()

    @property
    def path(self) -> str:
        """The database file this store was opened on."""
        return self._path

    # --- connections --------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=False, timeout=30
        )
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot, cut off when it runs longer than the query time limit."""
        conn = self._reader()
        if self._query_timeout > 0:
            deadline = time.monotonic() + self._query_timeout
            conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")
            conn.set_progress_handler(None, 0)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _migrate(self) -> None:
        with self._write_lock:
            (version,) = self._writer.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise too_new(self._path, version, SCHEMA_VERSION)
            self.upgraded_from: int = version
            if version == SCHEMA_VERSION:
                return
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    script = resources.files("otastats.storage").joinpath(
                        f"schema/sqlite_{step}.sql"
                    )
                    # The scripts hold no ';' but between statements (comments included).
                    for statement in script.read_text(encoding="utf-8").split(";"):
                        if statement.strip():
                            self._writer.execute(statement)
                    if step == 2:
                        self._writer.execute(
                            "INSERT INTO meta VALUES ('key_secret', ?)", (secrets.token_hex(32),)
                        )
                    if step == 6 and version > 0:
                        backfill_sqlite(self._writer)
                self._writer.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    def key_secret(self) -> bytes:
        secret: bytes | None = getattr(self, "_key_secret", None)
        if secret is None:
            with self._read() as conn:
                (value,) = conn.execute(
                    "SELECT value FROM meta WHERE name = 'key_secret'"
                ).fetchone()
            secret = self._key_secret = bytes.fromhex(value)
        return secret

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self._write_lock:
            self._writer.close()

    # --- tenants and keys ---------------------------------------------------------------------
    def create_org(self, org_id: str, name: str, now: int) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO orgs VALUES (?, ?, ?)", (org_id, name, now))

    def get_org(self, org_id: str) -> Org | None:
        with self._read() as conn:
            row = conn.execute("SELECT org_id, name FROM orgs WHERE org_id = ?", (org_id,))
            found = row.fetchone()
        return Org(*found) if found else None

    def create_user(self, user_id: str, email: str, now: int) -> None:
        with self._write() as conn:
            try:
                conn.execute(
                    "INSERT INTO users VALUES (?, ?, ?, ?)",
                    (user_id, email, email.casefold(), now),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"a user with the email {email!r} already exists") from None

    def get_user(self, user_id: str) -> User | None:
        with self._read() as conn:
            found = conn.execute(
                "SELECT user_id, email FROM users WHERE user_id = ?", (user_id,)
            ).fetchone()
        return User(*found) if found else None

    def find_user_by_email(self, email: str) -> User | None:
        with self._read() as conn:
            found = conn.execute(
                "SELECT user_id, email FROM users WHERE email_key = ?", (email.casefold(),)
            ).fetchone()
        return User(*found) if found else None

    def set_member(self, org_id: str, user_id: str, role: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO members VALUES (?, ?, ?)"
                " ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
                (org_id, user_id, role),
            )

    def memberships(self, user_id: str) -> dict[str, str]:
        with self._read() as conn:
            rows = conn.execute("SELECT org_id, role FROM members WHERE user_id = ?", (user_id,))
            return dict(rows.fetchall())

    def create_app(self, app_id: str, org_id: str, now: int) -> None:
        with self._write() as conn:
            try:
                conn.execute("INSERT INTO apps VALUES (?, ?, ?, NULL)", (app_id, org_id, now))
            except sqlite3.IntegrityError:
                raise Conflict(
                    f"the app id {app_id!r} is taken (app ids are never reused)"
                ) from None

    def delete_app(self, app_id: str, now: int) -> None:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE apps SET deleted_at = ? WHERE app_id = ? AND deleted_at IS NULL",
                (now, app_id),
            )
            if cur.rowcount == 0:
                raise NotFound(f"no app {app_id!r}")

    def get_apps(self, app_ids: Iterable[str]) -> dict[str, App]:
        rows = self._rows_in("SELECT app_id, org_id, deleted_at FROM apps", "app_id", app_ids)
        return {row[0]: App(*row) for row in rows}

    def apps_of_orgs(self, org_ids: Iterable[str]) -> list[App]:
        rows = self._rows_in("SELECT app_id, org_id, deleted_at FROM apps", "org_id", org_ids)
        return sorted((App(*row) for row in rows), key=lambda app: app.app_id)

    def _rows_in(self, select: str, column: str, values: Iterable[str]) -> list[Any]:
        """The rows of a constant ``select`` whose ``column`` is one of ``values``, read in
        chunks that keep the bound parameters under SQLite's limit."""
        ids = list(dict.fromkeys(values))
        rows: list[Any] = []
        with self._read() as conn:
            for part in _chunks(ids):
                marks = ",".join("?" * len(part))
                rows.extend(conn.execute(f"{select} WHERE {column} IN ({marks})", part))
        return rows

    def create_key(self, key: ApiKey) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                key_to_row(key),
            )

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT key_id, user_id, key_hash, mode, limited_to_orgs, limited_to_apps,"
                " expires_at, revoked_at, created_at FROM api_keys WHERE key_hash = ?",
                (key_hash,),
            ).fetchone()
        if row is None:
            return None
        return key_from_row(row)

    def revoke_key(self, key_id: str, now: int) -> None:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE key_id = ?",
                (now, key_id),
            )
            if cur.rowcount == 0:
                raise NotFound(f"no key {key_id!r}")

    def is_empty(self) -> bool:
        with self._read() as conn:
            return conn.execute("SELECT 1 FROM orgs LIMIT 1").fetchone() is None

    # --- statistics ---------------------------------------------------------------------------
    def metric_rows(
        self, app_ids: Sequence[str], from_day: int, to_day: int, *, by_app: bool
    ) -> MetricRows:
        if not app_ids:
            return MetricRows()
        try:
            return self._metric_rows(app_ids, from_day, to_day, by_app=by_app)
        except sqlite3.OperationalError as exc:
            # A sum over several apps may pass 64 bits (each app's figures stay within them):
            # the rare such read is summed per app, then over the apps, in Python.
            if by_app or "integer overflow" not in str(exc):
                raise
        return self._metric_rows(app_ids, from_day, to_day, by_app=True).total_only()

    def _metric_rows(
        self, app_ids: Sequence[str], from_day: int, to_day: int, *, by_app: bool
    ) -> MetricRows:
        result = MetricRows()
        ids = list(app_ids)
        marks = ",".join("?" * len(ids))
        group = "app_id" if by_app else "NULL"
        with self._read() as conn:
            for key, mau, storage in conn.execute(
                f"SELECT {group}, COALESCE(SUM(mau_delta), 0), COALESCE(SUM(storage_delta), 0)"  # noqa: S608
                f" FROM level_deltas WHERE app_id IN ({marks}) AND day < ? GROUP BY 1",
                [*ids, from_day],
            ):
                result.mau_base[key] = mau
                result.storage_base[key] = storage
            # Per app, (app_id, day) is the key: each row is already one app's day.
            # ``marks`` holds only placeholders, so the statements are built of constants.
            where = f" FROM level_deltas WHERE app_id IN ({marks}) AND day BETWEEN ? AND ?"
            in_range = (
                "SELECT app_id, day, mau_delta, storage_delta, bandwidth" + where
                if by_app
                else "SELECT NULL, day, SUM(mau_delta), SUM(storage_delta), SUM(bandwidth)"
                + where
                + " GROUP BY day"
            )
            for key, day, mau, storage, bandwidth in conn.execute(
                in_range, [*ids, from_day, to_day]
            ):
                result.days.setdefault(key, {})[day] = (mau, storage, bandwidth)
        return result

    def version_rows(self, app_id: str, from_day: int, to_day: int) -> VersionRows:
        result = VersionRows()
        with self._read() as conn:
            present = conn.execute(
                "SELECT DISTINCT version_name FROM version_days"
                " WHERE app_id = ? AND day BETWEEN ? AND ?",
                (app_id, from_day - PRESENCE_DAYS, to_day),
            ).fetchall()
            names = orjson.dumps([name for (name,) in present]).decode()
            among = " WHERE app_id = ? AND version_name IN (SELECT value FROM json_each(?))"
            result.base = dict(
                conn.execute(
                    "SELECT version_name, SUM(delta) FROM version_deltas"  # noqa: S608
                    + among
                    + " AND day < ? GROUP BY version_name",
                    (app_id, names, from_day),
                ).fetchall()
            )
            for version, day, delta in conn.execute(
                "SELECT version_name, day, delta FROM version_deltas"  # noqa: S608
                + among
                + " AND day BETWEEN ? AND ?",
                (app_id, names, from_day, to_day),
            ):
                result.days.setdefault(version, {})[day] = delta
            result.first_seen = dict(
                conn.execute(
                    "SELECT version_name, first_seen FROM versions" + among,  # noqa: S608
                    (app_id, names),
                ).fetchall()
            )
        return result

    def health_rows(self, app_id: str, from_day: int, to_day: int) -> HealthRows:
        with self._read() as conn:
            return health_sqlite.health_rows(conn, app_id, from_day, to_day)

    def newest_health_rows(self, app_id: str, to_day: int) -> HealthRows:
        with self._read() as conn:
            return health_newest.sqlite_rows(conn, app_id, to_day)

    # --- ingestion ----------------------------------------------------------------------------
    @contextmanager
    def writer(self) -> Iterator[SQLiteWriteTx]:
        with self._write() as conn:
            yield SQLiteWriteTx(conn)

    # --- the key's own view -------------------------------------------------------------------
    def get_orgs(self, org_ids: Iterable[str]) -> dict[str, Org]:
        rows = self._rows_in("SELECT org_id, name FROM orgs", "org_id", org_ids)
        return {row[0]: Org(*row) for row in rows}


def _chunks(items: list[str]) -> Iterator[Sequence[str]]:
    yield from chunks_of(items, _CHUNK)
