"""Shared fixtures: a real SQLite file, a fixed clock, the real app, and tenant builders."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from otastats.admin import service as admin
from otastats.app import create_app
from otastats.config import Settings
from otastats.storage.sqlite import SQLiteStore
from otastats.timeparse import datetime_to_micros

NOW = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)
"""The fixed 'now' of the tests: 'today' is 2024-03-15."""


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(str(tmp_path / "otastats.db"))
    yield store
    store.close()


@dataclass
class Tenants:
    """Builds organizations, users, apps and keys in a store, through the admin service."""

    store: SQLiteStore
    now: int = field(default_factory=lambda: datetime_to_micros(NOW))

    def org(self, name: str = "org") -> str:
        return admin.create_org(self.store, name, self.now)

    def user(self, email: str, *, orgs: dict[str, str] | None = None) -> str:
        user_id = admin.create_user(self.store, email, self.now)
        for org_id, role in (orgs or {}).items():
            admin.add_member(self.store, org_id, user_id, role)
        return user_id

    def app(self, app_id: str, org_id: str) -> str:
        admin.create_app(self.store, app_id, org_id, self.now)
        return app_id

    def key(
        self,
        user_id: str,
        mode: str = "all",
        *,
        orgs: tuple[str, ...] = (),
        apps: tuple[str, ...] = (),
        expires: str | None = None,
    ) -> str:
        created = admin.create_key(
            self.store, user_id, mode, self.now, orgs=orgs, apps=apps, expires=expires
        )
        return created.key


@pytest.fixture
def tenants(store: SQLiteStore) -> Tenants:
    return Tenants(store)


def make_client(
    store: SQLiteStore, *, clock: datetime = NOW, settings: Settings | None = None
) -> TestClient:
    settings = settings or Settings(rate_limit=0, auth_failure_limit=0)
    return TestClient(create_app(settings, store=store, clock=lambda: clock))


@pytest.fixture
def client(store: SQLiteStore) -> Iterator[TestClient]:
    with make_client(store) as test_client:
        yield test_client
