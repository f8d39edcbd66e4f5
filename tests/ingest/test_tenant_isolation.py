"""One tenant's hostile writes never fail another's, against a real ``otastats serve``.

One tenant sends requests whose downloads and bundles would take its app's byte figures past
2^63 - 1, while another sends small valid requests from several threads at once, to the same
server (so their batches share group commits). Every request of both is answered 200, and the
other tenant's figures are exact. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from otastats.storage.base import Store
from otastats.storage.open import open_store
from tests.cli_helpers import db_url, http_get, serve
from tests.conftest import Tenants

BIG = 2**53
YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
STAMP = f"{YESTERDAY}T12:00:00Z"
VICTIM_THREADS, VICTIM_REQUESTS, EVENTS = 4, 15, 20


def post(base: str, key: str, events: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310
        base + "/ingest/events",
        data=json.dumps(events).encode(),
        headers={"authorization": key, "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def hostile_batch(number: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"type": "download", "app_id": "com.hostile.app", "device_id": f"h{i}",
         "timestamp": STAMP, "version_name": "1.0.0", "bytes": BIG}
        for i in range(600)
    ]  # fmt: skip
    events += [
        {"type": "bundle_created", "app_id": "com.hostile.app", "version_name": f"{number}.{i}",
         "timestamp": STAMP, "bytes": BIG}
        for i in range(600)
    ]  # fmt: skip
    return events


def victim_batch(thread: int, number: int) -> list[dict[str, Any]]:
    return [
        {"type": "device_seen", "app_id": "com.victim.app", "device_id": f"v{thread}-{number}",
         "timestamp": STAMP, "version_name": "1.0.0", "platform": "ios"}
        if i == 0
        else {"type": "download", "app_id": "com.victim.app", "device_id": f"v{thread}-{number}",
              "timestamp": STAMP, "version_name": "1.0.0", "bytes": i}
        for i in range(EVENTS)
    ]  # fmt: skip


def setup(store: Store) -> tuple[str, str]:
    tenants = Tenants(store)
    keys = []
    for name in ("hostile", "victim"):
        org = tenants.org(name)
        tenants.app(f"com.{name}.app", org)
        user = tenants.user(f"{name}@example.com", orgs={org: "admin"})
        keys.append(tenants.key(user, "all"))
    return keys[0], keys[1]


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return db_url(tmp_path / "otastats.db")


def test_a_tenant_overflowing_its_figures_never_fails_another(
    database: str, tmp_path: Path
) -> None:
    store = open_store(database)
    try:
        hostile_key, victim_key = setup(store)
    finally:
        store.close()
    done = threading.Event()
    with serve(database=database, workdir=tmp_path) as server:

        def attack() -> list[int]:
            statuses = []
            number = 0
            while not done.is_set() or number < 3:
                status, body = post(server.base, hostile_key, hostile_batch(number))
                statuses.append(status)
                assert status == 200, body
                number += 1
            return statuses

        def victim(thread: int) -> list[tuple[int, dict[str, Any]]]:
            return [
                post(server.base, victim_key, victim_batch(thread, n))
                for n in range(VICTIM_REQUESTS)
            ]

        with ThreadPoolExecutor(VICTIM_THREADS + 1) as pool:
            attacker = pool.submit(attack)
            victims = [pool.submit(victim, thread) for thread in range(VICTIM_THREADS)]
            answers = [answer for future in victims for answer in future.result()]
            done.set()
            attacks = attacker.result()
        assert len(attacks) >= 3
        assert set(attacks) == {200}
        for status, body in answers:
            assert status == 200, body
            assert body == {"accepted": EVENTS, "duplicates": 0, "rejected": []}
        query = f"from={YESTERDAY}&to={YESTERDAY}&noAccumulate=true"
        path = "/statistics/app/com.victim.app/"
        status, points = http_get(f"{server.base}{path}?{query}", {"authorization": victim_key})
        assert status == 200, points
        requests = VICTIM_THREADS * VICTIM_REQUESTS
        bandwidth = requests * sum(range(1, EVENTS))
        assert points == [
            {"date": YESTERDAY, "mau": requests, "storage": 0, "bandwidth": bandwidth}
        ]
        path = "/statistics/app/com.hostile.app/"
        status, points = http_get(f"{server.base}{path}?{query}", {"authorization": hostile_key})
        assert status == 200, points
        assert points[0]["bandwidth"] == points[0]["storage"] == (2**63 - 1) // BIG * BIG
