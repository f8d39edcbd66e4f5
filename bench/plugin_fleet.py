"""A simulated fleet of Capgo updater plugins posting to one `otastats serve` on SQLite.

Each client keeps one connection open (keep-alive) and posts, back to back, JSON arrays of 1 to
20 events (mostly check-ins, some downloads and failures, with epoch-millisecond timestamps) to
the app's statsUrl, as batched plugins do. Several client processes share the load, so that the
clients' own CPU does not bound the figures more than it must. The same run first measures the
baseline: GET /healthz over the same kind of connections (the server's HTTP floor).

    .venv/bin/python bench/plugin_fleet.py --seconds 15 --clients 16
    git archive main src | tar -x -C /tmp/otastats-main   # another version, in the same run:
    .venv/bin/python bench/plugin_fleet.py --seconds 10 --before-src /tmp/otastats-main/src

Prints a markdown table: requests/s, events/s, p50/p99 latency, server CPU per request, and the
load average of the machine before and after (it is shared: read the figures beside it).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from host import cpu_seconds, free_port, machine_facts, otastats_command, quantile

APP = "com.bench.fleet"
CHECK_INS = ("app_moved_to_foreground", "app_moved_to_background", "app_launch_start", "set")
OTHERS = ("download_complete", "download_fail", "webview_page_loaded", "app_launch_ready")
VERSIONS = ("1.4.0", "1.4.1", "1.5.0", "builtin")


def cli(database: str, workdir: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [otastats_command(), *args, "--database", database, "--json"],
        capture_output=True,
        check=True,
        cwd=workdir,
        timeout=60,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def batch(rng: random.Random, devices: int) -> tuple[bytes, int]:
    """One plugin request body: 1 to 20 events of one device, and its event count."""
    count = rng.randint(1, 20)
    device = f"{rng.randrange(devices):08x}-6c1e-4a2b-9f3d-{rng.randrange(16**12):012x}"
    version = rng.choice(VERSIONS)
    now_ms = int(time.time() * 1000)
    events = [
        {
            "app_id": APP,
            "device_id": device.upper() if rng.random() < 0.4 else device,
            "platform": "ios" if rng.random() < 0.4 else "android",
            "action": rng.choice(CHECK_INS) if rng.random() < 0.7 else rng.choice(OTHERS),
            "version_name": version,
            "old_version_name": "",
            "version_build": "1.0.0",
            "version_code": "10",
            "version_os": "14",
            "plugin_version": "8.51.14",
            "custom_id": "",
            "defaultChannel": "",
            "is_emulator": False,
            "is_prod": True,
            "timestamp": now_ms - rng.randrange(600_000),
        }
        for _ in range(count)
    ]
    return json.dumps(events).encode(), count


def client(args: tuple[int, str, str, float, int, int]) -> tuple[list[float], int, int]:
    """One keep-alive client until ``deadline``: (latencies in s, requests, events)."""
    port, method, path, deadline, seed, devices = args
    rng = random.Random(seed)
    # Each client from an address of its own (all of 127.0.0.0/8 is loopback), as devices
    # behind different carrier addresses: each has its own rate-limit count.
    source = (f"127.0.0.{2 + seed % 250}", 0)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=source)
    latencies: list[float] = []
    events = 0
    headers = {"content-type": "application/json", "user-agent": "CapacitorUpdater/8.51.14"}
    while time.monotonic() < deadline:
        body, count = batch(rng, devices) if method == "POST" else (None, 0)
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            raise SystemExit(f"{method} {path.split('/plugin/')[0]}: HTTP {response.status}")
        events += count
    conn.close()
    return latencies, len(latencies), events


@dataclass
class Phase:
    name: str
    seconds: float
    latencies: list[float]
    requests: int
    events: int
    server_cpu: float

    def row(self) -> str:
        rate = self.requests / self.seconds
        p50, p99 = (quantile(self.latencies, q) * 1000 for q in (0.5, 0.99))
        cpu_ms = self.server_cpu / max(1, self.requests) * 1000
        return (
            f"| {self.name} | {self.requests:,} | {rate:,.0f} | {self.events / self.seconds:,.0f}"
            f" | {p50:.1f} | {p99:.1f} | {cpu_ms:.2f} |"
        )


def run_phase(
    name: str, pid: int, port: int, method: str, path: str, args: argparse.Namespace
) -> Phase:
    before = cpu_seconds(pid) or 0.0
    started = time.monotonic()
    deadline = started + args.seconds
    jobs = [(port, method, path, deadline, n, args.devices) for n in range(args.clients)]
    with multiprocessing.Pool(args.processes) as pool:
        # Each process runs its share of clients in threads.
        results = pool.map(_threads, _split(jobs, args.processes))
    elapsed = time.monotonic() - started
    latencies = [x for part in results for x in part[0]]
    return Phase(
        name,
        elapsed,
        latencies,
        sum(part[1] for part in results),
        sum(part[2] for part in results),
        (cpu_seconds(pid) or 0.0) - before,
    )


def _split(jobs: list[Any], parts: int) -> list[list[Any]]:
    return [jobs[i::parts] for i in range(parts) if jobs[i::parts]]


def _threads(jobs: list[tuple[int, str, str, float, int, int]]) -> tuple[list[float], int, int]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(jobs)) as executor:
        parts = list(executor.map(client, jobs))
    return [x for p in parts for x in p[0]], sum(p[1] for p in parts), sum(p[2] for p in parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--devices", type=int, default=100_000, help="devices of the fleet")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=1_000_000,
        help="OTASTATS_PLUGIN_RATE_LIMIT of the server (0: not counted)",
    )
    parser.add_argument(
        "--before-src",
        type=Path,
        help="the src directory of another version (e.g. a `git archive` of main), measured in"
        " the same run with PYTHONPATH=DIR, on a database of its own",
    )
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    phases: list[Phase] = []
    if args.before_src is not None:
        phases += measure("before", args.before_src.resolve(), args)
    phases += measure("" if args.before_src is None else "this version", None, args)
    load_after = os.getloadavg()
    facts = machine_facts()
    print(
        f"{facts['cores']} cores, {facts['cpu']}, Python {facts['python']}, SQLite"
        f" {facts['sqlite']}; {args.clients} keep-alive clients in {args.processes} processes,"
        f" {args.seconds:g} s a phase, {args.devices:,} devices"
    )
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}\n")
    print("| phase | requests | requests/s | events/s | p50 ms | p99 ms | server CPU ms/request |")
    print("|---|---|---|---|---|---|---|")
    for phase in phases:
        print(phase.row())


def measure(label: str, source: Path | None, args: argparse.Namespace) -> list[Phase]:
    """The phases against one `otastats serve` (of ``source`` when given) on a new database."""
    prefix = f"{label}: " if label else ""
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        database = f"sqlite:///{workdir / 'fleet.db'}"
        org = cli(database, workdir, "org", "create", "--name", "fleet")
        cli(database, workdir, "app", "create", APP, "--org", org["org_id"])
        made = cli(database, workdir, "plugin", "create", APP)
        stats_path = "/plugin/" + made["stats_url"].split("/plugin/", 1)[1]
        port = free_port()
        env = {
            **os.environ,
            # Counted for each client address, never reached.
            "OTASTATS_PLUGIN_RATE_LIMIT": str(args.rate_limit),
            "PYTHONPYCACHEPREFIX": str(workdir / "pycache"),
        }
        if source is not None:
            env["PYTHONPATH"] = str(source)
        server = subprocess.Popen(
            [otastats_command(), "serve", "--port", str(port), "--database", database],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(port)
            pid = server.pid
            return [
                run_phase(f"{prefix}baseline: GET /healthz", pid, port, "GET", "/healthz", args),
                run_phase(
                    f"{prefix}GET statsUrl (token, limit)", pid, port, "GET", stats_path, args
                ),
                run_phase(
                    f"{prefix}POST statsUrl, 1-20 events", pid, port, "POST", stats_path, args
                ),
            ]
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


if __name__ == "__main__":
    main()
