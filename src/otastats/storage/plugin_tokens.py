"""The tokens of the plugin URLs, in either backend: created, listed, found by hash, revoked.

The statements are the same in SQLite and PostgreSQL but for the parameter mark, and both
backends' connections answer ``execute(sql, params)``: one class holds them, and each backend
names its mark and the connection a single statement runs on.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, ClassVar

from otastats.errors import NotFound
from otastats.storage.records import PluginToken

_COLUMNS = "t.token_id, t.app_id, t.token_hash, t.upstream, t.created_at, t.revoked_at"


class PluginTokenTable:
    """Mixed into a store, whose connections it uses."""

    _MARK: ClassVar[str] = "?"
    """The parameter mark of the backend's driver; the statements below are written with ``?``."""

    def _statement(self) -> AbstractContextManager[Any]:
        """A connection for one statement that reads."""
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _sql(self, text: str) -> str:
        return text.replace("?", self._MARK)

    def create_plugin_token(self, token: PluginToken) -> None:
        with self._write() as conn:
            conn.execute(
                self._sql("INSERT INTO plugin_tokens VALUES (?, ?, ?, ?, ?, NULL)"),
                (token.token_id, token.app_id, token.token_hash, token.upstream, token.created_at),
            )

    def plugin_token_by_hash(self, token_hash: str) -> PluginToken | None:
        with self._statement() as conn:
            row = conn.execute(
                self._sql(
                    f"SELECT {_COLUMNS}, a.deleted_at IS NOT NULL FROM plugin_tokens AS t"  # noqa: S608
                    " JOIN apps AS a ON a.app_id = t.app_id WHERE t.token_hash = ?"
                ),
                (token_hash,),
            ).fetchone()
        if row is None:
            return None
        token_id, app_id, token_hash, upstream, created_at, revoked_at, deleted = row
        return PluginToken(
            token_id, app_id, token_hash, upstream, created_at, revoked_at, bool(deleted)
        )

    def plugin_tokens_of(self, app_id: str) -> list[PluginToken]:
        with self._statement() as conn:
            rows = conn.execute(
                self._sql(
                    f"SELECT {_COLUMNS} FROM plugin_tokens AS t"  # noqa: S608
                    " WHERE t.app_id = ? ORDER BY t.created_at, t.token_id"
                ),
                (app_id,),
            ).fetchall()
        return [PluginToken(*row) for row in rows]

    def revoke_plugin_token(self, token_id: str, now: int) -> None:
        with self._write() as conn:
            cur = conn.execute(
                self._sql(
                    "UPDATE plugin_tokens SET revoked_at = COALESCE(revoked_at, ?)"
                    " WHERE token_id = ?"
                ),
                (now, token_id),
            )
            if cur.rowcount == 0:
                raise NotFound(f"no plugin token {token_id!r}")


class SQLitePluginTokens(PluginTokenTable):
    def _read(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _statement(self) -> AbstractContextManager[Any]:
        return self._read()


class PostgresPluginTokens(PluginTokenTable):
    _MARK = "%s"

    def _one(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _statement(self) -> AbstractContextManager[Any]:
        return self._one()
