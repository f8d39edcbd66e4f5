"""The four Statistics endpoints through the real app, with small hand-computed scenarios.

Events go in through POST /ingest/events with a key of mode "all"; "today" is 2024-03-15.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from otastats.admin import service as admin
from otastats.storage.sqlite import SQLiteStore
from tests.conftest import Tenants
from tests.helpers_api import (
    at,
    created,
    day_range,
    deleted,
    download,
    get,
    get_ok,
    ingest_ok,
    seen,
    series,
)

APP = "com.example.app"


@dataclass
class World:
    client: TestClient
    store: SQLiteStore
    tenants: Tenants
    org_id: str
    user_id: str
    key: str


@pytest.fixture
def world(store: SQLiteStore, tenants: Tenants, client: TestClient) -> World:
    org_id = tenants.org("acme")
    user_id = tenants.user("owner@example.com", orgs={org_id: "admin"})
    tenants.app(APP, org_id)
    return World(client, store, tenants, org_id, user_id, tenants.key(user_id, "all"))


def app_stats(world: World, first: str, last: str, **params: str) -> Any:
    return get_ok(
        world.client, world.key, f"/statistics/app/{APP}/", **{"from": first, "to": last}, **params
    )


def assert_all_integers(points: list[dict[str, Any]]) -> None:
    for point in points:
        for name in ("mau", "storage", "bandwidth"):
            assert type(point[name]) is int, point


# --- GET /statistics/app/:app_id/ ---------------------------------------------------------------


def test_mau_counts_distinct_devices_over_a_30_day_window(world: World) -> None:
    ingest_ok(
        world.client,
        world.key,
        [
            # d1 is active on Feb 1: counted on Feb 1 ... Mar 1 (2024 is a leap year).
            seen(APP, "d1", at("2024-02-01", "08:00:00")),
            # d2, sent out of order: counted from Feb 10 through Mar 15 (30 days after Feb 15).
            seen(APP, "d2", at("2024-02-15", "08:00:00")),
            seen(APP, "d2", at("2024-02-10", "08:00:00")),
            seen(APP, "d2", at("2024-02-12", "08:00:00"), version="1.0.1"),
            # d3 is active on the last second of Mar 3.
            seen(APP, "d3", at("2024-03-03", "23:59:59")),
            # Neither emulators nor development builds are counted.
            seen(APP, "emulator", at("2024-03-02"), is_emulator=True),
            seen(APP, "dev-build", at("2024-03-02"), is_prod=False),
        ],
    )
    dates = day_range("2024-02-28", "2024-03-03")
    points = app_stats(world, "2024-02-28", "2024-03-03")
    assert points == series(dates, [2, 2, 2, 1, 2], [0] * 5, [0] * 5)
    assert_all_integers(points)

    # d2's window ends on Mar 15 (today); d3's goes on. Mar 16 and later are in the future.
    points = app_stats(world, "2024-03-14", "2024-03-20")
    assert points == series(["2024-03-14", "2024-03-15"], [2, 2], [0, 0], [0, 0])

    # The window of a single-day range still looks 29 days back.
    assert app_stats(world, "2024-03-01", "2024-03-01") == series(["2024-03-01"], [2], [0], [0])


def test_storage_follows_created_and_deleted_bundles(world: World) -> None:
    ingest_ok(
        world.client,
        world.key,
        [
            # Deletions are sent before the creations they follow: order of arrival is irrelevant.
            deleted(APP, "1.0.0", at("2024-03-03", "23:59:59.999999")),
            deleted(APP, "0.9.0", at("2024-03-04", "00:00:00")),
            deleted(APP, "2.0.0", at("2024-03-02", "12:00:00")),
            created(APP, "0.9.0", 1000, at("2024-02-01")),
            created(APP, "1.0.0", 100, at("2024-03-01", "10:00:00")),
            created(APP, "1.0.1", 50, at("2024-03-02", "00:00:00")),
            # Created and deleted on the same day: not there at the end of Mar 3.
            created(APP, "1.0.2", 2000, at("2024-03-03", "01:00:00")),
            deleted(APP, "1.0.2", at("2024-03-03", "02:00:00")),
            # Created, deleted, then created again with another size: the latest creation counts.
            created(APP, "2.0.0", 300, at("2024-03-02", "01:00:00")),
            created(APP, "2.0.0", 7, at("2024-03-03", "05:00:00")),
        ],
    )
    dates = day_range("2024-03-01", "2024-03-04")
    points = app_stats(world, "2024-03-01", "2024-03-04")
    assert points == series(dates, [0] * 4, [1100, 1150, 1057, 57], [0] * 4)
    # Storage is a level, the same in both modes.
    assert app_stats(world, "2024-03-01", "2024-03-04", noAccumulate="true") == points
    # The day before any bundle exists.
    assert app_stats(world, "2024-01-31", "2024-01-31") == series(["2024-01-31"], [0], [0], [0])


def test_bandwidth_is_a_running_total_from_the_first_day_unless_no_accumulate(
    world: World,
) -> None:
    big = 2**40
    ingest_ok(
        world.client,
        world.key,
        [
            download(APP, "d1", at("2024-02-27"), 1000),  # before the range: never included
            download(APP, "d1", at("2024-02-29", "00:00:00"), 10),
            download(APP, "d2", at("2024-02-29", "23:59:59"), 5),
            download(APP, "d1", at("2024-03-02"), 7),
            download(APP, "d3", at("2024-03-03"), big),
        ],
    )
    dates = day_range("2024-02-28", "2024-03-03")
    accumulated = series(dates, [0] * 5, [0] * 5, [0, 15, 15, 22, 22 + big])
    assert app_stats(world, "2024-02-28", "2024-03-03") == accumulated
    assert app_stats(world, "2024-02-28", "2024-03-03", noAccumulate="false") == accumulated
    own_bytes = app_stats(world, "2024-02-28", "2024-03-03", noAccumulate="true")
    assert own_bytes == series(dates, [0] * 5, [0] * 5, [0, 15, 0, 7, big])
    assert_all_integers(own_bytes)
    # The running total starts again at each range's first day.
    assert app_stats(world, "2024-03-02", "2024-03-03") == series(
        ["2024-03-02", "2024-03-03"], [0, 0], [0, 0], [7, 7 + big]
    )


def test_app_points_are_zero_filled_and_sorted(world: World) -> None:
    ingest_ok(world.client, world.key, [download(APP, "d1", at("2024-03-10"), 42)])
    points = app_stats(world, "2024-03-08", "2024-03-12", noAccumulate="true")
    assert [point["date"] for point in points] == day_range("2024-03-08", "2024-03-12")
    assert [point["bandwidth"] for point in points] == [0, 0, 42, 0, 0]
    assert all(set(point) == {"date", "mau", "storage", "bandwidth"} for point in points)


def test_a_date_time_with_an_offset_is_taken_as_its_utc_date(world: World) -> None:
    # 2024-03-11T01:00:00+05:00 is 2024-03-10T20:00:00Z.
    points = app_stats(world, "2024-03-11T01:00:00+05:00", "2024-03-10T23:00:00Z")
    assert [point["date"] for point in points] == ["2024-03-10"]


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("from", {"from": "２024-03-01", "to": "2024-03-10"}),
        ("to", {"from": "2024-03-01", "to": "2024-03-1０"}),
        ("from", {"from": "2024-03-01T00:00:0０Z", "to": "2024-03-10"}),
    ],
)
def test_a_date_with_a_digit_that_is_not_ascii_is_400_naming_it(
    world: World, name: str, params: dict[str, str]
) -> None:
    for path in (f"/statistics/app/{APP}/", f"/statistics/app/{APP}/bundle_usage"):
        response = get(world.client, world.key, path, **params)
        assert response.status_code == 400, response.text
        assert response.json() == {
            "status": "Invalid body",
            "error": f"{name}: must be a date YYYY-MM-DD, or an RFC 3339 date-time with an offset",
        }


# --- GET /statistics/org/:org_id/ -----------------------------------------------------------------


@pytest.fixture
def org_world(world: World) -> World:
    """Besides APP (no activity): one active app, one deleted after its activity, one never
    active; and another org whose activity must never show."""
    other_org = world.tenants.org("other")
    other_user = world.tenants.user("other@example.com", orgs={other_org: "admin"})
    world.tenants.app("other.app", other_org)
    for app_id in ("Zeta.app", "alpha.app", "beta.app"):
        world.tenants.app(app_id, world.org_id)
    ingest_ok(
        world.client,
        world.key,
        [
            created("Zeta.app", "1.0", 1000, at("2024-03-12")),
            seen("Zeta.app", "dev", at("2024-03-13")),
            download("Zeta.app", "dev", at("2024-03-13"), 100),
            download("Zeta.app", "dev", at("2024-03-14"), 50),
            # The same device string under another app is another device.
            seen("alpha.app", "dev", at("2024-03-14")),
            download("alpha.app", "dev", at("2024-03-14"), 30),
        ],
    )
    ingest_ok(
        world.client,
        world.tenants.key(other_user, "all"),
        [seen("other.app", "x", at("2024-03-14")), download("other.app", "x", at("2024-03-14"), 9)],
    )
    admin.delete_app(world.store, "alpha.app", world.tenants.now)
    return world


def org_stats(world: World, first: str, last: str, **params: str) -> Any:
    return get_ok(
        world.client,
        world.key,
        f"/statistics/org/{world.org_id}/",
        **{"from": first, "to": last},
        **params,
    )


def test_org_points_sum_the_apps_including_a_deleted_one(org_world: World) -> None:
    dates = ["2024-03-13", "2024-03-14", "2024-03-15"]
    expected = series(dates, [1, 2, 2], [1000] * 3, [100, 180, 180])
    assert org_stats(org_world, "2024-03-13", "2024-03-16") == expected
    assert org_stats(org_world, "2024-03-13", "2024-03-16", breakdown="false") == expected
    assert org_stats(org_world, "2024-03-13", "2024-03-16", noAccumulate="true") == series(
        dates, [1, 2, 2], [1000] * 3, [100, 80, 0]
    )


def test_org_breakdown_has_a_row_per_app_and_day(org_world: World) -> None:
    dates = ["2024-03-13", "2024-03-14", "2024-03-15"]
    answer = org_stats(org_world, "2024-03-13", "2024-03-16", breakdown="true")
    assert set(answer) == {"global", "byApp"}
    assert answer["global"] == series(dates, [1, 2, 2], [1000] * 3, [100, 180, 180])

    def rows(app_id: str, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"app_id": app_id, **point} for point in points]

    # Sorted by app_id in code-point order ("Z" < "a"), then by date; the deleted app and the
    # app without activity are there, zero-filled.
    assert answer["byApp"] == (
        rows("Zeta.app", series(dates, [1, 1, 1], [1000] * 3, [100, 150, 150]))
        + rows("alpha.app", series(dates, [0, 1, 1], [0] * 3, [0, 30, 30]))
        + rows("beta.app", series(dates, [0] * 3, [0] * 3, [0] * 3))
        + rows(APP, series(dates, [0] * 3, [0] * 3, [0] * 3))
    )
    own_bytes = org_stats(
        org_world, "2024-03-13", "2024-03-16", breakdown="true", noAccumulate="true"
    )
    assert own_bytes["global"] == series(dates, [1, 2, 2], [1000] * 3, [100, 80, 0])
    assert [row["bandwidth"] for row in own_bytes["byApp"]] == [
        100,
        50,
        0,
        0,
        30,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ]


def test_org_breakdown_of_an_org_without_apps(world: World) -> None:
    empty_org = world.tenants.org("empty")
    admin.add_member(world.store, empty_org, world.user_id, "read")
    answer = get_ok(
        world.client,
        world.key,
        f"/statistics/org/{empty_org}",
        **{"from": "2024-03-14", "to": "2024-03-15", "breakdown": "true"},
    )
    assert answer == {
        "global": series(["2024-03-14", "2024-03-15"], [0, 0], [0, 0], [0, 0]),
        "byApp": [],
    }


# --- GET /statistics/user/ ------------------------------------------------------------------------


def test_user_points_sum_every_org_the_key_may_read(world: World) -> None:
    second_org = world.tenants.org("second")
    admin.add_member(world.store, second_org, world.user_id, "write")
    world.tenants.app("second.app", second_org)
    ingest_ok(
        world.client,
        world.key,
        [
            download(APP, "d", at("2024-03-14"), 100),
            seen(APP, "d", at("2024-03-14")),
            download("second.app", "d", at("2024-03-15"), 20),
            seen("second.app", "d", at("2024-03-15")),
        ],
    )
    params = {"from": "2024-03-14", "to": "2024-03-15"}
    dates = ["2024-03-14", "2024-03-15"]
    assert get_ok(world.client, world.key, "/statistics/user/", **params) == series(
        dates, [1, 2], [0, 0], [100, 120]
    )
    assert get_ok(
        world.client, world.key, "/statistics/user", **params, noAccumulate="true"
    ) == series(dates, [1, 2], [0, 0], [100, 20])
    limited = world.tenants.key(world.user_id, "read", orgs=(second_org,))
    assert get_ok(world.client, limited, "/statistics/user/", **params) == series(
        dates, [0, 1], [0, 0], [0, 20]
    )


# --- GET /statistics/app/:app_id/bundle_usage ----------------------------------------------------


def test_bundle_usage_shares_counts_and_dataset_order(world: World) -> None:
    ingest_ok(
        world.client,
        world.key,
        [
            # "b" has a bundle_created on Mar 1: the earliest, so listed first.
            created(APP, "b", 10, at("2024-03-01")),
            # "a" and "c" are first seen at the same instant: ordered by version_name.
            seen(APP, "d1", at("2024-03-10", "06:00:00"), version="a"),
            seen(APP, "d2", at("2024-03-10", "07:00:00"), version="b"),
            seen(APP, "d3", at("2024-03-10", "06:00:00"), version="c"),
            # d3 moves to "a" on Mar 11: "c" is there on Mar 10 only.
            seen(APP, "d3", at("2024-03-11", "06:00:00"), version="a"),
            # Neither emulators nor development builds count, nor unused bundles.
            seen(APP, "emu", at("2024-03-10"), version="emulated", is_emulator=True),
            seen(APP, "dev", at("2024-03-10"), version="devbuild", is_prod=False),
            created(APP, "unused", 10, at("2024-03-01")),
        ],
    )
    answer = get_ok(
        world.client,
        world.key,
        f"/statistics/app/{APP}/bundle_usage",
        **{"from": "2024-03-09", "to": "2024-03-12"},
    )
    assert answer == {
        "labels": ["2024-03-09", "2024-03-10", "2024-03-11", "2024-03-12"],
        "datasets": [
            # 1:1:1 -> the one missing tenth goes to the version listed first.
            {"label": "b", "data": [0, 33.4, 33.3, 33.3], "counts": [0, 1, 1, 1]},
            {"label": "a", "data": [0, 33.3, 66.7, 66.7], "counts": [0, 1, 2, 2]},
            {"label": "c", "data": [0, 33.3, 0.0, 0.0], "counts": [0, 1, 0, 0]},
        ],
    }
    for day in range(1, 4):
        assert round(sum(dataset["data"][day] for dataset in answer["datasets"]), 6) == 100.0
    for dataset in answer["datasets"]:
        assert all(type(count) is int for count in dataset["counts"])


def test_bundle_usage_percentages_always_sum_to_100(world: World) -> None:
    # 7 devices on 3 versions: 3/7, 2/7, 2/7 = 42.857.., 28.571.., 28.571..
    events = [seen(APP, f"d{i}", at("2024-03-15", "01:00:00"), version="1") for i in range(3)]
    events += [seen(APP, f"e{i}", at("2024-03-15", "02:00:00"), version="2") for i in range(2)]
    events += [seen(APP, f"f{i}", at("2024-03-15", "03:00:00"), version="3") for i in range(2)]
    ingest_ok(world.client, world.key, events)
    answer = get_ok(
        world.client,
        world.key,
        f"/statistics/app/{APP}/bundle_usage/",
        **{"from": "2024-03-15", "to": "2024-03-15"},
    )
    data = [dataset["data"][0] for dataset in answer["datasets"]]
    assert [dataset["label"] for dataset in answer["datasets"]] == ["1", "2", "3"]
    # Floors 42.8, 28.5, 28.5 (99.8); remainders 0.057, 0.071, 0.071: the two missing tenths go
    # to the two largest remainders.
    assert data == [42.8, 28.6, 28.6]
    assert round(sum(data), 6) == 100.0


def test_bundle_usage_leaves_out_future_days(world: World) -> None:
    ingest_ok(world.client, world.key, [seen(APP, "d", at("2024-03-15", "01:00:00"))])
    answer = get_ok(
        world.client,
        world.key,
        f"/statistics/app/{APP}/bundle_usage",
        **{"from": "2024-03-14", "to": "2024-03-30"},
    )
    assert answer == {
        "labels": ["2024-03-14", "2024-03-15"],
        "datasets": [{"label": "1.0.0", "data": [0, 100.0], "counts": [0, 1]}],
    }


# --- common rules -------------------------------------------------------------------------------


def test_a_range_entirely_in_the_future_returns_no_days(world: World) -> None:
    ingest_ok(world.client, world.key, [seen(APP, "d", at("2024-03-15", "01:00:00"))])
    future = {"from": "2024-03-16", "to": "2024-04-10"}
    client, key = world.client, world.key
    assert get_ok(client, key, f"/statistics/app/{APP}/", **future) == []
    assert get_ok(client, key, f"/statistics/org/{world.org_id}/", **future) == []
    assert get_ok(client, key, f"/statistics/org/{world.org_id}/", **future, breakdown="true") == {
        "global": [],
        "byApp": [],
    }
    assert get_ok(client, key, "/statistics/user/", **future) == []
    assert get_ok(client, key, f"/statistics/app/{APP}/bundle_usage", **future) == {
        "labels": [],
        "datasets": [],
    }


def endpoint_paths(world: World) -> list[str]:
    return [
        f"/statistics/app/{APP}",
        f"/statistics/org/{world.org_id}",
        "/statistics/user",
        f"/statistics/app/{APP}/bundle_usage",
    ]


def test_every_path_answers_with_and_without_a_trailing_slash(world: World) -> None:
    ingest_ok(world.client, world.key, [seen(APP, "d", at("2024-03-15", "01:00:00"))])
    params = {"from": "2024-03-14", "to": "2024-03-15"}
    for path in endpoint_paths(world):
        bare = get(world.client, world.key, path, **params)
        slashed = get(world.client, world.key, path + "/", **params)
        for response in (bare, slashed):
            assert response.status_code == 200, (response.url, response.text)
            assert "location" not in response.headers
            assert response.headers["content-type"].startswith("application/json")
        assert bare.json() == slashed.json()
        assert bare.json()  # not an empty answer


@pytest.mark.parametrize(
    ("header", "template"),
    [
        ("authorization", "{key}"),
        ("Authorization", "Bearer {key}"),
        ("authorization", "bearer {key}"),
        ("capgkey", "{key}"),
        ("x-api-key", "{key}"),
    ],
)
def test_every_credential_header_is_accepted(world: World, header: str, template: str) -> None:
    params = {"from": "2024-03-15", "to": "2024-03-15"}
    headers = {header: template.format(key=world.key)}
    for path in endpoint_paths(world):
        response = world.client.get(path, params=params, headers=headers)
        assert response.status_code == 200, (path, response.text)
    wrong = {header: template.format(key=world.key + "x")}
    response = world.client.get(endpoint_paths(world)[0], params=params, headers=wrong)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        (f"/statistics/app/{APP}/", "breakdown"),
        ("/statistics/user/", "breakdown"),
        (f"/statistics/app/{APP}/bundle_usage", "noAccumulate"),
        (f"/statistics/app/{APP}/bundle_usage", "breakdown"),
    ],
)
def test_a_parameter_an_endpoint_does_not_take_is_ignored(
    world: World, path: str, ignored: str
) -> None:
    ingest_ok(world.client, world.key, [seen(APP, "d", at("2024-03-15", "01:00:00"))])
    params = {"from": "2024-03-15", "to": "2024-03-15"}
    plain = get_ok(world.client, world.key, path, **params)
    assert get_ok(world.client, world.key, path, **params, foo="bar") == plain
    # Even a value that would be malformed where the parameter is taken.
    response = get(world.client, world.key, path, **params, **{ignored: "maybe"})
    assert response.status_code == 200, response.text
    assert response.json() == plain


# --- service routes -------------------------------------------------------------------------------


def test_healthz_needs_no_key(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/statistics/app/{app_id}" in paths
    assert "/statistics/app/{app_id}/bundle_usage" in paths
    assert "/ingest/events" in paths
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
