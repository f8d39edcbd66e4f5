"""GET /statistics/app/:app_id/health through the real app, on a hand-computed release story.

"Today" is 2024-03-15. Version 1.1.0 rolls out on the 13th; one device rolls back, another
crashes; an emulator and a development build report too and are left out; a late report of the
12th moves a device's first day; a re-sent batch changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from otastats.storage.sqlite import SQLiteStore
from tests.conftest import Tenants
from tests.helpers_api import at, get, get_ok, ingest_ok, seen

APP = "com.example.app"


def action(device: str, name: str, day: str, version: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "action",
        "app_id": APP,
        "device_id": device,
        "action": name,
        "timestamp": at(day),
        "version_name": version,
        "platform": "android",
        "plugin_version": "8.40.0",
        **extra,
    }


STORY = [
    seen(APP, "a", at("2024-03-11"), "1.0.0"),
    seen(APP, "b", at("2024-03-11"), "1.0.0"),
    action("a", "set", "2024-03-13", "1.1.0:public/index.js"),
    action("b", "set", "2024-03-13", "1.1.0"),
    action("b", "update_fail", "2024-03-13", "1.1.0"),
    action("b", "app_moved_to_foreground", "2024-03-14", "1.0.0"),
    action("a", "app_crash", "2024-03-14", "1.1.0"),
    action("a", "webview_javascript_error", "2024-03-14", "1.1.0"),
    action("a", "download_fail", "2024-03-14", "1.1.0", plugin_version="7.16.0"),
    action("c", "set", "2024-03-14", "1.1.0", is_emulator=True),
    action("d", "update_fail", "2024-03-14", "1.1.0", is_prod=False),
    action("e", "set", "2024-03-14", "", version_build="1.0.0"),
    action("A", "app_launch_ready", "2024-03-12", "1.1.0"),  # late, and upper-cased
]


@pytest.fixture
def world(store: SQLiteStore, tenants: Tenants, client: TestClient) -> tuple[TestClient, str]:
    org_id = tenants.org("acme")
    user_id = tenants.user("owner@example.com", orgs={org_id: "admin"})
    tenants.app(APP, org_id)
    key = tenants.key(user_id, "all")
    ingest_ok(client, key, STORY)
    ingest_ok(client, key, STORY[2:6])  # re-sent: no figure changes
    return client, key


def test_each_version_its_totals_rates_and_days(world: tuple[TestClient, str]) -> None:
    client, key = world
    answer = get_ok(
        client, key, f"/statistics/app/{APP}/health", **{"from": "2024-03-13"}, to="2024-03-14"
    )
    assert answer["labels"] == ["2024-03-13", "2024-03-14"]
    old, new = answer["versions"]
    assert old == {
        "version": "1.0.0",
        "totals": {
            "devices": 3,
            "installs": 1,
            "install_failures": 0,
            "rollbacks": 0,
            "download_failures": 0,
            "crashes": 0,
            "js_errors": 0,
        },
        "rates": {"rollback": 0.0, "crash": 0.0},
        "daily": {
            "devices": [0, 2],
            "installs": [0, 1],
            "install_failures": [0, 0],
            "rollbacks": [0, 0],
            "download_failures": [0, 0],
            "crashes": [0, 0],
            "js_errors": [0, 0],
        },
    }
    assert new["version"] == "1.1.0"
    assert new["totals"] == {
        "devices": 2,
        "installs": 2,
        "install_failures": 0,
        "rollbacks": 1,
        "download_failures": 0,
        "crashes": 1,
        "js_errors": 1,
    }
    assert new["rates"] == {"rollback": 0.5, "crash": 0.5}
    assert new["daily"]["devices"] == [2, 0]
    assert new["daily"]["rollbacks"] == [1, 0]


def test_totals_stop_at_to_and_versions_without_any_are_left_out(
    world: tuple[TestClient, str],
) -> None:
    client, key = world
    answer = get_ok(
        client, key, f"/statistics/app/{APP}/health/", **{"from": "2024-03-12"}, to="2024-03-12"
    )
    old, new = answer["versions"]
    assert (old["version"], old["totals"]["devices"], old["daily"]["devices"]) == ("1.0.0", 2, [0])
    # The late check-in of the 12th: 1.1.0 has a device up to that day, and no install yet.
    assert (new["version"], new["totals"]["devices"], new["daily"]["devices"]) == ("1.1.0", 1, [1])
    assert new["rates"] == {"rollback": None, "crash": 0.0}
    before = get_ok(
        client, key, f"/statistics/app/{APP}/health", **{"from": "2024-03-01"}, to="2024-03-10"
    )
    assert before["versions"] == []


def test_health_as_csv(world: tuple[TestClient, str]) -> None:
    client, key = world
    response = get(
        client,
        key,
        f"/statistics/app/{APP}/health",
        **{"from": "2024-03-14"},
        to="2024-03-14",
        format="csv",
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        'filename="otastats-health-com.example.app-2024-03-14.csv"'
        in response.headers["content-disposition"]
    )
    lines = response.text.split("\r\n")
    assert lines[0] == (
        "version,date,devices,installs,install_failures,rollbacks,download_failures,crashes,"
        "js_errors,rollback_rate,crash_rate"
    )
    assert lines[1] == "1.0.0,total,3,1,0,0,0,0,0,0.0,0.0"
    assert lines[2] == "1.0.0,2024-03-14,2,1,0,0,0,0,0,,"
    assert lines[3] == "1.1.0,total,2,2,0,1,0,1,1,0.5,0.5"
    assert lines[4] == "1.1.0,2024-03-14,0,0,0,0,0,1,1,,"
