"""The PostgreSQL backend: a connection pool, versioned migrations, snapshot reads.

Several server processes may share one database. Ingest transactions are serialized per app
(see ``postgres_write.py``); reads of several statements run in one REPEATABLE READ snapshot.
psycopg prepares a statement on the server once a connection has run it a few times, so the
statements of every request (key lookup, statistics reads, ingest upserts) are planned once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool

from otastats.errors import Conflict, NotFound
from otastats.storage import health_newest, health_postgres
from otastats.storage.health_backfill import backfill_postgres
from otastats.storage.plugin_tokens import PostgresPluginTokens
from otastats.storage.postgres_write import PostgresWriteTx
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
from otastats.storage.schema_version import too_new

SCHEMA_VERSION = 6
_MIGRATION_LOCK = 0x6F7461_0001
"""The advisory lock that lets one process at a time migrate a database."""

Conn = psycopg.Connection[tuple[Any, ...]]


def normalized_url(url: str) -> str:
    """libpq takes ``postgresql://`` and ``postgres://`` alike; the pool is given the former."""
    if url.startswith("postgres://"):
        return "postgresql://" + url.removeprefix("postgres://")
    return url


class PostgresStore(PostgresPluginTokens):
    def __init__(self, url: str, *, query_timeout_ms: int = 10_000, max_connections: int = 10):
        self._url = normalized_url(url)
        self._query_timeout_ms = query_timeout_ms
        self._key_secret: bytes | None = None
        # Migrate on a connection of its own: a server that cannot be reached fails here, at
        # once, with libpq's own message.
        with psycopg.connect(self._url, autocommit=True, connect_timeout=10) as conn:
            self._migrate(conn)
        self._pool: ConnectionPool[Conn] = ConnectionPool(
            self._url,
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": True},
            configure=self._configure,
            open=True,
            name="otastats",
        )

    @property
    def url(self) -> str:
        """The connection URL this store was opened with (normalized)."""
        return self._url

    def _configure(self, conn: Conn) -> None:
        # Every statement of a read is cut off after the query time limit; writes lift it.
        conn.execute(f"SET statement_timeout = {int(self._query_timeout_ms)}")

    # --- connections --------------------------------------------------------------------------
    @contextmanager
    def _read(self) -> Iterator[Conn]:
        """One consistent snapshot for the statements of one read."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    @contextmanager
    def _one(self) -> Iterator[Conn]:
        """A connection for one statement, which is its own transaction."""
        with self._pool.connection() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Conn]:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SET LOCAL statement_timeout = 0")
            yield conn

    def _migrate(self, conn: Conn) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            version = schema_version(conn)
            if version > SCHEMA_VERSION:
                raise too_new(_safe_name(conn), version, SCHEMA_VERSION)
            self.upgraded_from = version
            for step in range(version + 1, SCHEMA_VERSION + 1):
                script = resources.files("otastats.storage").joinpath(f"schema/postgres_{step}.sql")
                # Without parameters, one execute may hold several statements.
                conn.execute(script.read_text(encoding="utf-8").encode())
                if step == 1:
                    conn.execute(
                        "INSERT INTO meta VALUES ('key_secret', %s)", (secrets.token_hex(32),)
                    )
                if step == 5 and version > 0:
                    backfill_postgres(conn)
            if version < SCHEMA_VERSION:
                conn.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION,))

    def key_secret(self) -> bytes:
        if self._key_secret is None:
            with self._one() as conn:
                row = conn.execute("SELECT value FROM meta WHERE name = 'key_secret'").fetchone()
            assert row is not None
            self._key_secret = bytes.fromhex(row[0])
        return self._key_secret

    def close(self) -> None:
        self._pool.close()

    # --- tenants and keys ---------------------------------------------------------------------
    def create_org(self, org_id: str, name: str, now: int) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO orgs VALUES (%s, %s, %s)", (org_id, name, now))

    def get_org(self, org_id: str) -> Org | None:
        with self._one() as conn:
            found = conn.execute(
                "SELECT org_id, name FROM orgs WHERE org_id = %s", (org_id,)
            ).fetchone()
        return Org(*found) if found else None

    def create_user(self, user_id: str, email: str, now: int) -> None:
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO users VALUES (%s, %s, %s, %s)",
                    (user_id, email, email.casefold(), now),
                )
        except pg_errors.IntegrityError:
            raise Conflict(f"a user with the email {email!r} already exists") from None

    def get_user(self, user_id: str) -> User | None:
        with self._one() as conn:
            found = conn.execute(
                "SELECT user_id, email FROM users WHERE user_id = %s", (user_id,)
            ).fetchone()
        return User(*found) if found else None

    def find_user_by_email(self, email: str) -> User | None:
        with self._one() as conn:
            found = conn.execute(
                "SELECT user_id, email FROM users WHERE email_key = %s", (email.casefold(),)
            ).fetchone()
        return User(*found) if found else None

    def set_member(self, org_id: str, user_id: str, role: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO members VALUES (%s, %s, %s)"
                " ON CONFLICT (org_id, user_id) DO UPDATE SET role = EXCLUDED.role",
                (org_id, user_id, role),
            )

    def memberships(self, user_id: str) -> dict[str, str]:
        with self._one() as conn:
            rows = conn.execute("SELECT org_id, role FROM members WHERE user_id = %s", (user_id,))
            return dict(rows.fetchall())

    def create_app(self, app_id: str, org_id: str, now: int) -> None:
        try:
            with self._write() as conn:
                conn.execute("INSERT INTO apps VALUES (%s, %s, %s, NULL)", (app_id, org_id, now))
        except pg_errors.IntegrityError:
            raise Conflict(f"the app id {app_id!r} is taken (app ids are never reused)") from None

    def delete_app(self, app_id: str, now: int) -> None:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE apps SET deleted_at = %s WHERE app_id = %s AND deleted_at IS NULL",
                (now, app_id),
            )
            if cur.rowcount == 0:
                raise NotFound(f"no app {app_id!r}")

    def get_apps(self, app_ids: Iterable[str]) -> dict[str, App]:
        ids = list(dict.fromkeys(app_ids))
        with self._one() as conn:
            rows = conn.execute(
                "SELECT app_id, org_id, deleted_at FROM apps WHERE app_id = ANY(%s)", (ids,)
            ).fetchall()
        return {row[0]: App(*row) for row in rows}

    def apps_of_orgs(self, org_ids: Iterable[str]) -> list[App]:
        ids = list(dict.fromkeys(org_ids))
        with self._one() as conn:
            rows = conn.execute(
                "SELECT app_id, org_id, deleted_at FROM apps WHERE org_id = ANY(%s)", (ids,)
            ).fetchall()
        return sorted((App(*row) for row in rows), key=lambda app: app.app_id)

    def create_key(self, key: ApiKey) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO api_keys VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                key_to_row(key),
            )

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        with self._one() as conn:
            row = conn.execute(
                "SELECT key_id, user_id, key_hash, mode, limited_to_orgs, limited_to_apps,"
                " expires_at, revoked_at, created_at FROM api_keys WHERE key_hash = %s",
                (key_hash,),
            ).fetchone()
        if row is None:
            return None
        return key_from_row(row)

    def revoke_key(self, key_id: str, now: int) -> None:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, %s) WHERE key_id = %s",
                (now, key_id),
            )
            if cur.rowcount == 0:
                raise NotFound(f"no key {key_id!r}")

    def is_empty(self) -> bool:
        with self._one() as conn:
            return conn.execute("SELECT 1 FROM orgs LIMIT 1").fetchone() is None

    # --- statistics ---------------------------------------------------------------------------
    def metric_rows(
        self, app_ids: Sequence[str], from_day: int, to_day: int, *, by_app: bool
    ) -> MetricRows:
        if not app_ids:
            return MetricRows()
        try:
            return self._metric_rows(app_ids, from_day, to_day, by_app=by_app)
        except pg_errors.NumericValueOutOfRange:
            # A sum over several apps may pass 64 bits (each app's figures stay within them):
            # the rare such read is summed per app, then over the apps, in Python.
            if by_app:
                raise
        return self._metric_rows(app_ids, from_day, to_day, by_app=True).total_only()

    def _metric_rows(
        self, app_ids: Sequence[str], from_day: int, to_day: int, *, by_app: bool
    ) -> MetricRows:
        result = MetricRows()
        ids = list(app_ids)
        group = "app_id" if by_app else "NULL::text"
        with self._read() as conn:
            for key, mau, storage in conn.execute(
                f"SELECT {group}, COALESCE(SUM(mau_delta), 0)::bigint,"  # noqa: S608
                " COALESCE(SUM(storage_delta), 0)::bigint"
                " FROM level_deltas WHERE app_id = ANY(%s) AND day < %s GROUP BY 1",
                (ids, from_day),
            ):
                result.mau_base[key] = mau
                result.storage_base[key] = storage
            where = " FROM level_deltas WHERE app_id = ANY(%s) AND day BETWEEN %s AND %s"
            in_range = (
                "SELECT app_id, day, mau_delta, storage_delta, bandwidth" + where
                if by_app
                else "SELECT NULL::text, day, SUM(mau_delta)::bigint, SUM(storage_delta)::bigint,"
                " SUM(bandwidth)::bigint" + where + " GROUP BY day"
            )
            for key, day, mau, storage, bandwidth in conn.execute(
                in_range, (ids, from_day, to_day)
            ):
                result.days.setdefault(key, {})[day] = (mau, storage, bandwidth)
        return result

    def version_rows(self, app_id: str, from_day: int, to_day: int) -> VersionRows:
        result = VersionRows()
        with self._read() as conn:
            present = conn.execute(
                "SELECT DISTINCT version_name FROM version_days"
                " WHERE app_id = %s AND day BETWEEN %s AND %s",
                (app_id, from_day - PRESENCE_DAYS, to_day),
            ).fetchall()
            names = [name for (name,) in present]
            result.base = dict(
                conn.execute(
                    "SELECT version_name, SUM(delta)::bigint FROM version_deltas"
                    " WHERE app_id = %s AND version_name = ANY(%s) AND day < %s"
                    " GROUP BY version_name",
                    (app_id, names, from_day),
                ).fetchall()
            )
            for version, day, delta in conn.execute(
                "SELECT version_name, day, delta FROM version_deltas"
                " WHERE app_id = %s AND version_name = ANY(%s) AND day BETWEEN %s AND %s",
                (app_id, names, from_day, to_day),
            ):
                result.days.setdefault(version, {})[day] = delta
            result.first_seen = dict(
                conn.execute(
                    "SELECT version_name, first_seen FROM versions"
                    " WHERE app_id = %s AND version_name = ANY(%s)",
                    (app_id, names),
                ).fetchall()
            )
        return result

    def health_rows(self, app_id: str, from_day: int, to_day: int) -> HealthRows:
        with self._read() as conn:
            return health_postgres.health_rows(conn, app_id, from_day, to_day)

    def newest_health_rows(self, app_id: str, to_day: int) -> HealthRows:
        with self._read() as conn:
            return health_newest.postgres_rows(conn, app_id, to_day)

    # --- ingestion ----------------------------------------------------------------------------
    @contextmanager
    def writer(self) -> Iterator[PostgresWriteTx]:
        with self._write() as conn:
            yield PostgresWriteTx(conn)

    # --- the key's own view -------------------------------------------------------------------
    def get_orgs(self, org_ids: Iterable[str]) -> dict[str, Org]:
        ids = list(dict.fromkeys(org_ids))
        with self._one() as conn:
            rows = conn.execute(
                "SELECT org_id, name FROM orgs WHERE org_id = ANY(%s)", (ids,)
            ).fetchall()
        return {row[0]: Org(*row) for row in rows}


def schema_version(conn: Conn) -> int:
    """The version recorded in the database: 0 for one that otastats has not set up."""
    row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    found = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(found[0]) if found and found[0] is not None else 0


def _safe_name(conn: Conn) -> str:
    """The database's name and server, without the password of the URL."""
    info = conn.info
    return f"{info.dbname} on {info.host}:{info.port}"
