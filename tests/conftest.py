"""Shared fixtures: a real SQLite file (or PostgreSQL database), a fixed clock, the real app,
and tenant builders.

``store`` is a SQLite file, except where a test module or directory overrides the ``backend``
fixture: ``tests/contract/`` and ``tests/storage/test_store_contract.py`` run on both backends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from otastats.admin import service as admin
from otastats.app import create_app
from otastats.config import Settings
from otastats.storage.base import Store
from otastats.storage.sqlite import SQLiteStore
from otastats.timeparse import datetime_to_micros
from tests import postgres_server

NOW = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)
"""The fixed 'now' of the tests: 'today' is 2024-03-15."""


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[Callable[[], str]]:
    """Makes URLs of fresh schemas in a database of this test run (dropped at the end)."""
    try:
        server = postgres_server.server_url()
        admin_url = server.__enter__()
    except postgres_server.Unavailable as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    try:
        with postgres_server.test_database(admin_url) as fresh_schema:
            yield fresh_schema
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def postgres_url(postgres_schemas: Callable[[], str]) -> str:
    """The URL of an empty schema of its own, in this run's PostgreSQL database."""
    return postgres_schemas()


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    opened: Store
    if backend == "postgres":
        from otastats.storage.postgres import PostgresStore

        opened = PostgresStore(request.getfixturevalue("postgres_url"))
    else:
        opened = SQLiteStore(str(tmp_path / "otastats.db"))
    yield opened
    opened.close()


@dataclass
class Tenants:
    """Builds organizations, users, apps and keys in a store, through the admin service."""

    store: Store
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
def tenants(store: Store) -> Tenants:
    return Tenants(store)


def make_client(
    store: Store, *, clock: datetime = NOW, settings: Settings | None = None
) -> TestClient:
    settings = settings or Settings(rate_limit=0, auth_failure_limit=0)
    return TestClient(create_app(settings, store=store, clock=lambda: clock))


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    with make_client(store) as test_client:
        yield test_client
