"""Rate limits kept in Redis hold across server processes sharing it."""

from __future__ import annotations

import dataclasses
import os
import socket
import uuid
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from otastats.app import create_app
from otastats.auth.rate_limits import RateLimits
from otastats.config import Settings, SettingsError
from otastats.storage.sqlite import SQLiteStore
from tests.conftest import NOW, Tenants

REDIS_URL = os.environ.get("OTASTATS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_answers() -> bool:
    host, port = "127.0.0.1", 6379
    if REDIS_URL.startswith("redis://"):
        netloc = REDIS_URL.removeprefix("redis://").split("/")[0]
        host, _, port_text = netloc.rpartition(":")
        port = int(port_text or 6379)
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(
    not _redis_answers(),
    reason=f"no Redis server answers at {REDIS_URL} (set OTASTATS_TEST_REDIS_URL)",
)


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own, whose keys are removed afterwards."""
    prefix = f"otastats-test-{uuid.uuid4().hex}"
    yield prefix
    if _redis_answers():
        drop_keys(prefix)


def drop_keys(prefix: str) -> None:
    """Remove the Redis keys that start with ``prefix``."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
    finally:
        client.close()


def two_processes(store: SQLiteStore, settings: Settings, prefix: str) -> list[TestClient]:
    """Two apps, as two server processes would be, sharing only Redis."""
    clients = []
    for _ in range(2):
        app = create_app(settings, store=store, clock=lambda: NOW)
        app.state.context = dataclasses.replace(
            app.state.context, limits=RateLimits.from_settings(settings, store, redis_prefix=prefix)
        )
        clients.append(TestClient(app))
    return clients


@needs_redis
def test_the_per_key_limit_is_shared(store: SQLiteStore, tenants: Tenants, prefix: str) -> None:
    org = tenants.org()
    tenants.app("com.example.app", org)
    key = tenants.key(tenants.user("a@example.com", orgs={org: "read"}), "read")
    settings = Settings(rate_limit=4, auth_failure_limit=0, redis_url=REDIS_URL)
    first, second = two_processes(store, settings, prefix)
    url = "/statistics/app/com.example.app/?from=2024-03-01&to=2024-03-02"
    statuses = [
        client.get(url, headers={"authorization": key}).status_code
        for client in (first, second, first, second, first, second)
    ]
    assert statuses == [200, 200, 200, 200, 429, 429]
    refused = second.get(url, headers={"authorization": key})
    assert refused.json()["status"] == "Too many requests"
    assert 1 <= int(refused.headers["retry-after"]) <= 60


@needs_redis
def test_failed_authentications_are_counted_across_processes(
    store: SQLiteStore, tenants: Tenants, prefix: str
) -> None:
    settings = Settings(rate_limit=0, auth_failure_limit=3, redis_url=REDIS_URL)
    first, second = two_processes(store, settings, prefix)
    url = "/statistics/user/?from=2024-03-01&to=2024-03-02"
    statuses = [
        client.get(url, headers={"authorization": "ota_wrong"}).status_code
        for client in (first, second, first, second)
    ]
    assert statuses == [401, 401, 401, 429]


def test_an_unreachable_redis_is_refused_at_start_with_a_fix(store: SQLiteStore) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(redis_url=f"redis://127.0.0.1:{port}/0")
    with pytest.raises(SettingsError, match="no Redis answers at"):
        RateLimits.from_settings(settings, store)


def test_a_url_that_is_not_redis_is_refused() -> None:
    with pytest.raises(SettingsError, match="OTASTATS_REDIS_URL"):
        Settings.from_env({"OTASTATS_REDIS_URL": "http://localhost:6379"})
