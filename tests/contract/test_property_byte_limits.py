"""Byte limits against the brute-force oracle: which events are rejected, and every figure.

Two apps of one organization are first brought near the limit (1,020 downloads and 1,020
bundles of 2^53 bytes each, on one day), then random downloads, creations and deletions of
sizes up to 2^53 on three days, some with event ids, arrive in one to three requests. Each
answer's accepted, duplicate and rejected events, and every figure afterwards (the apps', and
the organization's, which passes 64 bits), must be those of ``tests/oracle_byte_limits.py``
and ``tests/oracle.py``.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otastats.storage.base import Store
from otastats.storage.sqlite import SQLiteStore
from tests.conftest import NOW, Tenants, make_client
from tests.oracle import Oracle
from tests.oracle_byte_limits import judge

pytestmark = pytest.mark.slow

BIG = 2**53
APPS = ("com.limit.a", "com.limit.b")
D0 = date(2024, 3, 10)
DAYS = (D0 - timedelta(days=1), D0, D0 + timedelta(days=1))
SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def preload() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for app_id in APPS:
        stamp = f"{D0.isoformat()}T06:00:00Z"
        events += [
            {"type": "download", "app_id": app_id, "device_id": f"p{i}", "timestamp": stamp,
             "version_name": "1.0.0", "bytes": BIG}
            for i in range(1020)
        ]  # fmt: skip
        events += [
            {"type": "bundle_created", "app_id": app_id, "version_name": f"v{i}",
             "timestamp": stamp, "bytes": BIG}
            for i in range(1020)
        ]  # fmt: skip
    return events


@st.composite
def tail_events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(("download", "bundle_created", "bundle_deleted")))
    day = draw(st.sampled_from(DAYS))
    seconds = draw(st.sampled_from((0, 21_600, 43_200, 86_399)))
    stamp = f"{day.isoformat()}T{seconds // 3600:02}:{seconds % 3600 // 60:02}:{seconds % 60:02}Z"
    event: dict[str, Any] = {
        "type": kind,
        "app_id": draw(st.sampled_from(APPS)),
        "timestamp": stamp,
        "version_name": draw(st.sampled_from(("v0", "v1", "n0", "n1"))),
    }
    if kind == "download":
        event["device_id"] = "d"
    if kind != "bundle_deleted":
        event["bytes"] = draw(st.sampled_from((0, 1, BIG // 2, BIG - 1, BIG, BIG, BIG)))
    event_id = draw(st.sampled_from((None, None, "x", "y")))
    if event_id is not None:
        event["event_id"] = event_id
    return event


@st.composite
def requests(draw: st.DrawFn) -> list[list[dict[str, Any]]]:
    events = draw(st.lists(tail_events(), min_size=1, max_size=14))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(events) - 1)), max_size=2)))
    bounds = [0, *(c for c in cuts if c < len(events)), len(events)]
    return [events[a:b] for a, b in itertools.pairwise(bounds)]


@contextmanager
def world(postgres: Callable[[], str] | None) -> Iterator[tuple[TestClient, str, str]]:
    with tempfile.TemporaryDirectory() as directory:
        store: Store
        if postgres is None:
            store = SQLiteStore(str(Path(directory) / "otastats.db"))
        else:
            from otastats.storage.postgres import PostgresStore

            store = PostgresStore(postgres())
        try:
            tenants = Tenants(store)
            org_id = tenants.org("limits")
            for app_id in APPS:
                tenants.app(app_id, org_id)
            key = tenants.key(tenants.user("o@example.com", orgs={org_id: "admin"}), "all")
            with make_client(store) as client:
                yield client, key, org_id
        finally:
            store.close()


def post(client: TestClient, key: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post("/ingest/events", json=events, headers={"authorization": key})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def read(client: TestClient, key: str, path: str, **params: str) -> Any:
    params = {"from": DAYS[0].isoformat(), "to": DAYS[-1].isoformat(), **params}
    response = client.get(path, params=params, headers={"authorization": key})
    assert response.status_code == 200, response.text
    return json.loads(response.content)  # Python integers: exact past 64 bits


def check(batches: list[list[dict[str, Any]]], postgres: Callable[[], str] | None) -> None:
    with world(postgres) as (client, key, org_id):
        accepted = preload()  # well within the limits: all accepted
        assert post(client, key, accepted)["accepted"] == len(accepted)
        for batch in batches:
            kept, duplicates, rejected = judge(accepted, batch)
            answer = post(client, key, batch)
            assert (answer["accepted"], answer["duplicates"]) == (len(kept), duplicates), answer
            assert [r["index"] for r in answer["rejected"]] == rejected, (batch, answer)
            assert all(r["error"].startswith("bytes: would take") for r in answer["rejected"])
        oracle = Oracle(accepted, dict.fromkeys(APPS, "o"), frozenset(), NOW.date())
        for flat in (True, False):
            flag = {"noAccumulate": "true" if flat else "false"}
            for app_id in APPS:
                got = read(client, key, f"/statistics/app/{app_id}/", **flag)
                assert got == oracle.app_statistics(app_id, DAYS[0], DAYS[-1], no_accumulate=flat)
            org = read(client, key, f"/statistics/org/{org_id}/", **flag)
            expected = oracle.org_statistics(
                "o", DAYS[0], DAYS[-1], no_accumulate=flat, breakdown=False
            )
            assert org == expected
            assert max(point["storage"] for point in org) > 2**63 - 1


@settings(SETTINGS, max_examples=12)
@given(batches=requests())
def test_byte_limits_and_figures_equal_the_oracle(batches: list[list[dict[str, Any]]]) -> None:
    check(batches, None)


@settings(SETTINGS, max_examples=4)
@given(batches=requests())
def test_byte_limits_and_figures_equal_the_oracle_on_postgres(
    postgres_schemas: Callable[[], str], batches: list[list[dict[str, Any]]]
) -> None:
    check(batches, postgres_schemas)
