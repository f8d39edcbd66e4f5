"""Rate-limit counters kept in the service's own database, shared by every server process on it.

Each counted request is one row ``(bucket, expires_at)``: the moving window of a bucket is its
rows that have not expired, so the count is exact, as in memory or in Redis. The classes here are
storages of the ``limits`` library, so its moving-window strategy runs on them unchanged; they
keep only what that strategy uses. The backends live in ``rate_limit_sqlite.py`` (a file beside
the database) and ``rate_limit_postgres.py`` (an UNLOGGED table).
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod

from limits.storage import MovingWindowSupport, Storage

from otastats.storage.base import Store

SWEEP_EVERY_SECONDS = 60.0
"""How often a process deletes the expired rows of every bucket, idle ones included."""

log = logging.getLogger("otastats.rate_limits")


class CountersUnavailable(Exception):
    """The database cannot keep the counters; the message says where and why."""


class DatabaseCounters(Storage, MovingWindowSupport):
    """The moving-window operations, on rows a backend stores; the backend keeps them exact."""

    def __init__(self) -> None:
        super().__init__()
        self._next_sweep = 0.0

    # --- what a backend provides ---------------------------------------------------------------
    @abstractmethod
    def _acquire(self, key: str, limit: int, expires_at: float, amount: int, now: float) -> bool:
        """In one transaction serialized per bucket: delete the bucket's expired rows, count
        the others, and add ``amount`` rows expiring at ``expires_at`` if that stays within
        ``limit``. Whether they were added."""

    @abstractmethod
    def _window(self, key: str, now: float) -> tuple[float, int]:
        """The earliest expiry among the bucket's unexpired rows (``now`` if none), and their
        number."""

    @abstractmethod
    def _sweep(self, now: float) -> None:
        """Delete every expired row."""

    @abstractmethod
    def _delete(self, key: str | None) -> int:
        """Delete the rows of one bucket, or of all of them; how many."""

    @abstractmethod
    def close(self) -> None:
        """Release the connections; a later use opens them again."""

    # --- the moving window -------------------------------------------------------------------
    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = time.time()
        acquired = self._acquire(key, limit, now + expiry, amount, now)
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY_SECONDS
            try:
                self._sweep(now)
            except self.base_exceptions:
                # The request was counted; expired rows are left for the next sweep.
                log.warning("cannot delete expired rate-limit rows", exc_info=True)
        return acquired

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        first_expiry, count = self._window(key, now)
        if count == 0:
            return now, 0
        # A row expires ``expiry`` seconds after its request: this is the oldest request's time.
        return first_expiry - expiry, count

    # --- the rest of the limits Storage interface -----------------------------------------------
    def clear(self, key: str) -> None:
        self._delete(key)

    def reset(self) -> int | None:
        return self._delete(None)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("only moving windows are kept in the database")

    def get(self, key: str) -> int:
        raise NotImplementedError("only moving windows are kept in the database")

    def get_expiry(self, key: str) -> float:
        raise NotImplementedError("only moving windows are kept in the database")


def counters_beside(store: Store) -> DatabaseCounters | None:
    """The counters of ``store``'s database: in a file beside a SQLite database, in a table of a
    PostgreSQL database; None for a store without a database file or server of its own (an
    in-memory one), whose counters then stay in process memory.

    Raises CountersUnavailable when the database cannot keep them.
    """
    from otastats.storage.sqlite import SQLiteStore

    if isinstance(store, SQLiteStore):
        from otastats.storage.rate_limit_sqlite import SQLiteCounters, sidecar_path

        path = store.path
        if path in ("", ":memory:") or path.startswith("file::memory:"):
            return None
        return SQLiteCounters(sidecar_path(path))
    from otastats.storage.postgres import PostgresStore

    if isinstance(store, PostgresStore):
        from otastats.storage.rate_limit_postgres import PostgresCounters

        return PostgresCounters(store.url)
    return None
