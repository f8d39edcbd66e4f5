"""What alerts cost an ingest request, and how soon a state change reaches its webhook.

    .venv/bin/python bench/alerts.py [--requests 300] [--events 20] [--calls 40]

(a) Ingest cost: requests of ``--events`` check-ins of one app, written one after the other
    through the server's write path (validation, group commit, durable SQLite commit), in three
    configurations measured in interleaved rounds in the same run: no evaluation hook (the
    baseline), the hook with no alert on the app, and the hook with three alerts on the app
    (mau, storage, bandwidth) that do not change state.
(b) Delivery latency: ``--calls`` state changes (a storage alert firing and resolving in turn),
    each caused by one ingest request, from the ingest answer to the call's arrival at a
    receiver on 127.0.0.1, through the real delivery worker with its default settings.

Everything runs in a temporary directory; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# bench/ is on sys.path when this runs as `python bench/alerts.py`.
from host import machine_facts, quantile
from otastats.alerts import service
from otastats.alerts.hook import AlertHook
from otastats.alerts.worker import DeliveryWorker, WorkerSettings
from otastats.ingest.group_commit import GroupCommit
from otastats.ingest.service import existing_app, prepare
from otastats.storage.alerts_base import alert_store_for
from otastats.storage.sqlite import SQLiteStore
from otastats.timeparse import datetime_to_micros


def now() -> int:
    return datetime_to_micros(datetime.now(UTC))


def checkins(app: str, start: int, count: int) -> list[dict[str, Any]]:
    stamp = datetime.now(UTC).isoformat()
    return [
        {"type": "device_seen", "app_id": app, "device_id": f"d{start + i}", "timestamp": stamp,
         "version_name": "1.0.0", "platform": "android"}
        for i in range(count)
    ]  # fmt: skip


def ingest_cost(store: SQLiteStore, requests: int, events: int) -> dict[str, list[float]]:
    hook = AlertHook(store, clock=now)
    for app in ("com.bench.watched",):
        for metric in ("mau", "storage", "bandwidth"):
            service.create_alert(
                store, hook.alerts, app_id=app, metric=metric, above="1e18", min_devices=None,
                webhook="http://127.0.0.1:9/never", now=now(),
            )  # fmt: skip
    setups = {
        "no hook (baseline)": (GroupCommit(store), "com.bench.plain"),
        "hook, app without alerts": (GroupCommit(store, hook.after_commit), "com.bench.plain"),
        "hook, app with 3 alerts": (GroupCommit(store, hook.after_commit), "com.bench.watched"),
    }
    samples: dict[str, list[float]] = {name: [] for name in setups}
    sent = 0
    for _ in range(requests):
        for name, (writes, app) in setups.items():
            batch = checkins(app, sent, events)
            sent += events
            started = time.perf_counter()
            writes.write(prepare(store, batch, now(), existing_app))
            samples[name].append(time.perf_counter() - started)
    hook.close()
    return samples


def delivery_latency(store: SQLiteStore, calls: int) -> list[float]:
    arrived: list[float] = []
    got = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            arrived.append(time.perf_counter())
            self.send_response(204)
            self.end_headers()
            got.set()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = AlertHook(store, clock=now)
    worker = DeliveryWorker(store, alert_store_for(store), WorkerSettings(), close_alerts=True)
    hook.on_queued = worker.wake
    worker.start()
    service.create_alert(
        store, hook.alerts, app_id="com.bench.latency", metric="storage", above="50",
        min_devices=None, webhook=f"http://127.0.0.1:{server.server_address[1]}/hook", now=now(),
    )  # fmt: skip
    writes = GroupCommit(store, hook.after_commit)
    latencies: list[float] = []
    try:
        for i in range(calls):
            stamp = datetime.now(UTC).isoformat()
            event: dict[str, Any] = {"app_id": "com.bench.latency", "version_name": f"v{i // 2}",
                                     "timestamp": stamp}  # fmt: skip
            event.update({"type": "bundle_deleted"} if i % 2 else
                         {"type": "bundle_created", "bytes": 100})  # fmt: skip
            got.clear()
            writes.write(prepare(store, [event], now(), existing_app))
            answered = time.perf_counter()
            if not got.wait(15):
                raise SystemExit(f"call {i} did not arrive within 15 s")
            latencies.append(arrived[-1] - answered)
    finally:
        worker.stop()
        hook.close()
        server.shutdown()
        server.server_close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    facts = machine_facts()
    python, sqlite = facts["python"], facts["sqlite"]
    print(f"{facts['cores']} cores, {facts['cpu']}, Python {python}, SQLite {sqlite}")
    with tempfile.TemporaryDirectory(prefix="otastats-bench-alerts-") as directory:
        store = SQLiteStore(str(Path(directory) / "otastats.db"))
        try:
            from otastats.admin import service as admin

            org = admin.create_org(store, "bench", now())
            for app in ("com.bench.plain", "com.bench.watched", "com.bench.latency"):
                admin.create_app(store, app, org, now())
            samples = ingest_cost(store, args.requests, args.events)
            latencies = delivery_latency(store, args.calls)
        finally:
            store.close()
    base = quantile(samples["no hook (baseline)"], 0.5)
    print(f"\n(a) one ingest request of {args.events} events, {args.requests} requests each")
    print(f"{'configuration':<28} {'p50 ms':>8} {'p95 ms':>8} {'p50 / baseline':>15}")
    for name, values in samples.items():
        p50, p95 = quantile(values, 0.5), quantile(values, 0.95)
        print(f"{name:<28} {p50 * 1e3:8.2f} {p95 * 1e3:8.2f} {p50 / base:15.2f}")
    print(f"\n(b) ingest answer to webhook arrival, {args.calls} state changes")
    print(f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}   (the contract: within 10,000 ms)")
    print(
        f"{quantile(latencies, 0.5) * 1e3:8.1f} {quantile(latencies, 0.95) * 1e3:8.1f}"
        f" {max(latencies) * 1e3:8.1f}"
    )


if __name__ == "__main__":
    main()
