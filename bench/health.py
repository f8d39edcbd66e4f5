"""Benchmark of the health endpoint: p50 of a 90-day answer at several workload sizes.

```sh
.venv/bin/python bench/health.py --events 1e5,1e6
```

For each size: the bench workload (bench/workload.py) with the updater plugin's health actions
(`--actions`: a `set` on every new version, some `update_fail`, `app_crash`,
`webview_javascript_error`), ingested by `otastats ingest` into a fresh SQLite database; then
`otastats serve`, and timed requests (one keep-alive connection) of the largest app's health and,
as the same-run baseline, its `bundle_usage` (an answer of the same days x versions shape), both
over the last 90 days; and the same health figures computed straight from the stored events
(the query a service without kept state would run). The table shows each figure beside the
baseline; a flat health p50 from one size to the next shows that the cost does not grow with the
data.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlencode

import orjson
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from host import machine_facts, quantile
from run import OTASTATS, Client, create_tenants, day_range, env_for, server, time_queries
from workload import generate, parse_count

DAYS = 90
RAW_SQL = (
    "SELECT version_name, action, COUNT(DISTINCT device_id), COUNT(DISTINCT ts / 86400000000)"
    " FROM events WHERE app_id = ? AND ts >= ? AND is_emulator = 0 AND is_prod = 1"
    " GROUP BY version_name, action"
)
"""A part of the health answer from the raw events (the daily counts need more still)."""


def ingest(database: str, files: list[Path]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [OTASTATS, "ingest", *map(str, files), "--json"],
        env=env_for(database),
        capture_output=True,
        check=True,
        timeout=6 * 3600,
    )
    return time.perf_counter() - started


def raw_query(path: Path, app_id: str, end: date, repeats: int) -> float:
    """Milliseconds (p50) of RAW_SQL over the 90 days ending at ``end``."""
    since = (end.toordinal() - date(1970, 1, 1).toordinal() - DAYS + 1) * 86_400_000_000
    samples = []
    with sqlite3.connect(path) as conn:
        for _ in range(repeats):
            started = time.perf_counter()
            conn.execute(RAW_SQL, (app_id, since)).fetchall()
            samples.append(time.perf_counter() - started)
    return quantile(samples, 0.5) * 1000


def measure(size: int, work: Path, requests: int, warmup: int) -> dict[str, object]:
    folder = work / f"w{size}"
    end = datetime.now(UTC).date()
    setup = generate(size, folder, 1, end, 120, 1_000_000, actions=True)
    path = folder / "otastats.db"
    database = f"sqlite:///{path}"
    tenants = create_tenants(database, setup)
    seconds = ingest(database, [folder / name for name in setup["files"]])
    app_id = setup["largest_app"]
    with server(database, folder / "serve.log") as (_, port):
        client = Client(port, tenants.key)
        try:
            answer = client.get_json(
                f"/statistics/app/{app_id}/health?{urlencode(day_range(end, DAYS))}"
            )
            latencies = time_queries(
                client,
                [
                    ("health", f"/statistics/app/{app_id}/health", {}),
                    ("bundle_usage", f"/statistics/app/{app_id}/bundle_usage", {}),
                ],
                end,
                [DAYS],
                requests,
                warmup,
            )
        finally:
            client.close()
    health, usage = latencies
    return {
        "events": setup["counts"]["lines"],
        "actions": setup["counts"]["action"],
        "ingest_s": round(seconds, 1),
        "versions": len(answer["versions"]),
        "health_p50_ms": round(health.p50_ms, 2),
        "health_p99_ms": round(health.p99_ms, 2),
        "bundle_usage_p50_ms": round(usage.p50_ms, 2),
        "raw_sql_p50_ms": round(raw_query(path, app_id, end, 5), 1),
        "response_bytes": health.response_bytes,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", default="1e5,1e6", help="sizes, like 1e5,1e6,1e7")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    sizes = [parse_count(text) for text in args.events.split(",")]
    with tempfile.TemporaryDirectory(prefix="otastats-health-bench-") as work:
        rows = [measure(size, Path(work), args.requests, args.warmup) for size in sizes]
    table = Table(title=f"GET /statistics/app/:app_id/health, {DAYS} days, largest app")
    columns = (
        ("events", "events"),
        ("actions", "of which actions"),
        ("ingest_s", "ingest s"),
        ("versions", "versions"),
        ("health_p50_ms", "health p50 ms"),
        ("health_p99_ms", "health p99 ms"),
        ("bundle_usage_p50_ms", "bundle_usage p50 ms (baseline)"),
        ("raw_sql_p50_ms", "from raw events p50 ms (baseline)"),
        ("response_bytes", "answer bytes"),
    )
    for _, title in columns:
        table.add_column(title, justify="right")
    for row in rows:
        table.add_row(*(f"{row[name]:,}" for name, _ in columns))
    console = Console(width=180)
    console.print(table)
    facts = machine_facts()
    console.print(f"machine: {facts}")
    if args.json_out:
        args.json_out.write_bytes(orjson.dumps({"machine": facts, "rows": rows}))


if __name__ == "__main__":
    main()
