"""Rate-limit counters in an UNLOGGED table of the PostgreSQL database, ``rate_limit_hits``.

Every server process on the database shares the table, so they share the counts. A count is one
call of the function ``rate_limit_acquire``, its own short transaction: it takes a
transaction-scoped advisory lock on its bucket (counts of one bucket are serialized across
processes, counts of other buckets run side by side), deletes the bucket's expired rows, counts
the others and adds the new ones if they fit. The table is UNLOGGED: the counts are not
acknowledged data, so they are not written to the WAL (cheaper, and not sent to replicas), and
PostgreSQL empties the table after a crash, which forgets the requests counted in the current
windows and nothing else.

The table and the function are created here, when a server starts, rather than by the versioned
schema: they hold nothing worth migrating, and ``IF NOT EXISTS`` / ``OR REPLACE`` make them
again wherever they are missing or older. The counters use a small pool of their own, so that
counting never waits for a connection behind statistics reads or ingestion.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from otastats.storage.rate_limit_counters import CountersUnavailable, DatabaseCounters

_TABLE_LOCK = 0x6F7461_0002
"""The advisory lock (one bigint) under which a process creates the table."""
STATEMENT_TIMEOUT_MS = 5000
"""How long a count may wait (for its bucket's lock included) before the request fails (500)."""

_CREATE = """
CREATE UNLOGGED TABLE IF NOT EXISTS rate_limit_hits (
    bucket text NOT NULL,
    expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_limit_hits_bucket ON rate_limit_hits (bucket, expires_at);

-- One call, one round trip. The statements after the lock see every count committed before it:
-- a VOLATILE function takes a fresh snapshot for each statement. The lock of a bucket is keyed
-- by two integers, 7304289 (0x6F7461, "ota") and a hash of the bucket.
CREATE OR REPLACE FUNCTION rate_limit_acquire(
    bucket_ text, now_ double precision, expires_at_ double precision, amount_ bigint,
    limit_ bigint
) RETURNS boolean VOLATILE LANGUAGE plpgsql AS $$
DECLARE
    hits bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7304289, hashtext(bucket_));
    DELETE FROM rate_limit_hits WHERE bucket = bucket_ AND expires_at < now_;
    SELECT count(*) INTO hits FROM rate_limit_hits WHERE bucket = bucket_;
    IF hits + amount_ > limit_ THEN
        RETURN false;
    END IF;
    INSERT INTO rate_limit_hits (bucket, expires_at)
        SELECT bucket_, expires_at_ FROM generate_series(1, amount_);
    RETURN true;
END
$$;
"""

Conn = psycopg.Connection[tuple[Any, ...]]


class PostgresCounters(DatabaseCounters):
    def __init__(self, url: str, *, max_connections: int = 4) -> None:
        super().__init__()
        self._url = url
        self._max_connections = max_connections
        self._pool: ConnectionPool[Conn] | None = None
        try:
            with (
                psycopg.connect(url, autocommit=True, connect_timeout=10) as conn,
                conn.transaction(),
            ):
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_TABLE_LOCK,))
                conn.execute(_CREATE.encode())
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise CountersUnavailable(f"cannot create rate_limit_hits: {reason}") from None

    @property
    def base_exceptions(self) -> type[Exception]:
        # A pool that cannot give a connection in time raises PoolTimeout, one of these too.
        return psycopg.Error

    def _connections(self) -> ConnectionPool[Conn]:
        if self._pool is None:
            self._pool = ConnectionPool(
                self._url,
                min_size=1,
                max_size=self._max_connections,
                kwargs={"autocommit": True, "application_name": _application_name(self._url)},
                configure=_configure,
                timeout=STATEMENT_TIMEOUT_MS / 1000,
                open=True,
                name="otastats-rate-limits",
            )
        return self._pool

    def _acquire(self, key: str, limit: int, expires_at: float, amount: int, now: float) -> bool:
        with self._connections().connection() as conn:
            row = conn.execute(
                "SELECT rate_limit_acquire(%s, %s::float8, %s::float8, %s::bigint, %s::bigint)",
                (key, now, expires_at, amount, limit),
            ).fetchone()
        return row is not None and row[0] is True

    def _window(self, key: str, now: float) -> tuple[float, int]:
        with self._connections().connection() as conn:
            row = conn.execute(
                "SELECT min(expires_at), count(*) FROM rate_limit_hits"
                " WHERE bucket = %s AND expires_at >= %s",
                (key, now),
            ).fetchone()
        assert row is not None
        first, count = row
        return (now if first is None else float(first)), int(count)

    def _sweep(self, now: float) -> None:
        with self._connections().connection() as conn:
            conn.execute("DELETE FROM rate_limit_hits WHERE expires_at < %s", (now,))

    def _delete(self, key: str | None) -> int:
        with self._connections().connection() as conn:
            if key is None:
                return conn.execute("DELETE FROM rate_limit_hits").rowcount
            return conn.execute("DELETE FROM rate_limit_hits WHERE bucket = %s", (key,)).rowcount

    def check(self) -> bool:
        try:
            with self._connections().connection() as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def _application_name(url: str) -> str:
    """The URL's application name (``otastats`` if none), marked as the rate-limit counters'."""
    name = conninfo_to_dict(url).get("application_name") or "otastats"
    return f"{name} rate limits"


def _configure(conn: Conn) -> None:
    conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
