"""The plugin URLs under hostile HTTP, against a real ``otastats serve``: the token and the rate
limit are judged before the body is read (a declared large body is never waited for), and the
body is read and parsed within the bounds of every body, each refusal in the plugin's shape."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from otastats.admin import service as admin
from otastats.plugin import tokens
from otastats.storage.sqlite import SQLiteStore
from otastats.timeparse import datetime_to_micros
from tests.cli_helpers import db_url, serve
from tests.conftest import NOW
from tests.plugin.helpers import APP, stat, token_of

LIMIT = 40
"""Per token and client address: more than the other tests send with one token."""
UNKNOWN_URL = (
    b'{"error":"unknown_plugin_url","message":"This plugin URL is not known: it may have been'
    b' revoked; create one with `otastats plugin create APP_ID`"}'
)


@dataclass(frozen=True)
class Live:
    host: str
    port: int
    token: str
    revoked: str
    limited: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    workdir: Path = tmp_path_factory.mktemp("plugin-http")
    database = workdir / "otastats.db"
    store = SQLiteStore(str(database))
    try:
        now = datetime_to_micros(NOW)
        admin.create_app(store, APP, admin.create_org(store, "Acme", now), now)
        made = [tokens.create_token(store, APP, now) for _ in range(3)]
        tokens.revoke_token(store, made[1].token_id, now)
    finally:
        store.close()
    env = {"OTASTATS_PLUGIN_RATE_LIMIT": str(LIMIT), "OTASTATS_BODY_TIMEOUT_MS": "5000"}
    with serve(database=db_url(database), workdir=workdir, env=env) as server:
        host, port = server.base.removeprefix("http://").split(":")
        yield Live(host, int(port), *(token_of(m.stats_url) for m in made))


def headers_of(token: str, length: int, kind: str = "stats") -> bytes:
    return (
        b"POST /plugin/%s/%s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % (token.encode(), kind.encode(), length)
    )


def exchange(live: Live, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends ``request`` and reads until the server closes: (status, headers, body)."""
    with socket.create_connection((live.host, live.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ", 2)[1]), {k.lower(): v for k, v in fields.items()}, body


def ask(live: Live, token: str, body: bytes, kind: str = "stats") -> tuple[int, bytes]:
    request = headers_of(token, len(body), kind) + body
    status, _, answer = exchange(
        live, request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
    )
    return status, answer


@pytest.mark.parametrize("kind", ["stats", "updates"])
@pytest.mark.parametrize("which", ["unknown", "malformed", "revoked"])
def test_a_bad_token_gets_its_404_before_the_body_is_sent(
    live: Live, which: str, kind: str
) -> None:
    token = {"unknown": "otp_" + "A" * 43, "malformed": "nope", "revoked": live.revoked}[which]
    # 1 MiB declared, not a byte of it sent: the answer comes, then the server closes the
    # connection (exchange reads until then) instead of waiting for the body.
    status, _, body = exchange(live, headers_of(token, 1024 * 1024, kind))
    assert (status, body) == (404, UNKNOWN_URL)


def test_a_declared_body_over_1_mib_gets_413_before_it_is_sent(live: Live) -> None:
    status, _, body = exchange(live, headers_of(live.token, 1024 * 1024 + 1))
    assert status == 413
    assert orjson.loads(body) == {
        "error": "payload_too_large",
        "message": "body: larger than 1,048,576 bytes",
    }


def test_over_the_rate_limit_gets_429_before_the_body_is_sent(live: Live) -> None:
    event = orjson.dumps(stat("set"))
    assert [ask(live, live.limited, event)[0] for _ in range(LIMIT)] == [200] * LIMIT
    status, headers, body = exchange(live, headers_of(live.limited, 1024 * 1024))
    assert status == 429
    assert orjson.loads(body)["error"] == "too_many_requests"
    assert 1 <= int(headers["retry-after"]) <= 60


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # Nine levels: an event of an array, its metadata, and six arrays within.
        (b'[{"metadata":' + b"[" * 7 + b"]" * 7 + b"}]", "body: JSON nested more than 8 levels"),
        (b'{"metadata":' + b'{"a":' * 20 + b"1" + b"}" * 21, "body: JSON nested more than 8"),
        # 40,001 empty objects in 120 KiB: refused on the bytes, before parsing.
        (b"[" + b",".join([b"{}"] * 40_001) + b"]", "body: more than 40,000 JSON objects"),
        (b"[" + b"1," * 400_001 + b"1]", "body: more than 400,000 commas"),
    ],
)
def test_a_deep_or_wide_body_is_400_in_the_plugins_shape(
    live: Live, body: bytes, message: str
) -> None:
    for kind in ("stats", "updates"):
        status, answer = ask(live, live.token, body, kind)
        assert status == 400
        parsed = orjson.loads(answer)
        assert set(parsed) == {"error", "message"}
        assert parsed["error"] == "invalid_json_body"
        assert parsed["message"].startswith(message)


def test_a_body_at_the_bounds_is_accepted(live: Live) -> None:
    deepest = stat("set", metadata={"a": "b"})
    events = [deepest] * 1000
    body = orjson.dumps(events)
    assert len(body) < 1024 * 1024
    status, answer = ask(live, live.token, body)
    assert status == 200
    assert len(orjson.loads(answer)["results"]) == 1000
