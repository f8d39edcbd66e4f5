"""The `action` event type of POST /ingest/events: the section 7 rules, check-ins counted like
device_seen, every action stored raw with its name, plugin version and metadata."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from otastats.storage.base import Store
from tests.conftest import Tenants
from tests.helpers_api import at, get_ok, post_events, seen

APP = "com.example.app"
TODAY = "2024-03-15"


@pytest.fixture
def key(tenants: Tenants) -> str:
    org_id = tenants.org("acme")
    user_id = tenants.user("owner@example.com", orgs={org_id: "upload"})
    tenants.app(APP, org_id)
    return tenants.key(user_id, "all")


def action(name: str, device_id: str, version: str, **extra: Any) -> dict[str, Any]:
    event = {"type": "action", "app_id": APP, "device_id": device_id, "action": name}
    return {**event, "version_name": version, "timestamp": at(TODAY), **extra}


def send(client: TestClient, key: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = post_events(client, key, events)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def usage(client: TestClient, key: str) -> dict[str, list[int]]:
    answer = get_ok(
        client, key, f"/statistics/app/{APP}/bundle_usage", **{"from": TODAY, "to": TODAY}
    )
    return {dataset["label"]: dataset["counts"] for dataset in answer["datasets"]}


def mau(client: TestClient, key: str) -> int:
    points = get_ok(client, key, f"/statistics/app/{APP}/", **{"from": TODAY, "to": TODAY})
    return int(points[0]["mau"])


def stored(store: Store) -> list[tuple[Any, ...]]:
    path = getattr(store, "path")  # noqa: B009 - the SQLite store names its file
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT type, device_id, version_name, platform, is_emulator, is_prod, extra, action"
            " FROM events ORDER BY rowid"
        ).fetchall()


def test_check_in_actions_count_like_device_seen(client: TestClient, key: str) -> None:
    events = [
        action("app_moved_to_foreground", "A1", "1.0.0"),
        action("set", "a2", "1.1.0:main.js"),
        action("app_launch_ready", "a3", "builtin", version_build="0.9.0"),
        action("blocked_by_server_url", "a4", ""),
        action("app_launch_start", "a5", "1.0.0", is_emulator=True),
        action("app_moved_to_background", "a6", "1.0.0", is_prod=False),
        action("download_fail", "a7", "1.0.0"),
        action("some_future_action", "a8", "1.0.0"),
    ]
    assert send(client, key, events) == {"accepted": 8, "duplicates": 0, "rejected": []}
    assert mau(client, key) == 4
    assert usage(client, key) == {"1.0.0": [1], "1.1.0": [1], "0.9.0": [1], "builtin": [1]}


def test_an_upper_case_device_id_is_the_same_device(client: TestClient, key: str) -> None:
    events = [
        action("app_moved_to_foreground", "ABCD-EF", "1.0.0", timestamp=at(TODAY, "01:00:00")),
        action("app_moved_to_foreground", "abcd-ef", "2.0.0", timestamp=at(TODAY, "02:00:00")),
    ]
    send(client, key, events)
    assert mau(client, key) == 1
    assert usage(client, key) == {"2.0.0": [1]}


def test_a_check_in_action_and_a_device_seen_make_one_device_on_the_latest_version(
    client: TestClient, key: str
) -> None:
    send(client, key, [seen(APP, "d1", at(TODAY, "01:00:00"), "1.0.0")])
    send(client, key, [action("set", "d1", "1.2.0", timestamp=at(TODAY, "03:00:00"))])
    assert mau(client, key) == 1
    assert usage(client, key) == {"1.2.0": [1]}


def test_every_action_is_stored_with_its_name_plugin_version_and_metadata(
    client: TestClient, key: str, store: Store
) -> None:
    events = [
        action(
            "download_fail",
            "DEV",
            "1.2.0:assets/app.js",
            plugin_version="8.51.14",
            version_build="7.0.0",
            platform="ios",
            metadata={"reason": "timeout"},
            custom_id=None,
            unknown=[1, 2],
        ),
        action("app_moved_to_foreground", "dev", "", is_emulator=None, platform=None),
    ]
    send(client, key, events)
    (first, second) = stored(store)
    assert first[:6] == (4, "dev", "1.2.0", "ios", 0, 1)
    assert orjson.loads(first[6]) == {
        "plugin_version": "8.51.14",
        "version_build": "7.0.0",
        "version_name_sent": "1.2.0:assets/app.js",
        "metadata": {"reason": "timeout"},
    }
    assert first[7] == "download_fail"
    assert second == (4, "dev", "builtin", None, 0, 1, '{"version_name_sent":""}', second[7])
    assert second[7] == "app_moved_to_foreground"


def test_an_event_id_makes_a_resent_action_a_duplicate(client: TestClient, key: str) -> None:
    event = action("set", "d1", "1.0.0", event_id="e1")
    assert send(client, key, [event, event])["duplicates"] == 1
    assert send(client, key, [event]) == {"accepted": 0, "duplicates": 1, "rejected": []}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"action": "bad-name"}, "action: must be 1 to 64 characters of A-Z, a-z, 0-9 and '_'"),
        ({"action": "x" * 65}, "action: must be 1 to 64 characters"),
        ({"action": None}, "action: is required"),
        ({"device_id": "d" * 65}, "device_id: must be a string of 1 to 64 characters"),
        ({"device_id": ""}, "device_id: must be a string of 1 to 64 characters"),
        ({"version_name": "v" * 129}, "version_name: must be a string of at most 128 characters"),
        ({"version_name": 3}, "version_name: must be a string"),
        ({"is_prod": "true"}, "is_prod: must be a boolean"),
        ({"is_emulator": 0}, "is_emulator: must be a boolean"),
        ({"platform": "symbian"}, "platform: must be one of ios, android, electron, web"),
        ({"plugin_version": 8}, "plugin_version: must be a string of at most 255 characters"),
        ({"metadata": ["a"]}, "metadata: must be an object"),
        ({"metadata": {"n": 1}}, "metadata.n: must be a string"),
        ({"timestamp": "2024-03-15T12:00:00"}, "timestamp: must be an RFC 3339 date-time"),
        ({"timestamp": at(TODAY, "13:00:00")}, "timestamp: must not be more than 5 minutes"),
    ],
)
def test_a_faulty_action_is_rejected_naming_the_field(
    client: TestClient, key: str, change: dict[str, Any], error: str
) -> None:
    answer = send(client, key, [{**action("set", "d1", "1.0.0"), **change}])
    assert answer["accepted"] == 0
    assert answer["rejected"][0]["error"].startswith(error), answer
