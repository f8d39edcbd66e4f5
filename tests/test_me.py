"""GET /me through the real app: the key's user, organizations and apps, by the reading rules.

Org "Acme" has the apps a.one, a.two and a.gone (deleted); org "Beta" has b.one; org "Other" has
o.one and the user W is not a member of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from otastats.admin import service as admin
from otastats.storage.sqlite import SQLiteStore
from tests.conftest import Tenants
from tests.helpers_api import get, get_ok

PARAMS = {"from": "2024-03-14", "to": "2024-03-15"}
INVALID_KEY = "Invalid API key"


@dataclass
class World:
    client: TestClient
    tenants: Tenants
    acme: str
    beta: str
    other: str
    user_id: str


@pytest.fixture
def world(store: SQLiteStore, tenants: Tenants, client: TestClient) -> World:
    acme = tenants.org("Acme")
    beta = tenants.org("Beta")
    other = tenants.org("Other")
    user_id = tenants.user("W@Example.com", orgs={beta: "read", acme: "write"})
    tenants.user("owner@example.com", orgs={other: "admin"})
    for app_id in ("a.two", "a.one", "a.gone"):
        tenants.app(app_id, acme)
    tenants.app("b.one", beta)
    tenants.app("o.one", other)
    admin.delete_app(store, "a.gone", tenants.now)
    return World(client, tenants, acme, beta, other, user_id)


def me(world: World, key: str) -> Any:
    return get_ok(world.client, key, "/me")


def test_a_key_without_limits_lists_every_organization_and_live_app(world: World) -> None:
    key = world.tenants.key(world.user_id, "read")
    assert me(world, key) == {
        "user": {"user_id": world.user_id, "email": "W@Example.com"},
        "organizations": [
            {"org_id": world.acme, "name": "Acme", "readable": True, "apps": ["a.one", "a.two"]},
            {"org_id": world.beta, "name": "Beta", "readable": True, "apps": ["b.one"]},
        ],
        "apps": ["a.one", "a.two", "b.one"],
    }


def test_limited_to_orgs_lists_only_those_organizations(world: World) -> None:
    key = world.tenants.key(world.user_id, "all", orgs=(world.beta, world.other))
    body = me(world, key)
    assert body["organizations"] == [
        {"org_id": world.beta, "name": "Beta", "readable": True, "apps": ["b.one"]}
    ]
    assert body["apps"] == ["b.one"]


def test_limited_to_apps_lists_those_apps_and_no_organization_totals(world: World) -> None:
    key = world.tenants.key(world.user_id, "all", apps=("a.two", "a.gone", "o.one"))
    body = me(world, key)
    # Beta holds none of the key's apps; a.gone is deleted; o.one is in an org W is not in.
    assert body["organizations"] == [
        {"org_id": world.acme, "name": "Acme", "readable": False, "apps": ["a.two"]}
    ]
    assert body["apps"] == ["a.two"]


def test_a_user_of_no_organization_gets_empty_lists(world: World) -> None:
    lonely = world.tenants.user("lonely@example.com")
    body = me(world, world.tenants.key(lonely, "read"))
    assert body == {
        "user": {"user_id": lonely, "email": "lonely@example.com"},
        "organizations": [],
        "apps": [],
    }


def test_an_organization_without_apps_is_listed_when_readable(world: World) -> None:
    empty = world.tenants.org("Empty")
    admin.add_member(world.tenants.store, empty, world.user_id, "read")
    names = [org["name"] for org in me(world, world.tenants.key(world.user_id))["organizations"]]
    assert names == ["Acme", "Beta", "Empty"]


@pytest.mark.parametrize(
    "limits",
    [
        pytest.param({}, id="no limits"),
        pytest.param({"orgs": ("A",)}, id="limited to Acme"),
        pytest.param({"apps": ("a.one", "b.one")}, id="limited to apps"),
    ],
)
def test_what_me_lists_is_exactly_what_the_statistics_endpoints_answer(
    world: World, limits: dict[str, tuple[str, ...]]
) -> None:
    orgs = tuple(world.acme if name == "A" else name for name in limits.get("orgs", ()))
    key = world.tenants.key(world.user_id, "read", orgs=orgs, apps=limits.get("apps", ()))
    body = me(world, key)
    listed_apps = set(body["apps"])
    for app_id in ("a.one", "a.two", "a.gone", "b.one", "o.one"):
        status = get(world.client, key, f"/statistics/app/{app_id}/", **PARAMS).status_code
        assert (status == 200) == (app_id in listed_apps), (app_id, status)
    readable = {org["org_id"] for org in body["organizations"] if org["readable"]}
    for org_id in (world.acme, world.beta, world.other):
        status = get(world.client, key, f"/statistics/org/{org_id}/", **PARAMS).status_code
        assert (status == 200) == (org_id in readable), (org_id, status)


@pytest.mark.parametrize("which", ["none", "unknown", "expired", "revoked"])
def test_an_invalid_key_is_401(world: World, which: str) -> None:
    keys = {
        "none": None,
        "unknown": "ota_not-a-key",
        "expired": world.tenants.key(world.user_id, expires="2024-03-14"),
    }
    if which == "revoked":
        created = admin.create_key(world.tenants.store, world.user_id, "read", world.tenants.now)
        admin.revoke_key(world.tenants.store, created.key_id, world.tenants.now)
        keys["revoked"] = created.key
    response = get(world.client, keys[which], "/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == INVALID_KEY


@pytest.mark.parametrize("header", ["authorization", "capgkey", "x-api-key", "bearer"])
def test_every_credentials_header_is_accepted(world: World, header: str) -> None:
    key = world.tenants.key(world.user_id, "read")
    headers = {"Authorization": f"Bearer {key}"} if header == "bearer" else {header: key}
    response = world.client.get("/me", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["user_id"] == world.user_id


def test_me_is_in_the_openapi_description(world: World) -> None:
    operation = world.client.get("/openapi.json").json()["paths"]["/me"]["get"]
    assert set(operation["responses"]) == {"200", "401", "408", "429", "431", "500"}
