"""The tokens of the plugin URLs in SQLite: created, listed, found by hash, revoked."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager

from otastats.errors import NotFound
from otastats.storage.records import PluginToken

_COLUMNS = "t.token_id, t.app_id, t.token_hash, t.upstream, t.created_at, t.revoked_at"


class SQLitePluginTokens:
    """Mixed into SQLiteStore, whose connections it uses."""

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def create_plugin_token(self, token: PluginToken) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO plugin_tokens VALUES (?, ?, ?, ?, ?, NULL)",
                (token.token_id, token.app_id, token.token_hash, token.upstream, token.created_at),
            )

    def plugin_token_by_hash(self, token_hash: str) -> PluginToken | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS}, a.deleted_at IS NOT NULL FROM plugin_tokens AS t"  # noqa: S608
                " JOIN apps AS a ON a.app_id = t.app_id WHERE t.token_hash = ?",
                (token_hash,),
            ).fetchone()
        if row is None:
            return None
        token_id, app_id, token_hash, upstream, created_at, revoked_at, deleted = row
        return PluginToken(
            token_id, app_id, token_hash, upstream, created_at, revoked_at, bool(deleted)
        )

    def plugin_tokens_of(self, app_id: str) -> list[PluginToken]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM plugin_tokens AS t"  # noqa: S608
                " WHERE t.app_id = ? ORDER BY t.created_at, t.token_id",
                (app_id,),
            ).fetchall()
        return [PluginToken(*row) for row in rows]

    def revoke_plugin_token(self, token_id: str, now: int) -> None:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE plugin_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE token_id = ?",
                (now, token_id),
            )
            if cur.rowcount == 0:
                raise NotFound(f"no plugin token {token_id!r}")
