"""CSV answers of the four Statistics endpoints, through the real app, checked against the JSON.

"Today" is 2024-03-15. The app has two devices and three versions, one of them named so that a
spreadsheet would take it for a formula, and one with a comma and a quote in its name.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tenants
from tests.helpers_api import (
    APP_FORBIDDEN,
    at,
    auth,
    created,
    download,
    get_ok,
    ingest_ok,
    seen,
)

APP = "com.example.app"
OTHER = "com.example.other"
RANGE = {"from": "2024-03-10", "to": "2024-03-15"}
ODD_VERSION = '2.0 "beta", final'
FORMULA_VERSION = "=1+1"


@dataclass
class World:
    client: TestClient
    org_id: str
    key: str


@pytest.fixture
def world(tenants: Tenants, client: TestClient) -> World:
    org_id = tenants.org("acme")
    user_id = tenants.user("owner@example.com", orgs={org_id: "admin"})
    tenants.app(APP, org_id)
    tenants.app(OTHER, org_id)
    key = tenants.key(user_id, "all")
    ingest_ok(
        client,
        key,
        [
            created(APP, "1.0.0", 1_000_000, at("2024-03-01")),
            created(APP, ODD_VERSION, 2_500_000, at("2024-03-12")),
            seen(APP, "d1", at("2024-03-11"), version="1.0.0"),
            seen(APP, "d2", at("2024-03-11"), version="1.0.0"),
            seen(APP, "d2", at("2024-03-13"), version=ODD_VERSION),
            seen(APP, "d3", at("2024-03-14"), version=FORMULA_VERSION),
            download(APP, "d2", at("2024-03-13"), 2_500_000, version=ODD_VERSION),
            download(APP, "d1", at("2024-03-14"), 2_500_000, version=ODD_VERSION),
            seen(OTHER, "x1", at("2024-03-12")),
            download(OTHER, "x1", at("2024-03-12"), 700),
        ],
    )
    return World(client, org_id, key)


def get_csv(world: World, path: str, *, accept: str | None = None, **params: str) -> Any:
    headers = auth(world.key)
    if accept is not None:
        headers["accept"] = accept
    return world.client.get(path, params={**RANGE, **params}, headers=headers)


def rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text.endswith("\r\n")
    return list(csv.reader(io.StringIO(response.text, newline="")))


def as_points(table: list[list[str]]) -> list[dict[str, Any]]:
    header, *body = table
    return [
        {
            name: value if name in ("date", "app_id") else int(value)
            for name, value in zip(header, row, strict=True)
        }
        for row in body
    ]


POINT_PATHS = [
    pytest.param(f"/statistics/app/{APP}/", {}, id="app"),
    pytest.param(f"/statistics/app/{APP}/", {"noAccumulate": "true"}, id="app daily"),
    pytest.param("/statistics/org/{org}", {}, id="org"),
    pytest.param("/statistics/org/{org}/", {"noAccumulate": "true"}, id="org daily"),
    pytest.param("/statistics/user", {}, id="user"),
]


@pytest.mark.parametrize(("path", "params"), POINT_PATHS)
@pytest.mark.parametrize("how", ["accept", "format"])
def test_points_as_csv_are_the_json_points(
    world: World, path: str, params: dict[str, str], how: str
) -> None:
    path = path.format(org=world.org_id)
    expected = get_ok(world.client, world.key, path, **RANGE, **params)
    if how == "accept":
        response = get_csv(world, path, accept="text/csv", **params)
    else:
        response = get_csv(world, path, format="csv", **params)
    table = rows(response)
    assert table[0] == ["date", "mau", "storage", "bandwidth"]
    assert len(table) == 1 + 6
    assert as_points(table) == expected
    assert any(point["bandwidth"] for point in expected)


def test_an_org_breakdown_as_csv_is_one_row_per_app_and_day(world: World) -> None:
    path = f"/statistics/org/{world.org_id}/"
    expected = get_ok(world.client, world.key, path, **RANGE, breakdown="true")
    response = get_csv(world, path, format="csv", breakdown="true")
    table = rows(response)
    assert table[0] == ["app_id", "date", "mau", "storage", "bandwidth"]
    assert as_points(table) == expected["byApp"]
    assert [row[0] for row in table[1:]] == [APP] * 6 + [OTHER] * 6
    disposition = response.headers["content-disposition"]
    assert disposition == (
        f'attachment; filename="otastats-org-{world.org_id}-by-app-2024-03-10-2024-03-15.csv"'
    )


def test_bundle_usage_as_csv_has_a_share_and_a_count_column_per_version(world: World) -> None:
    path = f"/statistics/app/{APP}/bundle_usage"
    expected = get_ok(world.client, world.key, path, **RANGE)
    response = get_csv(world, path, accept="text/csv")
    table = rows(response)
    versions = [dataset["label"] for dataset in expected["datasets"]]
    assert versions == ["1.0.0", ODD_VERSION, FORMULA_VERSION]
    assert table[0] == [
        "date",
        "1.0.0 %",
        f"{ODD_VERSION} %",
        f"'{FORMULA_VERSION} %",
        "1.0.0 devices",
        f"{ODD_VERSION} devices",
        f"'{FORMULA_VERSION} devices",
    ]
    assert [row[0] for row in table[1:]] == expected["labels"]
    for index, row in enumerate(table[1:]):
        shares = [float(cell) for cell in row[1:4]]
        counts = [int(cell) for cell in row[4:]]
        assert shares == [dataset["data"][index] for dataset in expected["datasets"]]
        assert counts == [dataset["counts"][index] for dataset in expected["datasets"]]
    # Percentages keep their one decimal, as in the JSON: no device on 2024-03-10, and one
    # device on each version on 2024-03-14 (the spare tenth goes to the version listed first).
    assert table[1][1:] == ["0.0", "0.0", "0.0", "0", "0", "0"]
    assert table[5][1:] == ["33.4", "33.3", "33.3", "1", "1", "1"]
    assert response.headers["content-disposition"] == (
        f'attachment; filename="otastats-bundle-usage-{APP}-2024-03-10-2024-03-15.csv"'
    )


def test_the_file_name_says_daily_without_accumulation(world: World) -> None:
    response = get_csv(world, "/statistics/user/", format="csv", noAccumulate="true")
    assert response.headers["content-disposition"] == (
        'attachment; filename="otastats-user-2024-03-10-2024-03-15-daily.csv"'
    )


def test_a_range_in_the_future_is_a_header_alone(world: World) -> None:
    future = {"from": "2024-04-01", "to": "2024-04-02"}
    response = get_csv(world, f"/statistics/app/{APP}/", format="csv", **future)
    assert response.text == "date,mau,storage,bandwidth\r\n"
    response = get_csv(world, f"/statistics/app/{APP}/bundle_usage", format="csv", **future)
    assert response.text == "date\r\n"


@pytest.mark.parametrize(
    ("accept", "csv_expected"),
    [
        ("text/csv", True),
        ("text/csv, application/json", True),
        ("application/json;q=0.5, text/csv", True),
        ("TEXT/CSV;q=0.2, */*", True),
        ("text/csv;q=0.5, application/json", False),
        ("text/csv;q=0", False),
        ("text/csv;q=banana", False),
        ("*/*", False),
        ("text/*", False),
        ("application/json", False),
        ("", False),
        (None, False),
    ],
)
def test_the_accept_header_chooses_csv_only_when_it_prefers_it(
    world: World, accept: str | None, csv_expected: bool
) -> None:
    response = get_csv(world, f"/statistics/app/{APP}", accept=accept)
    assert response.status_code == 200
    media_type = "text/csv; charset=utf-8" if csv_expected else "application/json"
    assert response.headers["content-type"] == media_type
    assert response.headers["vary"] == "Accept"


def test_format_json_wins_over_the_accept_header(world: World) -> None:
    response = get_csv(world, f"/statistics/app/{APP}", accept="text/csv", format="json")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == get_ok(world.client, world.key, f"/statistics/app/{APP}", **RANGE)


@pytest.mark.parametrize("value", ["xml", "CSV", ""])
def test_another_format_is_400_in_json(world: World, value: str) -> None:
    response = get_csv(world, f"/statistics/app/{APP}/", accept="text/csv", format=value)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "Invalid body", "error": "format: must be csv or json"}


def test_errors_stay_json_when_csv_is_asked_for(world: World) -> None:
    forbidden = get_csv(world, "/statistics/app/com.nobody.app/", format="csv")
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/json"
    assert forbidden.json() == APP_FORBIDDEN
    no_key = world.client.get(
        f"/statistics/app/{APP}/", params={**RANGE, "format": "csv"}, headers={"accept": "text/csv"}
    )
    assert no_key.status_code == 401
    assert no_key.json()["status"] == "Invalid API key"
    bad_date = get_csv(world, f"/statistics/app/{APP}/", format="csv", to="soon")
    assert bad_date.status_code == 400
    assert bad_date.json()["error"].startswith("to: must be a date")


def test_the_openapi_description_offers_csv(world: World) -> None:
    paths = world.client.get("/openapi.json").json()["paths"]
    for path in (
        "/statistics/app/{app_id}",
        "/statistics/org/{org_id}",
        "/statistics/user",
        "/statistics/app/{app_id}/bundle_usage",
        "/statistics/app/{app_id}/health",
    ):
        operation = paths[path]["get"]
        assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
        assert "format" in [parameter["name"] for parameter in operation["parameters"]]
