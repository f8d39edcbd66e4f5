"""POST /ingest/events through the real app: bodies, per-event rejections, duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from otastats.storage.sqlite import SQLiteStore
from tests.conftest import Tenants, make_client
from tests.helpers_api import (
    NDJSON,
    at,
    created,
    deleted,
    download,
    get_ok,
    ndjson,
    post_events,
    seen,
)

APP = "com.example.app"
OTHER_APP = "com.example.other"
TODAY = "2024-03-15"


@dataclass
class World:
    client: TestClient
    key: str


def build_world(tenants: Tenants, client: TestClient) -> World:
    org_id = tenants.org("acme")
    user_id = tenants.user("owner@example.com", orgs={org_id: "upload"})
    tenants.app(APP, org_id)
    tenants.app(OTHER_APP, org_id)
    return World(client, tenants.key(user_id, "upload"))


@pytest.fixture
def world(tenants: Tenants, client: TestClient) -> World:
    return build_world(tenants, client)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for the many cases that check only what their own request adds."""
    store = SQLiteStore(str(tmp_path_factory.mktemp("ingest") / "otastats.db"))
    with make_client(store) as client:
        yield build_world(Tenants(store), client)
    store.close()


def send(world: World, events: Any, **kwargs: Any) -> dict[str, Any]:
    response = post_events(world.client, world.key, events, **kwargs)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert set(result) == {"accepted", "duplicates", "rejected"}
    return result


def today(world: World, app_id: str = APP) -> dict[str, Any]:
    """Today's point of the app, with today's own bandwidth."""
    points = get_ok(
        world.client,
        world.key,
        f"/statistics/app/{app_id}/",
        **{"from": TODAY, "to": TODAY, "noAccumulate": "true"},
    )
    assert len(points) == 1
    return dict(points[0])


def good() -> dict[str, Any]:
    return download(APP, "d", at(TODAY, "01:00:00"), 1)


# --- bodies -------------------------------------------------------------------------------------


def test_an_ndjson_body(world: World) -> None:
    events = [seen(APP, "d1", at(TODAY, "01:00:00")), download(APP, "d1", at(TODAY), 100)]
    assert send(world, events) == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert today(world) == {"date": TODAY, "mau": 1, "storage": 0, "bandwidth": 100}


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_a_json_array_body(world: World, content_type: str) -> None:
    events = [
        seen(APP, "d1", at(TODAY, "01:00:00")),
        created(APP, "1.0.0", 500, at(TODAY, "00:30:00")),
        download(APP, "d1", at(TODAY), 100),
    ]
    result = send(world, orjson.dumps(events), content_type=content_type)
    assert result == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert today(world) == {"date": TODAY, "mau": 1, "storage": 500, "bandwidth": 100}


def test_a_pretty_printed_json_array(world: World) -> None:
    body = orjson.dumps([good(), good()], option=orjson.OPT_INDENT_2)
    assert send(world, body, content_type="application/json")["accepted"] == 2


def test_an_empty_json_array_accepts_nothing(world: World) -> None:
    assert send(world, b"[]", content_type="application/json") == {
        "accepted": 0,
        "duplicates": 0,
        "rejected": [],
    }


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[{", "application/json"),
        (b"not json at all", "application/json"),
        (b'{"type": "download"}', "application/json"),  # an object, not an array
        (b"not json\n{broken\n", NDJSON),  # no line is JSON
        (b"\xff\xfe\x00", "application/json"),
    ],
)
def test_a_body_that_cannot_be_parsed_is_400(shared: World, body: bytes, content_type: str) -> None:
    response = post_events(shared.client, shared.key, body, content_type=content_type)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert set(answer) == {"status", "error"}
    assert answer["status"] == "Invalid body"
    assert answer["error"].startswith("body:")


def test_a_line_that_is_not_json_is_rejected_on_its_own(world: World) -> None:
    body = ndjson([good()]) + b"{not json\n" + ndjson([good()])
    result = send(world, body)
    assert result["accepted"] == 2
    assert [entry["index"] for entry in result["rejected"]] == [1]
    assert result["rejected"][0]["error"].startswith("event:")


def test_index_counts_only_the_non_empty_ndjson_lines(world: World) -> None:
    bad = download(APP, "d", at(TODAY), -1)
    lines = [
        b"",
        orjson.dumps(good()),
        b"   ",
        b"",
        orjson.dumps(bad),
        b"\t",
        orjson.dumps(good()),
        orjson.dumps({**good(), "type": "nope"}),
        b"",
    ]
    result = send(world, b"\n".join(lines))
    assert result == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": [
            {"index": 1, "error": "bytes: must be >= 0"},
            {
                "index": 3,
                "error": "type: must be one of device_seen, download, bundle_created, "
                "bundle_deleted, action",
            },
        ],
    }


def test_crlf_line_ends_and_a_last_line_without_newline(world: World) -> None:
    body = orjson.dumps(good()) + b"\r\n" + orjson.dumps(good())
    assert send(world, body) == {"accepted": 2, "duplicates": 0, "rejected": []}


def test_index_in_a_json_array_is_the_position(world: World) -> None:
    events = [good(), 42, good(), {**good(), "bytes": -5}]
    result = send(world, orjson.dumps(events), content_type="application/json")
    assert result == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": [
            {"index": 1, "error": "event: must be a JSON object"},
            {"index": 3, "error": "bytes: must be >= 0"},
        ],
    }


def test_unknown_fields_are_ignored(world: World) -> None:
    event = {**good(), "bytes": 9, "colour": "blue", "nested": {"a": [1, 2]}, "type_hint": None}
    assert send(world, [event]) == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert today(world)["bandwidth"] == 9


# --- per-event rejections -------------------------------------------------------------------------


def without(event: dict[str, Any], field: str) -> dict[str, Any]:
    return {name: value for name, value in event.items() if name != field}


SEEN = seen(APP, "d", at(TODAY, "01:00:00"))
DOWNLOAD = download(APP, "d", at(TODAY, "01:00:00"), 10)
CREATED = created(APP, "1.0.0", 10, at(TODAY, "01:00:00"))
DELETED = deleted(APP, "1.0.0", at(TODAY, "01:00:00"))

REJECTIONS = [
    pytest.param({**DOWNLOAD, "bytes": -1}, "bytes", "bytes: must be >= 0", id="bytes-negative"),
    pytest.param({**CREATED, "bytes": -1}, "bytes", "bytes: must be >= 0", id="created-negative"),
    pytest.param({**DOWNLOAD, "bytes": 1.0}, "bytes", None, id="bytes-float"),
    pytest.param({**DOWNLOAD, "bytes": 1.5}, "bytes", None, id="bytes-fraction"),
    pytest.param({**DOWNLOAD, "bytes": "10"}, "bytes", None, id="bytes-string"),
    pytest.param({**DOWNLOAD, "bytes": True}, "bytes", None, id="bytes-boolean"),
    pytest.param({**DOWNLOAD, "bytes": 2**53 + 1}, "bytes", None, id="bytes-above-2^53"),
    pytest.param(without(DOWNLOAD, "bytes"), "bytes", None, id="bytes-missing"),
    pytest.param(without(CREATED, "bytes"), "bytes", None, id="created-bytes-missing"),
    pytest.param(without(SEEN, "timestamp"), "timestamp", None, id="timestamp-missing"),
    pytest.param(without(DELETED, "timestamp"), "timestamp", None, id="deleted-no-timestamp"),
    pytest.param(
        {**SEEN, "timestamp": "2024-03-15T01:00:00"}, "timestamp", None, id="timestamp-no-offset"
    ),
    pytest.param({**SEEN, "timestamp": "2024-03-15"}, "timestamp", None, id="timestamp-date"),
    pytest.param({**SEEN, "timestamp": 1710464400}, "timestamp", None, id="timestamp-number"),
    pytest.param(
        {**SEEN, "timestamp": "2024-02-30T01:00:00Z"}, "timestamp", None, id="timestamp-no-day"
    ),
    pytest.param(
        {**SEEN, "timestamp": "2024-03-15T12:05:00.000001Z"},
        "timestamp",
        "timestamp: must not be more than 5 minutes in the future",
        id="timestamp-future",
    ),
    pytest.param(
        {**SEEN, "timestamp": "2024-03-15T12:00:00-00:06"},  # 12:06 UTC
        "timestamp",
        "timestamp: must not be more than 5 minutes in the future",
        id="timestamp-future-by-its-offset",
    ),
    pytest.param(
        {**SEEN, "timestamp": "1999-12-31T23:59:59.999999Z"},
        "timestamp",
        "timestamp: must not be before 2000-01-01T00:00:00Z",
        id="timestamp-before-2000",
    ),
    pytest.param(
        {**SEEN, "timestamp": "0001-01-01T00:00:00Z"},
        "timestamp",
        "timestamp: must not be before 2000-01-01T00:00:00Z",
        id="timestamp-year-1",
    ),
    pytest.param(
        {**SEEN, "timestamp": "２024-03-15T01:00:00Z"}, "timestamp", None, id="timestamp-wide-digit"
    ),
    pytest.param({**SEEN, "platform": "windows"}, "platform", None, id="platform-unknown"),
    pytest.param({**SEEN, "platform": "IOS"}, "platform", None, id="platform-case"),
    pytest.param(without(SEEN, "platform"), "platform", None, id="platform-missing"),
    pytest.param({**SEEN, "is_emulator": "false"}, "is_emulator", None, id="emulator-string"),
    pytest.param({**SEEN, "is_emulator": 0}, "is_emulator", None, id="emulator-number"),
    pytest.param({**SEEN, "is_emulator": None}, "is_emulator", None, id="emulator-null"),
    pytest.param({**SEEN, "is_prod": "true"}, "is_prod", None, id="prod-string"),
    pytest.param({**SEEN, "is_prod": 1}, "is_prod", None, id="prod-number"),
    pytest.param({**SEEN, "type": "device_checkin"}, "type", None, id="type-unknown"),
    pytest.param(without(SEEN, "type"), "type", None, id="type-missing"),
    pytest.param(without(SEEN, "app_id"), "app_id", None, id="app-missing"),
    pytest.param({**SEEN, "app_id": "bad app"}, "app_id", None, id="app-malformed"),
    pytest.param(without(SEEN, "device_id"), "device_id", None, id="device-missing"),
    pytest.param(without(DOWNLOAD, "device_id"), "device_id", None, id="download-no-device"),
    pytest.param({**SEEN, "device_id": ""}, "device_id", None, id="device-empty"),
    pytest.param(without(SEEN, "version_name"), "version_name", None, id="version-missing"),
    pytest.param(without(DELETED, "version_name"), "version_name", None, id="deleted-no-ver"),
    pytest.param({**SEEN, "version_name": 1}, "version_name", None, id="version-number"),
    pytest.param({**SEEN, "event_id": "x" * 129}, "event_id", None, id="event-id-too-long"),
    pytest.param({**SEEN, "event_id": 7}, "event_id", None, id="event-id-number"),
]


@pytest.mark.parametrize(("event", "field", "exact"), REJECTIONS)
def test_each_rejection_names_the_field_at_fault(
    shared: World, event: dict[str, Any], field: str, exact: str | None
) -> None:
    before = today(shared)["bandwidth"]
    result = send(shared, [good(), event, good()])
    assert result["accepted"] == 2
    assert result["duplicates"] == 0
    assert len(result["rejected"]) == 1
    rejection = result["rejected"][0]
    assert rejection["index"] == 1
    assert rejection["error"].startswith(f"{field}:"), rejection
    if exact is not None:
        assert rejection["error"] == exact
    # Only the two good events were counted.
    assert today(shared)["bandwidth"] == before + 2


@pytest.mark.parametrize(
    "timestamp",
    [
        "2024-03-15T12:05:00Z",  # exactly 5 minutes ahead
        "2024-03-15t11:00:00z",  # lower-case t and z
        "2024-03-15T11:00:00.123456789Z",  # nine fraction digits
        "2024-03-15T11:00:00.1Z",
        "2024-03-15T16:30:00+05:00",  # 11:30 UTC
        "2024-03-15T06:00:00-05:00",  # 11:00 UTC
    ],
)
def test_valid_timestamps_are_accepted(shared: World, timestamp: str) -> None:
    before = today(shared)["bandwidth"]
    result = send(shared, [download(APP, "d", timestamp, 3)])
    assert result == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert today(shared)["bandwidth"] == before + 3


def test_an_offset_puts_the_event_on_its_utc_day(world: World) -> None:
    # 2024-03-15T01:00:00+05:00 is 2024-03-14T20:00:00Z.
    assert send(world, [download(APP, "d", "2024-03-15T01:00:00+05:00", 4)])["accepted"] == 1
    points = get_ok(
        world.client,
        world.key,
        f"/statistics/app/{APP}/",
        **{"from": "2024-03-14", "to": TODAY, "noAccumulate": "true"},
    )
    assert [point["bandwidth"] for point in points] == [4, 0]


@pytest.mark.parametrize("size", [0, 2**53])
def test_bytes_bounds_are_inclusive(world: World, size: int) -> None:
    result = send(world, [download(APP, "d", at(TODAY, "01:00:00"), size)])
    assert result == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert today(world)["bandwidth"] == size


def test_optional_device_fields_and_flags(world: World) -> None:
    event = seen(
        APP,
        "d",
        at(TODAY, "01:00:00"),
        platform="web",
        is_emulator=False,
        is_prod=True,
        version_build="100",
        plugin_version="6.0.0",
        os_version="17.2",
        channel="production",
    )
    counted = [event, {**event, "device_id": "e", "platform": "electron"}]
    uncounted = [
        {**event, "device_id": "emu", "platform": "android", "is_emulator": True},
        {**event, "device_id": "dev", "is_prod": False},
    ]
    assert send(world, counted + uncounted) == {"accepted": 4, "duplicates": 0, "rejected": []}
    assert today(world)["mau"] == 2


def test_accepted_duplicates_and_rejected_add_up_to_the_events_sent(world: World) -> None:
    events: list[Any] = []
    for i in range(30):
        if i % 5 == 0:
            events.append({**good(), "bytes": -i - 1})  # rejected
        elif i % 5 == 1:
            events.append({**good(), "event_id": "same"})  # one accepted, the others duplicates
        else:
            events.append({**good(), "event_id": f"e{i}"})
    result = send(world, events)
    assert result["accepted"] + result["duplicates"] + len(result["rejected"]) == len(events)
    assert result == {
        "accepted": 1 + 18,
        "duplicates": 5,
        "rejected": [{"index": i, "error": "bytes: must be >= 0"} for i in range(0, 30, 5)],
    }
    assert today(world)["bandwidth"] == 19


# --- event_id duplicates ------------------------------------------------------------------------


def test_an_event_id_repeated_in_one_request_is_a_duplicate_whatever_its_content(
    world: World,
) -> None:
    events = [
        download(APP, "d", at(TODAY, "01:00:00"), 100, event_id="e1"),
        download(APP, "other", at("2024-03-14"), 5000, event_id="e1"),  # other content
        seen(APP, "d", at(TODAY, "01:00:00"), event_id="e1"),  # even another type
        download(OTHER_APP, "d", at(TODAY, "01:00:00"), 7, event_id="e1"),  # another app
    ]
    assert send(world, events) == {"accepted": 2, "duplicates": 2, "rejected": []}
    assert today(world) == {"date": TODAY, "mau": 0, "storage": 0, "bandwidth": 100}
    assert today(world, OTHER_APP)["bandwidth"] == 7


def test_an_event_id_resent_in_a_later_request_is_a_duplicate(world: World) -> None:
    events = [
        seen(APP, "d", at(TODAY, "01:00:00"), event_id="s1"),
        download(APP, "d", at(TODAY, "01:00:00"), 100, event_id="b1"),
        download(APP, "d", at(TODAY, "01:00:00"), 1),  # no event_id: never a duplicate
    ]
    assert send(world, events) == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert send(world, events) == {"accepted": 1, "duplicates": 2, "rejected": []}
    # A JSON array body shares the same event ids.
    again = send(world, orjson.dumps(events), content_type="application/json")
    assert again == {"accepted": 1, "duplicates": 2, "rejected": []}
    assert today(world) == {"date": TODAY, "mau": 1, "storage": 0, "bandwidth": 103}


def test_a_rejected_event_does_not_claim_its_event_id(world: World) -> None:
    bad = download(APP, "d", at(TODAY, "01:00:00"), -1, event_id="x")
    fixed = download(APP, "d", at(TODAY, "01:00:00"), 6, event_id="x")
    result = send(world, [bad, fixed])
    assert result == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": [{"index": 0, "error": "bytes: must be >= 0"}],
    }
    assert send(world, [fixed]) == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert today(world)["bandwidth"] == 6


def test_an_event_id_of_128_characters_is_accepted(world: World) -> None:
    event = {**good(), "event_id": "é" * 128}
    assert send(world, [event]) == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert send(world, [event]) == {"accepted": 0, "duplicates": 1, "rejected": []}


# --- readable right after the answer ------------------------------------------------------------


def test_a_figure_is_readable_right_after_the_ingest_answer(world: World) -> None:
    for n in range(1, 4):
        assert send(world, [seen(APP, f"d{n}", at(TODAY, "01:00:00"))])["accepted"] == 1
        assert today(world)["mau"] == n
        assert send(world, [created(APP, f"v{n}", 10, at(TODAY, "01:00:00"))])["accepted"] == 1
        assert today(world)["storage"] == 10 * n
    usage = get_ok(
        world.client,
        world.key,
        f"/statistics/app/{APP}/bundle_usage",
        **{"from": TODAY, "to": TODAY},
    )
    assert usage["datasets"] == [{"label": "1.0.0", "data": [100.0], "counts": [3]}]


def test_ingestion_answers_json(world: World) -> None:
    response = post_events(world.client, world.key, [good()])
    assert response.headers["content-type"].startswith("application/json")
