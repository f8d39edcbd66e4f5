"""Who may read and write what: every kind of key against every endpoint, through the real app.

Org A has the apps a.one, a.two and a.gone (deleted after some activity); org B has b.one.
User W is a member of A with the role write; user R of A with the role read (and of B with the
role write); user X of B only; user N of no organization.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from otastats.admin import service as admin
from otastats.storage.sqlite import SQLiteStore
from tests.conftest import Tenants, make_client
from tests.helpers_api import (
    APP_FORBIDDEN,
    NO_ORGANIZATIONS,
    ORG_FORBIDDEN,
    at,
    download,
    get,
    get_ok,
    ingest_ok,
    post_events,
)

PARAMS = {"from": "2024-03-14", "to": "2024-03-15"}
APP_REFUSED = "app_id: the API key may not write to this app, or the app does not exist"
ROLE_REFUSED = "app_id: the key's user has the read role in this app's organization"


# name -> (user, mode, limited_to_orgs, limited_to_apps, expires); orgs named "A" and "B".
KEY_SPECS: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...], str | None]] = {
    "read": ("W", "read", (), (), None),
    "upload": ("W", "upload", (), (), None),
    "write": ("W", "write", (), (), None),
    "all": ("W", "all", (), (), None),
    "org_A": ("W", "all", ("A",), (), None),
    "org_B": ("W", "all", ("B",), (), None),
    "app_one": ("W", "all", (), ("a.one",), None),
    "app_two": ("W", "all", (), ("a.two",), None),
    "expired": ("W", "all", (), (), "2024-03-15T11:59:59Z"),
    "no_org": ("N", "all", (), (), None),
    "role_read": ("R", "all", (), (), None),
    "role_read_org_A": ("R", "write", ("A",), (), None),
    "member_limited_to_org_B": ("R", "all", ("B",), (), None),
    "other_org_member": ("X", "all", (), (), None),
}


@dataclass
class World:
    store: SQLiteStore
    client: TestClient
    tenants: Tenants
    orgs: dict[str, str]
    users: dict[str, str]
    created_keys: dict[str, str] = field(default_factory=dict)

    @property
    def org_a(self) -> str:
        return self.orgs["A"]

    def key(self, name: str) -> str:
        """The key of that name, created on first use."""
        if name not in self.created_keys:
            if name == "revoked":
                made = admin.create_key(self.store, self.users["W"], "all", self.tenants.now)
                admin.revoke_key(self.store, made.key_id, self.tenants.now)
                self.created_keys[name] = made.key
            else:
                user, mode, orgs, apps, expires = KEY_SPECS[name]
                self.created_keys[name] = self.tenants.key(
                    self.users[user],
                    mode,
                    orgs=tuple(self.orgs[org] for org in orgs),
                    apps=apps,
                    expires=expires,
                )
        return self.created_keys[name]


def build_world(store: SQLiteStore, client: TestClient) -> World:
    tenants = Tenants(store)
    org_a, org_b = tenants.org("A"), tenants.org("B")
    users = {
        "W": tenants.user("w@example.com", orgs={org_a: "write"}),
        "R": tenants.user("r@example.com", orgs={org_a: "read", org_b: "write"}),
        "X": tenants.user("x@example.com", orgs={org_b: "admin"}),
        "N": tenants.user("n@example.com"),
    }
    for app_id in ("a.one", "a.two", "a.gone"):
        tenants.app(app_id, org_a)
    tenants.app("b.one", org_b)
    world = World(store, client, tenants, {"A": org_a, "B": org_b}, users)
    ingest_ok(
        client,
        world.key("all"),
        [
            download("a.one", "d", at("2024-03-14"), 10),
            download("a.two", "d", at("2024-03-14"), 20),
            download("a.gone", "d", at("2024-03-14"), 40),
        ],
    )
    ingest_ok(client, world.key("other_org_member"), [download("b.one", "d", at("2024-03-14"), 80)])
    admin.delete_app(store, "a.gone", tenants.now)
    return world


@pytest.fixture(scope="module")
def matrix_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for every cell: no cell's outcome depends on the figures others add."""
    store = SQLiteStore(str(Path(tmp_path_factory.mktemp("matrix")) / "otastats.db"))
    with make_client(store) as client:
        yield build_world(store, client)
    store.close()


@pytest.fixture
def world(store: SQLiteStore, client: TestClient) -> World:
    return build_world(store, client)


ENDPOINTS = (
    "app",
    "bundle_usage",
    "health",
    "adoption",
    "org",
    "org_breakdown",
    "user",
    "ingest",
    "alerts",
)

# Reads: an HTTP status. Ingestion: "accepted" or "rejected" (a 200 answer), or a status.
MATRIX: dict[str, tuple[int | str, ...]] = {
    # key:       app, bundle_usage, health, adoption, org, org_breakdown, user, ingest, alerts
    "read": (200, 200, 200, 200, 200, 200, 200, 403, 200),
    "upload": (200, 200, 200, 200, 200, 200, 200, "accepted", 200),
    "write": (200, 200, 200, 200, 200, 200, 200, "accepted", 200),
    "all": (200, 200, 200, 200, 200, 200, 200, "accepted", 200),
    "org_A": (200, 200, 200, 200, 200, 200, 200, "accepted", 200),
    # Limited to an org the user is not a member of: nothing left to read.
    "org_B": (403, 403, 403, 403, 403, 403, 404, "rejected", 403),
    # An app-limited key may not read whole-org totals.
    "app_one": (200, 200, 200, 200, 403, 403, 200, "accepted", 200),
    "app_two": (403, 403, 403, 403, 403, 403, 200, "rejected", 403),
    "expired": (401, 401, 401, 401, 401, 401, 401, 401, 401),
    "revoked": (401, 401, 401, 401, 401, 401, 401, 401, 401),
    "no_org": (403, 403, 403, 403, 403, 403, 404, "rejected", 403),
    # The role plays no part in reading, but a read role may not write.
    "role_read": (200, 200, 200, 200, 200, 200, 200, "rejected", 200),
    "role_read_org_A": (200, 200, 200, 200, 200, 200, 200, "rejected", 200),
    # A member of both orgs, with a key limited to the other one.
    "member_limited_to_org_B": (403, 403, 403, 403, 403, 403, 200, "rejected", 403),
    "other_org_member": (403, 403, 403, 403, 403, 403, 200, "rejected", 403),
}

CELLS = [
    pytest.param(key_name, endpoint, expected, id=f"{key_name}-{endpoint}")
    for key_name, row in MATRIX.items()
    for endpoint, expected in zip(ENDPOINTS, row, strict=True)
]


def request(world: World, key: str, endpoint: str) -> Any:
    client = world.client
    if endpoint == "app":
        return get(client, key, "/statistics/app/a.one/", **PARAMS)
    if endpoint == "bundle_usage":
        return get(client, key, "/statistics/app/a.one/bundle_usage", **PARAMS)
    if endpoint == "health":
        return get(client, key, "/statistics/app/a.one/health/", **PARAMS)
    if endpoint == "adoption":
        return get(client, key, "/statistics/app/a.one/adoption", date="2024-03-14")
    if endpoint == "org":
        return get(client, key, f"/statistics/org/{world.org_a}/", **PARAMS)
    if endpoint == "org_breakdown":
        return get(client, key, f"/statistics/org/{world.org_a}/", **PARAMS, breakdown="true")
    if endpoint == "user":
        return get(client, key, "/statistics/user/", **PARAMS)
    if endpoint == "alerts":
        return get(client, key, "/alerts/app/a.one")
    assert endpoint == "ingest"
    return post_events(client, key, [download("a.one", "cell", at("2024-03-15"), 1)])


@pytest.mark.parametrize(("key_name", "endpoint", "expected"), CELLS)
def test_permission_matrix(
    matrix_world: World, key_name: str, endpoint: str, expected: int | str
) -> None:
    response = request(matrix_world, matrix_world.key(key_name), endpoint)
    body = response.json()
    if expected == "accepted":
        assert response.status_code == 200, response.text
        assert body == {"accepted": 1, "duplicates": 0, "rejected": []}
    elif expected == "rejected":
        assert response.status_code == 200, response.text
        assert body["accepted"] == 0
        assert body["duplicates"] == 0
        assert len(body["rejected"]) == 1
        assert body["rejected"][0]["index"] == 0
        role_refused = key_name.startswith("role_read")
        assert body["rejected"][0]["error"] == (ROLE_REFUSED if role_refused else APP_REFUSED)
    elif expected == 200:
        assert response.status_code == 200, response.text
    elif expected == 401:
        assert response.status_code == 401, response.text
        assert set(body) == {"status", "error"}
        assert body["status"] == "Invalid API key"
    elif expected == 403:
        assert response.status_code == 403, response.text
        org_level = endpoint in ("org", "org_breakdown")  # the alerts of an app: as the app
        assert body == (ORG_FORBIDDEN if org_level else APP_FORBIDDEN)
    else:
        assert expected == 404
        assert response.status_code == 404, response.text
        assert body == NO_ORGANIZATIONS


# --- ingestion: the whole request, or one event at a time ---------------------------------------


def a_one_bandwidth(world: World) -> int:
    points = get_ok(
        world.client, world.key("all"), "/statistics/app/a.one/", **PARAMS, noAccumulate="true"
    )
    return int(points[-1]["bandwidth"])


def test_a_read_key_gets_403_for_the_whole_ingest_request(world: World) -> None:
    events = [
        download("a.one", "d", at("2024-03-15"), 5),
        download("a.two", "d", at("2024-03-15"), 5),
    ]
    response = post_events(world.client, world.key("read"), events)
    assert response.status_code == 403
    assert (
        response.content
        == get(world.client, world.key("read"), "/statistics/app/zz/", **PARAMS).content
    )
    assert response.json() == APP_FORBIDDEN
    assert a_one_bandwidth(world) == 0


def test_events_the_key_may_not_write_are_rejected_one_by_one(world: World) -> None:
    events = [
        download("a.one", "d", at("2024-03-15"), 1),
        download("b.one", "d", at("2024-03-15"), 2),  # another org
        download("a.gone", "d", at("2024-03-15"), 4),  # a deleted app
        download("no.such.app", "d", at("2024-03-15"), 8),  # no app
        download("a.one", "d", at("2024-03-15"), 16),
    ]
    response = post_events(world.client, world.key("all"), events)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": [
            {"index": 1, "error": APP_REFUSED},
            {"index": 2, "error": APP_REFUSED},
            {"index": 3, "error": APP_REFUSED},
        ],
    }
    assert a_one_bandwidth(world) == 17


def test_an_app_outside_limited_to_apps_is_rejected_on_its_own(world: World) -> None:
    events = [
        download("a.two", "d", at("2024-03-15"), 2),
        download("a.one", "d", at("2024-03-15"), 1),
    ]
    response = post_events(world.client, world.key("app_one"), events)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": [{"index": 0, "error": APP_REFUSED}],
    }
    assert a_one_bandwidth(world) == 1


def test_a_read_role_is_rejected_per_event_and_other_orgs_still_accept(world: World) -> None:
    # R has the role read in A and write in B.
    events = [
        download("a.one", "d", at("2024-03-15"), 1),
        download("b.one", "d", at("2024-03-15"), 2),
    ]
    response = post_events(world.client, world.key("role_read"), events)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": [{"index": 0, "error": ROLE_REFUSED}],
    }
    assert a_one_bandwidth(world) == 0
    b_one = get_ok(world.client, world.key("other_org_member"), "/statistics/app/b.one/", **PARAMS)
    assert b_one[-1]["bandwidth"] == 82  # 80 on Mar 14, 2 on Mar 15


def test_an_app_limited_key_may_not_read_its_org(world: World) -> None:
    for extra in ({}, {"breakdown": "true"}, {"breakdown": "false"}):
        response = get(
            world.client, world.key("app_one"), f"/statistics/org/{world.org_a}", **PARAMS, **extra
        )
        assert response.status_code == 403
        assert response.json() == ORG_FORBIDDEN
    # ... but may read its app.
    assert (
        get(world.client, world.key("app_one"), "/statistics/app/a.one", **PARAMS).status_code
        == 200
    )


def user_bandwidth(world: World, key: str) -> int:
    points = get_ok(world.client, key, "/statistics/user/", **PARAMS)
    return int(points[-1]["bandwidth"])


def test_the_user_endpoint_of_an_app_limited_key_sums_only_its_live_apps(world: World) -> None:
    # On Mar 14: a.one 10, a.two 20, a.gone (deleted since) 40; in org B: b.one 80.
    tenants, w = world.tenants, world.users["W"]
    assert user_bandwidth(world, world.key("all")) == 70  # org A, the deleted app's history in
    assert user_bandwidth(world, world.key("app_one")) == 10
    assert user_bandwidth(world, tenants.key(w, "read", apps=("a.one", "a.gone"))) == 10
    assert user_bandwidth(world, tenants.key(w, "read", apps=("a.one", "a.two"))) == 30
    # An app of an org the user is not in adds nothing.
    assert user_bandwidth(world, tenants.key(w, "read", apps=("a.two", "b.one"))) == 20
    # Only a deleted app: there is an org, but nothing to sum.
    assert user_bandwidth(world, tenants.key(w, "read", apps=("a.gone",))) == 0
    # R is in A and B: both orgs.
    assert user_bandwidth(world, world.key("role_read")) == 150
    assert user_bandwidth(world, world.key("role_read_org_A")) == 70
    assert user_bandwidth(world, world.key("member_limited_to_org_B")) == 80


def test_the_org_endpoint_keeps_the_history_of_a_deleted_app(world: World) -> None:
    answer = get_ok(
        world.client,
        world.key("read"),
        f"/statistics/org/{world.org_a}",
        **PARAMS,
        breakdown="true",
        noAccumulate="true",
    )
    assert [point["bandwidth"] for point in answer["global"]] == [70, 0]
    assert [(row["app_id"], row["bandwidth"]) for row in answer["byApp"]] == [
        ("a.gone", 40),
        ("a.gone", 0),
        ("a.one", 10),
        ("a.one", 0),
        ("a.two", 20),
        ("a.two", 0),
    ]
    # The deleted app itself can no longer be read.
    response = get(world.client, world.key("read"), "/statistics/app/a.gone/", **PARAMS)
    assert response.status_code == 403
    assert response.json() == APP_FORBIDDEN
