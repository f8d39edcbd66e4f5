"""Group commit: the prepared batches of concurrent requests share one durable commit.

Each acknowledged request must be on disk, so every commit waits for the disk to sync. When
several requests are waiting to write, the first of them writes all the waiting batches in one
transaction, in the order they arrived, and one sync acknowledges them all. When that
transaction fails, none of it is stored, and each batch is written again in a transaction of its
own: a request that fails (whatever the reason, one tenant's or not) fails only itself.

A request served on the event loop (``write_async``) waits without a thread of its own: its
batch joins the waiting ones, and when no thread is there to lead the next transaction, the
group's own writer thread does; the loop learns of the answers with one wake-up a transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from otastats.ingest.service import IngestResult, Prepared, write_all
from otastats.storage.base import Store

log = logging.getLogger("otastats")


@dataclass(slots=True)
class _Pending:
    prepared: Prepared
    result: IngestResult | None = None
    error: BaseException | None = None
    finished: bool = False
    answer: asyncio.Future[IngestResult] | None = None
    """Set for a request of the event loop, which awaits it instead of the condition."""


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
        self._lead_thread = ThreadPoolExecutor(1, thread_name_prefix="otastats-group-commit")
        """Leads the transactions of the event loop's requests (a thread waiting here leads
        its own)."""

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

    async def write_async(self, prepared: Prepared) -> IngestResult:
        """``write`` for a coroutine: the same transactions, without a thread of its own."""
        loop = asyncio.get_running_loop()
        mine = _Pending(prepared, answer=loop.create_future())
        with self._changed:
            self._waiting.append(mine)
            if not self._writing:
                self._writing = True
                self._lead_thread.submit(self._lead_waiting)
        assert mine.answer is not None
        return await mine.answer

    def _lead_waiting(self) -> None:
        with self._changed:
            batch, self._waiting = self._waiting, []
        self._write(batch)

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
        _answer_loops(batch)
        with self._changed:
            for pending in batch:
                pending.finished = True
            self._writing = False
            if any(pending.answer is not None for pending in self._waiting):
                # No thread may be waiting to lead these: the group's thread does.
                self._writing = True
                self._lead_thread.submit(self._lead_waiting)
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
        if self._after_commit is None:
            return
        # The events are committed whatever the hook does: a failing hook neither fails the
        # requests nor leaves the group without a writer.
        try:
            self._after_commit(sorted({e.app_id for p in batch for e in p.prepared.allowed}))
        except Exception:
            log.exception("the after-commit hook failed; the events it followed are committed")


def _answer_loops(batch: list[_Pending]) -> None:
    """Hands the results of the batch's event-loop requests to their loops, one call a loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
    for pending in batch:
        if pending.answer is not None:
            by_loop.setdefault(pending.answer.get_loop(), []).append(pending)
    for loop, pendings in by_loop.items():
        # A closed loop: nobody awaits these answers any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, pendings)


def _settle(pendings: list[_Pending]) -> None:
    for pending in pendings:
        answer = pending.answer
        if answer is None or answer.done():
            continue
        if pending.error is not None:
            answer.set_exception(pending.error)
        else:
            assert pending.result is not None
            answer.set_result(pending.result)
