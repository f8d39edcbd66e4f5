"""Opening the store a database URL names, and upgrading its schema."""

from __future__ import annotations

from dataclasses import dataclass

from otastats.storage.base import Store
from otastats.storage.sqlite import SQLiteStore, path_from_url


class UnsupportedDatabase(ValueError):
    pass


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(url: str, *, query_timeout_ms: int = 10_000) -> Store:
    """The store of ``url``; its schema is created or migrated to the code's version."""
    if url.startswith("sqlite://"):
        try:
            path = path_from_url(url)
        except ValueError as exc:
            raise UnsupportedDatabase(
                f"{exc}; use sqlite:///relative/path.db or sqlite:////absolute/path.db"
            ) from None
        return SQLiteStore(path, query_timeout_ms=query_timeout_ms)
    if url.startswith(POSTGRES_SCHEMES):
        import psycopg

        from otastats.storage.postgres import PostgresStore

        try:
            return PostgresStore(url, query_timeout_ms=query_timeout_ms)
        except psycopg.OperationalError as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise UnsupportedDatabase(f"cannot use the PostgreSQL database: {reason}") from None
    raise UnsupportedDatabase(
        f"unsupported database URL {url!r}: use sqlite:///path/file.db or postgresql://..."
    )


@dataclass(frozen=True, slots=True)
class Upgrade:
    backend: str
    from_version: int
    to_version: int


def upgrade_database(url: str) -> Upgrade:
    """Migrate the database to the code's schema version; say from which version."""
    store = open_store(url)
    try:
        if isinstance(store, SQLiteStore):
            from otastats.storage.sqlite import SCHEMA_VERSION as sqlite_version

            return Upgrade("sqlite", store.upgraded_from, sqlite_version)
        from otastats.storage.postgres import SCHEMA_VERSION as postgres_version
        from otastats.storage.postgres import PostgresStore

        assert isinstance(store, PostgresStore)
        return Upgrade("postgresql", store.upgraded_from, postgres_version)
    finally:
        store.close()
