"""Byte figures near 64 bits, on every backend: an event that would take an app's figure past
2^63 - 1 is rejected on its own; org and user sums are answered exactly, JSON and CSV alike."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from otastats.storage.base import Store
from otastats.storage.sqlite import SQLiteStore
from tests.conftest import Tenants
from tests.helpers_api import at, created, deleted, download, get, post_events

BIG = 2**53  # the largest bytes of one event
MAX = 2**63 - 1
PER_APP = MAX // BIG  # 1023 events of BIG bytes fit in one app's figure, 1024 do not
APPS = ("com.big.one", "com.big.two", "com.big.three")
DAYS = ("2024-03-10", "2024-03-11", "2024-03-12")


@dataclass
class World:
    client: TestClient
    store: Store
    key: str
    org_id: str


@pytest.fixture
def world(store: Store, tenants: Tenants, client: TestClient) -> World:
    org_id = tenants.org("big")
    user_id = tenants.user("big@example.com", orgs={org_id: "admin"})
    for app_id in APPS:
        tenants.app(app_id, org_id)
    return World(client, store, tenants.key(user_id, "all"), org_id)


def send(world: World, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = post_events(world.client, world.key, events)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def read(world: World, path: str, **params: str) -> Any:
    """The JSON answer, parsed with Python's integers (exact at any size)."""
    response = get(world.client, world.key, path, **{"from": DAYS[0], "to": DAYS[-1]}, **params)
    assert response.status_code == 200, response.text
    return json.loads(response.content, parse_float=_no_float)


def _no_float(text: str) -> None:
    raise AssertionError(f"a number that is not an integer: {text}")


def assert_no_float_stored(store: Store) -> None:
    if isinstance(store, SQLiteStore):
        with sqlite3.connect(store.path) as conn:
            kinds = conn.execute(
                "SELECT DISTINCT typeof(bandwidth), typeof(storage_delta) FROM level_deltas"
            ).fetchall()
        assert kinds == [("integer", "integer")]


def test_bandwidth_past_64_bits_is_rejected_per_event_and_sums_stay_exact(world: World) -> None:
    # The case of the report: 1,000 downloads of 2^53 bytes a request, on three earlier days.
    for app_id in APPS:
        answers = [
            send(world, [download(app_id, f"d{i}", at(day), BIG) for i in range(1000)])
            for day in DAYS
        ]
        assert [a["accepted"] for a in answers] == [1000, PER_APP - 1000, 0]
        assert answers[1]["rejected"][0] == {
            "index": PER_APP - 1000,
            "error": "bytes: would take the app's bandwidth of all its days past 2^63 - 1"
            " (9223372036854775807)",
        }
        assert len(answers[2]["rejected"]) == 1000
    # A small download still fits in the room left (2^53 - 1 bytes), then nothing does.
    fill = send(
        world,
        [download(APPS[0], "d", at(DAYS[2]), BIG - 1), download(APPS[0], "d", at(DAYS[2]), 1)],
    )
    assert fill["accepted"] == 1
    assert [r["index"] for r in fill["rejected"]] == [1]

    app_total = PER_APP * BIG
    totals = [1000 * BIG, app_total, app_total]  # each app's running total, day by day
    points = read(world, f"/statistics/app/{APPS[1]}/")
    assert [p["bandwidth"] for p in points] == totals
    assert points[-1]["bandwidth"] == app_total <= MAX
    org_total = 3 * app_total + BIG - 1
    assert org_total > 2**64  # past what orjson, SQLite and bigint hold
    path = f"/statistics/org/{world.org_id}/"
    org = read(world, path)
    assert [p["bandwidth"] for p in org] == [3 * 1000 * BIG, 3 * app_total, org_total]
    assert read(world, path, noAccumulate="true")[1]["bandwidth"] == 3 * (PER_APP - 1000) * BIG
    breakdown = read(world, path, breakdown="true")
    assert breakdown["global"] == org
    assert (
        sum(row["bandwidth"] for row in breakdown["byApp"] if row["date"] == DAYS[2]) == org_total
    )
    assert read(world, "/statistics/user/") == org
    as_csv = get(
        world.client,
        world.key,
        "/statistics/user/",
        **{"from": DAYS[0], "to": DAYS[-1], "format": "csv"},
    )
    assert as_csv.status_code == 200
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [int(row["bandwidth"]) for row in rows] == [p["bandwidth"] for p in org]
    assert_no_float_stored(world.store)


def test_1024_downloads_of_2_53_bytes_on_one_day_keep_1023(world: World) -> None:
    app_id = APPS[0]
    events = [download(app_id, f"d{i}", at(DAYS[0]), BIG) for i in range(1024)]
    result = send(world, events)
    assert result["accepted"] == PER_APP
    assert result["rejected"] == [
        {
            "index": PER_APP,
            "error": "bytes: would take the app's bandwidth of 2024-03-10 past 2^63 - 1"
            " (9223372036854775807)",
        }
    ]
    # Two requests on one day: the second is judged against what the first stored.
    again = send(
        world, [download(app_id, "d", at(DAYS[0]), BIG - 1), download(app_id, "d", at(DAYS[0]), 1)]
    )
    assert again["accepted"] == 1
    point = read(world, f"/statistics/app/{app_id}/", noAccumulate="true")[0]
    assert point["bandwidth"] == MAX
    assert_no_float_stored(world.store)


def test_a_rejected_event_leaves_its_event_id_free(world: World) -> None:
    app_id = APPS[0]
    send(world, [download(app_id, f"d{i}", at(DAYS[0]), BIG) for i in range(PER_APP)])
    result = send(
        world,
        [
            download(app_id, "d", at(DAYS[0]), BIG, event_id="x"),  # 0: too big
            download(app_id, "d", at(DAYS[0]), 5, event_id="x"),  # 1: takes the id
            download(app_id, "d", at(DAYS[0]), 5, event_id="x"),  # 2: a duplicate of 1
            download(app_id, "d", at(DAYS[0]), BIG, event_id="y"),  # 3: too big
        ],
    )
    assert (result["accepted"], result["duplicates"]) == (1, 1)
    assert [r["index"] for r in result["rejected"]] == [0, 3]
    # "y" was never accepted: it may be sent again once it fits (in another app's room, no).
    later = send(world, [download(app_id, "d", at(DAYS[0]), 1, event_id="y")])
    assert (later["accepted"], later["duplicates"]) == (1, 0)


def test_storage_past_64_bits_is_rejected_per_event_and_org_storage_stays_exact(
    world: World,
) -> None:
    for app_id in APPS[:2]:
        events = [created(app_id, f"1.0.{i}", BIG, at(DAYS[0])) for i in range(PER_APP + 1)]
        result = send(world, events)
        assert result["accepted"] == PER_APP
        assert result["rejected"] == [
            {
                "index": PER_APP,
                "error": "bytes: would take the app's storage past 2^63 - 1 (9223372036854775807)",
            }
        ]
    app_id = APPS[0]
    # Deleting a bundle makes room from its day on, but not before it: a creation on an
    # earlier day would pass the limit on the days in between.
    assert send(world, [deleted(app_id, "1.0.0", at(DAYS[2]))])["accepted"] == 1
    early = send(world, [created(app_id, "2.0.0", BIG, at(DAYS[1]))])
    assert early["rejected"][0]["error"].startswith("bytes: would take the app's storage")
    assert send(world, [created(app_id, "2.0.0", BIG, at(DAYS[2]))])["accepted"] == 1
    # Re-creating an existing version with the same size changes nothing: it fits.
    assert send(world, [created(app_id, "1.0.1", BIG, at(DAYS[2], "13:00:00"))])["accepted"] == 1
    storage = [p["storage"] for p in read(world, f"/statistics/app/{app_id}/")]
    assert storage == [PER_APP * BIG] * 3
    org = [p["storage"] for p in read(world, f"/statistics/org/{world.org_id}/")]
    assert org == [2 * PER_APP * BIG] * 3
    assert org[0] > MAX
    assert [p["storage"] for p in read(world, "/statistics/user/")] == org
    assert_no_float_stored(world.store)


def test_a_total_past_64_bits_stored_before_the_limits_fails_nothing(world: World) -> None:
    # Each day within 64 bits, their sum not: what the days of an earlier version could hold.
    days = [19792, 19793, 19794]  # 2024-03-10 to 2024-03-12
    with world.store.writer() as tx:
        tx.add_bandwidth({(APPS[0], day): 2**62 for day in days})
    result = send(
        world, [download(APPS[0], "d", at(DAYS[0]), 1), download(APPS[1], "d", at(DAYS[0]), 1)]
    )
    assert result["accepted"] == 1
    assert result["rejected"][0]["index"] == 0
    assert "bandwidth of all its days" in result["rejected"][0]["error"]
    points = read(world, f"/statistics/app/{APPS[0]}/")
    assert [p["bandwidth"] for p in points] == [2**62, 2**63, 3 * 2**62]
    assert read(world, "/statistics/user/")[-1]["bandwidth"] == 3 * 2**62 + 1
