"""Bugs that fuzzing the HTTP API (tests/test_fuzz.py) found, each kept by the shortest request
that showed it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tenants
from tests.helpers_api import at, download, get, get_ok, post_events

APP = "com.example.app"
STATISTICS = (
    f"/statistics/app/{APP}/",
    "/statistics/org/{org_id}/",
    "/statistics/user/",
    f"/statistics/app/{APP}/bundle_usage",
)


@dataclass
class World:
    client: TestClient
    org_id: str
    key: str


@pytest.fixture
def world(tenants: Tenants, client: TestClient) -> World:
    org_id = tenants.org("acme")
    user_id = tenants.user("owner@example.com", orgs={org_id: "admin"})
    tenants.app(APP, org_id)
    return World(client, org_id, tenants.key(user_id, "all"))


# --- a date-time whose UTC date lies outside 0001-01-01 .. 9999-12-31 answered 500 ------------


@pytest.mark.parametrize("path", STATISTICS)
@pytest.mark.parametrize(
    ("name", "query"),
    [
        # Its UTC date is 0000-12-31: the answer would hold a day that no date can name.
        ("from", {"from": "0001-01-01T00:00:00+01:00", "to": "0001-01-01"}),
        ("to", {"from": "0001-01-01", "to": "0001-01-01T00:30:00+01:00"}),
        # Its UTC date is 10000-01-01: in the future, so no days, but the CSV file name has one.
        ("from", {"from": "9999-12-31T23:59:59-23:59", "to": "9999-12-31T23:59:59-23:59"}),
    ],
)
@pytest.mark.parametrize("answer_format", ["json", "csv"])
def test_a_date_beyond_the_calendar_is_a_400(
    world: World, path: str, name: str, query: dict[str, str], answer_format: str
) -> None:
    path = path.format(org_id=world.org_id)
    response = get(world.client, world.key, path, **query, format=answer_format)
    assert response.status_code == 400, response.text
    assert response.json() == {
        "status": "Invalid body",
        "error": f"{name}: must fall on a UTC date from 0001-01-01 to 9999-12-31",
    }


@pytest.mark.parametrize("path", STATISTICS)
def test_the_first_and_last_dates_are_still_read(world: World, path: str) -> None:
    path = path.format(org_id=world.org_id)
    first = get_ok(world.client, world.key, path, **{"from": "0001-01-01", "to": "0001-01-02"})
    assert "0001-01-02" in str(first)
    last = get(world.client, world.key, path, **{"from": "9999-12-31", "to": "9999-12-31"})
    assert last.status_code == 200, last.text


# --- an event_id holding U+0000, sent again, answered 500 ----------------------------------------
# The lookup of known ids (through SQLite's JSON functions, which end a string at U+0000) missed
# it, and storing it again broke the table's uniqueness. Such text is now rejected on its own.


def test_an_event_id_with_nul_is_rejected_and_sending_it_again_is_no_500(world: World) -> None:
    event = download(APP, "d1", at("2024-03-10"), 10, event_id="a\x00")
    for _ in range(2):
        response = post_events(world.client, world.key, [event])
        assert response.status_code == 200, response.text
        assert response.json() == {
            "accepted": 0,
            "duplicates": 0,
            "rejected": [
                {"index": 0, "error": "event_id: must not contain the NUL character (U+0000)"}
            ],
        }
