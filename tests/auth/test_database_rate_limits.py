"""Rate limits kept in the database, with no Redis: shared by every server process on it.

Two real ``otastats serve`` processes on one SQLite file, and on one PostgreSQL database, share
the per-key limit and the failed-authentication limit. The counter stores themselves are tested
directly for the moving window (with one-second windows: the limits have no clock of their own
to control), for exact counts under concurrent connections, and for failing closed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import psycopg
import pytest
from limits import RateLimitItemPerSecond
from limits.strategies import MovingWindowRateLimiter

from otastats.auth.rate_limits import RateLimits
from otastats.config import Settings, SettingsError
from otastats.storage import Store, open_store
from otastats.storage.postgres import PostgresStore
from otastats.storage.rate_limit_counters import DatabaseCounters
from otastats.storage.rate_limit_postgres import PostgresCounters
from otastats.storage.rate_limit_sqlite import SQLiteCounters, sidecar_path
from otastats.storage.sqlite import SQLiteStore
from tests import postgres_server
from tests.cli_helpers import db_url, failed, free_port, run_cli, serve
from tests.conftest import Tenants, make_client

APP = "com.example.app"
PATH = f"/statistics/app/{APP}/?from=2024-03-14&to=2024-03-15"
SERVER_LIMITS = {
    "OTASTATS_RATE_LIMIT": "10",
    "OTASTATS_AUTH_FAILURE_LIMIT": "4",
    "OTASTATS_RATE_LIMIT_STORE": "database",
}
ERROR_ID = re.compile(r"error id ([0-9a-f]{16})")


@pytest.fixture(scope="module")
def postgres_admin() -> Iterator[str]:
    """A URL of a role that may create databases (see tests/postgres_server.py)."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(postgres_server.server_url())
        except postgres_server.Unavailable as exc:
            pytest.skip(f"PostgreSQL tests skipped: {exc}")
        yield url


@pytest.fixture
def postgres_database(postgres_admin: str) -> Iterator[str]:
    """A database of this test's own, dropped afterwards."""
    with postgres_server.test_database(postgres_admin) as fresh_schema:
        yield fresh_schema()


def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return db_url(tmp_path / "otastats.db")
    url: str = request.getfixturevalue("postgres_database")
    return url


def get(url: str, key: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, JSON body, headers by lower-case name) of a GET with a key, errors included."""
    request = urllib.request.Request(url, headers={"authorization": key})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read()), lower(response.headers.items())
    except urllib.error.HTTPError as exc:
        with closing(exc):
            return exc.code, json.loads(exc.read()), lower(exc.headers.items())


def read_keys(store: Store, count: int) -> list[str]:
    """``count`` read keys of one user, who may read APP."""
    tenants = Tenants(store)
    org = tenants.org()
    tenants.app(APP, org)
    user = tenants.user("a@example.com", orgs={org: "read"})
    return [tenants.key(user, "read") for _ in range(count)]


def lower(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


# --- two server processes ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_servers_on_one_database_share_both_limits(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = database_url(backend, tmp_path, request)
    store = open_store(url)
    try:
        key, other_key = read_keys(store, 2)
    finally:
        store.close()
    with (
        serve(database=url, workdir=tmp_path, name="a", env=SERVER_LIMITS) as a,
        serve(database=url, workdir=tmp_path, name="b", env=SERVER_LIMITS) as b,
    ):
        # Ten requests a minute for the key, whichever server answers them.
        assert [get(server.base + PATH, key)[0] for server in (a, b) * 5] == [200] * 10
        for server in (a, b):
            status, body, headers = get(server.base + PATH, key)
            assert status == 429
            assert body == {
                "status": "Too many requests",
                "error": "Too many requests with this API key; at most 10 a minute",
            }
            assert 1 <= int(headers["retry-after"]) <= 60
        assert get(b.base + PATH, other_key)[0] == 200

        # Four failed authentications from this address, whichever server saw them.
        assert [get(server.base + PATH, "ota_wrong")[0] for server in (a, b) * 2] == [401] * 4
        for server in (a, b):
            status, body, headers = get(server.base + PATH, other_key)
            assert status == 429
            assert body["error"] == (
                "Too many failed authentications from this address; at most 4 in 15 minutes"
            )
            assert 1 <= int(headers["retry-after"]) <= 15 * 60
    if backend == "sqlite":
        assert Path(sidecar_path(str(tmp_path / "otastats.db"))).is_file()
    else:
        with psycopg.connect(url) as conn:
            persistence, hits = conn.execute(
                "SELECT relpersistence, (SELECT count(*) FROM rate_limit_hits)"
                " FROM pg_class WHERE oid = 'rate_limit_hits'::regclass"
            ).fetchone() or (None, None)
        assert persistence == "u"  # UNLOGGED
        assert hits == 10 + 1 + 4  # the two keys' requests, and the failures


# --- the counter stores ----------------------------------------------------------------------


def counters(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> DatabaseCounters:
    """Counters of a fresh database; each call opens connections of its own, like a process."""
    if backend == "sqlite":
        return SQLiteCounters(sidecar_path(str(tmp_path / "otastats.db")))
    return PostgresCounters(request.getfixturevalue("postgres_database"))


def sleep_until(instant: float) -> None:
    time.sleep(max(0.0, instant - time.time()))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_window_moves_with_each_request(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = counters(backend, tmp_path, request)
    limiter = MovingWindowRateLimiter(store)
    two_a_second = RateLimitItemPerSecond(2, 1)
    key = two_a_second.key_for("k")
    try:
        assert limiter.hit(two_a_second, "k")
        first, count = store.get_moving_window(key, 2, 1)  # when the first request was counted
        assert count == 1
        sleep_until(first + 0.5)
        assert limiter.hit(two_a_second, "k")
        assert not limiter.hit(two_a_second, "k")
        assert limiter.hit(two_a_second, "other")  # buckets are counted apart
        assert store.get_moving_window(key, 2, 1) == (first, 2)
        # The first request leaves the window; the second, 0.5 s younger, stays in it: a fixed
        # window would have let two through here.
        sleep_until(first + 1.05)
        assert limiter.hit(two_a_second, "k")
        assert not limiter.hit(two_a_second, "k")
        second, count = store.get_moving_window(key, 2, 1)
        assert count == 2
        assert first + 0.5 <= second < first + 1.05
    finally:
        store.reset()
        store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_counts_from_several_connections_are_exact(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    processes = [counters(backend, tmp_path, request) for _ in range(4)]
    try:
        with ThreadPoolExecutor(len(processes)) as pool:
            results = list(
                pool.map(
                    lambda store: [store.acquire_entry("bucket", 60, 60) for _ in range(40)],
                    processes,
                )
            )
        assert sum(sum(acquired) for acquired in results) == 60
        assert processes[0].get_moving_window("bucket", 60, 60)[1] == 60
    finally:
        processes[0].reset()
        for store in processes:
            store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_expired_rows_of_idle_buckets_are_swept(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = counters(backend, tmp_path, request)
    try:
        for bucket in ("idle-1", "idle-2", "busy"):
            assert store.acquire_entry(bucket, 5, 1)
        time.sleep(1.05)
        store._next_sweep = 0.0  # the next count sweeps, as one does once a minute
        assert store.acquire_entry("busy", 5, 60)
        select = "SELECT bucket FROM rate_limit_hits"
        if isinstance(store, SQLiteCounters):
            with closing(sqlite3.connect(store.path)) as conn:
                left = conn.execute(select).fetchall()
        else:
            with psycopg.connect(request.getfixturevalue("postgres_database")) as conn:
                left = conn.execute(select).fetchall()
        assert left == [("busy",)]
    finally:
        store.reset()
        store.close()


# --- off, and settings -------------------------------------------------------------------------


def test_a_limit_of_0_is_off_and_counts_nothing(store: SQLiteStore, tmp_path: Path) -> None:
    (key,) = read_keys(store, 1)
    sidecar = Path(sidecar_path(str(tmp_path / "otastats.db")))
    with make_client(store, settings=Settings(rate_limit=0, auth_failure_limit=0)) as client:
        assert {
            client.get(PATH, headers={"authorization": key}).status_code for _ in range(25)
        } == {200}
        assert {
            client.get(PATH, headers={"authorization": "x"}).status_code for _ in range(25)
        } == {401}
    assert not sidecar.exists()  # nothing to count, nothing kept
    with make_client(store, settings=Settings(rate_limit=0, auth_failure_limit=2)) as client:
        assert {
            client.get(PATH, headers={"authorization": key}).status_code for _ in range(25)
        } == {200}
        statuses = [client.get(PATH, headers={"authorization": "x"}).status_code for _ in range(3)]
        assert statuses == [401, 401, 429]
    assert sidecar.is_file()
    with make_client(store, settings=Settings(rate_limit=3, auth_failure_limit=0)) as client:
        statuses = [client.get(PATH, headers={"authorization": "x"}).status_code for _ in range(25)]
        assert set(statuses) == {401}
        statuses = [client.get(PATH, headers={"authorization": key}).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]


@pytest.mark.parametrize(
    ("env", "chosen"),
    [
        ({}, "database"),
        ({"OTASTATS_REDIS_URL": "redis://127.0.0.1:6379/0"}, "redis"),
        ({"OTASTATS_RATE_LIMIT_STORE": " Memory "}, "memory"),
        ({"OTASTATS_RATE_LIMIT_STORE": ""}, "database"),
        (
            {"OTASTATS_RATE_LIMIT_STORE": "database", "OTASTATS_REDIS_URL": "redis://h:6379/0"},
            "database",
        ),
    ],
)
def test_where_the_counters_live(env: dict[str, str], chosen: str) -> None:
    assert Settings.from_env(env).counters_store == chosen


def test_an_unknown_store_is_refused_naming_the_variable_and_the_choices() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"OTASTATS_RATE_LIMIT_STORE": "disk"})
    message = str(raised.value)
    assert message.startswith("OTASTATS_RATE_LIMIT_STORE='disk' is not")
    assert "database, redis or memory" in message


def test_redis_without_a_url_is_refused() -> None:
    with pytest.raises(SettingsError, match="OTASTATS_RATE_LIMIT_STORE='redis' needs") as raised:
        Settings.from_env({"OTASTATS_RATE_LIMIT_STORE": "redis"})
    assert "OTASTATS_REDIS_URL" in str(raised.value)


def test_serve_refuses_to_start_with_an_unknown_store(tmp_path: Path) -> None:
    result = run_cli(
        "serve",
        "--port",
        str(free_port()),
        database=db_url(tmp_path / "otastats.db"),
        cwd=tmp_path,
        env={"OTASTATS_RATE_LIMIT_STORE": "disk"},
    )
    assert "OTASTATS_RATE_LIMIT_STORE='disk'" in failed(result)


def test_counters_that_cannot_be_kept_stop_the_start_with_a_fix(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "otastats.db"))
    try:
        # A directory where the file should be: SQLite cannot open it.
        Path(sidecar_path(str(tmp_path / "otastats.db"))).mkdir()
        with pytest.raises(SettingsError, match="OTASTATS_RATE_LIMIT_STORE=database") as raised:
            RateLimits.from_settings(Settings(), store)
        assert "set OTASTATS_RATE_LIMIT_STORE to redis or memory" in str(raised.value)
    finally:
        store.close()


# --- failing closed ------------------------------------------------------------------------------


def assert_generic_500(
    send: Callable[[], Any], caplog: pytest.LogCaptureFixture, *leaks: str
) -> None:
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        response = send()
    assert response.status_code == 500
    body = response.json()
    assert body["status"] == "Cannot get app statistics"
    match = ERROR_ID.search(body["error"])
    assert match, body
    for leak in ("Traceback", ".py", *leaks):
        assert leak not in response.text
    assert match.group(1) in "\n".join(record.getMessage() for record in caplog.records)


def test_a_locked_counter_file_fails_the_request_closed(
    store: SQLiteStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (key,) = read_keys(store, 1)
    settings = Settings(rate_limit=5, auth_failure_limit=0)
    sidecar = sidecar_path(str(tmp_path / "otastats.db"))
    with make_client(store, settings=settings) as client:
        client.app.state.context.limits.close()
        impatient = SQLiteCounters(sidecar, busy_timeout_ms=50)
        client.app.state.context = dataclasses.replace(
            client.app.state.context, limits=RateLimits.counted_in(impatient, 5, 0)
        )
        send = lambda: client.get(PATH, headers={"authorization": key})  # noqa: E731
        assert send().status_code == 200
        # Another process holds the file's write lock for longer than a count may wait.
        with closing(sqlite3.connect(sidecar, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            assert_generic_500(send, caplog, "sqlite", "locked")
            other.execute("ROLLBACK")
        assert send().status_code == 200


def test_a_lost_postgres_connection_fails_the_request_closed(
    postgres_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = PostgresStore(postgres_database)
    try:
        (key,) = read_keys(store, 1)
        settings = Settings(rate_limit=50, auth_failure_limit=0)
        with make_client(store, settings=settings) as client:
            send = lambda: client.get(PATH, headers={"authorization": key})  # noqa: E731
            assert send().status_code == 200
            # The server ends the counters' connections (a restart, a failover, an operator).
            with psycopg.connect(postgres_database, autocommit=True) as admin:
                ended = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'otastats rate limits'"
                    " AND datname = current_database()"
                ).fetchall()
            assert ended
            assert set(ended) == {(True,)}
            assert_generic_500(send, caplog, "psycopg", "terminat")
            # Each lost connection fails one request at most; the pool opens new ones.
            later = [send().status_code for _ in range(len(ended) + 1)]
            assert later[-1] == 200
            assert set(later) <= {200, 500}
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_closed_counters_open_again_when_used(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # An app's counters are closed when it shuts down; the same app may be started again.
    store = counters(backend, tmp_path, request)
    try:
        assert store.acquire_entry("k", 2, 60)
        store.close()
        assert store.acquire_entry("k", 2, 60)
        assert not store.acquire_entry("k", 2, 60)
    finally:
        store.close()
