"""Every row of the SPEC's Errors table through the real app, and the order of precedence."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from otastats.admin import service as admin
from otastats.config import MAX_BODY_BYTES, MAX_EVENTS_PER_REQUEST, Settings
from otastats.storage.records import HealthRows, MetricRows, VersionRows
from otastats.storage.sqlite import SQLiteStore
from tests.conftest import Tenants, make_client
from tests.helpers_api import (
    APP_FORBIDDEN,
    NDJSON,
    NO_ORGANIZATIONS,
    ORG_FORBIDDEN,
    at,
    download,
    get,
    get_ok,
    ingest_ok,
    ndjson,
    post_events,
)

APP = "com.example.app"
FOREIGN_APP = "com.other.app"
MISSING_ORG = "00000000-0000-4000-8000-000000000000"
PARAMS = {"from": "2024-03-14", "to": "2024-03-15"}
ERROR_ID = re.compile(r"error id ([0-9a-f]{16})")


@dataclass
class World:
    client: TestClient
    store: SQLiteStore
    org_id: str
    foreign_org: str
    key: str
    read_key: str
    lonely_key: str
    expired_key: str
    revoked_key: str


def build_world(store: SQLiteStore, client: TestClient) -> World:
    tenants = Tenants(store)
    org_id = tenants.org("acme")
    foreign_org = tenants.org("other")
    owner = tenants.user("owner@example.com", orgs={org_id: "admin"})
    tenants.user("other@example.com", orgs={foreign_org: "admin"})
    lonely = tenants.user("lonely@example.com")
    tenants.app(APP, org_id)
    tenants.app(FOREIGN_APP, foreign_org)
    revoked = admin.create_key(store, owner, "all", tenants.now)
    admin.revoke_key(store, revoked.key_id, tenants.now)
    return World(
        client=client,
        store=store,
        org_id=org_id,
        foreign_org=foreign_org,
        key=tenants.key(owner, "all"),
        read_key=tenants.key(owner, "read"),
        lonely_key=tenants.key(lonely, "all"),
        # The end of Mar 14 is before "now" (Mar 15, 12:00).
        expired_key=tenants.key(owner, "all", expires="2024-03-14"),
        revoked_key=revoked.key,
    )


@pytest.fixture
def world(store: SQLiteStore, client: TestClient) -> World:
    return build_world(store, client)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for the tests that store nothing."""
    store = SQLiteStore(str(tmp_path_factory.mktemp("errors") / "otastats.db"))
    with make_client(store) as client:
        yield build_world(store, client)
    store.close()


def assert_error(response: Any, code: int, status: str, error: str | None = None) -> str:
    """The response is exactly ``{"status", "error"}`` JSON with this code and status; returns
    the error text."""
    assert response.status_code == code, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) == {"status", "error"}, body
    assert body["status"] == status, body
    assert isinstance(body["error"], str)
    assert body["error"].strip()
    if error is not None:
        assert body["error"] == error, body
    return str(body["error"])


def bandwidth_today(world: World) -> int:
    points = get_ok(
        world.client, world.key, f"/statistics/app/{APP}/", **PARAMS, noAccumulate="true"
    )
    return sum(point["bandwidth"] for point in points)


# --- a store that fails, for the 500 row ----------------------------------------------------------


class FailingStore(SQLiteStore):
    """A real store whose statistics and writes fail with an internal detail in the message."""

    def metric_rows(self, app_ids: Any, from_day: int, to_day: int, *, by_app: bool) -> MetricRows:
        raise RuntimeError("secret internals")

    def version_rows(self, app_id: str, from_day: int, to_day: int) -> VersionRows:
        raise RuntimeError("secret internals")

    def health_rows(self, app_id: str, from_day: int, to_day: int) -> HealthRows:
        raise RuntimeError("secret internals")

    def writer(self) -> Any:
        raise RuntimeError("secret internals")


@pytest.fixture
def failing_world(tmp_path: Path) -> Any:
    store = FailingStore(str(tmp_path / "failing.db"))
    with make_client(store) as client:
        yield build_world(store, client)
    store.close()


# --- the whole table, row by row ------------------------------------------------------------------


def test_every_row_of_the_errors_table(world: World, failing_world: World) -> None:
    client, key = world.client, world.key
    app_path = f"/statistics/app/{APP}/"
    seen_rows: set[tuple[int, str]] = set()

    def check(response: Any, code: int, status: str, error: str | None = None) -> str:
        seen_rows.add((code, status))
        return assert_error(response, code, status, error)

    # 400 Invalid body: the error names the parameter and the rule.
    error = check(get(client, key, app_path, to="2024-03-15"), 400, "Invalid body")
    assert error.startswith("from:")
    error = check(get(client, key, app_path, **PARAMS, noAccumulate="yes"), 400, "Invalid body")
    assert error.startswith("noAccumulate:")
    assert "true or false" in error
    error = check(
        post_events(client, key, b"[not json", content_type="application/json"),
        400,
        "Invalid body",
    )
    assert error.startswith("body:")

    # 401 Invalid API key: no key, an unknown key, an expired key, a revoked key.
    for bad_key in (None, key + "x", world.expired_key, world.revoked_key):
        check(get(client, bad_key, app_path, **PARAMS), 401, "Invalid API key")

    # 403 for apps and for organizations.
    check(
        get(client, key, f"/statistics/app/{FOREIGN_APP}/", **PARAMS),
        403,
        APP_FORBIDDEN["status"],
        APP_FORBIDDEN["error"],
    )
    check(
        get(client, key, f"/statistics/org/{world.foreign_org}/", **PARAMS),
        403,
        ORG_FORBIDDEN["status"],
        ORG_FORBIDDEN["error"],
    )

    # 404 No organizations found.
    check(
        get(client, world.lonely_key, "/statistics/user/", **PARAMS),
        404,
        NO_ORGANIZATIONS["status"],
        NO_ORGANIZATIONS["error"],
    )

    # 413 Payload too large: too many bytes, too many events.
    oversized = b"[" + b" " * MAX_BODY_BYTES + b"]"
    check(
        post_events(client, key, oversized, content_type="application/json"),
        413,
        "Payload too large",
    )
    too_many = [download(APP, "d", at("2024-03-15"), 1)] * (MAX_EVENTS_PER_REQUEST + 1)
    check(post_events(client, key, too_many), 413, "Payload too large")

    # 429 Too many requests, with a Retry-After header.
    with make_client(world.store, settings=Settings(rate_limit=1, auth_failure_limit=0)) as limited:
        assert get(limited, key, app_path, **PARAMS).status_code == 200
        response = get(limited, key, app_path, **PARAMS)
        check(response, 429, "Too many requests")
        assert int(response.headers["retry-after"]) >= 1

    # 500, with the status text of the endpoint.
    failing = failing_world
    for path, status in [
        (f"/statistics/app/{APP}/", "Cannot get app statistics"),
        (f"/statistics/org/{failing.org_id}/", "Cannot get organization statistics"),
        ("/statistics/user/", "Cannot get user statistics"),
    ]:
        error = check(get(failing.client, failing.key, path, **PARAMS), 500, status)
        assert ERROR_ID.search(error), error

    assert seen_rows == {
        (400, "Invalid body"),
        (401, "Invalid API key"),
        (403, "You can't access this app"),
        (403, "You can't access this organization"),
        (404, "No organizations found"),
        (413, "Payload too large"),
        (429, "Too many requests"),
        (500, "Cannot get app statistics"),
        (500, "Cannot get organization statistics"),
        (500, "Cannot get user statistics"),
    }


# --- 400 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": "2024-03-15"}, "from"),
        ({"from": "2024-03-15"}, "to"),
        ({"from": "", "to": "2024-03-15"}, "from"),
        ({"from": "2024-02-30", "to": "2024-03-15"}, "from"),
        ({"from": "15/03/2024", "to": "2024-03-15"}, "from"),
        ({"from": "2024-03-14", "to": "2024-03-15T12:00:00"}, "to"),  # no offset
        ({"from": "2024-03-15", "to": "2024-03-14"}, "from"),  # from after to
        ({"from": "2021-03-14", "to": "2024-03-15"}, "to"),  # over 1095 days apart
        ({**PARAMS, "noAccumulate": "True"}, "noAccumulate"),
        ({**PARAMS, "noAccumulate": "1"}, "noAccumulate"),
        ({**PARAMS, "noAccumulate": ""}, "noAccumulate"),
    ],
)
def test_a_missing_or_malformed_parameter_is_400_naming_it(
    shared: World, params: dict[str, str], field: str
) -> None:
    for path in (f"/statistics/app/{APP}/", f"/statistics/org/{shared.org_id}", "/statistics/user"):
        error = assert_error(get(shared.client, shared.key, path, **params), 400, "Invalid body")
        assert error.startswith(f"{field}:"), error


def test_breakdown_must_be_exactly_true_or_false(shared: World) -> None:
    response = get(
        shared.client, shared.key, f"/statistics/org/{shared.org_id}", **PARAMS, breakdown="TRUE"
    )
    error = assert_error(response, 400, "Invalid body")
    assert error.startswith("breakdown:")


def test_health_checks_its_dates_and_format(shared: World) -> None:
    path = f"/statistics/app/{APP}/health"
    response = get(shared.client, shared.key, path, to="2024-03-15")
    assert assert_error(response, 400, "Invalid body").startswith("from:")
    response = get(shared.client, shared.key, path, **{"from": "2024-03-15", "to": "2024-03-1"})
    assert assert_error(response, 400, "Invalid body").startswith("to:")
    response = get(shared.client, shared.key, path, **PARAMS, format="xml")
    assert assert_error(response, 400, "Invalid body").startswith("format:")


def test_bundle_usage_checks_its_dates(shared: World) -> None:
    response = get(
        shared.client, shared.key, f"/statistics/app/{APP}/bundle_usage", to="2024-03-15"
    )
    assert assert_error(response, 400, "Invalid body").startswith("from:")


@pytest.mark.parametrize("value", ["2024-03-16", "２０２４-０３-１４", "2024-03-14T00:00:00Z", ""])
def test_adoption_checks_its_date(shared: World, value: str) -> None:
    for suffix in ("adoption", "adoption/"):
        response = get(shared.client, shared.key, f"/statistics/app/{APP}/{suffix}", date=value)
        assert assert_error(response, 400, "Invalid body").startswith("date: must ")


# --- 401 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["missing", "unknown", "expired", "revoked", "empty"])
def test_every_invalid_key_is_401_on_every_endpoint(shared: World, which: str) -> None:
    key = {
        "missing": None,
        "unknown": "ota_not-a-key",
        "expired": shared.expired_key,
        "revoked": shared.revoked_key,
        "empty": "",
    }[which]
    for path in (
        f"/statistics/app/{APP}/",
        f"/statistics/app/{APP}/bundle_usage/",
        f"/statistics/app/{APP}/health",
        f"/statistics/app/{APP}/health/",
        f"/statistics/app/{APP}/adoption",
        f"/statistics/app/{APP}/adoption/",
        f"/statistics/org/{shared.org_id}/",
        "/statistics/user/",
    ):
        assert_error(get(shared.client, key, path, **PARAMS), 401, "Invalid API key")
    ingest = post_events(shared.client, key, [download(APP, "d", at("2024-03-15"), 5)])
    assert_error(ingest, 401, "Invalid API key")
    assert bandwidth_today(shared) == 0


def test_a_key_expiring_later_today_is_still_valid(world: World, store: SQLiteStore) -> None:
    tenants = Tenants(store)
    user = tenants.user("later@example.com", orgs={world.org_id: "read"})
    later = tenants.key(user, "read", expires="2024-03-15T12:00:01Z")
    assert get(world.client, later, f"/statistics/app/{APP}/", **PARAMS).status_code == 200
    just_now = tenants.key(user, "read", expires="2024-03-15T12:00:00Z")
    response = get(world.client, just_now, f"/statistics/app/{APP}/", **PARAMS)
    assert_error(response, 401, "Invalid API key")


# --- 403: byte-identical bodies -----------------------------------------------------------------


def test_forbidden_missing_and_malformed_apps_get_byte_identical_403s(shared: World) -> None:
    bodies: set[bytes] = set()
    for app_id in (FOREIGN_APP, "no.such.app", "bad$app", "x" * 129, "%20"):
        for suffix in (
            "",
            "/",
            "/bundle_usage",
            "/bundle_usage/",
            "/health",
            "/health/",
            "/adoption",
            "/adoption/",
        ):
            response = get(shared.client, shared.key, f"/statistics/app/{app_id}{suffix}", **PARAMS)
            assert response.status_code == 403, (app_id, suffix, response.text)
            bodies.add(response.content)
    assert len(bodies) == 1
    assert orjson.loads(bodies.pop()) == APP_FORBIDDEN


def test_forbidden_missing_and_malformed_orgs_get_byte_identical_403s(shared: World) -> None:
    bodies: set[bytes] = set()
    for org_id in (shared.foreign_org, MISSING_ORG, "not-a-uuid", "%20"):
        for extra in ({}, {"breakdown": "true"}):
            response = get(
                shared.client, shared.key, f"/statistics/org/{org_id}/", **PARAMS, **extra
            )
            assert response.status_code == 403, (org_id, response.text)
            bodies.add(response.content)
    assert len(bodies) == 1
    assert orjson.loads(bodies.pop()) == ORG_FORBIDDEN


# --- 413: nothing stored ------------------------------------------------------------------------


def padded_line(event: dict[str, Any], size: int) -> bytes:
    """One NDJSON line of exactly ``size`` bytes (newline included), padded in an unknown
    field."""
    bare = orjson.dumps({**event, "pad": ""}) + b"\n"
    padded = orjson.dumps({**event, "pad": " " * (size - len(bare))}) + b"\n"
    assert len(padded) == size
    return padded


def test_a_body_over_10_mib_is_413_and_nothing_is_stored(world: World) -> None:
    first = ndjson([download(APP, "d", at("2024-03-15"), 5)])
    body = first + padded_line(
        download(APP, "d", at("2024-03-15"), 7), MAX_BODY_BYTES + 1 - len(first)
    )
    assert len(body) == MAX_BODY_BYTES + 1
    assert_error(post_events(world.client, world.key, body), 413, "Payload too large")
    assert bandwidth_today(world) == 0

    # Exactly 10 MiB is allowed.
    body = first + padded_line(download(APP, "d", at("2024-03-15"), 7), MAX_BODY_BYTES - len(first))
    response = post_events(world.client, world.key, body)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert bandwidth_today(world) == 12


def test_a_body_over_10_mib_without_a_content_length_is_413(world: World) -> None:
    chunk = ndjson([download(APP, "d", at("2024-03-15"), 5)])
    chunks = [chunk] * (MAX_BODY_BYTES // len(chunk) + 1)
    assert sum(map(len, chunks)) > MAX_BODY_BYTES
    response = world.client.post(
        "/ingest/events",
        content=iter(chunks),
        headers={"authorization": world.key, "content-type": NDJSON},
    )
    assert_error(response, 413, "Payload too large")
    assert bandwidth_today(world) == 0


@pytest.mark.parametrize("content_type", [NDJSON, "application/json"])
def test_more_than_10000_events_is_413_and_nothing_is_stored(
    world: World, content_type: str
) -> None:
    events = [
        download(APP, f"d{i}", at("2024-03-15"), 1) for i in range(MAX_EVENTS_PER_REQUEST + 1)
    ]
    body = orjson.dumps(events) if content_type == "application/json" else ndjson(events)
    response = post_events(world.client, world.key, body, content_type=content_type)
    error = assert_error(response, 413, "Payload too large")
    assert "10,000" in error or "10000" in error
    assert bandwidth_today(world) == 0


def test_exactly_10000_events_are_accepted(world: World) -> None:
    events = [download(APP, f"d{i}", at("2024-03-15"), 1) for i in range(MAX_EVENTS_PER_REQUEST)]
    response = post_events(world.client, world.key, events)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": MAX_EVENTS_PER_REQUEST, "duplicates": 0, "rejected": []}
    assert bandwidth_today(world) == MAX_EVENTS_PER_REQUEST


# --- 429 ----------------------------------------------------------------------------------------


def test_the_per_key_rate_limit_is_429_with_retry_after(world: World) -> None:
    settings = Settings(rate_limit=3, auth_failure_limit=0)
    tenants = Tenants(world.store)
    other_user = tenants.user("second@example.com", orgs={world.org_id: "read"})
    other_key = tenants.key(other_user, "read")
    path = f"/statistics/app/{APP}/"
    with make_client(world.store, settings=settings) as client:
        for _ in range(3):
            assert get(client, world.key, path, **PARAMS).status_code == 200
        for response in (
            get(client, world.key, path, **PARAMS),
            get(client, world.key, "/statistics/user/", **PARAMS),
            post_events(client, world.key, [download(APP, "d", at("2024-03-15"), 5)]),
        ):
            assert_error(response, 429, "Too many requests")
            assert 1 <= int(response.headers["retry-after"]) <= 60
        # Another key is not limited by the first one's requests.
        assert get(client, other_key, path, **PARAMS).status_code == 200
        # /healthz is never limited.
        assert client.get("/healthz").status_code == 200
    assert bandwidth_today(world) == 0


def test_failed_authentications_per_address_are_429_with_retry_after(world: World) -> None:
    settings = Settings(rate_limit=0, auth_failure_limit=3)
    path = f"/statistics/app/{APP}/"
    with make_client(world.store, settings=settings) as client:
        # Successful authentications do not count.
        for _ in range(5):
            assert get(client, world.key, path, **PARAMS).status_code == 200
        for bad in ("ota_wrong", None, world.expired_key):
            assert_error(get(client, bad, path, **PARAMS), 401, "Invalid API key")
        response = get(client, "ota_wrong", path, **PARAMS)
        assert_error(response, 429, "Too many requests")
        assert 1 <= int(response.headers["retry-after"]) <= 15 * 60
        # The address is locked out, whatever key it presents next (the code's choice).
        assert_error(get(client, world.key, path, **PARAMS), 429, "Too many requests")
    # Another client address is not affected.
    other = TestClient(client.app, client=("192.0.2.7", 50000))
    with other:
        assert get(other, world.key, path, **PARAMS).status_code == 200


# --- 500 ----------------------------------------------------------------------------------------


def test_an_internal_failure_is_a_generic_500_with_a_logged_error_id(
    failing_world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world = failing_world
    requests: list[tuple[Callable[[], Any], str]] = [
        (
            lambda: get(world.client, world.key, f"/statistics/app/{APP}/", **PARAMS),
            "Cannot get app statistics",
        ),
        (
            lambda: get(world.client, world.key, f"/statistics/app/{APP}/bundle_usage", **PARAMS),
            "Cannot get app statistics",
        ),
        (
            lambda: get(world.client, world.key, f"/statistics/app/{APP}/health", **PARAMS),
            "Cannot get app statistics",
        ),
        (
            lambda: get(world.client, world.key, f"/statistics/app/{APP}/adoption"),
            "Cannot get app statistics",
        ),
        (
            lambda: get(world.client, world.key, f"/statistics/org/{world.org_id}", **PARAMS),
            "Cannot get organization statistics",
        ),
        (
            lambda: get(
                world.client,
                world.key,
                f"/statistics/org/{world.org_id}",
                **PARAMS,
                breakdown="true",
            ),
            "Cannot get organization statistics",
        ),
        (
            lambda: get(world.client, world.key, "/statistics/user", **PARAMS),
            "Cannot get user statistics",
        ),
        # Ingestion is not in the table; the code answers with its own status text.
        (
            lambda: post_events(world.client, world.key, [download(APP, "d", at("2024-03-15"), 1)]),
            "Cannot ingest events",
        ),
    ]
    ids: set[str] = set()
    for send, status in requests:
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            response = send()
        error = assert_error(response, 500, status)
        for leak in ("secret internals", "RuntimeError", "Traceback", "sqlite", ".py"):
            assert leak not in response.text
        match = ERROR_ID.search(error)
        assert match, error
        ids.add(match.group(1))
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert match.group(1) in logged
        # The log, unlike the answer, has the details.
        assert any(
            record.exc_info and "secret internals" in str(record.exc_info[1])
            for record in caplog.records
        )
    assert len(ids) == len(requests)  # one id per failure


# --- precedence: 401, then 400, then 403 or 404 ---------------------------------------------------


def test_401_comes_before_400_and_403(shared: World) -> None:
    for bad_key in (None, "ota_wrong", shared.expired_key, shared.revoked_key):
        for path in (
            f"/statistics/app/{FOREIGN_APP}/",
            "/statistics/app/bad$app/bundle_usage",
            f"/statistics/app/{FOREIGN_APP}/health/",
            "/statistics/app/bad$app/adoption",
            f"/statistics/org/{shared.foreign_org}/",
            "/statistics/user/",
        ):
            response = get(
                shared.client, bad_key, path, to="not-a-date", noAccumulate="x", date="x"
            )
            assert_error(response, 401, "Invalid API key")
        assert_error(
            post_events(shared.client, bad_key, b"[broken", content_type="application/json"),
            401,
            "Invalid API key",
        )
        oversized = b"[" + b" " * MAX_BODY_BYTES + b"]"
        assert_error(
            post_events(shared.client, bad_key, oversized, content_type="application/json"),
            401,
            "Invalid API key",
        )


def test_400_comes_before_403_and_404(shared: World) -> None:
    bad = {"from": "2024-03-15", "to": "2024-03-14"}
    for path in (
        f"/statistics/app/{FOREIGN_APP}/",
        "/statistics/app/no.such.app/",
        "/statistics/app/bad$app/bundle_usage",
        "/statistics/app/bad$app/health",
        f"/statistics/org/{shared.foreign_org}/",
        "/statistics/org/not-a-uuid",
    ):
        assert_error(get(shared.client, shared.key, path, **bad), 400, "Invalid body")
    for path in (f"/statistics/app/{FOREIGN_APP}/adoption", "/statistics/app/bad$app/adoption"):
        assert_error(get(shared.client, shared.key, path, date="2024-03-16"), 400, "Invalid body")
    # The user endpoint: 400 before 404.
    assert_error(
        get(shared.client, shared.lonely_key, "/statistics/user/", **bad), 400, "Invalid body"
    )
    # Ingestion with a read key: its 403 comes before the body is read, so an unparsable body
    # gets the 403 too (a body's 400 needs the body read).
    response = post_events(
        shared.client, shared.read_key, b"[broken", content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json() == APP_FORBIDDEN
    response = post_events(
        shared.client, shared.read_key, [download(APP, "d", at("2024-03-15"), 5)]
    )
    assert response.status_code == 403
    assert response.json() == APP_FORBIDDEN


def test_errors_never_change_stored_figures(world: World) -> None:
    ingest_ok(world.client, world.key, [download(APP, "d", at("2024-03-15"), 5)])
    post_events(world.client, world.read_key, [download(APP, "d", at("2024-03-15"), 1)])
    post_events(world.client, None, [download(APP, "d", at("2024-03-15"), 1)])
    post_events(world.client, world.key, b"[broken", content_type="application/json")
    assert bandwidth_today(world) == 5


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/no/such/path", 404),
        ("GET", "/statistics/app/", 404),
        ("GET", "/ingest/events", 405),
        ("POST", "/statistics/user/", 405),
    ],
)
def test_every_error_has_the_status_and_error_shape(
    shared: World, method: str, path: str, code: int
) -> None:
    # "Every error is JSON: {"status", "error"}", routing errors included.
    response = shared.client.request(
        method, path, params=PARAMS, headers={"authorization": shared.key}
    )
    assert response.status_code == code
    body = response.json()
    assert set(body) == {"status", "error"}, body
    assert all(isinstance(body[name], str) and body[name] for name in ("status", "error"))
