"""POST and GET /plugin/:token/stats through the real app: every answer of SPEC section 7, the
payload shapes of plugin 5.x, 7.x and 8.x and of the Electron updater, retried batches."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from otastats.plugin.token_cache import TOKEN_RECHECK_S
from otastats.storage.base import Store
from tests.plugin.helpers import (
    APP,
    NOW_MS,
    OTHER_APP,
    World,
    device,
    mau,
    plugin_world,
    stat,
    token_of,
    usage,
)


@pytest.fixture
def world(store: Store) -> Iterator[World]:
    with plugin_world(store) as built:
        yield built


def post(world: World, body: Any, **headers: str) -> Any:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return world.client.post(
        world.stats, content=content, headers={"content-type": "application/json", **headers}
    )


def stored_actions(world: World) -> list[tuple[Any, ...]]:
    with sqlite3.connect(getattr(world.store, "path")) as conn:  # noqa: B009
        return conn.execute(
            "SELECT action, device_id, version_name, ts FROM events WHERE type = 4 ORDER BY rowid"
        ).fetchall()


# --- answers ------------------------------------------------------------------------------------


def test_one_event_accepted(world: World) -> None:
    response = post(world, device(action="app_moved_to_foreground"))
    assert (response.status_code, response.content) == (200, b'{"status":"ok"}')
    assert response.headers["content-type"] == "application/json"
    assert mau(world) == 1


def test_an_array_gets_a_result_per_event(world: World) -> None:
    response = post(world, [stat("set"), stat("set", is_prod="yes"), stat("app_launch_ready")])
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "results": [
            {"status": "ok", "index": 0},
            {
                "status": "error",
                "index": 1,
                "error": "invalid_event",
                "message": "is_prod: must be a boolean",
            },
            {"status": "ok", "index": 2},
        ],
    }


def test_an_empty_array(world: World) -> None:
    assert post(world, []).json() == {"status": "ok", "results": []}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"is_prod": "yes"}, "is_prod: must be a boolean"),
        ({"app_id": OTHER_APP}, "app_id: must be the app this plugin URL reports for"),
        ({"app_id": None}, "app_id: is required"),
        ({"device_id": ""}, "device_id: must be a string of 1 to 64 characters"),
        ({"device_id": None}, "device_id: is required"),
        ({"action": "bad action"}, "action: must be 1 to 64 characters"),
        ({"action": None}, "action: is required"),
        ({"version_name": None}, "version_name: is required"),
        ({"metadata": "x"}, "metadata: must be an object"),
    ],
)
def test_one_event_rejected(world: World, change: dict[str, Any], message: str) -> None:
    response = post(world, {**device(action="set"), **change})
    assert response.status_code == 400
    answer = response.json()
    assert set(answer) == {"error", "message"}
    assert answer["error"] == "invalid_event"
    assert answer["message"].startswith(message)
    assert stored_actions(world) == []


@pytest.mark.parametrize(
    "body", [b"", b"{", b"not json", b"\xff\xfe", b"[1, 2", b"3", b'"text"', b"null", b"true"]
)
def test_a_body_that_is_not_json_or_neither_object_nor_array(world: World, body: bytes) -> None:
    response = post(world, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_json_body"


def test_array_items_that_are_not_objects_are_rejected_on_their_own(world: World) -> None:
    results = post(world, [1, None, stat("set")]).json()["results"]
    assert [r["status"] for r in results] == ["error", "error", "ok"]
    assert results[0]["message"] == "event: must be a JSON object"


def test_deeply_nested_json_is_a_400_not_a_500(world: World) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    assert post(world, body).status_code in (400, 413)
    nested = b'{"a":' * 5000 + b"1" + b"}" * 5000
    assert post(world, nested).status_code == 400


def test_too_many_events_or_bytes_is_413_and_stores_nothing(world: World) -> None:
    response = post(world, [stat("set")] * 1001)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    big = [stat("set", metadata={"k": "x" * 2000}) for _ in range(600)]
    assert post(world, big).status_code == 413
    assert stored_actions(world) == []
    assert post(world, [stat("set")] * 1000).status_code == 200


@pytest.mark.parametrize("token", ["nope", "otp_" + "A" * 43, "otp_" + "A" * 42 + "!", "x" * 300])
def test_an_unknown_or_malformed_token_is_404(world: World, token: str) -> None:
    for method in ("GET", "POST"):
        response = world.client.request(method, f"/plugin/{token}/stats", content=b"{}")
        assert response.status_code == 404
        assert response.json() == {
            "error": "unknown_plugin_url",
            "message": "This plugin URL is not known: it may have been revoked; create one with"
            " `otastats plugin create APP_ID`",
        }


def test_get_answers_the_reachability_check(world: World) -> None:
    response = world.client.get(world.stats)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


# --- what counts ----------------------------------------------------------------------------


def test_plugin_5_and_7_single_objects_without_timestamp(world: World) -> None:
    old = device(action="app_moved_to_foreground", plugin_version="5.9.5")
    del old["defaultChannel"]
    assert post(world, old).status_code == 200
    v7 = device(device_id="A1B2", action="set", plugin_version="7.36.1", version_name="1.3.0")
    assert post(world, {**v7, "old_version_name": "1.2.0"}).status_code == 200
    assert mau(world) == 2
    assert usage(world) == {"1.2.0": [1], "1.3.0": [1]}


def test_plugin_8_batches_with_timestamps_metadata_and_unknown_fields(world: World) -> None:
    batch = [
        stat("app_launch_start", timestamp=NOW_MS - 5000, metadata={"source": "cold"}),
        stat("app_moved_to_foreground", timestamp=NOW_MS - 4000, key_id="abc"),
        stat("webview_page_loaded", timestamp=NOW_MS - 3000, install_source="app_store"),
        stat("download_manifest_file_fail", version_name="1.3.0:assets/app.js"),
        stat("brand_new_action_v9", timestamp=NOW_MS - 1000, some_future_field={"x": [1]}),
        stat(
            "app_launch_ready",
            metadata={"duration_ms": "812", "launch_started_at": "1"},
            custom_id=None,
            channel=None,
            key_id=None,
        ),
    ]
    results = post(world, batch).json()["results"]
    assert all(result["status"] == "ok" for result in results), results
    assert mau(world) == 1
    assert usage(world) == {"1.2.0": [1]}
    actions = stored_actions(world)
    assert [a[0] for a in actions] == [event["action"] for event in batch]
    assert actions[3][2] == "1.3.0"


def test_upper_case_ios_ids_are_one_device(world: World) -> None:
    ios = {"platform": "ios", "version_os": "17.4"}
    post(world, [stat("set", device_id="ABCDEF-01", **ios)])
    post(world, [stat("app_moved_to_foreground", device_id="abcdef-01", **ios)])
    assert mau(world) == 1
    assert {row[1] for row in stored_actions(world)} == {"abcdef-01"}


def test_builtin_and_empty_versions_become_the_native_build(world: World) -> None:
    post(world, [stat("set", device_id="d1", version_name="builtin", version_build="2.0.0")])
    post(world, [stat("set", device_id="d2", version_name="", version_build="")])
    assert usage(world) == {"2.0.0": [1], "builtin": [1]}


def test_electron_updater_objects(world: World) -> None:
    electron = device(
        platform="electron",
        plugin_version="0.0.1",
        custom_id=None,
        version_build="3.1.0",
        old_version_name="",
    )
    for body in (
        {**electron, "action": "set", "bundle_id": "b1", "version_name": "3.2.0"},
        {**electron, "action": "download_fail", "message": "network", "version_name": "3.3.0"},
        {**electron, "action": "download_complete", "bundle_id": "b2", "version_name": "3.3.0"},
    ):
        assert post(world, body).status_code == 200
    assert usage(world) == {"3.2.0": [1]}


def test_emulators_and_development_builds_are_stored_not_counted(world: World) -> None:
    post(world, [stat("set", device_id="e1", is_emulator=True), stat("set", is_prod=False)])
    assert mau(world) == 0
    assert len(stored_actions(world)) == 2


def test_a_resent_batch_changes_nothing_and_stores_nothing_twice(world: World) -> None:
    batch = [stat("set", timestamp=NOW_MS - i, device_id=f"d{i}") for i in range(5)]
    assert post(world, batch).status_code == 200
    before = (mau(world), usage(world), stored_actions(world))
    for _ in range(2):
        assert post(world, batch).json()["results"][0] == {"status": "ok", "index": 0}
    assert (mau(world), usage(world), stored_actions(world)) == before


def test_a_timestamp_out_of_its_window_is_the_moment_of_receipt(world: World) -> None:
    day_ms = 86_400_000
    post(world, [stat("set", device_id="old", timestamp=NOW_MS - 31 * day_ms)])
    post(world, [stat("set", device_id="future", timestamp=NOW_MS + 6 * 60_000)])
    post(world, [stat("set", device_id="fine", timestamp=NOW_MS - 2 * day_ms)])
    post(world, [stat("set", device_id="text", timestamp="yesterday")])
    times = {row[1]: row[3] for row in stored_actions(world)}
    now_us = NOW_MS * 1000
    assert times == {
        "old": now_us,
        "future": now_us,
        "fine": now_us - 2 * day_ms * 1000,
        "text": now_us,
    }


def test_the_events_of_another_app_are_refused(world: World) -> None:
    response = post(world, [stat("set", app_id=OTHER_APP), stat("set", app_id=APP.upper())])
    assert [r["message"] for r in response.json()["results"]] == [
        "app_id: must be the app this plugin URL reports for"
    ] * 2
    assert stored_actions(world) == []


def test_revoked_unknown_and_deleted_app_tokens_get_byte_identical_404s(store: Store) -> None:
    """Within the second a server process trusts a token it read (TOKEN_RECHECK_S), then at
    once: the cache's clock is moved by hand."""
    from otastats.admin import service as admin
    from otastats.plugin import tokens

    with plugin_world(store) as world:
        live_tokens = world.client.app.state.plugin.tokens  # type: ignore[attr-defined]
        moment = [0.0]
        live_tokens.clock = lambda: moment[0]
        assert world.client.get(world.stats).status_code == 200
        unknown = world.client.get("/plugin/otp_" + "B" * 43 + "/stats").content
        tokens.revoke_token(store, world.token_id, 0)
        moment[0] = TOKEN_RECHECK_S - 0.001
        assert world.client.get(world.stats).status_code == 200  # read less than 1 s ago
        moment[0] = TOKEN_RECHECK_S
        revoked = [world.client.request(m, world.stats).content for m in ("GET", "POST")]
        other = token_of(tokens.create_token(store, OTHER_APP, 0).stats_url)
        assert world.client.get(f"/plugin/{other}/stats").status_code == 200
        admin.delete_app(store, OTHER_APP, 1)
        moment[0] += TOKEN_RECHECK_S
        deleted = world.client.post(f"/plugin/{other}/stats", content=b"{}").content
        assert revoked == [unknown, unknown]
        assert deleted == unknown
