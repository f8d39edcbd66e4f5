"""Fuzzing of the HTTP API with Schemathesis, from the API's own /openapi.json.

Every operation of the description is called with generated requests, in-process, against the
real application on a real SQLite file that holds a small organization. Five runs: with a read
key; with a key of mode ``all`` on ingestion, each accepted batch then read back; with bad keys
(none, or unknown ones); with a read key over a tight rate limit; and the plugin URLs, whose
token is often a valid one. Every answer must be
documented: never a 500, and a documented status, content type, headers and body.

The runs are bounded and derandomized, so that they take the same few seconds at every run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from otastats.admin import service as admin
from otastats.app import create_app
from otastats.auth.keys import hash_key
from otastats.config import Settings
from otastats.ingest.service import existing_app, ingest
from otastats.stats.parser import FIRST_DAY, LAST_DAY
from otastats.storage.records import PluginToken
from otastats.storage.sqlite import SQLiteStore
from otastats.timeparse import datetime_to_micros, parse_day, parse_instant
from tests.conftest import NOW
from tests.helpers_api import at, created, deleted, download, seen

NO_LIMITS = Settings(rate_limit=0, auth_failure_limit=0)
TIGHT_LIMITS = Settings(rate_limit=3, auth_failure_limit=0)

APPS = ("com.example.weather", "com.example.notes")
DELETED_APP = "com.example.old"
FOREIGN_APP = "com.other.app"
# Fixed ids, so that generated requests can name them: the organization of APPS, of which the
# keys' user is a member, and an organization of another tenant.
ORG_ID = "3f2c8a8e-9a4b-4d0e-8f51-0c2c1d7a9b10"
PLUGIN_TOKEN = "otp_" + "f" * 43
FOREIGN_ORG_ID = "9b0c4a51-64f2-4c1e-a0d4-2b7d3c5e8f60"

DAYS = [(NOW - timedelta(days=n)).date().isoformat() for n in (400, 40, 29, 3, 1, 0)]
"""Days with activity in the world, today included."""
EDGES = ["0001-01-01", "0001-01-01T00:00:00+01:00", "9999-12-31", "9999-12-31T23:59:59-23:59"]
"""The first and last dates, and date-times whose UTC dates lie just beyond them (see
tests/test_fuzz_regressions.py)."""

# Path and query parameters and body fields draw, often, from values that the stored data
# knows, so that requests also get past the 400s and 403s; the generated values are the rest.
DICTIONARIES = {
    "apps": {"values": [*APPS, DELETED_APP, FOREIGN_APP]},
    "orgs": {"values": [ORG_ID, FOREIGN_ORG_ID]},
    "days": {"values": [*DAYS, "2024-03-20", "2024-03-01T23:30:00-02:00", *EDGES]},
    "timestamps": {
        "values": [*map(at, DAYS), "2024-03-15T12:04:59Z", "2024-03-14t23:59:59z", *EDGES]
    },
    "versions": {"values": ["1.0.0", "1.0.1", "2.0.0"]},
    "devices": {"values": ["d1", "d2", "d3"]},
    "tokens": {"values": [PLUGIN_TOKEN]},
    "actions": {"values": ["set", "app_moved_to_foreground", "download_fail"]},
}
PARAMETERS = {
    "path.app_id": {"dictionary": "apps", "probability": 0.6},
    "path.org_id": {"dictionary": "orgs", "probability": 0.6},
    "query.from": {"dictionary": "days", "probability": 0.7},
    "query.to": {"dictionary": "days", "probability": 0.7},
    "body.[*].app_id": {"dictionary": "apps", "probability": 0.7},
    "body.[*].timestamp": {"dictionary": "timestamps", "probability": 0.6},
    "body.[*].version_name": {"dictionary": "versions", "probability": 0.5},
    "body.[*].device_id": {"dictionary": "devices", "probability": 0.5},
    "path.token": {"dictionary": "tokens", "probability": 0.8},
    "body.app_id": {"dictionary": "apps", "probability": 0.7},
    "body.device_id": {"dictionary": "devices", "probability": 0.7},
    "body.version_name": {"dictionary": "versions", "probability": 0.5},
    "body.action": {"dictionary": "actions", "probability": 0.7},
    "body.[*].action": {"dictionary": "actions", "probability": 0.7},
}
INGEST = "/ingest/events"
PLUGIN = "^/plugin/"

# An NDJSON body is generated as text, and sent as such.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")


def load_schema(*, coverage: bool, generated_keys: bool = False) -> schemathesis.BaseSchema:
    """The description, as /openapi.json serves it, of an instance on a throwaway store (the
    description does not depend on the data; each test sends its requests to its own world).

    ``coverage``: also the coverage phase, a deterministic sweep of boundary and invalid values
    of every parameter and body field (except for ingestion with a read key: all 403).
    ``generated_keys``: the key headers are generated (random, empty or absent), not sent.
    """
    config = schemathesis.Config.from_dict(
        {
            "seed": 20240315,
            "dictionaries": DICTIONARIES,
            "parameters": PARAMETERS,
            "generation": {"with-security-parameters": generated_keys},
            "phases": {"coverage": {"enabled": coverage}},
        }
    )
    with tempfile.TemporaryDirectory() as directory:
        store = SQLiteStore(str(Path(directory) / "otastats.db"))
        try:
            app = create_app(NO_LIMITS, store=store, clock=lambda: NOW)
            return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
        finally:
            store.close()


swept = load_schema(coverage=True)
sampled = load_schema(coverage=False)
with_bad_keys = load_schema(coverage=False, generated_keys=True)


@dataclass
class World:
    app: FastAPI
    read_key: str
    all_key: str


def build_world(path: Path, limits: Settings) -> tuple[World, SQLiteStore]:
    """An organization with two apps and a deleted one, some activity, and another tenant."""
    store = SQLiteStore(str(path / "otastats.db"))
    now = datetime_to_micros(NOW)
    store.create_org(ORG_ID, "Example", now)
    store.create_org(FOREIGN_ORG_ID, "Other", now)
    user_id = admin.create_user(store, "ops@example.com", now)
    admin.add_member(store, ORG_ID, user_id, "admin")
    for app_id in (*APPS, DELETED_APP):
        admin.create_app(store, app_id, ORG_ID, now)
    admin.create_app(store, FOREIGN_APP, FOREIGN_ORG_ID, now)
    events: list[dict[str, Any]] = []
    for app_id in (*APPS, DELETED_APP, FOREIGN_APP):
        events += [
            created(app_id, "1.0.0", 1_000, at(DAYS[0])),
            created(app_id, "1.0.1", 2_000, at(DAYS[2])),
            deleted(app_id, "1.0.0", at(DAYS[3])),
            seen(app_id, "d1", at(DAYS[1]), "1.0.0"),
            seen(app_id, "d1", at(DAYS[3]), "1.0.1", platform="android"),
            seen(app_id, "d2", at(DAYS[4]), "1.0.1", is_emulator=True),
            download(app_id, "d1", at(DAYS[3]), 2_000, "1.0.1", event_id="e1"),
        ]
    assert ingest(store, events, now, existing_app).accepted == len(events)
    admin.delete_app(store, DELETED_APP, now)
    token_hash = hash_key(PLUGIN_TOKEN, store.key_secret())
    store.create_plugin_token(PluginToken("t1", APPS[0], token_hash, None, now))
    world = World(
        app=create_app(limits, store=store, clock=lambda: NOW),
        read_key=admin.create_key(store, user_id, "read", now).key,
        all_key=admin.create_key(store, user_id, "all", now).key,
    )
    return world, store


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built, store = build_world(tmp_path, NO_LIMITS)
    try:
        yield built
    finally:
        store.close()


@pytest.fixture
def limited_world(tmp_path: Path) -> Iterator[World]:
    built, store = build_world(tmp_path, TIGHT_LIMITS)
    try:
        yield built
    finally:
        store.close()


CONFORMANCE: list[Callable[..., Any]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    unsupported_method,
    allow_header_conformance,
]


def checks_for(case: schemathesis.Case) -> list[Callable[..., Any]]:
    """Every check that applies with a valid key."""
    if case.operation.path == INGEST:
        # Ingestion judges each event on its own: an event that does not match its schema is
        # rejected inside a 200 answer, by design, so it is no request to refuse with a 4xx.
        return [*CONFORMANCE, ignored_auth]
    return [*CONFORMANCE, ignored_auth, negative_data_rejection]


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        # One world per operation, shared by its examples: it is built once, not per example.
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


@swept.exclude(path=INGEST).exclude(path_regex=PLUGIN).parametrize()
@fuzz(40)
def test_reads_with_a_read_key(case: schemathesis.Case, world: World) -> None:
    key = {"authorization": world.read_key}
    case.call_and_validate(app=world.app, headers=key, checks=checks_for(case))


@sampled.include(path=INGEST).parametrize()
@fuzz(20)
def test_ingestion_with_a_read_key(case: schemathesis.Case, world: World) -> None:
    key = {"authorization": world.read_key}
    response = case.call_and_validate(app=world.app, headers=key, checks=checks_for(case))
    assert response.status_code in (400, 403, 413), response.text


@swept.include(path=INGEST).parametrize()
@fuzz(150)
def test_ingestion_with_a_key_of_mode_all(case: schemathesis.Case, world: World) -> None:
    key = {"authorization": world.all_key}
    response = case.call_and_validate(app=world.app, headers=key, checks=checks_for(case))
    if response.status_code == 200 and response.json()["accepted"]:
        read_back(world, case)


def read_back(world: World, case: schemathesis.Case) -> None:
    """The statistics of the days of a batch's events answer as documented too."""
    key = {"authorization": world.all_key}
    for day in sorted(_timestamps(case.body))[:3]:
        # A timestamp is also a valid `from` and `to`: it stands for its UTC date.
        query = {"from": day, "to": day, "noAccumulate": "true"}
        reads = [
            ("/statistics/org/{org_id}", {"org_id": ORG_ID}, {**query, "breakdown": "true"}),
            ("/statistics/user", {}, {**query, "format": "csv"}),
            *(
                ("/statistics/app/{app_id}/bundle_usage", {"app_id": app_id}, query)
                for app_id in APPS
            ),
            *(("/statistics/app/{app_id}/health", {"app_id": app_id}, query) for app_id in APPS),
        ]
        for path, path_parameters, parameters in reads:
            read = swept[path]["GET"].Case(path_parameters=path_parameters, query=parameters)
            response = read.call_and_validate(app=world.app, headers=key, checks=CONFORMANCE)
            day_number = parse_day(day)
            assert day_number is not None
            # An event may fall on a UTC date before 0001-01-01, which no query can name.
            readable = FIRST_DAY <= day_number <= LAST_DAY
            assert response.status_code == (200 if readable else 400), response.text


def _timestamps(body: object) -> set[str]:
    """The valid timestamps of the events of a body (a JSON array, or NDJSON text)."""
    if isinstance(body, str):
        events: list[object] = []
        for line in body.splitlines():
            try:
                events.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
    else:
        events = body if isinstance(body, list) else []
    return {
        event["timestamp"]
        for event in events
        if isinstance(event, dict)
        and isinstance(event.get("timestamp"), str)
        and parse_instant(event["timestamp"]) is not None
    }


@swept.include(path_regex=PLUGIN).parametrize()
@fuzz(60)
def test_plugin_urls(case: schemathesis.Case, world: World) -> None:
    """No key: the token in the path is the credential. Every answer as documented, never a 500;
    a batch is judged event by event (rejections inside a 200), like ingestion."""
    checks = CONFORMANCE if case.method == "POST" else [*CONFORMANCE, negative_data_rejection]
    response = case.call_and_validate(app=world.app, checks=checks)
    assert response.status_code in (200, 400, 404, 405, 413), response.text


@with_bad_keys.exclude(path_regex=PLUGIN).parametrize()
@fuzz(15)
def test_every_operation_with_bad_keys(case: schemathesis.Case, world: World) -> None:
    """No key, empty headers, or generated (unknown) keys: 401 on every operation but /healthz."""
    response = case.call_and_validate(app=world.app, checks=CONFORMANCE)
    if case.operation.path != "/healthz":
        assert response.status_code == 401, response.text


@sampled.parametrize()
@fuzz(8)
def test_every_operation_over_a_rate_limit(case: schemathesis.Case, limited_world: World) -> None:
    """Three requests a minute per key: the rest of the examples get the documented 429."""
    key = {"authorization": limited_world.read_key}
    response = case.call_and_validate(app=limited_world.app, headers=key, checks=CONFORMANCE)
    if response.status_code == 429:
        assert int(response.headers["retry-after"][0]) >= 1
