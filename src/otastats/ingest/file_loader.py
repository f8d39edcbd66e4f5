"""Loading NDJSON files through the ingestion pipeline, in bounded chunks, with progress."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from itertools import groupby
from typing import IO, Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TransferSpeedColumn

from otastats.ingest.body import Undecodable
from otastats.ingest.service import IngestResult, existing_app, prepare, write_all
from otastats.storage.base import Store


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
    after_commit: Callable[[list[str]], None] | None = None,
) -> dict[str, Any]:
    """Ingest each file ('-' for stdin); rejections carry the file and the line's index.

    The lines are decoded, validated and written ``chunk`` at a time, and committed every
    ``chunks_per_commit`` chunks: with large indexes, each commit writes every page its
    transaction touched, so fewer, larger transactions write each page less often.
    ``after_commit`` is called with the apps of each committed transaction.
    """
    total = IngestResult()
    rejected: list[dict[str, object]] = []
    show = sys.stderr.isatty()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[events]:,} events"),
        console=Console(stderr=True),
        disable=not show,
        transient=True,
    ) as progress:
        pieces = enumerate(_file_chunks(progress, names, chunk))
        # Lazy groups of chunks_per_commit chunks: one chunk in memory at a time.
        for _, group in groupby(pieces, key=lambda numbered: numbered[0] // chunks_per_commit):
            written: set[str] = set()
            with store.writer() as tx:
                for _, (name, seen, batch, taken, task) in group:
                    prepared = prepare(store, batch, clock(), existing_app)
                    written.update(event.app_id for event in prepared.allowed)
                    result = write_all(tx, [prepared])[0]
                    rejected.extend(
                        {"file": name, "index": index + seen, "error": error}
                        for index, error in result.rejected
                    )
                    total.accepted += result.accepted
                    total.duplicates += result.duplicates
                    progress.update(task, advance=taken, events=seen + len(batch))
            if after_commit is not None and written:
                after_commit(sorted(written))
    return {"accepted": total.accepted, "duplicates": total.duplicates, "rejected": rejected}


def _file_chunks(
    progress: Progress, names: list[str], size: int
) -> Iterator[tuple[str, int, list[object], int, TaskID]]:
    """(file, index of the chunk's first line, decoded lines, bytes taken, progress task) of
    each chunk of each file in turn; a file is open while its chunks are read."""
    for name in names:
        with nullcontext(sys.stdin.buffer) if name == "-" else open(name, "rb") as stream:
            task = progress.add_task(name, total=None if name == "-" else _size(stream), events=0)
            seen = 0
            for batch, taken in _chunks(stream, size):
                yield name, seen, batch, taken, task
                seen += len(batch)


def _size(stream: IO[bytes]) -> int | None:
    try:
        import os

        return os.fstat(stream.fileno()).st_size
    except OSError:
        return None
