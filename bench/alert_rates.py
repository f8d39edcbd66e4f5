"""What reading a rate alert's figure costs as an app's history grows: the newest version's
rollback rate (otastats.alerts.figures), beside a same-run baseline that reads the app's whole
health totals for one day and takes the last version of the health answer (what the figure
would cost without the index of schema version 7).

    .venv/bin/python bench/alert_rates.py [--versions 10,1000,100000] [--calls 200]

For each count, a fresh SQLite database (in a temporary directory) whose ``health_totals`` and
``health_days`` hold that many versions of one app, written straight into the tables (the
ingest path is not what is measured): a version every hour, 7 classes each, and each version's
first crash 30 days after its first report (so that the search by first day meets older
versions too). Both readings are checked to give the same figure, then timed (p50 of
``--calls``).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# bench/ is on sys.path when this runs as `python bench/alert_rates.py`.
from host import machine_facts, quantile
from otastats.alerts.evaluation import Figure
from otastats.alerts.figures import rollback_rate
from otastats.health.answer import health_answer
from otastats.health.classes import CLASSES, CRASHES, INSTALLS
from otastats.stats.parser import StatsQuery
from otastats.storage.sqlite import SQLiteStore
from otastats.timeparse import MICROS_PER_DAY

APP = "com.bench.app"
TODAY = 20_000


def fill(path: Path, versions: int) -> None:
    SQLiteStore(path).close()  # the schema
    first = TODAY - versions // 24 - 31
    totals = []
    days = []
    for i in range(versions):
        day = first + i // 24
        for name in CLASSES:
            first_day = day + 30 if name == CRASHES else day
            devices = 500 if name != CRASHES else 5
            totals.append(
                (APP, f"1.{i}.0", name, devices - (name == INSTALLS) * (i % 7), first_day)
            )
            days.append((APP, f"1.{i}.0", name, first_day, devices, devices))
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany("INSERT INTO health_totals VALUES (?, ?, ?, ?, ?)", totals)
        conn.executemany("INSERT INTO health_days VALUES (?, ?, ?, ?, ?, ?)", days)
    conn.close()


def baseline(store: SQLiteStore, now: int) -> Figure:
    day = now // MICROS_PER_DAY
    newest = health_answer(store.health_rows(APP, day, day), StatsQuery(day, day))["versions"][-1]
    return Figure(newest["rates"]["rollback"], newest["version"], newest["totals"][INSTALLS])


def timed(
    read: Callable[[SQLiteStore, int], Figure], store: SQLiteStore, now: int, calls: int
) -> float:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        read(store, now)
        samples.append((time.perf_counter() - started) * 1000)
    return quantile(samples, 0.5)


def figure(store: SQLiteStore, now: int) -> Figure:
    return rollback_rate(store, APP, now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", default="10,1000,100000")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    now = TODAY * MICROS_PER_DAY + MICROS_PER_DAY // 2
    print(machine_facts())
    print("| versions of the app | figure p50 ms | baseline p50 ms | figure / baseline |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(part) for part in args.versions.split(",")):
            path = Path(tmp) / f"rates-{count}.db"
            fill(path, count)
            store = SQLiteStore(path)
            try:
                assert figure(store, now) == baseline(store, now)
                fast = timed(figure, store, now, args.calls)
                slow = timed(baseline, store, now, max(3, args.calls // 10))
            finally:
                store.close()
            print(f"| {count:,} | {fast:.3f} | {slow:.3f} | {fast / slow:.4f} |")


if __name__ == "__main__":
    main()
