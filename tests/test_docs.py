"""The documentation keeps up with the code: settings, routes, error statuses and commands."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

import otastats.config
import otastats.errors
from otastats.app import create_app
from otastats.cli import cli
from otastats.config import Settings
from otastats.errors import OtastatsError
from otastats.http_errors import _INTERNAL_STATUS
from otastats.storage.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SRC = ROOT / "src" / "otastats"

CLI_ONLY_ERRORS = {otastats.errors.NotFound, otastats.errors.Conflict}
"""Raised only by administrative commands, never by a route of the HTTP API."""
HTTP_PACKAGES = ("stats", "ingest", "auth")

SPEC_COMMANDS = (
    "otastats serve",
    "otastats org create",
    "otastats user create",
    "otastats member add",
    "otastats app create",
    "otastats app delete",
    "otastats key create",
    "otastats key revoke",
    "otastats ingest",
    "otastats demo",
)
"""The commands of section 5 of the product contract."""


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def setting_names() -> list[str]:
    names = re.findall(r"\"(OTASTATS_[A-Z0-9_]+)\"", read(Path(otastats.config.__file__)))
    return list(dict.fromkeys(names))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    store = SQLiteStore(str(tmp_path / "otastats.db"))
    try:
        yield create_app(Settings(), store=store)
    finally:
        store.close()


def schema_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of the routes that the OpenAPI description lists."""
    return {
        (method, context.path)
        for context in iter_route_contexts(app.routes)
        if context.path is not None and getattr(context, "include_in_schema", False)
        for method in context.methods or ()
        if method != "HEAD"
    }


# --- settings ---------------------------------------------------------------------------------


def test_config_reads_one_variable_per_setting() -> None:
    fields = {f"OTASTATS_{field.name.upper()}" for field in dataclasses.fields(Settings)}
    assert set(setting_names()) == fields
    assert "OTASTATS_DATABASE_URL" in fields


@pytest.mark.parametrize("name", setting_names())
def test_every_setting_is_documented_with_its_default(name: str) -> None:
    text = read(DOCS / "configuration.md")
    assert name in text
    row = re.search(rf"^\| `{name}` \| `([^`]*)` \|", text, re.MULTILINE)
    assert row is not None, f"{name} has no row in the settings table of configuration.md"
    default = getattr(Settings(), name.removeprefix("OTASTATS_").lower())
    assert row.group(1) == ("unset" if default is None else str(default))


def test_fixed_limits_are_documented() -> None:
    text = read(DOCS / "configuration.md")
    assert f"{otastats.config.MAX_BODY_BYTES:,}" in text
    assert f"{otastats.config.MAX_EVENTS_PER_REQUEST:,}" in text


# --- routes -----------------------------------------------------------------------------------


def test_the_routes_are_those_of_the_openapi_description(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    assert schema_routes(app) == {
        (method.upper(), path) for path, operations in paths.items() for method in operations
    }
    assert ("POST", "/ingest/events") in schema_routes(app)


def test_every_route_is_documented(app: FastAPI) -> None:
    text = read(DOCS / "api.md")
    for method, path in sorted(schema_routes(app)):
        assert f"`{path}`" in text, f"{path} is not in docs/api.md"
        colon_form = re.sub(r"\{(\w+)\}", r":\1", path)
        assert f"## {method} {colon_form}" in text, f"docs/api.md has no section {method} {path}"


def test_the_description_and_the_interactive_docs_are_documented(app: FastAPI) -> None:
    text = read(DOCS / "api.md")
    assert app.openapi_url is not None
    assert f"GET {app.openapi_url}" in text
    assert "GET /docs" in text


# --- errors -----------------------------------------------------------------------------------


def error_classes() -> list[type[OtastatsError]]:
    found = [
        value
        for _, value in inspect.getmembers(otastats.errors, inspect.isclass)
        if issubclass(value, OtastatsError) and value.__module__ == otastats.errors.__name__
    ]
    return sorted(found, key=lambda cls: (cls.http_status, cls.__name__))


def http_statuses() -> list[tuple[int, str]]:
    """(HTTP status, `status` text) of every error the HTTP API can answer."""
    pairs = [(cls.http_status, cls.status) for cls in error_classes() if cls not in CLI_ONLY_ERRORS]
    pairs.extend((500, text) for _, text in _INTERNAL_STATUS)
    return list(dict.fromkeys(pairs))


def test_the_errors_found_include_the_known_ones() -> None:
    assert set(http_statuses()) >= {
        (400, "Invalid body"),
        (401, "Invalid API key"),
        (403, "You can't access this app"),
        (403, "You can't access this organization"),
        (404, "No organizations found"),
        (413, "Payload too large"),
        (429, "Too many requests"),
        (500, "Internal error"),
        (500, "Cannot get app statistics"),
        (500, "Cannot get organization statistics"),
        (500, "Cannot get user statistics"),
        (500, "Cannot ingest events"),
    }


@pytest.mark.parametrize("cls", sorted(CLI_ONLY_ERRORS, key=lambda cls: cls.__name__))
def test_cli_only_errors_are_not_raised_by_the_http_packages(cls: type[OtastatsError]) -> None:
    for package in HTTP_PACKAGES:
        for module in sorted((SRC / package).glob("*.py")):
            found = re.search(rf"\b{cls.__name__}\b", read(module))
            assert found is None, f"{cls.__name__} is used in {module}"


@pytest.mark.parametrize(("http", "status"), http_statuses())
def test_every_error_status_is_documented(http: int, status: str) -> None:
    text = read(DOCS / "api.md")
    assert f"| {http} | `{status}` |" in text, f"{http} {status!r} has no row in docs/api.md"


def test_the_retry_after_header_is_documented() -> None:
    assert "Retry-After" in read(DOCS / "api.md")


# --- commands ---------------------------------------------------------------------------------


def cli_commands() -> list[str]:
    def walk(command: object, prefix: str) -> Iterator[str]:
        subcommands = getattr(command, "commands", None)
        if not subcommands:
            yield prefix
            return
        for name, sub in subcommands.items():
            yield from walk(sub, f"{prefix} {name}")

    return sorted(walk(typer.main.get_command(cli), "otastats"))


def test_the_command_line_has_the_commands_of_the_contract() -> None:
    assert set(cli_commands()) >= set(SPEC_COMMANDS)


@pytest.mark.parametrize("command", sorted({*cli_commands(), *SPEC_COMMANDS}))
def test_every_command_is_documented(command: str) -> None:
    texts = [read(ROOT / "README.md"), *(read(path) for path in sorted(DOCS.glob("*.md")))]
    assert any(command in text for text in texts), f"{command!r} is in no documentation file"
