"""The browser tests' fixtures: one demo server and one Chromium for the whole package, and a
new tab, its clock pinned, for each test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli_helpers import db_url, serve
from tests.dashboard.board import CSP_LISTENER, SERVER_NOW, TODAY, Demo, Tab
from tests.dashboard.browser import chromium, why_no_browser


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    reason = why_no_browser()
    if reason is not None:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("dashboard-server")
    database = db_url(workdir / "demo.db")
    with serve(
        "--demo",
        "--json",
        database=database,
        workdir=workdir,
        env={"OTASTATS_FAKE_NOW": SERVER_NOW.isoformat()},
    ) as server:
        made = json.loads(server.first_stdout_line())
        yield Demo(server, made["key"], made["org_id"], made["app_ids"], database)


@pytest.fixture(scope="package")
def browser(tmp_path_factory: pytest.TempPathFactory, demo: Demo) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def tab(browser: Any, demo: Demo) -> Iterator[Tab]:
    page = browser.new_page()
    opened = Tab(page, demo)
    opened.pin_clock(TODAY)
    page.add_init_script(CSP_LISTENER)
    page.on("request", lambda request: opened.urls.append(request.url))
    page.on("pageerror", lambda error: opened.errors.append(str(error)))
    try:
        yield opened
    finally:
        page.close()
