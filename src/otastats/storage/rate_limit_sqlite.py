"""Rate-limit counters in a SQLite file beside the database: ``<database>-ratelimits``.

A file of their own, with a lock of its own: counting a request never waits behind an ingest
transaction holding the database's write lock, and never takes that lock from statistics reads
or ingestion. Every server process on the database opens the same file, so they share the
counts. Each count is one ``BEGIN IMMEDIATE`` transaction (the file's write lock serializes it
against the other processes). The counts are not acknowledged data: ``synchronous=OFF``, so a
power loss may forget the last few seconds of counted requests, never corrupt the file.
"""

from __future__ import annotations

import sqlite3
import threading

from otastats.storage.rate_limit_counters import CountersUnavailable, DatabaseCounters

SIDECAR_SUFFIX = "-ratelimits"
BUSY_TIMEOUT_MS = 5000
"""How long a count waits for another process's count before the request fails (500)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_limit_hits (bucket TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS rate_limit_hits_bucket ON rate_limit_hits (bucket, expires_at);
"""


def sidecar_path(database_path: str) -> str:
    return database_path + SIDECAR_SUFFIX


class SQLiteCounters(DatabaseCounters):
    def __init__(self, path: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        super().__init__()
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        # One connection, used by one thread at a time.
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        try:
            with self._lock:
                self._connection()
        except sqlite3.Error as exc:
            raise CountersUnavailable(f"cannot use {path}: {exc}") from None

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self._busy_timeout_ms / 1000,
            )
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=OFF")
                conn.executescript(_SCHEMA)
            except sqlite3.Error:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _acquire(self, key: str, limit: int, expires_at: float, amount: int, now: float) -> bool:
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "DELETE FROM rate_limit_hits WHERE bucket = ? AND expires_at < ?", (key, now)
                )
                (count,) = conn.execute(
                    "SELECT count(*) FROM rate_limit_hits WHERE bucket = ?", (key,)
                ).fetchone()
                acquired: bool = count + amount <= limit
                if acquired:
                    conn.executemany(
                        "INSERT INTO rate_limit_hits VALUES (?, ?)", [(key, expires_at)] * amount
                    )
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        return acquired

    def _window(self, key: str, now: float) -> tuple[float, int]:
        with self._lock:
            first, count = (
                self._connection()
                .execute(
                    "SELECT min(expires_at), count(*) FROM rate_limit_hits"
                    " WHERE bucket = ? AND expires_at >= ?",
                    (key, now),
                )
                .fetchone()
            )
        return (now if first is None else first), count

    def _sweep(self, now: float) -> None:
        with self._lock:
            self._connection().execute("DELETE FROM rate_limit_hits WHERE expires_at < ?", (now,))

    def _delete(self, key: str | None) -> int:
        with self._lock:
            conn = self._connection()
            if key is None:
                return conn.execute("DELETE FROM rate_limit_hits").rowcount
            return conn.execute("DELETE FROM rate_limit_hits WHERE bucket = ?", (key,)).rowcount

    def check(self) -> bool:
        try:
            with self._lock:
                self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
