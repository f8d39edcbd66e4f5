"""The otastats soak benchmark: a steady mixed load for a while, then one table.

    python bench/soak.py [--seconds 60] [--readers 3] [--writers 2] [--batch 200]
                         [--warmup 5] [--seed 1]

1. on a fresh SQLite database in a temporary directory, ``otastats demo --json`` loads 90 days
   of demo activity (three apps, a read key); the command line then adds a user, makes it an
   admin of the demo organization and creates a key of mode ``write`` for it;
2. starts ``otastats serve`` on a free loopback port, with ``OTASTATS_RATE_LIMIT`` set to
   ``--rate-limit`` (default 1,000,000 a minute: every request is counted, in the database as
   by default, and none is refused);
3. runs the load for ``--warmup`` seconds, untimed, then reads the server's RSS (``VmRSS`` of
   ``/proc/PID/status``): the baseline;
4. runs the load for ``--seconds`` (1 to 3,600): ``--readers`` threads GET the four Statistics
   endpoints (app, org with or without breakdown, user, bundle_usage) with random ranges of 1 to
   365 days ending in the last 30 days, ``--writers`` threads POST batches of ``--batch`` new
   events (check-ins, 10 % downloads, 10 % late by up to 30 days) for the demo apps;
5. prints one table: the machine, the duration, requests, errors (any non-2xx answer, failed
   request, or ingest answer that does not accept every event sent; must be 0), p50 / p99
   latency by kind beside the same figures over the first fifth of the run, the server's RSS
   after the warm-up and at the end, and the growth.

Everything it starts, it stops; it only contacts 127.0.0.1. The exit status is 1 when a request
failed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

# bench/ is on sys.path when this runs as `python bench/soak.py`.
from host import cpu_seconds, free_port, machine_facts, otastats_command, proc_status, quantile

MIB = 2**20
KINDS = ("app", "org", "user", "bundle_usage", "ingest")
MAX_SECONDS = 3600


OTASTATS = otastats_command()


# --- the machine and the server process ------------------------------------------------------
def machine() -> dict[str, str]:
    facts = machine_facts()
    return {
        "cores": str(facts["cores"]),
        "memory": f"{facts['memory_bytes'] / 2**30:.1f} GiB",
        "CPU": facts["cpu"],
        "Python / SQLite": f"{facts['python']} / {facts['sqlite']}",
        "otastats": facts["otastats"],
    }


def cli(database: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [OTASTATS, *args, "--database", f"sqlite:///{database}", "--json"],
        capture_output=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"otastats {' '.join(args)} failed ({done.returncode}):"
            f" {done.stdout.decode()[:500]} {done.stderr.decode()[-2000:]}"
        )
    result: dict[str, Any] = orjson.loads(done.stdout)
    return result


@contextlib.contextmanager
def server(
    database: Path, log: Path, rate_limit: int
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    env = dict(os.environ)
    env.update(OTASTATS_DATABASE_URL=f"sqlite:///{database}", OTASTATS_RATE_LIMIT=str(rate_limit))
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [OTASTATS, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"otastats serve exited early: {log.read_text()[-2000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                try:
                    conn.request("GET", "/healthz")
                    if conn.getresponse().status == 200:
                        break
                finally:
                    conn.close()
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


# --- the load --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Sample:
    kind: str
    started: float
    seconds: float
    ok: bool


@dataclass
class Load:
    port: int
    read_key: str
    write_key: str
    org_id: str
    app_ids: list[str]
    versions: dict[str, list[str]]
    stop_at: float
    batch: int
    seed: int
    samples: list[Sample] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    accepted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, sample: Sample, failure: str | None = None, accepted: int = 0) -> None:
        with self.lock:
            self.samples.append(sample)
            self.accepted += accepted
            if failure is not None and len(self.failures) < 20:
                self.failures.append(failure)


class Client:
    """One keep-alive connection, opened again after a failure."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def call(
        self, method: str, path: str, key: str, body: bytes | None = None
    ) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"authorization": key}
        if body is not None:
            headers["content-type"] = "application/x-ndjson"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def random_range(rng: random.Random) -> str:
    today = datetime.now(UTC).date()
    last = today - timedelta(days=rng.randint(0, 29))
    first = last - timedelta(days=rng.randint(0, 364))
    return f"from={first.isoformat()}&to={last.isoformat()}"


def reader(load: Load, number: int) -> None:
    rng = random.Random(f"{load.seed}-reader-{number}")
    client = Client(load.port)
    try:
        while time.monotonic() < load.stop_at:
            kind = rng.choice(KINDS[:4])
            query = random_range(rng)
            app = rng.choice(load.app_ids)
            if kind == "app":
                path = (
                    f"/statistics/app/{app}/?{query}&noAccumulate={rng.choice(('true', 'false'))}"
                )
            elif kind == "org":
                breakdown = rng.choice(("true", "false"))
                path = f"/statistics/org/{load.org_id}/?{query}&breakdown={breakdown}"
            elif kind == "user":
                path = f"/statistics/user/?{query}"
            else:
                path = f"/statistics/app/{app}/bundle_usage?{query}"
            started = time.monotonic()
            failure = None
            try:
                status, body = client.call("GET", path, load.read_key)
                if not 200 <= status < 300:
                    failure = f"GET {path}: {status} {body[:200]!r}"
            except (OSError, http.client.HTTPException) as exc:
                failure = f"GET {path}: {exc!r}"
            load.note(Sample(kind, started, time.monotonic() - started, failure is None), failure)
    finally:
        client.close()


def events(load: Load, rng: random.Random, writer: int, sequence: int) -> bytes:
    now = datetime.now(UTC)
    lines = []
    for n in range(load.batch):
        app = rng.choice(load.app_ids)
        late = rng.random() < 0.1
        ago = timedelta(
            seconds=rng.randint(3 * 86_400, 30 * 86_400) if late else rng.randint(60, 3 * 86_400)
        )
        event: dict[str, Any] = {
            "event_id": f"soak-{writer}-{sequence}-{n}",
            "app_id": app,
            "device_id": f"soak-device-{rng.randrange(20_000)}",
            "timestamp": (now - ago).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "version_name": rng.choice(load.versions[app]),
        }
        if rng.random() < 0.1:
            event.update(type="download", bytes=rng.randrange(1_000_000, 20_000_000))
        else:
            event.update(type="device_seen", platform=rng.choice(("ios", "android")))
        lines.append(orjson.dumps(event))
    return b"\n".join(lines) + b"\n"


def writer(load: Load, number: int) -> None:
    rng = random.Random(f"{load.seed}-writer-{number}")
    client = Client(load.port)
    sequence = 0
    try:
        while time.monotonic() < load.stop_at:
            body = events(load, rng, number, sequence)
            sequence += 1
            started = time.monotonic()
            failure = None
            accepted = 0
            try:
                status, answer = client.call("POST", "/ingest/events", load.write_key, body)
                if not 200 <= status < 300:
                    failure = f"POST /ingest/events: {status} {answer[:200]!r}"
                else:
                    accepted = orjson.loads(answer)["accepted"]
                    if accepted != load.batch:
                        failure = f"POST /ingest/events: {answer[:300]!r}"
            except (OSError, http.client.HTTPException) as exc:
                failure = f"POST /ingest/events: {exc!r}"
            seconds = time.monotonic() - started
            load.note(Sample("ingest", started, seconds, failure is None), failure, accepted)
    finally:
        client.close()


# --- figures ---------------------------------------------------------------------------------
def latency(samples: Sequence[Sample]) -> str:
    if not samples:
        return "n/a"
    values = [s.seconds * 1000 for s in samples]
    return f"{quantile(values, 0.5):,.1f} / {quantile(values, 0.99):,.1f} ms"


def mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / MIB:,.1f} MiB"


def database_bytes(database: Path) -> int:
    return sum(path.stat().st_size for path in (database, Path(f"{database}-wal")) if path.exists())


@dataclass
class Row:
    section: str
    figure: str
    value: str
    baseline: str = ""
    ok: bool | None = None


def run(args: argparse.Namespace) -> tuple[list[Row], bool]:
    rows: list[Row] = []
    info = machine()
    for name, value in info.items():
        rows.append(Row("machine", name, value))
    load_start = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="otastats-soak-") as temp:
        work = Path(temp)
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        database = work / "soak.db"
        demo = cli(database, "demo", "--seed", str(args.seed))
        user_id = cli(database, "user", "create", "--email", "soak@example.com")["user_id"]
        cli(
            database, "member", "add", "--org", demo["org_id"], "--user", user_id, "--role", "admin"
        )
        write_key = cli(database, "key", "create", "--user", user_id, "--mode", "write")["key"]
        size_before = database_bytes(database)

        with server(database, work / "server.log", args.rate_limit) as (proc, port):
            versions: dict[str, list[str]] = {}
            probe = Client(port)
            try:
                for app in demo["app_ids"]:
                    status, body = probe.call(
                        "GET",
                        f"/statistics/app/{app}/bundle_usage?{random_range(random.Random(0))}",
                        demo["key"],
                    )
                    if status != 200:
                        raise RuntimeError(f"bundle_usage of {app}: {status} {body[:300]!r}")
                    labels = [d["label"] for d in orjson.loads(body)["datasets"]]
                    versions[app] = labels or ["1.0.0"]
            finally:
                probe.close()

            began = time.monotonic()
            load = Load(
                port,
                demo["key"],
                write_key,
                demo["org_id"],
                demo["app_ids"],
                versions,
                stop_at=began + args.warmup + args.seconds,
                batch=args.batch,
                seed=args.seed,
            )
            threads = [
                threading.Thread(target=reader, args=(load, n), daemon=True)
                for n in range(args.readers)
            ] + [
                threading.Thread(target=writer, args=(load, n), daemon=True)
                for n in range(args.writers)
            ]
            for thread in threads:
                thread.start()
            try:
                time.sleep(max(0.0, began + args.warmup - time.monotonic()))
                timed_from = time.monotonic()
                rss_start = proc_status(proc.pid, "VmRSS")
                cpu_start = cpu_seconds(proc.pid)
                rss_max = rss_start or 0
                rss_half: int | None = None
                half_at = timed_from + (load.stop_at - timed_from) / 2
                while (left := load.stop_at - time.monotonic()) > 0:
                    time.sleep(min(1.0, left))
                    rss_now = proc_status(proc.pid, "VmRSS") or 0
                    rss_max = max(rss_max, rss_now)
                    if rss_half is None and time.monotonic() >= half_at:
                        rss_half = rss_now
                timed_to = time.monotonic()
                rss_end = proc_status(proc.pid, "VmRSS")
                cpu_end = cpu_seconds(proc.pid)
            finally:
                load.stop_at = 0.0
                for thread in threads:
                    thread.join(timeout=60)
            hung = sum(thread.is_alive() for thread in threads)
            hwm = proc_status(proc.pid, "VmHWM")
        size_after = database_bytes(database)

    duration = timed_to - timed_from
    timed = [s for s in load.samples if timed_from <= s.started < timed_to]
    first_fifth = [s for s in timed if s.started < timed_from + duration / 5]
    errors = sum(not s.ok for s in load.samples) + hung
    rows.append(
        Row(
            "machine",
            "load average (1 min), start / end",
            f"{load_start:.2f} / {os.getloadavg()[0]:.2f}",
        )
    )

    rows.append(
        Row(
            "run",
            "per-key rate limit",
            f"{args.rate_limit:,} a minute" if args.rate_limit else "off",
            "counted where the server keeps its limits (the database, by default)",
        )
    )
    rows.append(
        Row("run", "timed duration", f"{duration:.1f} s", f"after a {args.warmup:g} s warm-up")
    )
    rows.append(
        Row(
            "run",
            "clients",
            f"{args.readers} readers, {args.writers} writers ({args.batch} events a request)",
        )
    )
    rows.append(
        Row(
            "run",
            "database (file + WAL)",
            f"{mib(size_before)} -> {mib(size_after)}",
            "demo data -> end",
        )
    )
    for kind in KINDS:
        mine = [s for s in timed if s.kind == kind]
        label = "POST /ingest/events" if kind == "ingest" else f"GET {kind}"
        rows.append(
            Row(
                "requests (timed part)",
                f"{label}: requests",
                f"{len(mine):,} ({len(mine) / duration:,.1f}/s)",
            )
        )
        rows.append(
            Row(
                "requests (timed part)",
                f"{label}: p50 / p99",
                latency(mine),
                f"first fifth: {latency([s for s in first_fifth if s.kind == kind])}",
            )
        )
    rows.append(
        Row(
            "requests (timed part)",
            "events written",
            f"{sum(1 for s in timed if s.kind == 'ingest' and s.ok) * args.batch:,}"
            f" ({load.accepted:,} with the warm-up)",
        )
    )
    rows.append(
        Row(
            "requests (timed part)",
            "errors (warm-up included)",
            f"{errors:,} of {len(load.samples):,}",
            "0",
            errors == 0,
        )
    )
    if cpu_start is not None and cpu_end is not None:
        busy = cpu_end - cpu_start
        rows.append(Row("server", "CPU time", f"{busy:.1f} s ({busy / duration:.0%} of one core)"))
    rows.append(Row("server", "RSS after the warm-up", mib(rss_start), "baseline"))
    rows.append(Row("server", "RSS at the end", mib(rss_end)))
    if rss_start and rss_end:
        growth = rss_end - rss_start
        rows.append(
            Row(
                "server",
                "RSS growth",
                f"{growth / MIB:+,.1f} MiB ({growth / rss_start:+.1%};"
                f" {growth / MIB / (duration / 60):+,.1f} MiB a minute)",
                "against the RSS after the warm-up",
            )
        )
    if rss_half and rss_end:
        late = rss_end - rss_half
        rows.append(
            Row(
                "server",
                "RSS growth over the second half",
                f"{late / MIB:+,.1f} MiB ({mib(rss_half)} -> {mib(rss_end)})",
                "SQLite's page cache (up to 64 MiB) fills while the database grows",
            )
        )
    rows.append(
        Row("server", "RSS max (sampled each second) / VmHWM", f"{mib(rss_max)} / {mib(hwm)}")
    )
    for failure in load.failures[:5]:
        rows.append(Row("failures (first 5)", failure[:100], ""))
    return rows, errors == 0


def render(rows: list[Row], title: str) -> Table:
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value")
    table.add_column("baseline / target")
    table.add_column("ok", justify="center")
    sections = list(dict.fromkeys(row.section for row in rows))
    for section in sections:
        table.add_row(f"[bold]{section}[/bold]", "", "", "")
        for row in (r for r in rows if r.section == section):
            ok = "" if row.ok is None else ("yes" if row.ok else "[red]NO[/red]")
            table.add_row("  " + row.figure, row.value, row.baseline, ok)
        if section != sections[-1]:
            table.add_section()
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="timed duration (1-3600)")
    parser.add_argument("--warmup", type=float, default=5.0, help="untimed seconds first (0-60)")
    parser.add_argument("--readers", type=int, default=3, help="GET threads (1-16)")
    parser.add_argument("--writers", type=int, default=2, help="POST threads (0-16)")
    parser.add_argument("--batch", type=int, default=200, help="events a POST (1-10000)")
    parser.add_argument("--seed", type=int, default=1, help="demo data and request mix")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=1_000_000,
        help="OTASTATS_RATE_LIMIT of the server (0: off)",
    )
    args = parser.parse_args(argv)
    for name, low, high in (
        ("seconds", 1, MAX_SECONDS),
        ("warmup", 0, 60),
        ("readers", 1, 16),
        ("writers", 0, 16),
        ("batch", 1, 10_000),
    ):
        if not low <= getattr(args, name) <= high:
            parser.error(f"--{name} must be from {low} to {high}")
    rows, clean = run(args)
    title = f"otastats soak, {args.seconds:g} s"
    Console(width=150).print(render(rows, title))
    if not clean:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
