"""The plain load: the floor that any exact, incremental ingest builds on.

The same NDJSON files as otastats ingests, decoded with the project's JSON library (orjson) and
inserted with ``executemany`` into one SQLite table with no index and no rollup, in
transactions of as many lines as ``otastats ingest`` commits at once, with the durability
settings of the otastats writer (WAL, ``synchronous=FULL``). No validation, no deduplication, no
metric state: each field of an event is stored as it was sent. The ingest rates of ``bench/run.py``
are printed as fractions of this rate, measured in the same run on the same machine, since
absolute rates move by half from one machine (or one load average) to the next.

    python bench/plain_load.py FILE... [--transaction 250000]
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from otastats.cli import FILE_CHUNK_EVENTS, FILE_CHUNKS_PER_COMMIT

TRANSACTION_LINES = FILE_CHUNK_EVENTS * FILE_CHUNKS_PER_COMMIT
"""Lines per transaction of ``otastats ingest``, which the plain load commits as often as."""

PLAIN_TARGET_CLI = 3
"""``otastats ingest`` should reach at least 1/3 of the plain load's rate."""
PLAIN_TARGET_HTTP = 6
"""Ingestion over HTTP (requests of 1,000 events) should reach at least 1/6 of it."""

COLUMNS = (
    "type",
    "app_id",
    "device_id",
    "timestamp",
    "version_name",
    "version_build",
    "bytes",
    "platform",
    "os_version",
    "plugin_version",
    "is_emulator",
    "is_prod",
    "event_id",
    "metadata",
)
CREATE = f"CREATE TABLE plain_events ({', '.join(COLUMNS)})"
INSERT = f"INSERT INTO plain_events VALUES ({', '.join('?' * len(COLUMNS))})"  # noqa: S608


@dataclass
class PlainLoad:
    seconds: float
    cpu_seconds: float
    lines: int
    transaction_lines: int
    database_bytes: int

    @property
    def events_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


def fraction(rate: float, plain: float) -> str:
    """``rate`` as a fraction of the plain load's rate: "1/8.3 (0.120)"."""
    if rate <= 0 or plain <= 0:
        return "n/a"
    return f"1/{plain / rate:.1f} ({rate / plain:.3f})"


def _rows(files: list[Path]) -> Iterator[tuple[Any, ...]]:
    for name in files:
        with open(name, "rb") as stream:
            for line in stream:
                if not line.strip():
                    continue
                event = orjson.loads(line)
                metadata = event.get("metadata")
                yield (
                    event.get("type"),
                    event.get("app_id"),
                    event.get("device_id"),
                    event.get("timestamp"),
                    event.get("version_name"),
                    event.get("version_build"),
                    event.get("bytes"),
                    event.get("platform"),
                    event.get("os_version"),
                    event.get("plugin_version"),
                    event.get("is_emulator"),
                    event.get("is_prod"),
                    event.get("event_id"),
                    None if metadata is None else orjson.dumps(metadata),
                )


def _batches(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def plain_load(
    files: list[Path], database: Path, transaction: int = TRANSACTION_LINES
) -> PlainLoad:
    """Load ``files`` into a new SQLite file ``database``; the wall and CPU time it took."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    lines = 0
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(CREATE)
        for batch in _batches(_rows(files), transaction):
            conn.execute("BEGIN")
            conn.executemany(INSERT, batch)
            conn.execute("COMMIT")
            lines += len(batch)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    size = sum(path.stat().st_size for path in (database, Path(f"{database}-wal")) if path.exists())
    return PlainLoad(seconds, cpu, lines, transaction, size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--transaction", type=int, default=TRANSACTION_LINES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="otastats-plain-") as temp:
        done = plain_load(args.files, Path(temp) / "plain.db", args.transaction)
    print(
        f"{done.lines:,} lines in {done.seconds:.1f} s ({done.events_per_second:,.0f} events/s,"
        f" {done.cpu_seconds:.1f} s of CPU), transactions of {done.transaction_lines:,} lines,"
        f" {done.database_bytes / max(done.lines, 1):,.0f} bytes per event"
    )


if __name__ == "__main__":
    main()
