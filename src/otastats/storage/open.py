"""Opening the store a database URL names."""

from __future__ import annotations

from otastats.storage.base import Store
from otastats.storage.sqlite import SQLiteStore, path_from_url


class UnsupportedDatabase(ValueError):
    pass


def open_store(url: str, *, query_timeout_ms: int = 10_000) -> Store:
    if url.startswith("sqlite://"):
        try:
            path = path_from_url(url)
        except ValueError as exc:
            raise UnsupportedDatabase(
                f"{exc}; use sqlite:///relative/path.db or sqlite:////absolute/path.db"
            ) from None
        return SQLiteStore(path, query_timeout_ms=query_timeout_ms)
    if url.startswith(("postgresql://", "postgres://")):
        raise UnsupportedDatabase(
            "the PostgreSQL backend is not available in this version; use a sqlite:/// URL"
        )
    raise UnsupportedDatabase(f"unsupported database URL {url!r}: use sqlite:///path/file.db")
