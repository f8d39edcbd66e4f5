"""The otastats benchmark: one command, one table.

    python bench/run.py --events 1e6 [--skip-http] [--keep DIR] [--json-out FILE]
                        [--backend sqlite|postgresql] [--postgres-url URL]

1. generates the workload with bench/workload.py (or reuses the one in --keep DIR);
2. creates the orgs, a user, its memberships, the apps and an API key with the real
   ``otastats`` command line, on a fresh SQLite database in a temporary directory (or, with
   ``--backend postgresql``, on a fresh PostgreSQL database created for the run and dropped at
   its end);
3. (a) loads the NDJSON files plainly (bench/plain_load.py: orjson, ``executemany`` into one
   unindexed SQLite table), then ingests them with ``otastats ingest FILE... --json``: events/s
   and its fraction of the plain load, peak RSS, database size;
   (b) on a second fresh database, starts ``otastats serve`` on a free loopback port and posts
   the same events in batches of 1,000 from 2 keep-alive clients: events/s, server peak RSS;
   (d) freshness: how long after an ingest request is acknowledged its figure can be read;
   (c) latency (p50, p99) of the four Statistics endpoints, for 30-, 90- and 365-day ranges;
   (e) the baseline: plain SQL over the raw ``events`` table computing the largest app's
   trailing-30-day MAU for each of 90 days, on the same database, and its ratio to (c);
4. prints one table (and writes it as JSON with --json-out).

Everything it starts, it stops; it only contacts 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import math
import os
import queue
import re
import resource
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import orjson
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from host import cpu_seconds, free_port, machine_facts, otastats_command, proc_status, quantile  # noqa: E402
from plain_load import PLAIN_TARGET_CLI, PLAIN_TARGET_HTTP, fraction, plain_load  # noqa: E402
from workload import parse_count  # noqa: E402

GIB = 1024**3
MICROS_PER_DAY = 86_400_000_000
EPOCH = date(1970, 1, 1)

TARGET_CLI_EPS = 100_000
TARGET_HTTP_EPS = 20_000
TARGET_RSS = GIB
TARGET_APP90_P50_MS = 5.0
TARGET_P99_MS = 25.0
TARGET_FRESH_MS = 1000.0
TARGET_SPEEDUP = 20.0


OTASTATS = otastats_command()


# --- results --------------------------------------------------------------------------------
@dataclass
class Row:
    section: str
    figure: str
    value: str
    target: str = ""
    met: bool | None = None


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    section: str = ""

    def add(self, figure: str, value: str, target: str = "", met: bool | None = None) -> None:
        self.rows.append(Row(self.section, figure, value, target, met))


# --- processes ------------------------------------------------------------------------------
def env_for(database: str, **extra: str) -> dict[str, str]:
    """The environment of an otastats process using the database of URL ``database``."""
    env = dict(os.environ)
    env["OTASTATS_DATABASE_URL"] = database
    env.update(extra)
    return env


def cli(database: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [OTASTATS, *args, "--json"],
        env=env_for(database),
        capture_output=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"otastats {' '.join(args)} failed ({done.returncode}): "
            f"{done.stdout.decode()[:500]} {done.stderr.decode()[-2000:]}"
        )
    result: dict[str, Any] = orjson.loads(done.stdout)
    return result


@dataclass
class Tenants:
    org_ids: dict[str, str]  # org name -> org_id
    user_id: str
    key: str


def create_tenants(database: str, setup: dict[str, Any]) -> Tenants:
    """Orgs, one user who is an admin of every org, the apps, and an 'all' key, via the CLI."""
    names = [org["name"] for org in setup["orgs"]]
    org_ids = {names[0]: cli(database, "org", "create", "--name", names[0])["org_id"]}
    # The first command created the schema; the others may now run two at a time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        made = pool.map(lambda name: cli(database, "org", "create", "--name", name), names[1:])
        org_ids.update(zip(names[1:], (row["org_id"] for row in made), strict=True))
        user_id = cli(database, "user", "create", "--email", "bench@example.com")["user_id"]
        list(
            pool.map(
                lambda org_id: cli(
                    database, "member", "add", "--org", org_id, "--user", user_id, "--role", "admin"
                ),
                org_ids.values(),
            )
        )
        list(
            pool.map(
                lambda app: cli(
                    database, "app", "create", app["app_id"], "--org", org_ids[app["org"]]
                ),
                setup["apps"],
            )
        )
    key = cli(database, "key", "create", "--user", user_id, "--mode", "all")["key"]
    return Tenants(org_ids, user_id, key)


# --- the backends ---------------------------------------------------------------------------
# The databases of a run are named: "template" (the tenants, made once), "cli" for (a) and
# "http" for (b).
class SQLiteDatabases:
    """Database files in the run's temporary directory."""

    backend = "SQLite"
    size_label = "database size (+ WAL) per 1M events"
    cpu_note = ""

    def __init__(self, work: Path) -> None:
        self.work = work

    def path(self, name: str) -> Path:
        return self.work / f"{name}.db"

    def url(self, name: str) -> str:
        return f"sqlite:///{self.path(name)}"

    def version(self) -> str:
        return sqlite3.sqlite_version

    def create_empty(self, name: str) -> None:
        """Nothing to do: the first otastats command creates the file."""

    def copy(self, source: str, target: str) -> None:
        with contextlib.closing(sqlite3.connect(self.path(source))) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(self.path(source), self.path(target))

    def size(self, name: str) -> int:
        total = 0
        for suffix in ("", "-wal"):
            path = Path(f"{self.path(name)}{suffix}")
            if path.exists():
                total += path.stat().st_size
        return total

    def digest(self, name: str) -> str:
        uri = f"file:{self.path(name)}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            return state_digest(conn.execute)

    def baseline(
        self, name: str, app_id: str, days: list[int], *, indexed: bool
    ) -> tuple[float, list[int]]:
        uri = f"file:{self.path(name)}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            return baseline(conn.execute, "?", app_id, days, indexed=indexed)

    def create_index(self, name: str) -> None:
        with contextlib.closing(sqlite3.connect(self.path(name))) as conn:
            conn.execute(BASELINE_INDEX)

    def drop_all(self) -> None:
        """Nothing to do: the temporary directory is removed."""


class PostgresDatabases:
    """Databases otastats_bench_<random>_<name> on the server of the admin URL, each created
    for the run and dropped by ``drop_all``."""

    backend = "PostgreSQL"
    size_label = "database size (pg_database_size) per 1M events"
    cpu_note = ", otastats only"  # the PostgreSQL server's processes are not counted

    def __init__(self, admin_url: str) -> None:
        import psycopg

        self.psycopg = psycopg
        self.admin_url = admin_url
        self.prefix = f"otastats_bench_{secrets.token_hex(4)}"
        self.created: list[str] = []
        with self.admin() as conn:
            self.server_version = conn.execute("SHOW server_version").fetchone()[0]

    def admin(self) -> Any:
        return self.psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10)

    def connect(self, name: str) -> Any:
        return self.psycopg.connect(self.url(name), autocommit=True, connect_timeout=10)

    def dbname(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def url(self, name: str) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + self.dbname(name)))

    def version(self) -> str:
        return f"{self.server_version} (psycopg {self.psycopg.__version__})"

    def _create(self, name: str, template: str | None) -> None:
        from psycopg import sql

        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname(name)))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(self.dbname(template)))
        with self.admin() as conn:
            self.created.append(self.dbname(name))
            conn.execute(statement)

    def create_empty(self, name: str) -> None:
        self._create(name, None)

    def copy(self, source: str, target: str) -> None:
        self._create(target, source)

    def size(self, name: str) -> int:
        with self.admin() as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (self.dbname(name),)).fetchone()
        return int(row[0])

    def digest(self, name: str) -> str:
        with self.connect(name) as conn:
            return state_digest(conn.execute)

    def baseline(
        self, name: str, app_id: str, days: list[int], *, indexed: bool
    ) -> tuple[float, list[int]]:
        with self.connect(name) as conn:
            return baseline(conn.execute, "%s", app_id, days, indexed=indexed)

    def create_index(self, name: str) -> None:
        with self.connect(name) as conn:
            conn.execute(BASELINE_INDEX)

    def drop_all(self) -> None:
        from psycopg import sql

        failures: list[str] = []
        with self.admin() as conn:
            for dbname in reversed(self.created):
                try:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(dbname)
                        )
                    )
                except self.psycopg.Error as exc:
                    failures.append(f"{dbname}: {exc}")
        if failures:
            raise RuntimeError(f"could not drop {'; '.join(failures)}")
        self.created.clear()


Databases = SQLiteDatabases | PostgresDatabases


def vm_hwm(pid: int) -> int | None:
    """Peak resident set size of a running process, in bytes."""
    return proc_status(pid, "VmHWM")


@contextlib.contextmanager
def server(database: str, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    # The per-key rate limit (2,000 requests a minute) would throttle the benchmark's single key.
    env = env_for(database, OTASTATS_RATE_LIMIT="0")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [OTASTATS, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"otastats serve exited early: {log.read_text()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("otastats serve did not answer /healthz within 60 s")
            time.sleep(0.1)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


# --- workload -------------------------------------------------------------------------------
def ensure_workload(args: argparse.Namespace, folder: Path) -> tuple[dict[str, Any], bool, float]:
    setup_file = folder / "setup.json"
    if setup_file.exists():
        setup: dict[str, Any] = orjson.loads(setup_file.read_bytes())
        same = setup.get("events_requested") == args.events and setup.get("seed") == args.seed
        if args.end is not None:
            same = same and setup.get("end") == args.end
        if same and all((folder / name).exists() for name in setup["files"]):
            return setup, True, 0.0
    command = [
        sys.executable,
        str(HERE / "workload.py"),
        "--events",
        str(args.events),
        "--out",
        str(folder),
        "--seed",
        str(args.seed),
    ]
    if args.end is not None:
        command += ["--end", args.end]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False, timeout=6 * 3600)
    if done.returncode != 0:
        raise RuntimeError(f"bench/workload.py failed: {done.stderr.decode()[-2000:]}")
    seconds = time.perf_counter() - started
    return orjson.loads(setup_file.read_bytes()), False, seconds


# --- (a) the command line -------------------------------------------------------------------
@dataclass
class IngestRun:
    seconds: float
    accepted: int
    duplicates: int
    rejected: int
    first_rejection: str
    peak_rss: int | None
    database_bytes: int
    cpu_seconds: float | None


def ingest_cli(databases: Databases, name: str, files: list[Path], work: Path) -> IngestRun:
    time_file = work / "ingest.time"
    command = [OTASTATS, "ingest", *map(str, files), "--json"]
    timed = Path("/usr/bin/time").exists()
    if timed:
        command = ["/usr/bin/time", "-v", "-o", str(time_file), *command]
    started = time.perf_counter()
    done = subprocess.run(
        command,
        env=env_for(databases.url(name)),
        capture_output=True,
        check=False,
        timeout=6 * 3600,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"otastats ingest failed: {done.stdout[-1000:]!r} {done.stderr[-2000:]!r}"
        )
    result = orjson.loads(done.stdout)
    peak: int | None = None
    cpu: float | None = None
    if timed:
        text = time_file.read_text()
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        peak = int(found.group(1)) * 1024 if found else None
        times = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text)
        cpu = sum(map(float, times)) if len(times) == 2 else None
    else:  # the largest of every child waited for so far: an upper bound
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    rejected = result["rejected"]
    first = (
        f"{rejected[0]['file']}:{rejected[0]['index']}: {rejected[0]['error']}" if rejected else ""
    )
    return IngestRun(
        seconds,
        result["accepted"],
        result["duplicates"],
        len(rejected),
        first,
        peak,
        databases.size(name),
        cpu,
    )


# --- (b) HTTP ingestion ---------------------------------------------------------------------
def read_batches(files: list[Path], size: int) -> Iterator[tuple[bytes, int]]:
    for name in files:
        with open(name, "rb") as stream:
            lines: list[bytes] = []
            for line in stream:
                if line.strip():
                    lines.append(line)
                if len(lines) >= size:
                    yield b"".join(lines), len(lines)
                    lines = []
            if lines:
                yield b"".join(lines), len(lines)


@dataclass
class HttpRun:
    seconds: float
    requests: int
    sent: int
    accepted: int
    duplicates: int
    rejected: int
    first_rejection: str
    latencies: list[float]


def ingest_http(port: int, key: str, files: list[Path], batch: int, clients: int) -> HttpRun:
    work: queue.Queue[tuple[bytes, int] | None] = queue.Queue(maxsize=4 * clients)
    lock = threading.Lock()
    errors: list[str] = []
    totals = {"requests": 0, "sent": 0, "accepted": 0, "duplicates": 0, "rejected": 0}
    first_rejection: list[str] = []
    latencies: list[float] = []
    headers = {"authorization": key, "content-type": "application/x-ndjson"}

    def produce() -> None:
        try:
            for item in read_batches(files, batch):
                if errors:
                    break
                work.put(item)
        except Exception as exc:
            errors.append(f"reading the workload: {exc!r}")
        finally:
            for _ in range(clients):
                work.put(None)

    def post() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        try:
            while (item := work.get()) is not None:
                if errors:
                    continue  # drain, so that the producer never blocks
                body, count = item
                try:
                    sent_at = time.perf_counter()
                    conn.request("POST", "/ingest/events", body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    took = time.perf_counter() - sent_at
                    if response.status != 200:
                        errors.append(f"POST /ingest/events: {response.status} {data[:300]!r}")
                        continue
                    result = orjson.loads(data)
                    with lock:
                        latencies.append(took)
                        totals["requests"] += 1
                        totals["sent"] += count
                        totals["accepted"] += result["accepted"]
                        totals["duplicates"] += result["duplicates"]
                        totals["rejected"] += len(result["rejected"])
                        if result["rejected"] and not first_rejection:
                            first_rejection.append(str(result["rejected"][0]))
                except Exception as exc:  # recorded; the loop goes on draining the queue
                    errors.append(f"POST /ingest/events: {exc!r}")
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=produce)] + [
        threading.Thread(target=post) for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"HTTP ingestion failed: {errors[0]}")
    return HttpRun(
        seconds,
        totals["requests"],
        totals["sent"],
        totals["accepted"],
        totals["duplicates"],
        totals["rejected"],
        first_rejection[0] if first_rejection else "",
        latencies,
    )


# --- (c) queries ----------------------------------------------------------------------------
class Client:
    """One keep-alive connection to the server."""

    def __init__(self, port: int, key: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"authorization": key}

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if body is not None:
            headers["content-type"] = "application/x-ndjson"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def get_json(self, path: str) -> Any:
        status, data = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {data[:300]!r}")
        return orjson.loads(data)

    def close(self) -> None:
        self.conn.close()


def day_range(end: date, days: int) -> dict[str, str]:
    return {"from": (end - timedelta(days=days - 1)).isoformat(), "to": end.isoformat()}


@dataclass
class Latency:
    endpoint: str
    days: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    response_bytes: int


def time_queries(
    client: Client,
    targets: list[tuple[str, str, dict[str, str]]],
    end: date,
    ranges: Sequence[int],
    requests: int,
    warmup: int,
) -> list[Latency]:
    measured: list[Latency] = []
    for label, path, extra in targets:
        for days in ranges:
            url = f"{path}?{urlencode({**day_range(end, days), **extra})}"
            size = 0
            for _ in range(warmup):
                status, data = client.request("GET", url)
                if status != 200:
                    raise RuntimeError(f"GET {url}: {status} {data[:300]!r}")
                size = len(data)
            samples: list[float] = []
            for _ in range(requests):
                started = time.perf_counter()
                status, data = client.request("GET", url)
                samples.append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"GET {url}: {status} {data[:300]!r}")
            measured.append(
                Latency(
                    label,
                    days,
                    quantile(samples, 0.5) * 1000,
                    quantile(samples, 0.99) * 1000,
                    max(samples) * 1000,
                    size,
                )
            )
    return measured


# --- (d) freshness --------------------------------------------------------------------------
def freshness(client: Client, app_id: str, trials: int) -> tuple[list[float], int]:
    """Milliseconds from an ingest acknowledgement to the first read that shows it, and the
    largest number of reads it took."""
    delays: list[float] = []
    most_reads = 0
    for trial in range(trials):
        now = datetime.now(UTC)
        today = now.date().isoformat()
        url = f"/statistics/app/{app_id}/?from={today}&to={today}&noAccumulate=true"
        before = client.get_json(url)[0]["mau"]
        event = {
            "type": "device_seen",
            "event_id": f"bench-fresh-{trial}-{now.timestamp()}",
            "app_id": app_id,
            "device_id": f"bench-fresh-device-{trial}-{now.timestamp()}",
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "version_name": "bench-fresh",
            "platform": "android",
        }
        status, data = client.request("POST", "/ingest/events", orjson.dumps(event) + b"\n")
        acked = time.perf_counter()
        if status != 200 or orjson.loads(data)["accepted"] != 1:
            raise RuntimeError(f"freshness ingest: {status} {data[:300]!r}")
        reads = 0
        seen = None
        while reads < 500 and time.perf_counter() - acked < 5:
            reads += 1
            if client.get_json(url)[0]["mau"] >= before + 1:
                seen = time.perf_counter()
                break
            time.sleep(0.005)
        delays.append(math.inf if seen is None else (seen - acked) * 1000)
        most_reads = max(most_reads, reads)
    return delays, most_reads


# --- (e) the baseline -----------------------------------------------------------------------
BASELINE_SQL = (
    "SELECT COUNT(DISTINCT device_id) FROM events"
    " WHERE app_id = ? AND type = 0 AND is_emulator = 0 AND is_prod = 1"
    " AND ts / 86400000000 BETWEEN ? AND ?"
)
INDEXED_SQL = (
    "SELECT COUNT(DISTINCT device_id) FROM events"
    " WHERE app_id = ? AND type = 0 AND is_emulator = 0 AND is_prod = 1"
    " AND ts >= ? AND ts < ?"
)
BASELINE_INDEX = (
    "CREATE INDEX bench_events_by_app ON events (app_id, type, ts, is_emulator, is_prod, device_id)"
)


def baseline(
    execute: Any, placeholder: str, app_id: str, days: list[int], *, indexed: bool
) -> tuple[float, list[int]]:
    """Seconds to compute mau(app, D) for every D of ``days``, one query a day, and the values.
    ``execute`` is a connection's ``execute`` (sqlite3 or psycopg), whose parameters are
    written ``placeholder``."""
    started = time.perf_counter()
    if indexed:
        text = INDEXED_SQL.replace("?", placeholder)
        values = [
            execute(text, (app_id, (d - 29) * MICROS_PER_DAY, (d + 1) * MICROS_PER_DAY)).fetchone()[
                0
            ]
            for d in days
        ]
    else:
        text = BASELINE_SQL.replace("?", placeholder)
        values = [execute(text, (app_id, d - 29, d)).fetchone()[0] for d in days]
    return time.perf_counter() - started, values


def state_digest(execute: Any) -> str:
    """A digest of the kept metric state (without the rows whose deltas are all zero), read
    with a connection's ``execute`` (sqlite3 or psycopg)."""
    digest = hashlib.sha256()
    for sql in (
        "SELECT app_id, day, mau_delta, storage_delta, bandwidth FROM level_deltas"
        " WHERE mau_delta != 0 OR storage_delta != 0 OR bandwidth != 0 ORDER BY 1, 2",
        "SELECT app_id, version_name, day, delta FROM version_deltas WHERE delta != 0"
        " ORDER BY 1, 2, 3",
        "SELECT app_id, device_id, day, version_name, ts FROM device_days ORDER BY 1, 2, 3",
        "SELECT app_id, version_name, class, day, devices, new_devices FROM health_days"
        " ORDER BY 1, 2, 3, 4",
        "SELECT app_id, version_name, class, devices, first_day FROM health_totals"
        " ORDER BY 1, 2, 3",
    ):
        for row in execute(sql):
            digest.update(repr(row).encode())
    return digest.hexdigest()[:16]


# --- the run --------------------------------------------------------------------------------
def fmt_int(value: float) -> str:
    return f"{value:,.0f}"


def fmt_bytes(value: int | None) -> str:
    if value is None:
        return "n/a"
    return f"{value / 2**20:,.0f} MiB"


def run(args: argparse.Namespace, report: Report, started: float) -> None:
    with tempfile.TemporaryDirectory(prefix="otastats-bench-") as temp:
        work = Path(temp)
        databases: Databases = (
            PostgresDatabases(args.postgres_url)
            if args.backend == "postgresql"
            else SQLiteDatabases(work)
        )
        try:
            measure(args, report, work, databases)
        finally:
            databases.drop_all()

    report.section = "run"
    total = time.perf_counter() - started
    report.add("load average (1 min) at the end", f"{os.getloadavg()[0]:.2f}")
    report.figures["run_seconds"] = total
    report.add("whole run, wall time", f"{total:,.0f} s")


def measure(args: argparse.Namespace, report: Report, work: Path, databases: Databases) -> None:
    machine = machine_facts()
    machine["backend"] = databases.backend
    machine["backend_version"] = databases.version()
    report.figures["machine"] = machine
    report.section = "machine"
    report.add("cores", str(machine["cores"]))
    report.add("memory", f"{machine['memory_bytes'] / GIB:.1f} GiB")
    report.add("CPU", machine["cpu"])
    report.add(
        f"Python / {databases.backend}", f"{machine['python']} / {machine['backend_version']}"
    )
    report.add("otastats", machine["otastats"])
    report.add("load average (1 min) at start", f"{os.getloadavg()[0]:.2f}")

    # The processes started below keep their compiled modules in a cache inside the
    # temporary directory (not in the source tree), so that each of the many short otastats
    # commands does not compile the package again when PYTHONDONTWRITEBYTECODE is set.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    folder = Path(args.keep) if args.keep else work / "workload"
    folder.mkdir(parents=True, exist_ok=True)
    setup, reused, gen_seconds = ensure_workload(args, folder)
    files = [folder / name for name in setup["files"]]
    counts = setup["counts"]
    end = date.fromisoformat(setup["end"])
    largest_app = setup["largest_app"]
    largest_org = setup["largest_org"]
    app_info = next(app for app in setup["apps"] if app["app_id"] == largest_app)
    org_info = next(org for org in setup["orgs"] if org["name"] == largest_org)
    ndjson_bytes = sum(path.stat().st_size for path in files)
    report.figures["workload"] = {
        "counts": counts,
        "reused": reused,
        "seconds": gen_seconds,
        "ndjson_bytes": ndjson_bytes,
    }

    report.section = "scale"
    report.add("events (lines of NDJSON)", fmt_int(counts["lines"]))
    report.add(
        "of which",
        f"{counts['device_seen']:,} device_seen, {counts['download']:,} download,"
        f" {counts['bundle_created']:,} bundle_created,"
        f" {counts['bundle_deleted']:,} bundle_deleted;"
        f" {counts['late']:,} late, {counts['duplicates']:,} repeated event_ids",
    )
    report.add("apps / orgs", f"{len(setup['apps'])} / {len(setup['orgs'])}")
    report.add("devices", fmt_int(counts["devices"]))
    report.add("days", f"{setup['days']} ({setup['start']} .. {setup['end']})")
    report.add(
        "largest app",
        f"{largest_app}: {app_info['events']:,} events, {app_info['devices']:,} devices",
    )
    report.add(
        "largest org",
        f"{largest_org}: {len(org_info['apps'])} apps, {org_info['events']:,} events",
    )
    report.add(
        "workload",
        f"{ndjson_bytes / 1e6:,.0f} MB NDJSON, "
        + ("reused from --keep" if reused else f"generated in {gen_seconds:.1f} s"),
    )

    # Tenants, once, on a template database that each measured database starts from.
    databases.create_empty("template")
    setup_started = time.perf_counter()
    tenants = create_tenants(databases.url("template"), setup)
    setup_seconds = time.perf_counter() - setup_started
    report.figures["setup_seconds"] = setup_seconds
    report.section = "setup"
    report.add(
        "orgs, user, memberships, apps, key",
        f"{len(setup['orgs']) * 2 + len(setup['apps']) + 2} otastats commands,"
        f" {setup_seconds:.1f} s (template database, copied for (a) and (b))",
    )
    databases.copy("template", "cli")
    databases.copy("template", "http")
    million = counts["lines"] / 1e6

    # The plain load of the same files: the rate each ingest is compared with.
    report.section = "(a) ingest, command line"
    plain = plain_load(files, work / "plain.db")
    report.figures["plain_load"] = plain.__dict__ | {"events_per_second": plain.events_per_second}
    report.add(
        "plain load: orjson + executemany, 1 table, no index",
        f"{fmt_int(plain.events_per_second)} events/s ({plain.seconds:.1f} s,"
        f" {plain.cpu_seconds:.1f} s CPU; transactions of {plain.transaction_lines:,} lines)",
    )

    # (a) otastats ingest
    ingested = ingest_cli(databases, "cli", files, work)
    eps = ingested.accepted / ingested.seconds if ingested.seconds else 0
    report.figures["cli_ingest"] = ingested.__dict__ | {"events_per_second": eps}
    report.add("events/s", fmt_int(eps), f">= {TARGET_CLI_EPS:,}", eps >= TARGET_CLI_EPS)
    report.add(
        "... as a fraction of the plain load",
        fraction(eps, plain.events_per_second),
        f">= 1/{PLAIN_TARGET_CLI}",
        eps * PLAIN_TARGET_CLI >= plain.events_per_second,
    )
    report.add(
        "wall time",
        f"{ingested.seconds:.1f} s: {ingested.accepted:,} accepted,"
        f" {ingested.duplicates:,} duplicates, {ingested.rejected:,} rejected",
    )
    if ingested.rejected:
        report.add("first rejection", ingested.first_rejection)
    if ingested.cpu_seconds:
        report.add(
            "CPU time (user + sys)" + databases.cpu_note,
            f"{ingested.cpu_seconds:,.1f} s = {ingested.accepted / ingested.cpu_seconds:,.0f}"
            " events per CPU-second",
        )
    report.add(
        "peak RSS (/usr/bin/time)",
        fmt_bytes(ingested.peak_rss),
        "<= 1 GiB",
        None if ingested.peak_rss is None else ingested.peak_rss <= TARGET_RSS,
    )
    report.add(
        databases.size_label,
        f"{ingested.database_bytes / million / 1e6:,.0f} MB"
        f" (NDJSON: {ndjson_bytes / million / 1e6:,.0f} MB)",
    )

    served_db = "cli" if args.skip_http else "http"
    with server(databases.url(served_db), work / "server.log") as (proc, port):
        # (b) HTTP ingestion
        if not args.skip_http:
            report.section = "(b) ingest, HTTP"
            cpu_before = cpu_seconds(proc.pid)
            posted = ingest_http(port, tenants.key, files, args.batch, args.clients)
            cpu_after = cpu_seconds(proc.pid)
            eps = posted.accepted / posted.seconds if posted.seconds else 0
            report.figures["http_ingest"] = {
                k: v for k, v in posted.__dict__.items() if k != "latencies"
            } | {"events_per_second": eps}
            report.add("events/s", fmt_int(eps), f">= {TARGET_HTTP_EPS:,}", eps >= TARGET_HTTP_EPS)
            report.add(
                "... as a fraction of the plain load",
                fraction(eps, plain.events_per_second),
                f">= 1/{PLAIN_TARGET_HTTP}",
                eps * PLAIN_TARGET_HTTP >= plain.events_per_second,
            )
            report.add(
                "wall time",
                f"{posted.seconds:.1f} s: {posted.requests:,} requests of {args.batch:,}"
                f" from {args.clients} clients; {posted.accepted:,} accepted,"
                f" {posted.duplicates:,} duplicates, {posted.rejected:,} rejected",
            )
            if posted.rejected:
                report.add("first rejection", posted.first_rejection)
            if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before:
                server_cpu = cpu_after - cpu_before
                report.figures["http_ingest"]["server_cpu_seconds"] = server_cpu
                report.add(
                    "server CPU time (user + sys)" + databases.cpu_note,
                    f"{server_cpu:,.1f} s = {posted.accepted / server_cpu:,.0f} events"
                    " per CPU-second",
                )
            report.add(
                "request latency p50 / p99",
                f"{quantile(posted.latencies, 0.5) * 1000:,.0f} /"
                f" {quantile(posted.latencies, 0.99) * 1000:,.0f} ms",
            )
            report.add(
                databases.size_label,
                f"{databases.size('http') / million / 1e6:,.0f} MB",
            )
            same = databases.digest("http") == databases.digest("cli")
            report.figures["same_state"] = same
            report.add(
                "same metric state as (a)",
                "yes" if same else "NO",
                "identical",
                same,
            )

        client = Client(port, tenants.key)
        try:
            # (c) query latency
            report.section = "(c) query latency p50 / p99"
            org_id = tenants.org_ids[largest_org]
            targets = [
                ("app", f"/statistics/app/{largest_app}/", {}),
                ("bundle_usage", f"/statistics/app/{largest_app}/bundle_usage", {}),
                ("org", f"/statistics/org/{org_id}/", {}),
                ("org breakdown", f"/statistics/org/{org_id}/", {"breakdown": "true"}),
                ("user", "/statistics/user/", {}),
            ]
            latencies = time_queries(
                client, targets, end, (30, 90, 365), args.requests, args.warmup
            )
            report.figures["latency"] = [item.__dict__ for item in latencies]
            app90 = next(x for x in latencies if x.endpoint == "app" and x.days == 90)
            for item in latencies:
                label = f"{item.endpoint}, {item.days} days"
                if item.endpoint == "app":
                    label += f" ({largest_app})"
                elif item.endpoint.startswith("org"):
                    label += f" ({len(org_info['apps'])} apps)"
                elif item.endpoint == "user":
                    label += f" ({len(setup['apps'])} apps)"
                targets_text = f"p99 <= {TARGET_P99_MS:.0f}"
                met = item.p99_ms <= TARGET_P99_MS
                if item is app90:
                    targets_text = f"p50 <= {TARGET_APP90_P50_MS:.0f}, " + targets_text
                    met = met and item.p50_ms <= TARGET_APP90_P50_MS
                report.add(
                    label,
                    f"{item.p50_ms:.2f} / {item.p99_ms:.2f} ms"
                    f" ({item.response_bytes / 1024:,.0f} KiB)",
                    targets_text + " ms",
                    met,
                )

            # (d) freshness
            report.section = "(d) freshness"
            delays, reads = freshness(client, largest_app, args.fresh_trials)
            report.figures["freshness_ms"] = delays
            worst = max(delays)
            report.add(
                "ack -> readable, median / max",
                f"{quantile(delays, 0.5):.1f} / {worst:.1f} ms"
                f" ({args.fresh_trials} trials, at most {reads} read(s) each)",
                f"<= {TARGET_FRESH_MS:,.0f} ms",
                worst <= TARGET_FRESH_MS,
            )

            # (e) baseline, on the same database
            report.section = "(e) baseline: app MAU, 90 days"
            window = day_range(end, 90)
            served = client.get_json(
                f"/statistics/app/{largest_app}/?{urlencode(window)}&noAccumulate=true"
            )
        finally:
            client.close()
        server_peak = vm_hwm(proc.pid)
    report.figures["server_peak_rss"] = server_peak
    last = (end - EPOCH).days
    days = list(range(last - 89, last + 1))
    plain_seconds, plain_values = databases.baseline(served_db, largest_app, days, indexed=False)
    served_values = [point["mau"] for point in served]
    report.add(
        "plain SQL (events as stored, 1 query a day)",
        f"{plain_seconds * 1000:,.0f} ms",
    )
    ratio = plain_seconds * 1000 / app90.p50_ms
    report.add(
        "baseline / otastats app 90-day p50",
        f"{ratio:,.0f}x",
        f">= {TARGET_SPEEDUP:.0f}x",
        ratio >= TARGET_SPEEDUP,
    )
    index_started = time.perf_counter()
    databases.create_index(served_db)
    index_seconds = time.perf_counter() - index_started
    indexed_runs = [
        databases.baseline(served_db, largest_app, days, indexed=True) for _ in range(3)
    ]
    indexed_seconds = min(seconds for seconds, _ in indexed_runs)
    report.add(
        "same SQL with a covering index on events",
        f"{indexed_seconds * 1000:,.0f} ms (index built in {index_seconds:.1f} s)",
    )
    report.add(
        "indexed baseline / otastats app 90-day p50",
        f"{indexed_seconds * 1000 / app90.p50_ms:,.1f}x",
        "(for information)",
    )
    agree = plain_values == served_values and indexed_runs[0][1] == served_values
    report.add(
        "baseline MAU = otastats MAU on all 90 days",
        "yes" if agree else "NO",
        "identical",
        agree,
    )
    report.figures["baseline"] = {
        "plain_seconds": plain_seconds,
        "indexed_seconds": indexed_seconds,
        "index_seconds": index_seconds,
        "ratio": ratio,
        "agree": agree,
    }

    report.section = "(b) ingest, HTTP" if not args.skip_http else "server"
    report.add(
        "server peak RSS (VmHWM at the end)",
        fmt_bytes(server_peak),
        "<= 1 GiB",
        None if server_peak is None else server_peak <= TARGET_RSS,
    )


SECTION_ORDER = ("machine", "scale", "setup", "(a)", "(b)", "server", "(c)", "(d)", "(e)", "run")


def section_rank(section: str) -> int:
    for rank, prefix in enumerate(SECTION_ORDER):
        if section.startswith(prefix):
            return rank
    return len(SECTION_ORDER)


def render(report: Report, title: str) -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("figure")
    table.add_column("value")
    table.add_column("target / baseline")
    table.add_column("ok", justify="center")
    order = sorted({row.section for row in report.rows}, key=section_rank)
    for section in order:
        table.add_row(f"[bold]{section}[/bold]", "", "", "")
        for row in (r for r in report.rows if r.section == section):
            ok = "" if row.met is None else ("yes" if row.met else "[red]NO[/red]")
            table.add_row("  " + row.figure, row.value, row.target, ok)
        if section != order[-1]:
            table.add_section()
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=parse_count, default=1_000_000, help="like 1e6 or 1e7")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--end", default=None, help="workload's last day, YYYY-MM-DD (today)")
    parser.add_argument("--skip-http", action="store_true", help="skip (b); serve (a)'s database")
    parser.add_argument("--keep", default=None, help="generate the workload here, or reuse it")
    parser.add_argument("--json-out", default=None, help="also write the table as JSON here")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per query")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per query")
    parser.add_argument("--batch", type=int, default=1000, help="events per ingest request")
    parser.add_argument("--clients", type=int, default=2, help="concurrent ingest clients")
    parser.add_argument("--fresh-trials", type=int, default=20)
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the database otastats uses (default sqlite)",
    )
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="with --backend postgresql: the admin connection that creates and drops the run's"
        " databases",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report = Report()
    run(args, report, started)
    title = f"otastats benchmark, {args.events:,.0f} events"
    if args.backend != "sqlite":
        title += ", PostgreSQL"
    Console(width=160).print(render(report, title))
    if args.json_out:
        Path(args.json_out).write_bytes(
            orjson.dumps(
                {
                    "title": title,
                    "rows": [row.__dict__ for row in report.rows],
                    "figures": report.figures,
                },
                option=orjson.OPT_INDENT_2,
            )
        )


if __name__ == "__main__":
    main()
