"""Group commit: the prepared batches of concurrent requests share one durable commit.

Each acknowledged request must be on disk, so every commit waits for the disk to sync. When
several requests are waiting to write, the first of them writes all the waiting batches in one
transaction, in the order they arrived, and one sync acknowledges them all. When that
transaction fails, none of it is stored, and each batch is written again in a transaction of its
own: a request that fails (whatever the reason, one tenant's or not) fails only itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from otastats.ingest.service import IngestResult, Prepared, write_all
from otastats.storage.base import Store


@dataclass(slots=True)
class _Pending:
    prepared: Prepared
    result: IngestResult | None = None
    error: BaseException | None = None
    finished: bool = False


class GroupCommit:
    def __init__(
        self, store: Store, after_commit: Callable[[list[str]], None] | None = None
    ) -> None:
        self._store = store
        self._after_commit = after_commit
        """Called with the apps of each committed transaction, before its requests are
        answered (the alerts of those apps are evaluated there)."""
        self._changed = threading.Condition()
        self._waiting: list[_Pending] = []
        self._writing = False

    def write(self, prepared: Prepared) -> IngestResult:
        mine = _Pending(prepared)
        with self._changed:
            self._waiting.append(mine)
            while self._writing and not mine.finished:
                self._changed.wait()
            lead = not mine.finished
            if lead:
                self._writing = True
                batch, self._waiting = self._waiting, []
        if lead:
            self._write(batch)
        if mine.error is not None:
            raise mine.error
        assert mine.result is not None
        return mine.result

    def _write(self, batch: list[_Pending]) -> None:
        try:
            with self._store.writer() as tx:
                results = write_all(tx, [pending.prepared for pending in batch])
        except BaseException as exc:
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for pending in batch:
                    self._write_alone(pending)
        else:
            for pending, result in zip(batch, results, strict=True):
                pending.result = result
            self._committed(batch)
        with self._changed:
            for pending in batch:
                pending.finished = True
            self._writing = False
            self._changed.notify_all()

    def _write_alone(self, pending: _Pending) -> None:
        try:
            with self._store.writer() as tx:
                pending.result = write_all(tx, [pending.prepared])[0]
        except BaseException as exc:  # reported to this request alone
            pending.error = exc
        else:
            self._committed([pending])

    def _committed(self, batch: list[_Pending]) -> None:
        if self._after_commit is not None:
            self._after_commit(sorted({e.app_id for p in batch for e in p.prepared.allowed}))
