"""What a long stored history costs: a one-day bundle_usage, and one more event of a hot device.

    python bench/hot_history.py [--days 300000] [--repeat 15] [--backend sqlite|postgresql]
                                [--postgres-url URL]

For each history length H of (30, --days / 100, --days / 10, --days), the first being the
baseline, on a fresh database (a SQLite file in a temporary directory, or a PostgreSQL database
created through ``--postgres-url`` and dropped at the end):

1. builds one app whose one device was active on each of the H days that end yesterday, each day
   on a version of its own (so the app has H versions). The events are written by the engine
   (``apply_events``, in transactions of 20,000): no client may send a day before 2000, and
   300,000 days reach back to the 12th century;
2. times, ``--repeat`` times each, the median reported:
   (a) ``bundle_usage`` of yesterday alone: the store's read and the shaping of the answer;
   (b) the ingestion, through the validating path of every request, of one more check-in of
       that device, today, on a version other than the one before (so its deltas move);
3. prints one table: H, the build time, (a) and (b) in milliseconds and as a ratio of the
   baseline's.

Everything runs in a temporary directory that is removed at the end, and only the PostgreSQL
server of ``--postgres-url`` is contacted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from otastats.ingest.apply import apply_events
from otastats.ingest.schemas import DEVICE_SEEN, Event
from otastats.ingest.service import existing_app, ingest
from otastats.stats.bundle_usage import bundle_usage
from otastats.stats.parser import StatsQuery
from otastats.storage.base import Store
from otastats.timeparse import MICROS_PER_DAY, datetime_to_micros

APP = "com.bench.hot"
CHUNK = 20_000


@contextmanager
def fresh_store(backend: str, admin_url: str, workdir: Path) -> Iterator[Store]:
    if backend == "sqlite":
        from otastats.storage.sqlite import SQLiteStore

        store: Store = SQLiteStore(str(workdir / f"{uuid.uuid4().hex}.db"))
        try:
            yield store
        finally:
            store.close()
        return
    import psycopg

    from otastats.storage.postgres import PostgresStore

    name = f"otastats_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        store = PostgresStore(admin_url.rsplit("/", 1)[0] + "/" + name)
        try:
            yield store
        finally:
            store.close()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def build(store: Store, history: int, today: int) -> float:
    store.create_org("00000000-0000-4000-8000-000000000001", "bench", 0)
    store.create_app(APP, "00000000-0000-4000-8000-000000000001", 0)
    started = time.perf_counter()
    first = today - history
    for start in range(first, today, CHUNK):
        events = [
            Event(DEVICE_SEEN, APP, day * MICROS_PER_DAY + 3_600_000_000, f"v{day}", "hot")
            for day in range(start, min(start + CHUNK, today))
        ]
        for event in events:
            event.platform = "ios"
        with store.writer() as tx:
            apply_events(tx, events)
    return time.perf_counter() - started


def median_ms(action: Callable[[int], Any], repeat: int) -> float:
    samples = []
    for number in range(repeat):
        started = time.perf_counter()
        action(number)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def measure(store: Store, today: int, now: datetime, repeat: int) -> tuple[float, float]:
    query = StatsQuery(today - 1, today - 1)
    usage = median_ms(
        lambda _: bundle_usage(store.version_rows(APP, today - 1, today - 1), query), repeat
    )
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)

    def one_more(number: int) -> None:
        stamp = (midnight + timedelta(seconds=number + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {"type": "device_seen", "app_id": APP, "device_id": "hot", "platform": "ios",
                 "timestamp": stamp, "version_name": f"today-{number % 2}"}  # fmt: skip
        result = ingest(store, [event], datetime_to_micros(now), existing_app)
        assert result.accepted == 1, result

    return usage, median_ms(one_more, repeat)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args(argv)
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    today = datetime_to_micros(now) // MICROS_PER_DAY
    lengths = [30, max(31, args.days // 100), max(32, args.days // 10), args.days]
    rows: list[tuple[int, float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="otastats-hot-") as workdir:
        for history in lengths:
            with fresh_store(args.backend, args.postgres_url, Path(workdir)) as store:
                built = build(store, history, today)
                usage, one_more = measure(store, today, now, args.repeat)
            rows.append((history, built, usage, one_more))
            print(f"  built {history:,} days in {built:.1f} s", file=sys.stderr)
    base_usage, base_ingest = rows[0][2], rows[0][3]
    print(f"backend: {args.backend}; median of {args.repeat} runs; baseline: 30 days of history")
    print(f"{'history days':>12} | {'build s':>8} | {'bundle_usage 1 day ms':>21} | {'x base':>6}"
          f" | {'one more event ms':>17} | {'x base':>6}")  # fmt: skip
    print("-" * 87)
    for history, built, usage, one_more in rows:
        print(f"{history:>12,} | {built:>8.1f} | {usage:>21.2f} | {usage / base_usage:>6.1f}"
              f" | {one_more:>17.2f} | {one_more / base_ingest:>6.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
