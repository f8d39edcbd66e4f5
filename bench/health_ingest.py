"""What keeping the update-health state costs ingestion: the same workload loaded with and
without the health fold, in alternation, in one process.

```sh
.venv/bin/python bench/health_ingest.py --events 3e5 --rounds 3            # with actions
.venv/bin/python bench/health_ingest.py --events 3e5 --rounds 3 --no-actions
```

The workload of bench/workload.py (with the updater plugin's health actions unless
``--no-actions``) is loaded into a fresh SQLite database per trial by the loader of
``otastats ingest`` (the same chunks and commits); "without" replaces the health fold
(otastats.ingest.apply.apply_health) by one that does nothing. The alternation spreads the other
load of a shared machine over both; the table shows each trial's events per second.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import otastats.ingest.apply as apply
from otastats.admin import service as admin
from otastats.cli import FILE_CHUNK_EVENTS, FILE_CHUNKS_PER_COMMIT
from otastats.ingest.file_loader import load_files
from otastats.storage.sqlite import SQLiteStore
from workload import generate, parse_count


def trial(folder: Path, name: str, setup: dict[str, object], files: list[str]) -> float:
    """Seconds to load ``files`` into a fresh database (tenants made first, not timed)."""
    store = SQLiteStore(str(folder / f"{name}.db"))
    try:
        org_id = admin.create_org(store, "bench", 0)
        apps = setup["apps"]
        assert isinstance(apps, list)
        for app in apps:
            admin.create_app(store, app["app_id"], org_id, 0)
        started = time.perf_counter()
        load_files(
            store,
            files,
            lambda: int(time.time() * 1_000_000),
            chunk=FILE_CHUNK_EVENTS,
            chunks_per_commit=FILE_CHUNKS_PER_COMMIT,
        )
        return time.perf_counter() - started
    finally:
        store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=parse_count, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-actions", action="store_true")
    args = parser.parse_args(argv)
    fold = apply.apply_health
    table = Table(title="otastats ingest's loader, with and without the health fold")
    for column in ("round", "without: events/s", "with: events/s", "with / without"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory(prefix="otastats-health-ingest-") as work:
        folder = Path(work)
        today = datetime.now(UTC).date()
        setup = generate(args.events, folder / "wl", 1, today, 120, 1_000_000, not args.no_actions)
        files = [str(folder / "wl" / name) for name in setup["files"]]
        lines = setup["counts"]["lines"]
        for index in range(args.rounds):
            apply.apply_health = lambda tx, events: None
            without = lines / trial(folder, f"without-{index}", setup, files)
            apply.apply_health = fold
            with_ = lines / trial(folder, f"with-{index}", setup, files)
            table.add_row(
                str(index + 1), f"{without:,.0f}", f"{with_:,.0f}", f"{with_ / without:.2f}"
            )
    Console(width=120).print(table)
    actions = setup["counts"]["action"]
    Console().print(f"{lines:,} events, of which {actions:,} actions")


if __name__ == "__main__":
    main()
