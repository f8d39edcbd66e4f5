"""Loading NDJSON files through the ingestion pipeline, in bounded chunks, with progress."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from typing import IO, Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TransferSpeedColumn

from otastats.ingest.body import Undecodable
from otastats.ingest.service import IngestResult, Prepared, existing_app, prepare, write_all
from otastats.storage.base import Store, WriteTx


def _chunks(stream: IO[bytes], size: int) -> Iterator[tuple[list[object], int]]:
    """Lists of decoded non-empty lines, with the bytes they took."""
    batch: list[object] = []
    taken = 0
    for line in stream:
        taken += len(line)
        if not line.strip():
            continue
        try:
            batch.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            batch.append(Undecodable("event: this line is not valid JSON"))
        if len(batch) >= size:
            yield batch, taken
            batch, taken = [], 0
    if batch or taken:
        yield batch, taken


def load_files(
    store: Store,
    names: list[str],
    clock: Callable[[], int],
    *,
    chunk: int,
    chunks_per_commit: int = 1,
) -> dict[str, Any]:
    """Ingest each file ('-' for stdin); rejections carry the file and the line's index.

    The lines are decoded, validated and written ``chunk`` at a time, and committed every
    ``chunks_per_commit`` chunks: with large indexes, each commit writes every page its
    transaction touched, so fewer, larger transactions write each page less often.
    """
    total = IngestResult()
    rejected: list[dict[str, object]] = []
    show = sys.stderr.isatty()
    with ExitStack() as stack:
        progress = stack.enter_context(
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TransferSpeedColumn(),
                TextColumn("{task.fields[events]:,} events"),
                console=Console(stderr=True),
                disable=not show,
                transient=True,
            )
        )
        transaction = stack.enter_context(_Batched(store, chunks_per_commit))
        for name in names:
            stream = sys.stdin.buffer if name == "-" else stack.enter_context(open(name, "rb"))
            size = None if name == "-" else _size(stream)
            task = progress.add_task(name, total=size, events=0)
            seen = 0
            for batch, taken in _chunks(stream, chunk):
                result = transaction.write(prepare(store, batch, clock(), existing_app))
                rejected.extend(
                    {"file": name, "index": index + seen, "error": error}
                    for index, error in result.rejected
                )
                total.accepted += result.accepted
                total.duplicates += result.duplicates
                seen += len(batch)
                progress.update(task, advance=taken, events=seen)
    return {"accepted": total.accepted, "duplicates": total.duplicates, "rejected": rejected}


class _Batched:
    """A write transaction committed after every ``size`` batches, and at the end."""

    def __init__(self, store: Store, size: int) -> None:
        self._store = store
        self._size = size
        self._open: AbstractContextManager[WriteTx] | None = None
        self._tx: WriteTx | None = None
        self._written = 0

    def write(self, prepared: Prepared) -> IngestResult:
        if self._tx is None:
            self._open = self._store.writer()
            self._tx = self._open.__enter__()
        result = write_all(self._tx, [prepared])[0]
        self._written += 1
        if self._written >= self._size:
            self._commit()
        return result

    def _commit(self) -> None:
        opened, self._open, self._tx, self._written = self._open, None, None, 0
        if opened is not None:
            opened.__exit__(None, None, None)

    def __enter__(self) -> _Batched:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: Any
    ) -> None:
        opened, self._open, self._tx = self._open, None, None
        if opened is not None:
            opened.__exit__(kind, error, tb)


def _size(stream: IO[bytes]) -> int | None:
    try:
        import os

        return os.fstat(stream.fileno()).st_size
    except OSError:
        return None
