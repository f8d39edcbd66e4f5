"""The real ``otastats`` command line (SPEC section 5), run in a subprocess on a SQLite file.

Every command is run with ``--json``: stdout must be exactly one JSON object, the exit status 0 on
success and 1 on bad input with ``{"error": ...}``. Effects are checked in the database file and
through the HTTP API (in process, or the real server started by ``otastats serve``).
"""

from __future__ import annotations

import json
import os
import pty
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from otastats.auth.keys import hash_key
from otastats.storage.sqlite import SQLiteStore
from otastats.timeparse import datetime_to_micros
from tests.cli_helpers import (
    FAKE_NOW,
    NOW,
    OTASTATS,
    CliResult,
    clean_env,
    db_url,
    failed,
    http_client,
    http_get,
    last_days,
    ok,
    one_json_object,
    request_from_curl,
    run_cli,
    serve,
    today,
)

Cli = Callable[..., CliResult]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "cli.db"


@pytest.fixture
def cli(tmp_path: Path, db_path: Path) -> Cli:
    """``otastats ARGS --database sqlite:////<tmp>/cli.db --json``, run in tmp_path, with its
    clock at ``NOW`` (``OTASTATS_FAKE_NOW``), like ``http_client``'s."""

    def run(*args: str, stdin: bytes | None = None, json_flag: bool = True) -> CliResult:
        return run_cli(
            *args,
            database=db_url(db_path),
            cwd=tmp_path,
            stdin=stdin,
            json_flag=json_flag,
            env=FAKE_NOW,
        )

    return run


def open_store(db_path: Path) -> SQLiteStore:
    return SQLiteStore(str(db_path))


def count_rows(db_path: Path, table: str) -> int:
    with closing(sqlite3.connect(db_path)) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


@dataclass
class Tenant:
    org_id: str
    user_id: str
    app_ids: list[str]


@pytest.fixture(scope="module")
def tenant_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Tenant]:
    """Made once through the command line: an org with apps one and two (and gone, deleted),
    and an admin member. Each test gets a copy of the database file."""
    workdir = tmp_path_factory.mktemp("template")
    path = workdir / "template.db"

    def run(*args: str) -> dict[str, Any]:
        return ok(run_cli(*args, database=db_url(path), cwd=workdir))

    org_id = run("org", "create", "--name", "Acme")["org_id"]
    user_id = run("user", "create", "--email", "owner@acme.test")["user_id"]
    run("member", "add", "--org", org_id, "--user", user_id, "--role", "admin")
    for app_id in ("com.acme.one", "com.acme.two", "com.acme.gone"):
        run("app", "create", app_id, "--org", org_id)
    run("app", "delete", "com.acme.gone")
    return path, Tenant(org_id, user_id, ["com.acme.one", "com.acme.two"])


@pytest.fixture
def tenant(tenant_template: tuple[Path, Tenant], db_path: Path) -> Tenant:
    template, made = tenant_template
    with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(db_path)) as copy:
        source.backup(copy)
    return made


def make_key(cli: Cli, user_id: str, *extra: str, mode: str = "read") -> dict[str, Any]:
    created = ok(cli("key", "create", "--user", user_id, "--mode", mode, *extra))
    assert set(created) == {"key_id", "key"}, created
    assert is_uuid(created["key_id"])
    assert isinstance(created["key"], str)
    assert len(created["key"]) >= 20
    return created


def app_stats_status(db_path: Path, key: str, app_id: str) -> tuple[int, Any]:
    start, end = last_days(30)
    with http_client(db_path) as client:
        response = client.get(
            f"/statistics/app/{app_id}/",
            params={"from": start, "to": end},
            headers={"authorization": key},
        )
    return response.status_code, response.json()


# --- events ------------------------------------------------------------------------------------

YESTERDAY = NOW - timedelta(days=1)
STAMP = YESTERDAY.strftime("%Y-%m-%dT%H:%M:%SZ")


def seen(app_id: str, device: str, **extra: object) -> dict[str, object]:
    return {
        "type": "device_seen",
        "app_id": app_id,
        "device_id": device,
        "timestamp": STAMP,
        "version_name": "1.0.0",
        "platform": "android",
        **extra,
    }


def ndjson(*lines: object) -> bytes:
    """NDJSON: dicts are encoded, strings are written as they are (bad or blank lines)."""
    return b"".join(
        (line if isinstance(line, str) else json.dumps(line)).encode() + b"\n" for line in lines
    )


def mau_yesterday(db_path: Path, key: str, app_id: str) -> int:
    status, body = app_stats_status(db_path, key, app_id)
    assert status == 200, body
    by_date = {point["date"]: point["mau"] for point in body}
    return int(by_date[YESTERDAY.date().isoformat()])


# --- org, user, member -------------------------------------------------------------------------


def test_org_create_prints_the_new_org_id(cli: Cli, db_path: Path) -> None:
    first = ok(cli("org", "create", "--name", "Acme"))
    second = ok(cli("org", "create", "--name", "Acme"))
    assert set(first) == {"org_id"}
    assert is_uuid(first["org_id"])
    assert first["org_id"] != second["org_id"]
    store = open_store(db_path)
    try:
        org = store.get_org(first["org_id"])
        assert org is not None
        assert org.name == "Acme"
    finally:
        store.close()
    assert "name" in failed(cli("org", "create", "--name", "   "))


def test_user_create_and_emails_unique_whatever_their_case(cli: Cli, db_path: Path) -> None:
    created = ok(cli("user", "create", "--email", "Ada@Example.com"))
    assert set(created) == {"user_id"}
    assert is_uuid(created["user_id"])
    error = failed(cli("user", "create", "--email", "ada@EXAMPLE.COM"))
    assert "email" in error.lower()
    assert "email" in failed(cli("user", "create", "--email", "not-an-email")).lower()
    store = open_store(db_path)
    try:
        found = store.find_user_by_email("ADA@example.com")
        assert found is not None
        assert found.user_id == created["user_id"]
    finally:
        store.close()
    assert count_rows(db_path, "users") == 1


def test_member_add_then_change_the_role(cli: Cli, db_path: Path) -> None:
    org_id = ok(cli("org", "create", "--name", "Acme"))["org_id"]
    user_id = ok(cli("user", "create", "--email", "m@acme.test"))["user_id"]
    ok(cli("member", "add", "--org", org_id, "--user", user_id, "--role", "read"))
    ok(cli("member", "add", "--org", org_id, "--user", user_id, "--role", "super_admin"))
    assert "role" in failed(
        cli("member", "add", "--org", org_id, "--user", user_id, "--role", "owner")
    )
    assert failed(
        cli("member", "add", "--org", str(uuid.uuid4()), "--user", user_id, "--role", "read")
    )
    assert failed(
        cli("member", "add", "--org", org_id, "--user", str(uuid.uuid4()), "--role", "read")
    )
    store = open_store(db_path)
    try:
        assert store.memberships(user_id) == {org_id: "super_admin"}
    finally:
        store.close()
    assert count_rows(db_path, "members") == 1


# --- apps --------------------------------------------------------------------------------------


def test_app_create_and_delete(cli: Cli, db_path: Path, tenant: Tenant) -> None:
    key = make_key(cli, tenant.user_id)["key"]
    created = ok(cli("app", "create", "com.acme.three_3-x", "--org", tenant.org_id))
    assert created.get("app_id", "com.acme.three_3-x") == "com.acme.three_3-x"
    assert app_stats_status(db_path, key, "com.acme.three_3-x")[0] == 200

    ok(cli("app", "delete", "com.acme.three_3-x"))
    status, body = app_stats_status(db_path, key, "com.acme.three_3-x")
    assert status == 403, body
    store = open_store(db_path)
    try:
        apps = store.get_apps(["com.acme.three_3-x", "com.acme.one"])
        assert apps["com.acme.three_3-x"].deleted
        assert not apps["com.acme.one"].deleted
    finally:
        store.close()


@pytest.mark.parametrize(
    ("app_id", "org"),
    [
        pytest.param("com acme", "tenant", id="space in the app id"),
        pytest.param("com/acme", "tenant", id="slash in the app id"),
        pytest.param("a" * 129, "tenant", id="129 characters"),
        pytest.param("com.acme.new", "unknown", id="unknown org"),
        pytest.param("com.acme.new", "not-a-uuid", id="malformed org id"),
        pytest.param("com.acme.one", "tenant", id="app id taken"),
        pytest.param("com.acme.gone", "tenant", id="id of a deleted app"),
    ],
)
def test_app_create_refuses_bad_input(
    cli: Cli, db_path: Path, tenant: Tenant, app_id: str, org: str
) -> None:
    org_id = {"tenant": tenant.org_id, "unknown": str(uuid.uuid4())}.get(org, org)
    before = count_rows(db_path, "apps")
    failed(cli("app", "create", app_id, "--org", org_id))
    assert count_rows(db_path, "apps") == before


def test_app_create_accepts_128_characters(cli: Cli, tenant: Tenant) -> None:
    ok(cli("app", "create", "a" * 128, "--org", tenant.org_id))


def test_app_delete_of_an_unknown_app_fails(cli: Cli, tenant: Tenant) -> None:
    assert "com.nobody.here" in failed(cli("app", "delete", "com.nobody.here"))


# --- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["read", "upload", "write", "all"])
def test_key_create_in_each_mode(cli: Cli, db_path: Path, tenant: Tenant, mode: str) -> None:
    created = make_key(cli, tenant.user_id, mode=mode)
    store = open_store(db_path)
    try:
        record = store.key_by_hash(hash_key(created["key"], store.key_secret()))
    finally:
        store.close()
    assert record is not None
    assert record.key_id == created["key_id"]
    assert record.user_id == tenant.user_id
    assert record.mode == mode
    assert record.limited_to_orgs == ()
    assert record.limited_to_apps == ()
    assert record.expires_at is None
    with closing(sqlite3.connect(db_path)) as conn:
        dump = "\n".join(conn.iterdump())
    assert created["key"] not in dump, "the plain key is stored"
    # Every mode may read statistics.
    assert app_stats_status(db_path, created["key"], "com.acme.one")[0] == 200


def test_key_create_with_repeated_org_and_app_limits(
    cli: Cli, db_path: Path, tenant: Tenant
) -> None:
    other_org = ok(cli("org", "create", "--name", "Other"))["org_id"]
    ok(cli("member", "add", "--org", other_org, "--user", tenant.user_id, "--role", "read"))
    ok(cli("app", "create", "com.acme.three", "--org", tenant.org_id))
    created = make_key(
        cli,
        tenant.user_id,
        "--org",
        tenant.org_id,
        "--org",
        other_org,
        "--app",
        "com.acme.one",
        "--app",
        "com.acme.two",
    )
    store = open_store(db_path)
    try:
        record = store.key_by_hash(hash_key(created["key"], store.key_secret()))
    finally:
        store.close()
    assert record is not None
    assert set(record.limited_to_orgs) == {tenant.org_id, other_org}
    assert set(record.limited_to_apps) == {"com.acme.one", "com.acme.two"}
    key = created["key"]
    assert app_stats_status(db_path, key, "com.acme.one")[0] == 200
    assert app_stats_status(db_path, key, "com.acme.two")[0] == 200
    assert app_stats_status(db_path, key, "com.acme.three")[0] == 403

    only_one = make_key(cli, tenant.user_id, "--app", "com.acme.one")["key"]
    assert app_stats_status(db_path, only_one, "com.acme.one")[0] == 200
    assert app_stats_status(db_path, only_one, "com.acme.two")[0] == 403


def _expires_at(db_path: Path, key: str) -> int | None:
    store = open_store(db_path)
    try:
        record = store.key_by_hash(hash_key(key, store.key_secret()))
    finally:
        store.close()
    assert record is not None
    return record.expires_at


@pytest.mark.parametrize(
    ("when", "instant"),
    [
        pytest.param("2099-12-31", datetime(2100, 1, 1, tzinfo=UTC), id="day: end of that UTC day"),
        pytest.param(
            "2099-06-01T12:30:00+02:00",
            datetime(2099, 6, 1, 10, 30, tzinfo=UTC),
            id="RFC 3339 with an offset",
        ),
        pytest.param(
            "2099-06-01T10:30:00.250Z",
            datetime(2099, 6, 1, 10, 30, 0, 250_000, tzinfo=UTC),
            id="RFC 3339 with fractions and Z",
        ),
        pytest.param(
            "2099-06-01t10:30:00z",
            datetime(2099, 6, 1, 10, 30, tzinfo=UTC),
            id="RFC 3339 in lower case",
        ),
        pytest.param(
            today().isoformat(),
            datetime.combine(today() + timedelta(days=1), datetime.min.time(), UTC),
            id="today: valid until midnight UTC",
        ),
    ],
)
def test_key_create_with_a_future_expiry(
    cli: Cli, db_path: Path, tenant: Tenant, when: str, instant: datetime
) -> None:
    key = make_key(cli, tenant.user_id, "--expires", when)["key"]
    assert _expires_at(db_path, key) == datetime_to_micros(instant)
    assert app_stats_status(db_path, key, "com.acme.one")[0] == 200


@pytest.mark.parametrize(
    "when",
    [
        pytest.param("2020-01-01", id="past day"),
        pytest.param((NOW - timedelta(days=1)).date().isoformat(), id="yesterday"),
        pytest.param((NOW - timedelta(minutes=5)).isoformat(), id="RFC 3339 minutes ago"),
    ],
)
def test_a_past_expiry_creates_an_expired_key_that_gets_401(
    cli: Cli, db_path: Path, tenant: Tenant, when: str
) -> None:
    key = make_key(cli, tenant.user_id, "--expires", when)["key"]
    status, body = app_stats_status(db_path, key, "com.acme.one")
    assert status == 401, body
    assert body["status"] == "Invalid API key"


@pytest.mark.parametrize(
    "when", ["tomorrow", "2099-13-01", "2099-02-30", "2099-06-01T10:30:00", "31/12/2099", ""]
)
def test_key_create_refuses_a_bad_expiry(
    cli: Cli, db_path: Path, tenant: Tenant, when: str
) -> None:
    failed(cli("key", "create", "--user", tenant.user_id, "--mode", "read", "--expires", when))
    assert count_rows(db_path, "api_keys") == 0


def test_key_create_refuses_bad_input(cli: Cli, db_path: Path, tenant: Tenant) -> None:
    user = tenant.user_id
    assert "mode" in failed(cli("key", "create", "--user", user, "--mode", "admin"))
    assert "user" in failed(cli("key", "create", "--user", "bob", "--mode", "read"))
    assert failed(cli("key", "create", "--user", str(uuid.uuid4()), "--mode", "read"))
    assert "org" in failed(
        cli("key", "create", "--user", user, "--mode", "read", "--org", "not-a-uuid")
    )
    assert failed(cli("key", "create", "--user", user, "--mode", "read", "--app", "bad app"))
    assert count_rows(db_path, "api_keys") == 0


def test_key_revoke_takes_effect_at_once(cli: Cli, db_path: Path, tenant: Tenant) -> None:
    created = make_key(cli, tenant.user_id, mode="all")
    kept = make_key(cli, tenant.user_id)
    assert app_stats_status(db_path, created["key"], "com.acme.one")[0] == 200
    ok(cli("key", "revoke", created["key_id"]))
    status, body = app_stats_status(db_path, created["key"], "com.acme.one")
    assert status == 401, body
    assert body["status"] == "Invalid API key"
    assert app_stats_status(db_path, kept["key"], "com.acme.one")[0] == 200
    assert failed(cli("key", "revoke", str(uuid.uuid4())))
    assert failed(cli("key", "revoke", "not-a-uuid"))


# --- ingest ------------------------------------------------------------------------------------


def test_ingest_a_file_with_bad_lines_duplicates_and_unknown_apps(
    cli: Cli, db_path: Path, tenant: Tenant, tmp_path: Path
) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(
        ndjson(
            seen("com.acme.one", "d1", event_id="e1"),  # 0
            "",  # blank lines are not events and take no index
            seen("com.acme.one", "d2", platform="symbian"),  # 1
            "{not json",  # 2
            seen("com.acme.one", "d1", event_id="e1"),  # 3: duplicate
            seen("com.nobody.app", "d3"),  # 4: no such app
            {"type": "download", "app_id": "com.acme.one", "device_id": "d1"},  # 5
            seen("com.acme.one", "d4", is_emulator="no"),  # 6
            seen("com.acme.one", "d5", timestamp="2024-01-01T00:00:00"),  # 7: no offset
            {"type": "bundle_created", "app_id": "com.acme.one", "version_name": "1.0.0",
             "bytes": -1, "timestamp": STAMP},  # 8
            seen("com.acme.gone", "d6"),  # 9: deleted app
            "   ",
            seen("com.acme.two", "d7"),  # 10
            seen("com.acme.one", "d8", unknown_field=1),  # 11
        )
    )  # fmt: skip
    result = ok(cli("ingest", str(path)))
    assert set(result) == {"accepted", "duplicates", "rejected"}
    assert result["accepted"] == 3
    assert result["duplicates"] == 1
    rejected = {entry["index"]: entry for entry in result["rejected"]}
    assert sorted(rejected) == [1, 2, 4, 5, 6, 7, 8, 9]
    assert result["accepted"] + result["duplicates"] + len(result["rejected"]) == 12
    fields = {1: "platform", 4: "app_id", 6: "is_emulator", 7: "timestamp", 8: "bytes"}
    for index, field in fields.items():
        assert field in rejected[index]["error"], rejected[index]
    assert rejected[5]["error"].split(":")[0] in ("timestamp", "version_name", "bytes")
    assert rejected[9]["error"].startswith("app_id"), rejected[9]
    assert rejected[2]["error"]
    for entry in result["rejected"]:
        assert isinstance(entry["error"], str)

    key = make_key(cli, tenant.user_id)["key"]
    assert mau_yesterday(db_path, key, "com.acme.one") == 2  # d1 and d8
    assert mau_yesterday(db_path, key, "com.acme.two") == 1

    again = ok(cli("ingest", str(path)))
    assert again["duplicates"] == 2  # e1, twice; events without an event_id count again
    assert again["accepted"] == 2
    assert mau_yesterday(db_path, key, "com.acme.one") == 2


def test_ingest_several_files_and_stdin(
    cli: Cli, db_path: Path, tenant: Tenant, tmp_path: Path
) -> None:
    first = tmp_path / "a.ndjson"
    second = tmp_path / "b.ndjson"
    first.write_bytes(ndjson(seen("com.acme.one", "a1"), seen("com.acme.one", "a2", bytes=1)))
    second.write_bytes(
        ndjson(
            seen("com.acme.two", "b1", event_id="x"),
            seen("com.acme.two", "b1", event_id="x"),
            seen("com.acme.two", "b2", platform=""),
        )
    )
    stdin = ndjson(seen("com.acme.one", "s1"), seen("com.acme.one", "s2", device_id=7))
    result = ok(cli("ingest", str(first), "-", str(second), stdin=stdin))
    assert result["accepted"] == 4  # a1, a2, s1, b1
    assert result["duplicates"] == 1
    assert len(result["rejected"]) == 2
    by_file = {entry.get("file"): entry for entry in result["rejected"]}
    assert set(by_file) == {"-", str(second)}
    assert by_file["-"]["index"] == 1
    assert "device_id" in by_file["-"]["error"]
    assert by_file[str(second)]["index"] == 2
    assert "platform" in by_file[str(second)]["error"]

    key = make_key(cli, tenant.user_id)["key"]
    assert mau_yesterday(db_path, key, "com.acme.one") == 3  # a1, a2, s1
    assert mau_yesterday(db_path, key, "com.acme.two") == 1  # b1


def test_ingest_only_stdin_and_an_empty_file(
    cli: Cli, db_path: Path, tenant: Tenant, tmp_path: Path
) -> None:
    result = ok(cli("ingest", "-", stdin=ndjson(seen("com.acme.one", "x"))))
    assert result == {"accepted": 1, "duplicates": 0, "rejected": []}
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"\n\n")
    assert ok(cli("ingest", str(empty))) == {"accepted": 0, "duplicates": 0, "rejected": []}
    key = make_key(cli, tenant.user_id)["key"]
    assert mau_yesterday(db_path, key, "com.acme.one") == 1


def test_ingest_rejects_timestamps_before_2000_and_digits_that_are_not_ascii(
    cli: Cli, db_path: Path, tenant: Tenant
) -> None:
    events = ndjson(
        seen("com.acme.one", "old", timestamp="1999-12-31T23:59:59Z"),  # 0
        seen("com.acme.one", "ancient", timestamp="0001-01-01T00:00:00Z"),  # 1
        seen("com.acme.one", "wide", timestamp="２" + STAMP[1:]),  # 2
        seen("com.acme.one", "kept"),  # 3
    )
    result = ok(cli("ingest", "-", stdin=events))
    assert result["accepted"] == 1
    errors = {entry["index"]: entry["error"] for entry in result["rejected"]}
    assert errors[0] == errors[1] == "timestamp: must not be before 2000-01-01T00:00:00Z"
    assert errors[2].startswith("timestamp: must be an RFC 3339 date-time")
    key = make_key(cli, tenant.user_id)["key"]
    assert mau_yesterday(db_path, key, "com.acme.one") == 1


def test_ingest_indexes_count_across_chunks_of_a_large_file(
    cli: Cli, tenant: Tenant, tmp_path: Path
) -> None:
    lines: list[object] = [seen("com.acme.one", f"d{i}") for i in range(10_005)]
    lines[3] = seen("com.acme.one", "bad", platform="palm")
    lines[10_002] = seen("com.acme.one", "bad", platform="palm")
    path = tmp_path / "big.ndjson"
    path.write_bytes(ndjson(*lines))
    result = ok(cli("ingest", str(path)))
    assert result["accepted"] == 10_003
    assert [entry["index"] for entry in result["rejected"]] == [3, 10_002]


def test_ingest_of_a_missing_file_fails(
    cli: Cli, db_path: Path, tenant: Tenant, tmp_path: Path
) -> None:
    good = tmp_path / "good.ndjson"
    good.write_bytes(ndjson(seen("com.acme.one", "d1")))
    missing = tmp_path / "missing.ndjson"
    assert "missing.ndjson" in failed(cli("ingest", str(good), str(missing)))
    assert failed(cli("ingest", str(tmp_path)))  # a directory is not a file
    assert failed(cli("ingest"))  # no file at all


def test_ingest_prints_nothing_but_the_json_object_when_not_on_a_terminal(
    cli: Cli, tenant: Tenant, tmp_path: Path
) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(ndjson(*(seen("com.acme.one", f"d{i}") for i in range(3000))))
    result = cli("ingest", str(path))
    assert result.code == 0
    assert one_json_object(result.stdout) == {"accepted": 3000, "duplicates": 0, "rejected": []}
    assert "\x1b[" not in result.stderr
    assert "━" not in result.stderr
    assert "events" not in result.stderr


class _Drain(threading.Thread):
    """Reads a pseudo-terminal's master side until it closes, so the child never blocks."""

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.data = bytearray()

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.data.extend(chunk)


def _ingest_with_a_terminal(
    db_path: Path, tmp_path: Path, path: Path, terminal: str
) -> tuple[int, bytes, bytes]:
    """(exit, the pipe's bytes, the terminal's bytes): ``terminal`` is 'stdout' or 'stderr'."""
    master, slave = pty.openpty()
    drain = _Drain(master)
    drain.start()
    try:
        process = subprocess.run(
            [*OTASTATS, "ingest", str(path), "--database", db_url(db_path), "--json"],
            stdin=subprocess.DEVNULL,
            stdout=slave if terminal == "stdout" else subprocess.PIPE,
            stderr=slave if terminal == "stderr" else subprocess.PIPE,
            cwd=tmp_path,
            env=clean_env({"TERM": "xterm-256color", "COLUMNS": "100"}),
            timeout=60,
            check=False,
        )
    finally:
        os.close(slave)
        drain.join(timeout=5)
        os.close(master)
    piped = process.stdout if terminal == "stderr" else process.stderr
    return process.returncode, piped or b"", bytes(drain.data)


def test_ingest_with_stderr_on_a_terminal_keeps_stdout_to_the_json_object(
    cli: Cli, db_path: Path, tenant: Tenant, tmp_path: Path
) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(ndjson(*(seen("com.acme.one", f"d{i}") for i in range(20_000))))
    code, stdout, terminal = _ingest_with_a_terminal(db_path, tmp_path, path, "stderr")
    assert code == 0
    assert one_json_object(stdout.decode()) == {"accepted": 20000, "duplicates": 0, "rejected": []}
    # The progress bar belongs on the terminal, which stderr is.
    assert terminal, "nothing was shown on the terminal"


def test_ingest_with_stdout_on_a_terminal_still_prints_one_json_object(
    cli: Cli, db_path: Path, tenant: Tenant, tmp_path: Path
) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(ndjson(*(seen("com.acme.one", f"d{i}") for i in range(3000))))
    code, _, terminal = _ingest_with_a_terminal(db_path, tmp_path, path, "stdout")
    assert code == 0
    text = terminal.decode().replace("\r\n", "\n")
    assert one_json_object(text) == {"accepted": 3000, "duplicates": 0, "rejected": []}


# --- demo --------------------------------------------------------------------------------------


def test_demo_prints_a_key_that_reads_statistics(cli: Cli, db_path: Path) -> None:
    demo = ok(cli("demo"))
    assert set(demo) == {"org_id", "app_ids", "key", "curl"}
    assert is_uuid(demo["org_id"])
    assert isinstance(demo["app_ids"], list)
    assert demo["app_ids"]
    assert all(isinstance(app_id, str) for app_id in demo["app_ids"])
    url, headers = request_from_curl(demo["curl"])
    assert demo["key"] in headers.values()
    assert demo["app_ids"][0] in url
    path_and_query = "/" + url.split("://", 1)[1].split("/", 1)[1]
    with http_client(db_path) as client:
        response = client.get(path_and_query, headers=headers)
        assert response.status_code == 200, response.text
        points = response.json()
        assert isinstance(points, list)
        assert points[-1]["date"] == today().isoformat()
        assert any(point["mau"] > 0 for point in points)
        start, end = last_days(30)
        for app_id in demo["app_ids"]:
            response = client.get(
                f"/statistics/app/{app_id}/",
                params={"from": start, "to": end},
                headers={"authorization": demo["key"]},
            )
            assert response.status_code == 200, response.text
            assert response.json()[-1]["mau"] > 0
        response = client.get(
            f"/statistics/org/{demo['org_id']}/",
            params={"from": start, "to": end},
            headers={"authorization": demo["key"]},
        )
        assert response.status_code == 200, response.text
        assert response.json()[-1]["mau"] > 0


# --- the database: --database or OTASTATS_DATABASE_URL -------------------------------------------


def test_the_database_comes_from_the_environment_unless_given(tmp_path: Path) -> None:
    from_env = tmp_path / "env.db"
    given = tmp_path / "given.db"
    env = {"OTASTATS_DATABASE_URL": db_url(from_env)}
    in_env = ok(run_cli("org", "create", "--name", "Env", database=None, cwd=tmp_path, env=env))
    in_given = ok(
        run_cli("org", "create", "--name", "Given", database=db_url(given), cwd=tmp_path, env=env)
    )
    for path, present, absent in ((from_env, in_env, in_given), (given, in_given, in_env)):
        store = open_store(path)
        try:
            assert store.get_org(present["org_id"]) is not None
            assert store.get_org(absent["org_id"]) is None
        finally:
            store.close()
    assert not (tmp_path / "otastats.db").exists()


def test_a_bad_database_url_is_bad_input(tmp_path: Path) -> None:
    result = run_cli("org", "create", "--name", "X", database="mysql://db/x", cwd=tmp_path)
    failed(result)


# --- bad input in general ----------------------------------------------------------------------

UUID = "3f2c8a8e-9a4b-4d0e-8f51-0c2c1d7a9b10"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("org", "create"), id="org create without --name"),
        pytest.param(("user", "create"), id="user create without --email"),
        pytest.param(("member", "add", "--org", UUID, "--user", UUID), id="member without role"),
        pytest.param(("app", "create", "com.x.y"), id="app create without --org"),
        pytest.param(("app", "create", "--org", UUID), id="app create without app id"),
        pytest.param(("key", "create", "--mode", "read"), id="key create without --user"),
        pytest.param(("key", "create", "--user", UUID), id="key create without --mode"),
        pytest.param(("key", "create", "--user", UUID, "--mode", "god"), id="bad mode"),
        pytest.param(
            ("member", "add", "--org", UUID, "--user", UUID, "--role", "boss"), id="bad role"
        ),
        pytest.param(
            ("member", "add", "--org", "acme", "--user", UUID, "--role", "read"), id="bad org uuid"
        ),
        pytest.param(
            ("member", "add", "--org", UUID, "--user", "bob", "--role", "read"), id="bad user uuid"
        ),
        pytest.param(("app", "create", "com.x.y", "--org", "acme"), id="app with a bad org uuid"),
        pytest.param(("key", "revoke", "12345"), id="bad key id"),
        pytest.param(("key", "revoke"), id="key revoke without id"),
        pytest.param(("org", "create", "--name", "A", "--colour", "red"), id="unknown option"),
        pytest.param(("org", "frobnicate"), id="unknown subcommand"),
        pytest.param(("frobnicate",), id="unknown command"),
        pytest.param(("serve", "--port", "eighty"), id="serve with a bad port"),
        pytest.param(("demo", "--seed", "x"), id="demo with a bad seed"),
    ],
)
def test_bad_input_exits_1_with_an_error_object(cli: Cli, args: tuple[str, ...]) -> None:
    failed(cli(*args))


def test_bad_input_without_json_also_exits_1(cli: Cli) -> None:
    result = cli("key", "create", "--user", UUID, "--mode", "god", json_flag=False)
    assert result.code == 1
    assert "mode" in result.stdout + result.stderr


# --- serve -------------------------------------------------------------------------------------


def test_serve_answers_statistics_with_a_key_made_by_the_cli(
    cli: Cli, db_path: Path, tenant: Tenant, tmp_path: Path
) -> None:
    events = tmp_path / "events.ndjson"
    events.write_bytes(ndjson(*(seen("com.acme.one", f"d{i}") for i in range(7))))
    assert ok(cli("ingest", str(events)))["accepted"] == 7
    key = make_key(cli, tenant.user_id)["key"]
    start, end = last_days(30)
    with serve("--json", database=db_url(db_path), workdir=tmp_path, env=FAKE_NOW) as server:
        first = json.loads(server.first_stdout_line())
        assert isinstance(first, dict)
        query = f"?from={start}&to={end}"
        status, body = http_get(
            f"{server.base}/statistics/app/com.acme.one/{query}", {"authorization": key}
        )
        assert status == 200, body
        assert len(body) == 30
        assert body[-2]["date"] == YESTERDAY.date().isoformat()
        assert body[-2]["mau"] == 7
        status, body = http_get(
            f"{server.base}/statistics/org/{tenant.org_id}{query}", {"x-api-key": key}
        )
        assert status == 200, body
        assert body[-1]["mau"] == 7
        status, body = http_get(f"{server.base}/statistics/app/com.acme.one/{query}")
        assert status == 401, body
        assert body["status"] == "Invalid API key"


def _demo_line(server_stdout_line: str) -> dict[str, Any]:
    demo = json.loads(server_stdout_line)
    assert isinstance(demo, dict), server_stdout_line
    assert isinstance(demo.get("curl"), str), demo
    return demo


def _check_demo_request(demo: dict[str, Any], base: str) -> None:
    url, headers = request_from_curl(demo["curl"])
    assert url.startswith(base + "/"), (url, base)
    status, body = http_get(url, headers)
    assert status == 200, body
    assert isinstance(body, list)
    assert body
    assert any(point["mau"] > 0 for point in body)


def test_serve_demo_loads_the_demo_once_and_prints_a_new_key_each_start(
    db_path: Path, tmp_path: Path
) -> None:
    database = db_url(db_path)
    with serve("--demo", "--json", database=database, workdir=tmp_path, name="one") as server:
        first = _demo_line(server.first_stdout_line())
        _check_demo_request(first, server.base)
    counts = {table: count_rows(db_path, table) for table in ("orgs", "users", "apps", "events")}
    assert counts["orgs"] == 1
    assert counts["events"] > 0

    with serve("--demo", "--json", database=database, workdir=tmp_path, name="two") as server:
        second = _demo_line(server.first_stdout_line())
        _check_demo_request(second, server.base)
        assert second["key"] != first["key"]
        assert second.get("org_id", first["org_id"]) == first["org_id"]
    assert {table: count_rows(db_path, table) for table in counts} == counts
