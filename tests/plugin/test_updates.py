"""POST /plugin/:token/updates: a check-in, then "no update", or the answer of the app's own
update server (a real HTTP server on loopback here), passed through unchanged."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import orjson
import pytest

from otastats.config import Settings
from otastats.storage.base import Store
from tests.cli_helpers import free_port
from tests.plugin.helpers import OTHER_APP, World, device, mau, plugin_world, usage

UP_TO_DATE = {
    "error": "no_new_version_available",
    "message": "No new version available",
    "kind": "up_to_date",
}
SLOW_SECONDS = 2.0
TIMEOUT = Settings(rate_limit=0, auth_failure_limit=0, plugin_rate_limit=0, upstream_timeout_ms=300)


class FakeUpdateServer(BaseHTTPRequestHandler):
    """/update answers an update with status 200; /missing answers 404 in plain text; /slow
    answers after SLOW_SECONDS. Every request received is kept."""

    received: ClassVar[list[tuple[str, bytes, dict[str, str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.received.append((self.path, body, {k.lower(): v for k, v in self.headers.items()}))
        if self.path == "/slow":
            time.sleep(SLOW_SECONDS)
        if self.path == "/missing":
            self._answer(404, b"no such channel", "text/plain")
        else:
            update = {"version": "1.3.0", "url": "https://cdn.example/1.3.0.zip", "checksum": "ab"}
            self._answer(200, orjson.dumps(update), "application/json; charset=utf-8")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the slow answer's client gave up: what the test wants

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def update_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeUpdateServer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def check(world: World, body: Any, **headers: str) -> Any:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return world.client.post(world.updates, content=content, headers=headers)


def test_without_upstream_a_check_in_then_up_to_date(store: Store) -> None:
    with plugin_world(store) as world:
        response = check(world, device(device_id="ABC-1", version_name="1.2.0"))
        assert response.status_code == 200
        assert response.json() == UP_TO_DATE
        assert mau(world) == 1
        assert usage(world) == {"1.2.0": [1]}


def test_an_emulator_check_is_answered_but_not_counted(store: Store) -> None:
    with plugin_world(store) as world:
        assert check(world, device(is_emulator=True)).json() == UP_TO_DATE
        assert mau(world) == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "body: not valid JSON"),
        (b"[]", "body: must be one JSON object"),
        (orjson.dumps(device(device_id=None)), "device_id: is required"),
        (orjson.dumps(device(app_id=OTHER_APP)), "app_id: must be the app"),
        (orjson.dumps(device(is_prod="no")), "is_prod: must be a boolean"),
    ],
)
def test_a_bad_body_is_400_and_not_forwarded(
    store: Store, update_server: str, body: bytes, message: str
) -> None:
    FakeUpdateServer.received.clear()
    with plugin_world(store, upstream=update_server + "/update") as world:
        response = check(world, body)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_json_body"
        assert response.json()["message"].startswith(message)
        assert mau(world) == 0
    assert FakeUpdateServer.received == []


def test_the_upstream_answer_is_passed_through_unchanged(store: Store, update_server: str) -> None:
    FakeUpdateServer.received.clear()
    body = orjson.dumps(device(version_name="1.2.0"))
    headers = {"content-type": "application/json", "user-agent": "CapacitorUpdater/8.51.14"}
    with plugin_world(store, upstream=update_server + "/update") as world:
        for _ in range(3):
            response = check(world, body, **headers)
            assert response.status_code == 200
            assert response.json() == {
                "version": "1.3.0",
                "url": "https://cdn.example/1.3.0.zip",
                "checksum": "ab",
            }
            assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert mau(world) == 1
    assert [(path, sent) for path, sent, _ in FakeUpdateServer.received] == [("/update", body)] * 3
    forwarded = FakeUpdateServer.received[0][2]
    assert forwarded["content-type"] == "application/json"
    assert forwarded["user-agent"] == "CapacitorUpdater/8.51.14"


def test_an_upstream_error_status_is_passed_through_and_the_check_in_kept(
    store: Store, update_server: str
) -> None:
    with plugin_world(store, upstream=update_server + "/missing") as world:
        response = check(world, device())
        assert (response.status_code, response.content) == (404, b"no such channel")
        assert response.headers["content-type"] == "text/plain"
        assert mau(world) == 1


def test_a_slow_upstream_is_502_after_the_timeout(store: Store, update_server: str) -> None:
    with plugin_world(store, upstream=update_server + "/slow", settings=TIMEOUT) as world:
        started = time.monotonic()
        response = check(world, device())
        assert time.monotonic() - started < SLOW_SECONDS
        assert response.status_code == 502
        assert response.json() == {
            "error": "upstream_unavailable",
            "message": "the update server did not answer in time",
        }
        assert mau(world) == 1


def test_an_upstream_that_is_down_is_502(store: Store) -> None:
    down = f"http://127.0.0.1:{free_port()}/updates"
    with plugin_world(store, upstream=down, settings=TIMEOUT) as world:
        response = check(world, device())
        assert response.status_code == 502
        assert response.json()["message"] == "the update server could not be reached"
        assert mau(world) == 1
