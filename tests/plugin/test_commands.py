"""`otastats plugin create|list|revoke` through the real command line, and what the URLs they
print do: a token stored only as a keyed hash, revoked (or its app deleted) at once."""

from __future__ import annotations

import sqlite3
import time
import urllib.error
import urllib.request
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson

from otastats.plugin.token_cache import TOKEN_RECHECK_S
from tests.cli_helpers import db_url, failed, http_client, ok, run_cli, serve
from tests.plugin.helpers import device, token_of

APP = "com.acme.app"


def cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    return ok(run_cli(*args, database=db_url(tmp_path / "o.db"), cwd=tmp_path, env=env))


def make_app(tmp_path: Path) -> None:
    org = cli(tmp_path, "org", "create", "--name", "acme")
    cli(tmp_path, "app", "create", APP, "--org", str(org["org_id"]))


def stats_status(tmp_path: Path, url: str) -> int:
    body = orjson.dumps(device(app_id=APP, action="set"))
    with http_client(tmp_path / "o.db") as client:
        return client.post(f"/plugin/{token_of(url)}/stats", content=body).status_code


def test_create_prints_the_urls_and_stores_only_a_hash(tmp_path: Path) -> None:
    make_app(tmp_path)
    made = cli(tmp_path, "plugin", "create", APP)
    assert set(made) == {"token_id", "app_id", "stats_url", "updates_url"}
    stats_url, updates_url = str(made["stats_url"]), str(made["updates_url"])
    assert stats_url.startswith("http://127.0.0.1:8000/plugin/otp_")
    assert stats_url.endswith("/stats")
    assert updates_url == stats_url.removesuffix("/stats") + "/updates"
    assert token_of(stats_url).encode() not in (tmp_path / "o.db").read_bytes()
    with closing(sqlite3.connect(tmp_path / "o.db")) as conn:
        (stored,) = conn.execute("SELECT token_hash FROM plugin_tokens").fetchone()
    assert len(stored) == 64
    assert stats_status(tmp_path, stats_url) == 200


def test_the_base_url_from_the_option_or_the_setting(tmp_path: Path) -> None:
    make_app(tmp_path)
    env = {"OTASTATS_PUBLIC_URL": "https://stats.example.com/"}
    made = cli(tmp_path, "plugin", "create", APP, env=env)
    assert str(made["stats_url"]).startswith("https://stats.example.com/plugin/otp_")
    made = cli(tmp_path, "plugin", "create", APP, "--base-url", "https://o.example/x", env=env)
    assert str(made["updates_url"]).startswith("https://o.example/x/plugin/otp_")


def test_list_and_revoke(tmp_path: Path) -> None:
    make_app(tmp_path)
    first = cli(tmp_path, "plugin", "create", APP)
    second = cli(tmp_path, "plugin", "create", APP, "--upstream", "https://u.example/updates")
    listed = cli(tmp_path, "plugin", "list", APP)["tokens"]
    assert isinstance(listed, list)
    assert {t["token_id"] for t in listed} == {first["token_id"], second["token_id"]}
    assert all(
        set(t) == {"token_id", "app_id", "created_at", "revoked", "upstream"} for t in listed
    )
    assert all(str(t["created_at"]).endswith("Z") for t in listed)
    assert "otp_" not in orjson.dumps(listed).decode()
    cli(tmp_path, "plugin", "revoke", str(first["token_id"]))
    assert stats_status(tmp_path, str(first["stats_url"])) == 404
    assert stats_status(tmp_path, str(second["stats_url"])) == 200
    revoked = {t["token_id"]: t["revoked"] for t in cli(tmp_path, "plugin", "list", APP)["tokens"]}
    assert revoked == {first["token_id"]: True, second["token_id"]: False}


def test_deleting_the_app_stops_its_urls_at_once(tmp_path: Path) -> None:
    make_app(tmp_path)
    made = cli(tmp_path, "plugin", "create", APP)
    cli(tmp_path, "app", "delete", APP)
    assert stats_status(tmp_path, str(made["stats_url"])) == 404


def test_bad_input_is_refused(tmp_path: Path) -> None:
    make_app(tmp_path)
    database = db_url(tmp_path / "o.db")
    for args in (
        ("plugin", "create", "com.unknown"),
        ("plugin", "create", APP, "--base-url", "ftp://x"),
        ("plugin", "create", APP, "--upstream", "not a url"),
        ("plugin", "list", "com.unknown"),
        ("plugin", "revoke", "no-such-token"),
    ):
        assert failed(run_cli(*args, database=database, cwd=tmp_path)), args
    bad_env = {"OTASTATS_PUBLIC_URL": "stats.example.com"}
    result = run_cli("plugin", "create", APP, database=database, cwd=tmp_path, env=bad_env)
    assert "OTASTATS_PUBLIC_URL" in failed(result)


def test_a_revocation_reaches_a_running_server_within_seconds(tmp_path: Path) -> None:
    """A server trusts a token it read for a second (TOKEN_RECHECK_S): the revocation of the
    command line, another process, reaches it without a restart."""
    make_app(tmp_path)
    made = cli(tmp_path, "plugin", "create", APP)
    path = f"/plugin/{token_of(str(made['stats_url']))}/stats"
    with serve(database=db_url(tmp_path / "o.db"), workdir=tmp_path) as server:

        def status() -> int:
            try:
                with urllib.request.urlopen(server.base + path, timeout=10) as answer:  # noqa: S310
                    return int(answer.status)
            except urllib.error.HTTPError as exc:
                exc.close()
                return exc.code

        assert status() == 200
        cli(tmp_path, "plugin", "revoke", str(made["token_id"]))
        deadline = time.monotonic() + 10 * TOKEN_RECHECK_S
        while status() == 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert status() == 404
