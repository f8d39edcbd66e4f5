"""Crash durability of ingestion (SPEC section 4): a 2xx answer means the events are committed.

A real ``otastats serve`` on a SQLite file receives ingest requests from three keep-alive
clients (NDJSON, 200 to 500 events each, some of them for earlier days) and is killed with
SIGKILL after a seeded number of acknowledged requests, while other requests are in flight.
Every request is recorded as acknowledged (2xx), unanswered (the connection failed) or other.
A new server on the same file must then show that:

- every event of an acknowledged request is stored exactly once: sending them all again
  accepts none of them;
- an unanswered request is stored whole or not at all: sent again alone, it is accepted for
  none or for all of its events, never for a part;
- the figures of the app and bundle_usage endpoints, read before anything is sent again, are
  the figures of the events actually stored (acknowledged, plus the unanswered requests found
  stored), computed here by brute force from the SPEC's definitions; and, once everything has
  been sent again, the figures of all the events.
"""

from __future__ import annotations

import http.client
import os
import random
import signal
import subprocess
import threading
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from otastats.admin import service as admin
from otastats.storage.sqlite import SQLiteStore
from otastats.timeparse import datetime_to_micros
from tests.cli_helpers import OTASTATS, SERVER_START_TIMEOUT, clean_env, db_url, free_port

APPS = ("com.crash.alpha", "com.crash.beta", "com.crash.gamma")
APP_WEIGHTS = (5, 3, 2)
DAYS = 45
"""Events fall on the 45 days before today (UTC)."""
REQUESTS_OVER_DAYS = 120
"""The stream's current day reaches the last of the 45 days at this request."""
RELEASES = (0, 7, 14, 21, 28, 35, 42)
"""Day offsets of the releases of each app: version ``1.<i>.0`` on day RELEASES[i]."""
DEVICES_PER_APP = 250
CLIENTS = 3
MICROS_PER_DAY = 86_400_000_000
WINDOW = 30


# --- the workload ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ev:
    """An event as the oracle sees it."""

    type: str
    app_id: str
    day: int  # date ordinal
    instant: int  # microseconds since the epoch, unique in a run
    version: str
    device: str | None = None
    size: int | None = None
    counted: bool = False


@dataclass
class Request:
    index: int
    body: bytes
    events: list[Ev]
    lines: list[bytes]


class Workload:
    """Seeded ingest requests: check-ins and downloads on the stream's current day (and 15 %
    on earlier days: late events), releases (some of them late) and deletions."""

    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.first = today - timedelta(days=DAYS)
        self.counter = 0
        self.emitted: set[tuple[str, int]] = set()
        self.deleted: set[str] = set()
        self.lag = {
            (app, d): self.rng.choice((0, 0, 0, 1, 2, 3, 8))
            for app in APPS
            for d in range(DEVICES_PER_APP)
        }

    def _stamp(self, offset: int) -> tuple[str, int, int]:
        """(RFC 3339 text, date ordinal, instant) of a moment of the day ``first + offset``; the
        microseconds are a run-wide counter, so that no two events share an instant."""
        day = self.first + timedelta(days=offset)
        second = self.rng.randrange(86_400)
        micro = self.counter % 1_000_000
        self.counter += 1
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
            seconds=second, microseconds=micro
        )
        text = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return text, day.toordinal(), datetime_to_micros(moment)

    def _bundle(self, kind: str, app: str, release: int, offset: int) -> tuple[dict[str, Any], Ev]:
        text, day, instant = self._stamp(offset)
        version = f"1.{release}.0"
        raw: dict[str, Any] = {
            "type": kind,
            "app_id": app,
            "version_name": version,
            "timestamp": text,
        }
        size = None
        if kind == "bundle_created":
            size = 5_000_000 + 250_000 * release + self.rng.randrange(100_000)
            raw["bytes"] = size
        return raw, Ev(kind, app, day, instant, version, size=size)

    def _activity(self, current: int) -> tuple[dict[str, Any], Ev]:
        app = self.rng.choices(APPS, APP_WEIGHTS)[0]
        number = self.rng.randrange(DEVICES_PER_APP)
        device = f"device-{number:04d}"
        late = self.rng.random() < 0.15
        offset = max(0, current - self.rng.randint(1, 25)) if late else current
        # The newest release at least the device's update lag old.
        updated = max(0, offset - self.lag[(app, number)])
        version = f"1.{max(i for i, day in enumerate(RELEASES) if day <= updated)}.0"
        text, day, instant = self._stamp(offset)
        if self.rng.random() < 0.15:
            size = self.rng.randrange(10_000, 40_000_000)
            raw: dict[str, Any] = {
                "type": "download",
                "app_id": app,
                "device_id": device,
                "version_name": version,
                "bytes": size,
                "timestamp": text,
            }
            return raw, Ev("download", app, day, instant, version, device=device, size=size)
        raw = {
            "type": "device_seen",
            "app_id": app,
            "device_id": device,
            "version_name": version,
            "platform": self.rng.choice(("ios", "android")),
            "timestamp": text,
        }
        emulator = self.rng.random() < 0.03
        prod = self.rng.random() >= 0.03
        if emulator or self.rng.random() < 0.3:
            raw["is_emulator"] = emulator
        if not prod or self.rng.random() < 0.3:
            raw["is_prod"] = prod
        return raw, Ev(
            "device_seen", app, day, instant, version, device=device, counted=not emulator and prod
        )

    def request(self, index: int) -> Request:
        current = min(DAYS - 1, index * DAYS // REQUESTS_OVER_DAYS)
        pairs: list[tuple[dict[str, Any], Ev]] = []
        for app in APPS:
            for release, offset in enumerate(RELEASES):
                due = offset <= current and (app, release) not in self.emitted
                # Four releases in ten arrive in a later request: late events.
                if due and self.rng.random() < 0.6:
                    self.emitted.add((app, release))
                    pairs.append(self._bundle("bundle_created", app, release, offset))
            if app not in self.deleted and current >= 30 and self.rng.random() < 0.2:
                self.deleted.add(app)
                pairs.append(self._bundle("bundle_deleted", app, 0, self.rng.randint(25, current)))
        for _ in range(self.rng.randint(200, 500) - len(pairs)):
            pairs.append(self._activity(current))
        self.rng.shuffle(pairs)
        lines: list[bytes] = []
        for number, (raw, _) in enumerate(pairs):
            raw["event_id"] = f"s{self.seed}-r{index}-e{number}"
            lines.append(orjson.dumps(raw) + b"\n")
        return Request(index, b"".join(lines), [ev for _, ev in pairs], lines)


# --- the oracle: the SPEC's definitions, by brute force ------------------------------------------


def expected_figures(
    events: Sequence[Ev], app: str, days: list[int]
) -> tuple[list[dict[str, Any]], dict[str, list[int]]]:
    """(app points with noAccumulate=true, bundle_usage counts by version) of one app."""
    mine = [e for e in events if e.app_id == app]
    by_device: dict[str, list[Ev]] = defaultdict(list)
    for e in mine:
        if e.counted and e.device is not None:
            by_device[e.device].append(e)
    timelines = []
    for seen in by_device.values():
        seen.sort(key=lambda e: e.instant)
        timelines.append(([e.day for e in seen], [e.version for e in seen]))
    bandwidth: dict[int, int] = defaultdict(int)
    for e in mine:
        if e.type == "download":
            bandwidth[e.day] += e.size or 0
    bundles = [e for e in mine if e.type in ("bundle_created", "bundle_deleted")]
    versions = {e.version for e in bundles}

    points: list[dict[str, Any]] = []
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for position, day in enumerate(days):
        mau = 0
        for seen_days, seen_versions in timelines:
            upto = bisect_right(seen_days, day)
            if upto and seen_days[upto - 1] >= day - (WINDOW - 1):
                mau += 1
                counts[seen_versions[upto - 1]][position] += 1
        storage = 0
        for version in versions:
            created = [
                e
                for e in bundles
                if e.version == version and e.type == "bundle_created" and e.day <= day
            ]
            if not created:
                continue
            latest = max(created, key=lambda e: (e.instant, e.size))
            if not any(
                e.version == version
                and e.type == "bundle_deleted"
                and e.day <= day
                and e.instant >= latest.instant
                for e in bundles
            ):
                storage += latest.size or 0
        points.append(
            {
                "date": date.fromordinal(day).isoformat(),
                "mau": mau,
                "storage": storage,
                "bandwidth": bandwidth[day],
            }
        )
    return points, {v: c for v, c in counts.items() if any(c)}


# --- the server and its clients ------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path


def _call(
    port: int, method: str, path: str, key: str, body: bytes | None = None
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"authorization": key}
        if body is not None:
            headers["content-type"] = "application/x-ndjson"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, orjson.loads(response.read())
    finally:
        conn.close()


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited early: {server.log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            try:
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            finally:
                conn.close()
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    raise AssertionError(f"no /healthz answer: {server.log.read_text()[-3000:]}")


@contextmanager
def serving(database: Path, workdir: Path, name: str) -> Iterator[Server]:
    """``otastats serve`` on a free loopback port, rate limits off; killed when done."""
    port = free_port()
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*OTASTATS, "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=clean_env(
                {
                    "OTASTATS_DATABASE_URL": db_url(database),
                    "OTASTATS_RATE_LIMIT": "0",
                    "OTASTATS_AUTH_FAILURE_LIMIT": "0",
                }
            ),
        )
    server = Server(process, port, log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


@dataclass
class Outcome:
    kind: str  # "ack", "none" or "other"
    status: int | None = None
    body: Any = None
    detail: str = ""


@dataclass
class Stream:
    """Shared state of the clients: the next request, outcomes, and when to kill."""

    plan: list[Request]
    kill_after: int
    kill_delay: float
    pid: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    next: int = 0
    in_flight: int = 0
    acked: int = 0
    kill_due: bool = False
    killed: bool = False
    in_flight_at_kill: int = 0
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)

    def take(self) -> Request | None:
        with self.lock:
            if self.killed or self.next >= len(self.plan):
                return None
            request = self.plan[self.next]
            self.next += 1
            self.in_flight += 1
            return request

    def record(self, request: Request, outcome: Outcome) -> bool:
        """Note the outcome; True when this client is the one that must kill the server."""
        with self.lock:
            self.in_flight -= 1
            self.outcomes[request.index] = outcome
            if outcome.kind == "ack":
                self.acked += 1
            # Kill while at least one other request is on its way.
            if not self.kill_due and self.acked >= self.kill_after and self.in_flight > 0:
                self.kill_due = True
                return True
            return False

    def kill(self) -> None:
        # The other clients go on sending for a moment, so that the kill falls at any point
        # of their requests' handling; none starts once the server is dead.
        time.sleep(self.kill_delay)
        with self.lock:
            self.in_flight_at_kill = self.in_flight
            os.kill(self.pid, signal.SIGKILL)
            self.killed = True


def client(stream: Stream, port: int, key: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"authorization": key, "content-type": "application/x-ndjson"}
    try:
        while (request := stream.take()) is not None:
            try:
                conn.request("POST", "/ingest/events", body=request.body, headers=headers)
                response = conn.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException) as exc:
                stream.record(request, Outcome("none", detail=repr(exc)))
                return
            status = response.status
            body = orjson.loads(raw) if raw else None
            kind = "ack" if 200 <= status < 300 else "other"
            if stream.record(request, Outcome(kind, status, body)):
                stream.kill()
                return
    except BaseException as exc:  # reported by the test, not lost in a thread
        stream.errors.append(exc)
    finally:
        conn.close()


# --- the test ------------------------------------------------------------------------------------


def _tenants(database: Path) -> str:
    """An org with the three apps and an admin's key of mode ``all``, made in process."""
    store = SQLiteStore(str(database))
    try:
        now = datetime_to_micros(datetime.now(UTC))
        org_id = admin.create_org(store, "Crash", now)
        user_id = admin.create_user(store, "crash@example.com", now)
        admin.add_member(store, org_id, user_id, "admin")
        for app in APPS:
            admin.create_app(store, app, org_id, now)
        return admin.create_key(store, user_id, "all", now).key
    finally:
        store.close()


def _read_figures(
    port: int, key: str, first: date, last: date
) -> dict[str, tuple[list[dict[str, Any]], dict[str, list[int]]]]:
    query = f"from={first.isoformat()}&to={last.isoformat()}"
    figures = {}
    for app in APPS:
        status, points = _call(
            port, "GET", f"/statistics/app/{app}/?{query}&noAccumulate=true", key
        )
        assert status == 200, points
        status, usage = _call(port, "GET", f"/statistics/app/{app}/bundle_usage?{query}", key)
        assert status == 200, usage
        days = [p["date"] for p in points]
        assert usage["labels"] == days
        figures[app] = (points, {d["label"]: d["counts"] for d in usage["datasets"]})
    return figures


def _check_figures(
    read: dict[str, tuple[list[dict[str, Any]], dict[str, list[int]]]],
    events: Sequence[Ev],
    days: list[int],
    when: str,
) -> None:
    for app in APPS:
        points, counts = read[app]
        want_points, want_counts = expected_figures(events, app, days)
        wrong = [(got, want) for got, want in zip(points, want_points, strict=True) if got != want]
        assert not wrong, f"{when}, {app}: {len(wrong)} days differ, first: {wrong[0]}"
        assert counts == want_counts, f"{when}, {app}: bundle_usage counts differ"


def _resend_all(port: int, key: str, lines: list[bytes]) -> dict[str, int]:
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    for start in range(0, len(lines), 10_000):
        status, body = _call(
            port, "POST", "/ingest/events", key, b"".join(lines[start : start + 10_000])
        )
        assert status == 200, body
        totals["accepted"] += body["accepted"]
        totals["duplicates"] += body["duplicates"]
        totals["rejected"] += len(body["rejected"])
    return totals


@pytest.mark.parametrize(
    ("seed", "kill_range"),
    [
        pytest.param(11, (6, 14), id="early"),
        pytest.param(22, (35, 50), id="middle"),
        pytest.param(33, (75, 95), id="late"),
    ],
)
def test_a_kill_loses_no_acknowledged_event_and_splits_no_request(
    tmp_path: Path, seed: int, kill_range: tuple[int, int]
) -> None:
    started = time.monotonic()
    today = datetime.now(UTC).date()
    database = tmp_path / "crash.db"
    key = _tenants(database)
    workload = Workload(seed, today)
    picker = random.Random(seed * 7919)
    kill_after = picker.randint(*kill_range)
    plan = [workload.request(index) for index in range(kill_after + 40)]
    first, last = workload.first, today

    with serving(database, tmp_path, "before") as server:
        stream = Stream(plan, kill_after, picker.uniform(0, 0.05), server.process.pid)
        threads = [
            threading.Thread(target=client, args=(stream, server.port, key), daemon=True)
            for _ in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "a client did not finish"
        assert not stream.errors, stream.errors
        assert stream.killed, f"the stream ended before {kill_after} acknowledgements"
        assert server.process.wait(timeout=30) == -signal.SIGKILL

    outcomes = stream.outcomes
    acked = [plan[i] for i, o in sorted(outcomes.items()) if o.kind == "ack"]
    unanswered = [plan[i] for i, o in sorted(outcomes.items()) if o.kind == "none"]
    other = {i: (o.status, o.body) for i, o in outcomes.items() if o.kind == "other"}
    assert not other, f"answers that are neither 2xx nor a lost connection: {other}"
    assert len(acked) >= kill_after
    for request in acked:
        body = outcomes[request.index].body
        assert body == {"accepted": len(request.events), "duplicates": 0, "rejected": []}, (
            request.index,
            body,
        )

    days = [first.toordinal() + n for n in range((last - first).days + 1)]
    with serving(database, tmp_path, "after") as server:
        after_crash = _read_figures(server.port, key, first, last)

        acked_lines = [line for request in acked for line in request.lines]
        again = _resend_all(server.port, key, acked_lines)
        assert again == {"accepted": 0, "duplicates": len(acked_lines), "rejected": 0}, (
            "acknowledged events were lost in the crash"
        )

        present: list[Request] = []
        for request in unanswered:
            status, body = _call(server.port, "POST", "/ingest/events", key, request.body)
            assert status == 200, body
            assert body["rejected"] == []
            assert body["accepted"] in (0, len(request.events)), (
                f"request {request.index} was stored in part: {body['duplicates']} of"
                f" {len(request.events)} events were there after the crash"
            )
            if body["accepted"] == 0:
                present.append(request)

        stored = [e for request in acked + present for e in request.events]
        _check_figures(after_crash, stored, days, "after the crash")
        everything = [e for request in acked + unanswered for e in request.events]
        _check_figures(
            _read_figures(server.port, key, first, last), everything, days, "after resending"
        )

    print(
        f"\nkill point {kill_range}: kill decided at acknowledgement {kill_after},"
        f" {stream.in_flight_at_kill} requests in flight at the kill; acknowledged {len(acked)}"
        f" ({len(acked_lines)} events), unanswered {len(unanswered)}"
        f" (stored {len(present)}, absent {len(unanswered) - len(present)}), other 0;"
        f" {time.monotonic() - started:.1f} s"
    )
