"""The live plugin tokens seen lately, kept in memory so that a request of a known token needs
no database read (nor a worker thread) before its body is read.

A token found live is trusted for ``TOKEN_RECHECK_S`` (1 s) after it was read; its next request
after that reads it again. A revocation, or the deletion of its app, by any process (the
command line included) therefore takes effect in every server process within one second.
Unknown, malformed and revoked tokens are never kept: each such request reads the database, so
that a token created a moment ago works at once, and guessed tokens cannot fill the memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from otastats.auth.keys import hash_key
from otastats.plugin.tokens import TOKEN_SHAPE
from otastats.storage.base import Store
from otastats.storage.records import PluginToken

TOKEN_RECHECK_S = 1.0
MAX_KEPT = 10_000
"""More live tokens than any deployment has: when passed, all are forgotten at once."""


class LiveTokens:
    def __init__(
        self,
        store: Store,
        recheck_s: float = TOKEN_RECHECK_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._recheck_s = recheck_s
        self.clock = clock
        """Seconds, of any origin (set by tests)."""
        self._kept: dict[str, tuple[PluginToken, float]] = {}
        self._secret: bytes | None = None

    def kept(self, token: str) -> PluginToken | None:
        """The live token when it was read less than a second ago, else None (the caller then
        calls ``read``). Cheap: for the event loop."""
        if self._secret is None or TOKEN_SHAPE.match(token) is None:
            return None
        found = self._kept.get(hash_key(token, self._secret))
        if found is None or self.clock() - found[1] >= self._recheck_s:
            return None
        return found[0]

    def read(self, token: str) -> PluginToken | None:
        """The live token from the database (None when malformed, unknown, revoked or of a
        deleted app), kept when live. Reads the database: for a worker thread."""
        if TOKEN_SHAPE.match(token) is None:
            return None
        if self._secret is None:
            self._secret = self._store.key_secret()
        token_hash = hash_key(token, self._secret)
        found = self._store.plugin_token_by_hash(token_hash)
        if found is None or found.revoked_at is not None or found.app_deleted:
            self._kept.pop(token_hash, None)
            return None
        if len(self._kept) >= MAX_KEPT:
            self._kept.clear()
        self._kept[token_hash] = (found, self.clock())
        return found
