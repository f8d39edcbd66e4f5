"""The bounds on a request body's shape (otastats.request_body), through POST /ingest/events of
the real application: bodies within 10 MiB that would cost far more memory than their bytes
are refused with a 400 naming the bound, before they are parsed; bodies within the bounds go on.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from otastats.config import MAX_JSON_CONTAINERS, MAX_JSON_DEPTH, MAX_JSON_SEPARATORS
from otastats.errors import InvalidBody
from otastats.request_body import (
    SCAN_WINDOW,
    check_json_depth,
    check_json_size,
    loads_bounded,
)
from tests.conftest import Tenants
from tests.helpers_api import NDJSON, at, download, ndjson, post_events

APP = "com.example.app"
JSON = "application/json"


def event(**extra: Any) -> dict[str, Any]:
    return {**download(APP, "d1", at("2024-03-15"), 10), **extra}


@pytest.fixture
def key(tenants: Tenants) -> str:
    org_id = tenants.org("acme")
    user_id = tenants.user("owner@example.com", orgs={org_id: "admin"})
    tenants.app(APP, org_id)
    return tenants.key(user_id, "all")


def refused(response: Any) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == "Invalid body"
    error: str = body["error"]
    return error


def test_one_event_holding_millions_of_empty_objects_is_refused(client: Any, key: str) -> None:
    # The body of the report: 10 MiB, one event, about 3.5 million empty objects.
    filler = b",".join([b"{}"] * 3_400_000)
    body = b'[{"type": "download", "ignored": [' + filler + b"]}]"
    assert len(body) < 10 * 1024 * 1024
    error = refused(post_events(client, key, body, content_type=JSON))
    assert error == (
        f"body: more than {MAX_JSON_CONTAINERS:,} JSON objects and arrays; an event is one flat"
        " object: leave out nested values the service does not read"
    )


def test_a_wide_array_of_scalars_is_refused(client: Any, key: str) -> None:
    body = orjson.dumps([event(ignored=list(range(MAX_JSON_SEPARATORS + 1)))])
    error = refused(post_events(client, key, body, content_type=JSON))
    assert error.startswith(f"body: more than {MAX_JSON_SEPARATORS:,} commas;")


@pytest.mark.parametrize("content_type", [JSON, NDJSON])
def test_a_deep_event_is_refused_in_either_format(client: Any, key: str, content_type: str) -> None:
    deep: Any = 1
    for _ in range(MAX_JSON_DEPTH - 1):  # the event, then 7 levels: 9 with the array
        deep = [deep]
    events = [event(), event(ignored=deep)]
    body = orjson.dumps(events) if content_type == JSON else ndjson(events)
    error = refused(post_events(client, key, body, content_type=content_type))
    assert error.startswith(f"body: JSON nested more than {MAX_JSON_DEPTH} levels deep")


@pytest.mark.parametrize("content_type", [JSON, NDJSON])
def test_an_event_nested_up_to_the_bound_is_accepted(
    client: Any, key: str, content_type: str
) -> None:
    deep: Any = 1
    for _ in range(MAX_JSON_DEPTH - 2):  # 8 levels with the event and the array
        deep = {"a": deep}
    events = [event(ignored=deep)]
    body = orjson.dumps(events) if content_type == JSON else ndjson(events)
    response = post_events(client, key, body, content_type=content_type)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1


def test_a_full_request_of_ordinary_events_fits_the_bounds(client: Any, key: str) -> None:
    # 10,000 events with two unknown fields each, one of them a small object.
    events = [
        event(event_id=f"e{index}", note="a, b, c", context={"screen": "home", "tabs": [1, 2]})
        for index in range(10_000)
    ]
    response = post_events(client, key, orjson.dumps(events), content_type=JSON)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 10_000


def test_blank_ndjson_lines_are_skipped_without_a_step_each(client: Any, key: str) -> None:
    body = b"\n" * (5 * 1024 * 1024) + ndjson([event()]) + b" \r\n\t\n" * 100_000
    response = post_events(client, key, body, content_type=NDJSON)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}


def test_indexes_count_only_the_lines_that_are_not_blank(client: Any, key: str) -> None:
    body = b"\n\n  \n" + ndjson([event()]) + b"\n\n" + b"not json\n  \n" + ndjson([{"a": 1}])
    result = post_events(client, key, body, content_type=NDJSON).json()
    assert result["accepted"] == 1
    assert [rejection["index"] for rejection in result["rejected"]] == [1, 2]


def test_the_bounds_apply_to_the_bytes_before_parsing() -> None:
    check_json_size(b"[" + b"{}," * (MAX_JSON_CONTAINERS // 2 - 1) + b"{}]")
    with pytest.raises(InvalidBody):
        check_json_size(b"{" * (MAX_JSON_CONTAINERS + 1))
    # Counted in strings too: what the bound is about is the bytes, not the parsed value.
    with pytest.raises(InvalidBody):
        check_json_size(b'["' + b"," * (MAX_JSON_SEPARATORS + 1) + b'"]')


def test_depth_counts_the_outermost_value_as_level_one() -> None:
    check_json_depth([[1]], levels=2)
    check_json_depth({"a": {"b": 1}}, levels=2)
    with pytest.raises(InvalidBody):
        check_json_depth([[[1]]], levels=2)
    with pytest.raises(InvalidBody):
        check_json_depth({"a": [{"b": 1}]}, levels=2)
    check_json_depth("scalar", levels=0)


def test_loads_bounded_names_invalid_json() -> None:
    with pytest.raises(InvalidBody, match=r"^body: not valid JSON"):
        loads_bounded(b"[1,")
    assert loads_bounded(b'{"a": [1, 2]}') == {"a": [1, 2]}


def test_lines_longer_than_a_scan_window_are_read_whole(client: Any, key: str) -> None:
    long_event = event(note="n" * (SCAN_WINDOW + 10))
    body = b" " * (SCAN_WINDOW - 3) + ndjson([long_event, event(event_id="2")]) + b"\n" * 10
    result = post_events(client, key, body, content_type="text/plain").json()
    assert result == {"accepted": 2, "duplicates": 0, "rejected": []}
