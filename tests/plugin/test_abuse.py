"""The plugin URLs treated as public: the rate limit per token and client address (429 with
Retry-After), and the token never in a log line of a real `otastats serve`."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest

from otastats.config import Settings
from otastats.plugin.redaction import RedactTokens, redact
from otastats.storage.base import Store
from tests.cli_helpers import db_url, ok, run_cli, serve
from tests.plugin.helpers import device, plugin_world, stat, token_of

LIMITED = Settings(
    rate_limit=0, auth_failure_limit=0, plugin_rate_limit=3, rate_limit_store="memory"
)


def test_over_the_limit_is_429_with_retry_after(store: Store) -> None:
    with plugin_world(store, settings=LIMITED) as world:
        body = orjson.dumps([stat("set")])
        statuses = [world.client.post(world.stats, content=body).status_code for _ in range(3)]
        assert statuses == [200] * 3
        for method, path in (("POST", world.stats), ("GET", world.stats), ("POST", world.updates)):
            response = world.client.request(method, path, content=orjson.dumps(device()))
            assert response.status_code == 429
            assert response.json() == {
                "error": "too_many_requests",
                "message": "Too many requests to this plugin URL from this address; at most 3"
                " a minute",
            }
            assert 1 <= int(response.headers["retry-after"]) <= 60


def test_the_limit_is_per_token(store: Store) -> None:
    with plugin_world(store, settings=LIMITED) as world:
        from otastats.plugin.tokens import create_token

        other = token_of(create_token(store, "com.example.app", 0).stats_url)
        for _ in range(3):
            world.client.get(world.stats)
        assert world.client.get(world.stats).status_code == 429
        assert world.client.get(f"/plugin/{other}/stats").status_code == 200


@pytest.mark.parametrize(
    "text",
    [
        "POST /plugin/otp_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG/stats HTTP/1.1",
        "/PLUGIN/otp_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG/updates",
        "/plugin/some-other-secret?x=1",
        "GET /x?t=otp_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    ],
)
def test_redact_removes_tokens(text: str) -> None:
    assert "otp_abc" not in redact(text)
    assert "some-other-secret" not in redact(text)


def test_the_filter_redacts_uvicorn_access_records() -> None:
    token = "otp_" + "Z" * 43
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", f"/plugin/{token}/stats", "1.1", 200),
        None,
    )
    assert RedactTokens().filter(record)
    assert token not in record.getMessage()
    assert "/plugin/[token]/stats" in record.getMessage()


def test_the_token_is_never_in_the_server_log(tmp_path: Path) -> None:
    database = db_url(tmp_path / "o.db")
    org = ok(run_cli("org", "create", "--name", "a", database=database, cwd=tmp_path))
    app_args = ("app", "create", "com.acme.app", "--org", org["org_id"])
    ok(run_cli(*app_args, database=database, cwd=tmp_path))
    made = ok(run_cli("plugin", "create", "com.acme.app", database=database, cwd=tmp_path))
    token = token_of(made["stats_url"])
    revoked = ok(run_cli("plugin", "create", "com.acme.app", database=database, cwd=tmp_path))
    ok(run_cli("plugin", "revoke", revoked["token_id"], database=database, cwd=tmp_path))
    old = token_of(revoked["stats_url"])
    with serve(database=database, workdir=tmp_path) as server:
        calls = [
            ("POST", f"/plugin/{token}/stats", orjson.dumps(stat("set", app_id="com.acme.app"))),
            ("POST", f"/plugin/{token}/stats", b"{broken"),
            ("GET", f"/plugin/{token}/stats", None),
            ("POST", f"/plugin/{token}/updates", orjson.dumps(device(app_id="com.acme.app"))),
            ("DELETE", f"/plugin/{token}/stats", None),
            ("POST", f"/plugin/{token}/nothing", b"{}"),
            ("POST", f"/PLUGIN/{token}/stats", b"{}"),
            ("GET", f"/plugin/{old}/stats", None),
        ]
        statuses = []
        for method, path, body in calls:
            request = urllib.request.Request(server.base + path, data=body, method=method)  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    statuses.append(response.status)
                    answer = response.read()
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
                answer = exc.read()
                exc.close()
            assert token.encode() not in answer
            assert old.encode() not in answer
        assert statuses == [200, 400, 200, 200, 405, 404, 404, 404]
    log = server.stdout() + server.stderr_path.read_text()
    assert "/plugin/[token]/stats" in log  # the access log is there, redacted
    assert token not in log
    assert old not in log
    assert token[4:20] not in log
