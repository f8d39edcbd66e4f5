"""A world for the plugin URL tests: an app, its plugin token, the real app over a SQLite file,
and payloads shaped as each plugin version sends them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from otastats.config import Settings
from otastats.plugin import tokens
from otastats.storage.base import Store
from otastats.timeparse import datetime_to_micros
from tests.conftest import NOW, Tenants, make_client
from tests.helpers_api import get_ok

APP = "com.example.app"
OTHER_APP = "com.example.other"
TODAY = NOW.date().isoformat()
NOW_MS = datetime_to_micros(NOW) // 1000


@dataclass
class World:
    store: Store
    client: TestClient
    token: str
    token_id: str
    key: str

    @property
    def stats(self) -> str:
        return f"/plugin/{self.token}/stats"

    @property
    def updates(self) -> str:
        return f"/plugin/{self.token}/updates"


def token_of(url: str) -> str:
    return url.split("/plugin/", 1)[1].split("/", 1)[0]


@contextmanager
def plugin_world(
    store: Store,
    *,
    settings: Settings | None = None,
    upstream: str | None = None,
    clock: datetime = NOW,
) -> Iterator[World]:
    tenants = Tenants(store)
    org_id = tenants.org("acme")
    user_id = tenants.user("owner@example.com", orgs={org_id: "admin"})
    tenants.app(APP, org_id)
    tenants.app(OTHER_APP, org_id)
    made = tokens.create_token(store, APP, tenants.now, upstream=upstream)
    with make_client(store, clock=clock, settings=settings) as client:
        yield World(store, client, token_of(made.stats_url), made.token_id, tenants.key(user_id))


def device(**fields: Any) -> dict[str, Any]:
    """The info object every plugin version sends (createInfoObject), Android 8.x."""
    return {
        "platform": "android",
        "device_id": "0f9c2a4e-8e57-4c8a-9d7b-1c2e3f4a5b6c",
        "app_id": APP,
        "custom_id": "",
        "version_build": "1.0.0",
        "version_code": "10",
        "version_os": "14",
        "version_name": "1.2.0",
        "plugin_version": "8.51.14",
        "is_emulator": False,
        "is_prod": True,
        "defaultChannel": "",
        **fields,
    }


def stat(action: str, **fields: Any) -> dict[str, Any]:
    """A batched 8.x stats event: with `timestamp` (epoch ms), `old_version_name` and maybe
    `metadata`."""
    return device(**{"action": action, "old_version_name": "", "timestamp": NOW_MS, **fields})


def usage(world: World) -> dict[str, list[int]]:
    answer = get_ok(
        world.client,
        world.key,
        f"/statistics/app/{APP}/bundle_usage",
        **{"from": TODAY, "to": TODAY},
    )
    return {dataset["label"]: dataset["counts"] for dataset in answer["datasets"]}


def mau(world: World) -> int:
    params = {"from": TODAY, "to": TODAY}
    points = get_ok(world.client, world.key, f"/statistics/app/{APP}/", **params)
    return int(points[0]["mau"])
