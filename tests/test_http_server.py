"""The limits of the HTTP server (otastats.http_server), against a real ``otastats serve``.

Header floods get a 431 at once and leave /healthz answering within 100 ms; a key that may not
write gets its 401 or 403 before its body is sent; slow headers and slow or short bodies are
cut off at the timeouts of the settings (short ones here, so that the tests take seconds); a
client that goes away mid-body is a quiet log line, not an internal error.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import pytest

from otastats.admin import service as admin
from otastats.config import Settings, SettingsError
from otastats.http_server import ServerLimits
from otastats.storage.sqlite import SQLiteStore
from otastats.timeparse import datetime_to_micros
from tests.cli_helpers import Server, db_url, serve
from tests.conftest import NOW

HEADER_TIMEOUT_MS = 800
BODY_TIMEOUT_MS = 800
TEN_MIB = 10 * 1024 * 1024


@dataclass(frozen=True)
class Live:
    server: Server
    host: str
    port: int
    read_key: str
    write_key: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    workdir = tmp_path_factory.mktemp("http-server")
    database = workdir / "otastats.db"
    store = SQLiteStore(str(database))
    try:
        now = datetime_to_micros(NOW)
        org_id = admin.create_org(store, "Acme", now)
        user_id = admin.create_user(store, "owner@example.com", now)
        admin.add_member(store, org_id, user_id, "admin")
        admin.create_app(store, "com.example.app", org_id, now)
        read_key = admin.create_key(store, user_id, "read", now).key
        write_key = admin.create_key(store, user_id, "all", now).key
    finally:
        store.close()
    env = {
        "OTASTATS_HEADER_TIMEOUT_MS": str(HEADER_TIMEOUT_MS),
        "OTASTATS_BODY_TIMEOUT_MS": str(BODY_TIMEOUT_MS),
        "OTASTATS_RATE_LIMIT": "0",
        "OTASTATS_AUTH_FAILURE_LIMIT": "0",
    }
    with serve(database=db_url(database), workdir=workdir, env=env) as server:
        host, port = server.base.removeprefix("http://").split(":")
        yield Live(server, host, int(port), read_key, write_key)


def connect(live: Live) -> socket.socket:
    return socket.create_connection((live.host, live.port), timeout=10)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def status_and_body(response: bytes) -> tuple[int, dict[str, str]]:
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, orjson.loads(body)


def flood(headers: int, value: bytes = b"x" * 20) -> bytes:
    fields = b"".join(b"X-Flood-%d: %s\r\n" % (index, value) for index in range(headers))
    return b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n" + fields + b"\r\n"


def healthz_seconds(live: Live) -> float:
    connection = http.client.HTTPConnection(live.host, live.port, timeout=10)
    try:
        started = time.perf_counter()
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        return time.perf_counter() - started
    finally:
        connection.close()


# --- header floods ---------------------------------------------------------------------------


def test_too_many_header_fields_get_a_431_at_once(live: Live) -> None:
    with connect(live) as sock:
        sock.sendall(flood(20_000))
        status, body = status_and_body(read_until_closed(sock))
    assert status == 431
    assert body == {
        "status": "Request headers too large",
        "error": "headers: more than 100 header fields; send fewer",
    }


def test_too_many_header_bytes_get_a_431(live: Live) -> None:
    with connect(live) as sock:
        sock.sendall(flood(2, b"y" * 20_000))
        status, body = status_and_body(read_until_closed(sock))
    assert status == 431
    assert body["status"] == "Request headers too large"
    assert "16,384 bytes" in body["error"]


def test_a_long_request_target_counts_with_the_headers(live: Live) -> None:
    with connect(live) as sock:
        sock.sendall(b"GET /healthz?" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, _ = status_and_body(read_until_closed(sock))
    assert status == 431


def test_healthz_answers_within_100_ms_while_header_floods_run(live: Live) -> None:
    stop = threading.Event()
    answers: list[int] = []

    def flooder() -> None:
        payload = flood(20_000)
        while not stop.is_set():
            with connect(live) as sock:
                # The server closes after its 431: what the flood still sends is dropped.
                with contextlib.suppress(OSError):
                    sock.sendall(payload)
                answers.append(status_and_body(read_until_closed(sock))[0])

    threads = [threading.Thread(target=flooder) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.2)
        latencies = []
        for _ in range(20):
            latencies.append(healthz_seconds(live))
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert len(answers) >= 3
    assert set(answers) == {431}
    # The median over 20 probes: one probe may meet a busy machine; before the limits, each
    # waited for the floods (14 s with three at once).
    assert statistics.median(latencies) < 0.1, latencies
    assert max(latencies) < 1.0, latencies


# --- the key before the body -----------------------------------------------------------------


def upload_headers(key: str, length: int = TEN_MIB) -> bytes:
    return (
        b"POST /ingest/events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Authorization: %s\r\nContent-Length: %d\r\n\r\n" % (key.encode(), length)
    )


def test_a_read_key_gets_its_403_before_the_body_is_sent(live: Live) -> None:
    with connect(live) as sock:
        sock.sendall(upload_headers(live.read_key))
        # No byte of the 10 MiB body was sent; the answer comes, then the connection closes.
        status, body = status_and_body(read_until_closed(sock))
    assert status == 403
    assert body["status"] == "You can't access this app"


def test_an_unknown_key_gets_its_401_before_the_body_is_sent(live: Live) -> None:
    with connect(live) as sock:
        sock.sendall(upload_headers("ota_not_a_key"))
        status, body = status_and_body(read_until_closed(sock))
    assert status == 401
    assert body == {"status": "Invalid API key", "error": "The API key is not known"}


def test_a_client_that_sends_the_body_anyway_still_reads_the_403(live: Live) -> None:
    with connect(live) as sock:
        sock.sendall(upload_headers(live.read_key))
        with contextlib.suppress(OSError):
            sock.sendall(b" " * 1024 * 1024)
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 403 ")


# --- slow senders ----------------------------------------------------------------------------


def test_headers_sent_a_byte_at_a_time_are_cut_off(live: Live) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"z" * 100
    started = time.monotonic()
    with connect(live) as sock:
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.05)
            if time.monotonic() - started > 5:
                break
        status, body = status_and_body(read_until_closed(sock))
    assert status == 408
    assert body == {
        "status": "Request timeout",
        "error": "headers: not received within 0.8 s; send the whole request at once",
    }
    assert time.monotonic() - started < 5


def test_a_connection_that_sends_nothing_is_closed(live: Live) -> None:
    started = time.monotonic()
    with connect(live) as sock:
        assert read_until_closed(sock) == b""
    assert HEADER_TIMEOUT_MS / 1000 - 0.1 < time.monotonic() - started < 5


def test_a_body_shorter_than_its_content_length_is_cut_off(live: Live) -> None:
    started = time.monotonic()
    with connect(live) as sock:
        sock.sendall(upload_headers(live.write_key, 1000) + b'[{"type": "download"')
        status, body = status_and_body(read_until_closed(sock))
    assert status == 408
    assert body["error"] == "body: not received within 0.8 s; send the whole request at once"
    assert time.monotonic() - started < 5


def test_a_body_sent_slowly_is_cut_off(live: Live) -> None:
    started = time.monotonic()
    with connect(live) as sock:
        sock.sendall(upload_headers(live.write_key, 100))
        for _ in range(50):
            try:
                sock.sendall(b" ")
            except OSError:
                break
            time.sleep(0.1)
            if time.monotonic() - started > 5:
                break
        status, _ = status_and_body(read_until_closed(sock))
    assert status == 408
    assert time.monotonic() - started < 5


def test_a_client_gone_mid_body_is_a_quiet_log_line(live: Live) -> None:
    line = "went away before its request body was complete (POST /ingest/events)"
    before = live.server.stderr_path.read_text().count(line)
    with connect(live) as sock:
        sock.sendall(upload_headers(live.write_key, 1000) + b"[")
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    log = ""
    while time.monotonic() < deadline:
        log = live.server.stderr_path.read_text()
        if log.count(line) > before:
            break
        time.sleep(0.05)
    assert log.count(line) == before + 1
    assert "Traceback" not in log
    assert "internal error" not in log
    assert "ERROR" not in log
    assert healthz_seconds(live) < 5


# --- the settings ----------------------------------------------------------------------------


def test_the_limits_come_from_the_settings() -> None:
    settings = Settings.from_env(
        {
            "OTASTATS_MAX_HEADER_COUNT": "20",
            "OTASTATS_MAX_HEADER_BYTES": " 4096 ",
            "OTASTATS_HEADER_TIMEOUT_MS": "250",
            "OTASTATS_BODY_TIMEOUT_MS": "0",
            "OTASTATS_MAX_ANSWER_ROWS": "5000",
        }
    )
    assert ServerLimits.from_settings(settings) == ServerLimits(20, 4096, 0.25, 0.0)
    assert settings.max_answer_rows == 5000
    assert ServerLimits.from_settings(Settings.from_env({})) == ServerLimits(100, 16384, 10, 60)


@pytest.mark.parametrize("name", ["OTASTATS_MAX_HEADER_COUNT", "OTASTATS_BODY_TIMEOUT_MS"])
def test_a_bad_limit_is_refused_with_how_to_fix_it(name: str) -> None:
    with pytest.raises(SettingsError, match=rf"^{name}='-1' is negative; set it to 0 or more"):
        Settings.from_env({name: "-1"})


def test_a_header_field_that_never_ends_is_cut_off_while_it_arrives(live: Live) -> None:
    with connect(live) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Endless: ")
        time.sleep(0.05)
        # Up to 4 MiB, without ever ending the field; refused and closed before that.
        with contextlib.suppress(OSError):
            for _ in range(64):
                sock.sendall(b"e" * 65536)
        status, body = status_and_body(read_until_closed(sock))
    assert status == 431
    assert body["error"] == (
        "headers: the request target and header fields pass 16,384 bytes; send shorter ones"
    )
