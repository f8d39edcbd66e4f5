"""Two server processes on one PostgreSQL database ingest the same apps at once, exactly.

Interleaved batches for the same devices and apps, in random order (out-of-order and duplicate
events included), go to two ``otastats serve`` processes from four threads at once. The answers
must equal those of a single process that ingested every event in one batch.
"""

from __future__ import annotations

import json
import random
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from otastats.storage.postgres import PostgresStore
from otastats.storage.sqlite import SQLiteStore
from tests.cli_helpers import http_get, serve
from tests.conftest import Tenants, make_client

APPS = ("com.example.one", "com.example.two")


def make_events(now: datetime) -> list[dict[str, Any]]:
    rng = random.Random(7)
    events: list[dict[str, Any]] = []
    for number in range(1500):
        app = rng.choice(APPS)
        when = now - timedelta(days=rng.randint(0, 40), seconds=rng.randint(60, 80_000))
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        kind = rng.choice(("device_seen",) * 6 + ("download", "bundle_created", "bundle_deleted"))
        version = rng.choice(("1.0.0", "1.1.0", "2.0.0"))
        event: dict[str, Any] = {"type": kind, "app_id": app, "timestamp": stamp}
        event["version_name"] = version
        if kind in ("device_seen", "download"):
            event["device_id"] = f"d{rng.randint(1, 25)}"
        if kind == "device_seen":
            event["platform"] = "android"
        if kind in ("download", "bundle_created"):
            event["bytes"] = rng.randint(0, 10**6)
        if rng.random() < 0.5:
            event["event_id"] = f"e{number}"
        events.append(event)
    # Resent events: the same event, with its id, arrives again (maybe at the other process).
    with_ids = [event for event in events if "event_id" in event]
    return events + [dict(event) for event in rng.sample(with_ids, 200)]


def post(base: str, key: str, batch: list[dict[str, Any]]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310
        base + "/ingest/events",
        data=json.dumps(batch).encode(),
        headers={"authorization": key, "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def setup(tenants: Tenants) -> str:
    org = tenants.org()
    for app in APPS:
        tenants.app(app, org)
    return tenants.key(tenants.user("ops@example.com", orgs={org: "admin"}))


def test_two_processes_ingesting_the_same_apps_equal_one(postgres_url: str, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    events = make_events(now)
    shared = PostgresStore(postgres_url)
    try:
        key = setup(Tenants(shared))
    finally:
        shared.close()
    single = SQLiteStore(str(tmp_path / "single.db"))
    try:
        single_key = setup(Tenants(single))
        with make_client(single, clock=now) as client:
            response = client.post(
                "/ingest/events",
                json=events,
                headers={"authorization": single_key, "content-type": "application/json"},
            )
            assert response.status_code == 200, response.text
            expected_totals = response.json()
            first = (now - timedelta(days=45)).date().isoformat()
            params = {"from": first, "to": now.date().isoformat()}
            paths = [f"/statistics/app/{app}/" for app in APPS]
            paths += [f"/statistics/app/{app}/bundle_usage" for app in APPS]
            expected = {}
            for path in paths:
                got = client.get(
                    path,
                    params={**params, "noAccumulate": "true"},
                    headers={"authorization": single_key},
                )
                assert got.status_code == 200
                expected[path] = got.json()
    finally:
        single.close()
    shuffled = events[:]
    random.Random(3).shuffle(shuffled)
    batches = [shuffled[i : i + 40] for i in range(0, len(shuffled), 40)]
    with (
        serve(database=postgres_url, workdir=tmp_path, name="a") as a,
        serve(database=postgres_url, workdir=tmp_path, name="b") as b,
        ThreadPoolExecutor(4) as pool,
    ):
        bases = [a.base, b.base]
        answers = list(pool.map(lambda ib: post(bases[ib[0] % 2], key, ib[1]), enumerate(batches)))
        assert sum(x["accepted"] for x in answers) == expected_totals["accepted"]
        assert sum(x["duplicates"] for x in answers) == expected_totals["duplicates"]
        query = "&".join(f"{k}={v}" for k, v in {**params, "noAccumulate": "true"}.items())
        for path in paths:
            for base in bases:
                status, body = http_get(f"{base}{path}?{query}", {"authorization": key})
                assert status == 200
                assert body == expected[path], f"{base}{path}"
