"""The ``otastats`` command line: serve, administer, ingest NDJSON files, load demo data."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TextIO

import orjson
import typer

# Typer ships its own copy of Click; its exceptions are what a usage error raises.
from typer._click import exceptions as click_exceptions

from otastats.admin import service as admin
from otastats.config import DEFAULT_DATABASE_URL, Settings, SettingsError
from otastats.errors import OtastatsError
from otastats.storage import Store, open_store
from otastats.storage.open import UnsupportedDatabase, upgrade_database
from otastats.storage.schema_version import SchemaTooNew
from otastats.timeparse import datetime_to_micros, micros_to_datetime

cli = typer.Typer(
    help="Exact, real-time usage statistics for live-update (OTA) platforms.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
org_cli = typer.Typer(help="Organizations.", no_args_is_help=True)
user_cli = typer.Typer(help="Users.", no_args_is_help=True)
member_cli = typer.Typer(help="Memberships of users in organizations.", no_args_is_help=True)
app_cli = typer.Typer(help="Apps.", no_args_is_help=True)
key_cli = typer.Typer(help="API keys.", no_args_is_help=True)
db_cli = typer.Typer(help="The database and its schema.", no_args_is_help=True)

for group, name in (
    (org_cli, "org"),
    (user_cli, "user"),
    (member_cli, "member"),
    (app_cli, "app"),
    (key_cli, "key"),
    (db_cli, "db"),
):
    cli.add_typer(group, name=name)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        help=f"Database URL (default: $OTASTATS_DATABASE_URL or {DEFAULT_DATABASE_URL}).",
        show_default=False,
    ),
]


FILE_CHUNK_EVENTS = 50_000
"""Lines of a file that ``otastats ingest`` decodes, validates and writes at a time."""
FILE_CHUNKS_PER_COMMIT = 5
"""Chunks committed in one transaction (250,000 events): fewer commits write each index page
fewer times; other writers of the database wait for at most one such transaction."""


class BadInput(Exception):
    """Input the command cannot act on: exit status 1."""


def _now() -> int:
    """Now: the system clock, or the instant of OTASTATS_FAKE_NOW (a test and demo aid)."""
    return datetime_to_micros(_settings(None).fake_now or datetime.now(UTC))


def _settings(database: str | None) -> Settings:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise BadInput(str(exc)) from None
    if database is not None:
        settings = dataclasses.replace(settings, database_url=database)
    return settings


def _open(database: str | None) -> Store:
    settings = _settings(database)
    try:
        return open_store(settings.database_url, query_timeout_ms=settings.query_timeout_ms)
    except (UnsupportedDatabase, SchemaTooNew) as exc:
        raise BadInput(str(exc)) from None


def _run(
    as_json: bool,
    database: str | None,
    action: Callable[[Store], dict[str, Any]],
    human: Callable[[dict[str, Any]], str],
) -> None:
    store = _open(database)
    try:
        result = action(store)
    finally:
        store.close()
    _emit(as_json, result, human(result))


def _emit(as_json: bool, result: dict[str, Any], text: str) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
    else:
        typer.echo(text)


@org_cli.command("create")
def org_create(
    name: Annotated[str, typer.Option("--name", help="The organization's name.")],
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an organization and print its id."""
    _run(
        as_json,
        database,
        lambda s: {"org_id": admin.create_org(s, name, _now())},
        lambda r: f"created organization {r['org_id']}",
    )


@user_cli.command("create")
def user_create(
    email: Annotated[str, typer.Option("--email", help="Unique, case-insensitively.")],
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a user and print its id."""
    _run(
        as_json,
        database,
        lambda s: {"user_id": admin.create_user(s, email, _now())},
        lambda r: f"created user {r['user_id']}",
    )


@member_cli.command("add")
def member_add(
    org: Annotated[str, typer.Option("--org", help="Organization id.")],
    user: Annotated[str, typer.Option("--user", help="User id.")],
    role: Annotated[str, typer.Option("--role", help="read, upload, write, admin, super_admin.")],
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a user to an organization, or change the role of a member."""

    def action(store: Store) -> dict[str, Any]:
        admin.add_member(store, org, user, role)
        return {"org_id": org, "user_id": user, "role": role}

    _run(as_json, database, action, lambda r: f"{user} is {role} in {org}")


@app_cli.command("create")
def app_create(
    app_id: Annotated[str, typer.Argument(help="Reverse-DNS app id, like com.example.app.")],
    org: Annotated[str, typer.Option("--org", help="The owning organization's id.")],
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an app in an organization."""

    def action(store: Store) -> dict[str, Any]:
        admin.create_app(store, app_id, org, _now())
        return {"app_id": app_id, "org_id": org}

    _run(as_json, database, action, lambda r: f"created app {app_id}")


@app_cli.command("delete")
def app_delete(
    app_id: Annotated[str, typer.Argument(help="The app to delete; its history stays.")],
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Delete an app: it stops answering, its history stays in its organization's totals."""

    def action(store: Store) -> dict[str, Any]:
        admin.delete_app(store, app_id, _now())
        return {"app_id": app_id, "deleted": True}

    _run(as_json, database, action, lambda r: f"deleted app {app_id}")


@key_cli.command("create")
def key_create(
    user: Annotated[str, typer.Option("--user", help="The key's user id.")],
    mode: Annotated[str, typer.Option("--mode", help="read, upload, write or all.")],
    org: Annotated[list[str] | None, typer.Option("--org", help="Limit to this org.")] = None,
    app: Annotated[list[str] | None, typer.Option("--app", help="Limit to this app.")] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="YYYY-MM-DD (end of day, UTC) or RFC 3339.")
    ] = None,
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API key; the key itself is shown only here."""

    def action(store: Store) -> dict[str, Any]:
        created = admin.create_key(
            store, user, mode, _now(), orgs=org or (), apps=app or (), expires=expires
        )
        return {"key_id": created.key_id, "key": created.key}

    _run(
        as_json,
        database,
        action,
        lambda r: f"key id {r['key_id']}\nkey    {r['key']}\n(the key is not shown again)",
    )


@key_cli.command("revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id printed by 'key create'.")],
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke an API key, at once."""

    def action(store: Store) -> dict[str, Any]:
        admin.revoke_key(store, key_id, _now())
        return {"key_id": key_id, "revoked": True}

    _run(as_json, database, action, lambda r: f"revoked key {key_id}")


@db_cli.command("upgrade")
def db_upgrade(database: DatabaseOption = None, as_json: JsonFlag = False) -> None:
    """Create the schema, or migrate it to this version of otastats (every command does too)."""
    settings = _settings(database)
    try:
        done = upgrade_database(settings.database_url)
    except (UnsupportedDatabase, SchemaTooNew) as exc:
        raise BadInput(str(exc)) from None
    result = {
        "backend": done.backend,
        "from_version": done.from_version,
        "to_version": done.to_version,
    }
    text = (
        f"schema version {done.to_version}: already up to date"
        if done.from_version == done.to_version
        else f"schema upgraded from version {done.from_version} to {done.to_version}"
    )
    _emit(as_json, result, text)


@cli.command("ingest")
def ingest_files(
    files: Annotated[list[str], typer.Argument(help="NDJSON files; - reads standard input.")],
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Load NDJSON events straight into the database (the apps must exist)."""
    from otastats.alerts.hook import AlertHook
    from otastats.ingest.file_loader import load_files

    for name in files:
        if name != "-" and not Path(name).is_file():
            raise BadInput(f"{name}: no such file")
    store = _open(database)
    alerts = AlertHook(store, clock=_now)
    try:
        result = load_files(
            store, files, _now, chunk=FILE_CHUNK_EVENTS, chunks_per_commit=FILE_CHUNKS_PER_COMMIT,
            after_commit=alerts.after_commit,
        )  # fmt: skip
    finally:
        alerts.close()
        store.close()
    _emit(
        as_json,
        result,
        f"accepted {result['accepted']}, duplicates {result['duplicates']},"
        f" rejected {len(result['rejected'])}"
        + "".join(f"\n  {r['file']}:{r['index']}: {r['error']}" for r in result["rejected"][:20]),
    )


@cli.command("demo")
def demo(
    database: DatabaseOption = None,
    as_json: JsonFlag = False,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Make the activity repeatable.")
    ] = None,
) -> None:
    """Create an organization, a user, apps and a read key, with 90 days of activity."""
    from otastats.admin.demo import create_demo

    def action(store: Store) -> dict[str, Any]:
        now = _now()
        made = create_demo(store, now, seed=seed)
        return _demo_output(
            made.org_id, made.app_ids, made.key, today=micros_to_datetime(now).date()
        )

    _run(as_json, database, action, lambda r: _demo_text(r))


def _demo_output(
    org_id: str, app_ids: list[str], key: str, base: str = "http://127.0.0.1:8000", *, today: date
) -> dict[str, Any]:
    start = today.fromordinal(today.toordinal() - 29)
    curl = (
        f"curl -s -H 'authorization: {key}' "
        f"'{base}/statistics/app/{app_ids[0]}/?from={start}&to={today}'"
    )
    return {"org_id": org_id, "app_ids": app_ids, "key": key, "curl": curl}


def _demo_text(result: dict[str, Any]) -> str:
    return (
        f"organization {result['org_id']}\napps         {', '.join(result['app_ids'])}\n"
        f"read key     {result['key']}\ntry:\n  {result['curl']}"
    )


def _fail(as_json: bool, message: str, stream: TextIO) -> NoReturn:
    if as_json:
        sys.stdout.write(orjson.dumps({"error": message}).decode() + "\n")
    else:
        stream.write(f"error: {message}\n")
    raise SystemExit(1)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    as_json = "--json" in args
    try:
        cli(args=args, prog_name="otastats", standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError:
        raise SystemExit(0) from None
    except click_exceptions.ClickException as exc:
        _fail(as_json, exc.format_message(), sys.stderr)
    except (OtastatsError, BadInput) as exc:
        _fail(as_json, exc.error if isinstance(exc, OtastatsError) else str(exc), sys.stderr)


# Command groups defined beside their domain use this module's helpers: added once those exist.
import otastats.alerts.commands  # noqa: E402
import otastats.serve_command  # noqa: E402, F401
from otastats.plugin.commands import plugin_cli  # noqa: E402

cli.add_typer(plugin_cli, name="plugin")
