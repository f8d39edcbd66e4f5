"""Property tests of SPEC section 8: the health endpoint equals its brute-force oracle.

Random device reports (check-ins, installs, failures, rollbacks, crashes, JavaScript errors,
unknown actions, device_seen) from real devices, emulators and development builds, from old and
new Capacitor plugins and Electron, with `builtin` and `"<version>:<file>"` names, late reports
and re-sent batches, go through ``POST /ingest/events`` in a random order and random batches on
a real store; every answer of ``GET /statistics/app/:app_id/health`` must then equal
``tests/health_oracle.py`` exactly, and two arrival orders must give byte-identical answers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from tests import health_oracle
from tests.contract.test_property import (
    APPS,
    DEVICES,
    SETTINGS,
    TODAY,
    VERSIONS,
    Item,
    PostgresSchemas,
    Range,
    _as_action,
    _event_id,
    assert_exact,
    check_refused,
    delete_app,
    ingest,
    instants,
    plain_instants,
    plans,
    query_lists,
    texts_of,
    world,
)
from tests.oracle import parse_date_param

pytestmark = pytest.mark.slow

HEALTH_ACTIONS = (
    "set",
    "set",
    "set_fail",
    "update_fail",
    "update_fail",
    "download_fail",
    "download_fail",
    "download_manifest_file_fail",
    "insufficient_disk_space",
    "app_crash",
    "app_anr",
    "webview_render_process_gone",
    "webview_javascript_error",
    "webview_unhandled_rejection",
    "app_moved_to_foreground",
    "app_launch_ready",
    "webview_page_loaded",
    "fail",
    "set_failure",
)
PLUGIN_VERSIONS = (
    None,
    "5.9.5",
    "6.14.24",
    "6.14.25",
    "6.20.0",
    "7.16.9",
    "7.17.0-beta.1",
    "7.17.0",
    "7.17.0+build.3",
    "8.51.14",
    "07.17.0",
    "7.17",
    "latest",
)
FLAGS = ((None, None), (None, None), (False, True), (True, None), (None, False), (True, False))
"""(is_emulator, is_prod): mostly counted, sometimes an emulator or a development build."""


@st.composite
def reports(draw: st.DrawFn, shared: list[datetime]) -> dict[str, Any]:
    """One report of a device: an action (most often) or a device_seen."""
    event: dict[str, Any] = {
        "type": "device_seen",
        "app_id": draw(st.sampled_from(APPS)),
        "device_id": draw(st.sampled_from(DEVICES[:5])),
        "timestamp": draw(texts_of(draw(instants(shared)))),
        "version_name": draw(st.sampled_from(VERSIONS[:4])),
        "platform": draw(st.sampled_from(("ios", "android", "electron"))),
    }
    if draw(st.integers(0, 5)) > 0:
        event = _as_action(draw, event, draw(st.sampled_from(HEALTH_ACTIONS)))
        if draw(st.booleans()):
            event["plugin_version"] = draw(st.sampled_from(PLUGIN_VERSIONS))
        if draw(st.booleans()):
            event["platform"] = draw(st.sampled_from(("ios", "android", "electron", "web", None)))
    emulator, prod = draw(st.sampled_from(FLAGS))
    if emulator is not None:
        event["is_emulator"] = emulator
    if prod is not None:
        event["is_prod"] = prod
    return _event_id(draw, event)


@st.composite
def rollouts(draw: st.DrawFn, shared: list[datetime]) -> list[dict[str, Any]]:
    """One device over some days: set, then check-ins, maybe a rollback, and a late report
    of an earlier day (sent in any order with the rest)."""
    app_id = draw(st.sampled_from(APPS))
    device = draw(st.sampled_from(DEVICES))
    end = draw(instants(shared))
    result = []
    versions = draw(st.lists(st.sampled_from(VERSIONS[:3]), min_size=1, max_size=2, unique=True))
    for back, action in draw(
        st.lists(
            st.tuples(st.integers(0, 12), st.sampled_from((*HEALTH_ACTIONS[:7], "app_crash"))),
            min_size=2,
            max_size=6,
        )
    ):
        event = {
            "type": "action",
            "app_id": app_id,
            "device_id": device,
            "action": action,
            "timestamp": draw(texts_of(end - timedelta(days=back, seconds=back * 997))),
            "version_name": draw(st.sampled_from(versions)),
            "platform": draw(st.sampled_from(("ios", "android", "electron"))),
        }
        plugin = draw(st.sampled_from(PLUGIN_VERSIONS))
        if plugin is not None:
            event["plugin_version"] = plugin
        result.append(event)
    return result


@st.composite
def recent_ranges(draw: st.DrawFn) -> Range:
    """A range ending in the last two weeks, so that totals stop before some reports."""
    end = TODAY - timedelta(days=draw(st.integers(0, 14)))
    start = end - timedelta(days=draw(st.integers(0, 20)))
    return Range(start.isoformat(), end.isoformat(), None, None, draw(st.booleans()))


def health_queries(most: int) -> st.SearchStrategy[list[Range]]:
    return st.builds(
        lambda wide, recent: [*wide, *recent],
        query_lists(most),
        st.lists(recent_ranges(), min_size=1, max_size=most),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Item], str | None]:
    shared = draw(st.lists(plain_instants(), min_size=1, max_size=3))
    valid = draw(st.lists(reports(shared), max_size=40))
    for group in draw(st.lists(rollouts(shared), min_size=1, max_size=4)):
        valid += group
    for index in draw(st.lists(st.integers(0, max(0, len(valid) - 1)), max_size=4)):
        if valid:
            valid.append(dict(valid[index]))  # re-sent, with or without its event_id
    # One content per (app_id, event_id): which copy arrives first then changes nothing.
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for i, event in enumerate(valid):
        if "event_id" in event:
            valid[i] = dict(first.setdefault((event["app_id"], event["event_id"]), event))
    return [(event, None) for event in valid], draw(st.sampled_from((None, None, *APPS)))


def check(
    items: list[Item],
    deleted: str | None,
    queries: list[Range],
    data: st.DataObject,
    postgres: PostgresSchemas,
) -> list[bytes]:
    plan = data.draw(plans(items), label="plan")
    bodies = []
    with world(postgres) as w:
        arrived = ingest(w, plan)
        delete_app(w, deleted)
        note(f"{len(arrived)} events arrived")
        for query in queries:
            from_, to = parse_date_param(query.from_text), parse_date_param(query.to_text)
            for app_id in APPS:
                path = f"/statistics/app/{app_id}/health{'/' if query.slash else ''}"
                response = w.get(path, w.keys["owner"], query.params)
                where = f"GET {path} {query.params}"
                if app_id == deleted:
                    check_refused(response, 403, "You can't access this app", where)
                    continue
                assert response.status_code == 200, (where, response.text)
                expected = health_oracle.health(arrived, app_id, from_, to, TODAY)
                assert_exact(response.json(), expected, where)
                bodies.append(response.content)
    return bodies


@settings(SETTINGS, max_examples=60)
@given(scenario=scenarios(), queries=health_queries(3), data=st.data())
def test_health_equals_the_brute_force_oracle(
    scenario: tuple[list[Item], str | None], queries: list[Range], data: st.DataObject
) -> None:
    check(*scenario, queries, data, None)


@settings(SETTINGS, max_examples=15)
@given(scenario=scenarios(), queries=health_queries(2), data=st.data())
def test_health_equals_the_brute_force_oracle_on_postgres(
    postgres_schemas: Callable[[], str],
    scenario: tuple[list[Item], str | None],
    queries: list[Range],
    data: st.DataObject,
) -> None:
    check(*scenario, queries, data, postgres_schemas)


@settings(SETTINGS, max_examples=20)
@given(scenario=scenarios(), queries=health_queries(2), data=st.data())
def test_two_arrival_orders_give_byte_identical_health(
    scenario: tuple[list[Item], str | None], queries: list[Range], data: st.DataObject
) -> None:
    first = check(*scenario, queries, data, None)
    assert first == check(*scenario, queries, data, None)
