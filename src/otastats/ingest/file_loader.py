"""Loading NDJSON files through the ingestion pipeline, in bounded chunks, with progress."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import IO, Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TransferSpeedColumn

from otastats.ingest.body import Undecodable
from otastats.ingest.service import IngestResult, existing_app, ingest
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
    store: Store, names: list[str], clock: Callable[[], int], *, chunk: int
) -> dict[str, Any]:
    """Ingest each file ('-' for stdin); rejections carry the file and the line's index."""
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
        for name in names:
            stream = sys.stdin.buffer if name == "-" else stack.enter_context(open(name, "rb"))
            size = None if name == "-" else _size(stream)
            task = progress.add_task(name, total=size, events=0)
            seen = 0
            for batch, taken in _chunks(stream, chunk):
                result = ingest(store, batch, clock(), existing_app)
                rejected.extend(
                    {"file": name, "index": index + seen, "error": error}
                    for index, error in result.rejected
                )
                total.accepted += result.accepted
                total.duplicates += result.duplicates
                seen += len(batch)
                progress.update(task, advance=taken, events=seen)
    return {"accepted": total.accepted, "duplicates": total.duplicates, "rejected": rejected}


def _size(stream: IO[bytes]) -> int | None:
    try:
        import os

        return os.fstat(stream.fileno()).st_size
    except OSError:
        return None
