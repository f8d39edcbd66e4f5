"""The bound on a Statistics answer's rows (otastats.stats.answer_size), through the real app:
past ``OTASTATS_MAX_ANSWER_ROWS``, a 400 that says how to narrow the request, in JSON and CSV
alike; within it, the whole answer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from otastats.config import Settings
from otastats.errors import InvalidBody
from otastats.stats.answer_size import check_answer_rows
from otastats.stats.parser import StatsQuery
from otastats.storage.base import Store
from tests.conftest import Tenants, make_client
from tests.helpers_api import at, get, ingest_ok, seen

APPS = ("com.example.a", "com.example.b", "com.example.c")
MAX_ROWS = 10


@dataclass
class World:
    client: TestClient
    key: str
    org_id: str


@pytest.fixture
def world(store: Store) -> Iterator[World]:
    tenants = Tenants(store)
    org_id = tenants.org("acme")
    user_id = tenants.user("owner@example.com", orgs={org_id: "admin"})
    for app_id in APPS:
        tenants.app(app_id, org_id)
    key = tenants.key(user_id, "all")
    settings = Settings(rate_limit=0, auth_failure_limit=0, max_answer_rows=MAX_ROWS)
    with make_client(store, settings=settings) as client:
        ingest_ok(
            client,
            key,
            [
                seen(APPS[0], "d1", at("2024-03-10"), "1.0.0"),
                seen(APPS[0], "d2", at("2024-03-10"), "1.0.1"),
            ],
        )
        yield World(client, key, org_id)


def breakdown(world: World, start: str, csv: bool = False) -> object:
    params = {"from": start, "to": "2024-03-15", "breakdown": "true"}
    if csv:
        params["format"] = "csv"
    return get(world.client, world.key, f"/statistics/org/{world.org_id}/", **params)


def test_a_breakdown_within_the_bound_is_answered_whole(world: World) -> None:
    response = breakdown(world, "2024-03-13")  # 3 apps x 3 days = 9 rows
    assert response.status_code == 200, response.text
    assert len(response.json()["byApp"]) == 9


@pytest.mark.parametrize("csv", [False, True])
def test_a_breakdown_past_the_bound_is_refused_with_how_to_narrow_it(
    world: World, csv: bool
) -> None:
    response = breakdown(world, "2024-03-12", csv=csv)  # 3 apps x 4 days = 12 rows
    assert response.status_code == 400
    assert response.json() == {
        "status": "Invalid body",
        "error": "to: the answer would hold 12 rows (3 apps over 4 days), more than the 10"
        " allowed; ask for at most 3 days at a time, or leave out breakdown=true",
    }


def test_days_after_today_do_not_count(world: World) -> None:
    # 2024-03-13 to 2025-01-01 answers 3 days (today is 2024-03-15): 9 rows.
    response = get(
        world.client,
        world.key,
        f"/statistics/org/{world.org_id}/",
        **{"from": "2024-03-13", "to": "2025-01-01", "breakdown": "true"},
    )
    assert response.status_code == 200, response.text


def test_answers_without_breakdown_are_not_bounded_by_it(world: World) -> None:
    for path in (f"/statistics/org/{world.org_id}/", f"/statistics/app/{APPS[0]}/"):
        response = get(world.client, world.key, path, **{"from": "2021-03-16", "to": "2024-03-15"})
        assert response.status_code == 200, response.text
        assert len(response.json()) == 1096


def test_bundle_usage_counts_versions_times_days(world: World) -> None:
    path = f"/statistics/app/{APPS[0]}/bundle_usage"
    ok = get(world.client, world.key, path, **{"from": "2024-03-11", "to": "2024-03-15"})
    assert ok.status_code == 200, ok.text
    assert len(ok.json()["datasets"]) == 2
    refused = get(world.client, world.key, path, **{"from": "2024-03-10", "to": "2024-03-15"})
    assert refused.status_code == 400
    assert refused.json()["error"] == (
        "to: the answer would hold 12 rows (2 versions over 6 days), more than the 10 allowed;"
        " ask for at most 5 days at a time"
    )


@pytest.mark.parametrize("csv", [False, True])
def test_health_counts_its_versions_times_days(world: World, csv: bool) -> None:
    path = f"/statistics/app/{APPS[0]}/health"
    extra = {"format": "csv"} if csv else {}
    ok = get(world.client, world.key, path, **{"from": "2024-03-11", "to": "2024-03-15"}, **extra)
    assert ok.status_code == 200, ok.text
    if not csv:
        assert [v["version"] for v in ok.json()["versions"]] == ["1.0.0", "1.0.1"]
    refused = get(
        world.client, world.key, path, **{"from": "2024-03-10", "to": "2024-03-15"}, **extra
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == (
        "to: the answer would hold 12 rows (2 versions over 6 days), more than the 10 allowed;"
        " ask for at most 5 days at a time"
    )


def test_health_counts_only_the_versions_it_lists(world: World) -> None:
    # Both versions first report on the 10th: up to the 9th, none is listed, over any days.
    path = f"/statistics/app/{APPS[0]}/health"
    early = get(world.client, world.key, path, **{"from": "2024-03-01", "to": "2024-03-09"})
    assert early.status_code == 200, early.text
    assert early.json()["versions"] == []


def test_a_forbidden_org_is_403_before_its_size_is_told(world: World, tenants: Tenants) -> None:
    other = tenants.org("other")
    response = get(
        world.client,
        world.key,
        f"/statistics/org/{other}/",
        **{"from": "2021-03-16", "to": "2024-03-15", "breakdown": "true"},
    )
    assert response.status_code == 403


def test_zero_turns_the_bound_off_and_one_series_too_many_says_so() -> None:
    wide = StatsQuery(0, 1095, breakdown=True)
    check_answer_rows(10_000, "apps", wide, 0)
    with pytest.raises(InvalidBody, match="cannot fit even for one day"):
        check_answer_rows(11, "apps", StatsQuery(0, 0), 10)
