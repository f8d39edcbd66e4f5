"""GET /statistics/app/:app_id/adoption through the real app, against stored data.

"Today" is 2024-03-15 (the fixed clock of tests/conftest.py).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from otastats.stats.adoption_forecast import forecast
from otastats.storage.sqlite import SQLiteStore
from tests.conftest import Tenants, make_client
from tests.helpers_api import at, created, get, get_ok, ingest_ok, seen

APP = "com.example.app"
PATH = f"/statistics/app/{APP}/adoption"


@pytest.fixture
def key(tenants: Tenants) -> str:
    org_id = tenants.org("acme")
    user_id = tenants.user("owner@example.com", orgs={org_id: "admin"})
    tenants.app(APP, org_id)
    return tenants.key(user_id, "all")


def iso(day: date) -> str:
    return day.isoformat()


def rollout(total: int, rate: float, midpoint: float, start: date, last: date) -> list[Any]:
    """``total`` devices on 1.0.0 on Mar 1; from ``start`` on, they move to 2.0.0 so that the
    moved ones follow ``total`` times a logistic of the days since ``start``."""
    events: list[Any] = [created(APP, "1.0.0", 100, at("2024-02-20"))]
    events += [seen(APP, f"d{i}", at("2024-03-01"), version="1.0.0") for i in range(total)]
    events.append(created(APP, "2.0.0", 100, at(iso(start), "00:30:00")))
    moved = 0
    for offset in range((last - start).days + 1):
        target = round(total / (1 + math.exp(-rate * (offset - midpoint))))
        day = iso(start + timedelta(days=offset))
        events += [seen(APP, f"d{i}", at(day), version="2.0.0") for i in range(moved, target)]
        moved = max(moved, target)
    return events


def bundle_usage_on(client: TestClient, key: str, day: str) -> list[tuple[str, float, int]]:
    answer = get_ok(client, key, f"/statistics/app/{APP}/bundle_usage", **{"from": day, "to": day})
    return [
        (dataset["label"], dataset["data"][0], dataset["counts"][0])
        for dataset in answer["datasets"]
        if dataset["counts"][0] > 0
    ]


def test_share_and_count_are_bundle_usages_on_each_date(client: TestClient, key: str) -> None:
    ingest_ok(client, key, rollout(200, 0.5, 12.0, date(2024, 3, 5), date(2024, 3, 15)))
    ingest_ok(
        client,
        key,
        [
            # 7 devices on 3 versions on Mar 12, shares that need the largest-remainder rule.
            *(seen(APP, f"x{i}", at("2024-03-12"), version="x") for i in range(3)),
            *(seen(APP, f"y{i}", at("2024-03-12"), version="y") for i in range(2)),
            # Not counted: listed nowhere.
            seen(APP, "emu", at("2024-03-12"), version="emulated", is_emulator=True),
        ],
    )
    for day in ("2024-03-01", "2024-03-05", "2024-03-11", "2024-03-12", "2024-03-15"):
        answer = get_ok(client, key, PATH, date=day)
        assert answer["date"] == day
        rows = [(row["version"], row["share"], row["count"]) for row in answer["versions"]]
        assert rows == bundle_usage_on(client, key, day)
        assert rows
    assert get_ok(client, key, PATH) == get_ok(client, key, PATH, date="2024-03-15")


def test_the_forecast_is_the_fit_of_bundle_usages_curve(client: TestClient, key: str) -> None:
    # 2.0.0 starts on Mar 5; half of the 200 devices are on it 12 days later, on Mar 17.
    ingest_ok(client, key, rollout(200, 0.5, 12.0, date(2024, 3, 5), date(2024, 3, 15)))
    answer = get_ok(client, key, PATH)
    new = answer["versions"][1]
    assert new["version"] == "2.0.0"
    assert new["first_day"] == "2024-03-05"
    usage = get_ok(
        client,
        key,
        f"/statistics/app/{APP}/bundle_usage",
        **{"from": "2024-03-05", "to": "2024-03-15"},
    )
    curve = usage["datasets"][1]["data"]
    expected = forecast(curve)
    assert expected[50.0] is not None
    assert new["forecast"] == {
        "50": iso(date(2024, 3, 5) + timedelta(days=expected[50.0])),
        "90": None if expected[90.0] is None else iso(date(2024, 3, 5) + timedelta(expected[90.0])),
    }
    assert new["forecast"]["50"] == "2024-03-17"
    # 1.0.0 is falling, and was at 100 %: no forecast.
    assert answer["versions"][0] == {
        "version": "1.0.0",
        "share": usage["datasets"][0]["data"][-1],
        "count": usage["datasets"][0]["counts"][-1],
        "first_day": "2024-02-20",
        "forecast": {"50": None, "90": None},
    }


def test_first_day_is_the_earliest_of_bundle_created_and_activity(
    client: TestClient, key: str
) -> None:
    ingest_ok(
        client,
        key,
        [
            # Created before its first device: the creation day.
            created(APP, "1.1.0", 10, at("2024-03-08")),
            seen(APP, "a", at("2024-03-12"), version="1.1.0"),
            # A device reported it (late) before the bundle was created: the activity's day.
            created(APP, "1.2.0", 10, at("2024-03-10")),
            seen(APP, "b", at("2024-03-14"), version="1.2.0"),
            seen(APP, "b", at("2024-03-09", "23:59:59"), version="1.2.0"),
            # Older than the forecast's 90 days: listed, first day right, no forecast.
            created(APP, "0.1.0", 10, at("2023-06-01")),
            seen(APP, "c", at("2024-03-13"), version="0.1.0"),
            # An emulator's activity does not make a first day.
            seen(APP, "emu", at("2024-03-01"), version="1.3.0", is_emulator=True),
            seen(APP, "d", at("2024-03-11"), version="1.3.0"),
        ],
    )
    answer = get_ok(client, key, PATH, date="2024-03-14")
    assert [(row["version"], row["first_day"]) for row in answer["versions"]] == [
        ("0.1.0", "2023-06-01"),
        ("1.1.0", "2024-03-08"),
        ("1.2.0", "2024-03-09"),
        ("1.3.0", "2024-03-11"),
    ]
    assert answer["versions"][0]["forecast"] == {"50": None, "90": None}


def test_a_day_without_devices_lists_no_version(client: TestClient, key: str) -> None:
    ingest_ok(client, key, [seen(APP, "a", at("2024-03-12"))])
    assert get_ok(client, key, PATH, date="2024-03-11") == {"date": "2024-03-11", "versions": []}
    # The first day there is: the read never goes before it.
    assert get_ok(client, key, PATH, date="0001-01-01") == {"date": "0001-01-01", "versions": []}


def test_the_path_answers_with_and_without_a_trailing_slash(client: TestClient, key: str) -> None:
    ingest_ok(client, key, [seen(APP, "a", at("2024-03-12"))])
    bare = get(client, key, PATH)
    slashed = get(client, key, PATH + "/")
    assert bare.status_code == slashed.status_code == 200
    assert bare.json() == slashed.json()
    assert bare.json()["versions"][0]["count"] == 1


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("2024-03-16", "date: must not be after today (2024-03-15, UTC)"),
        ("9999-12-31", "date: must not be after today (2024-03-15, UTC)"),
        ("２０２４-０３-１０", "date: must be a date YYYY-MM-DD (ASCII digits)"),
        ("2024-03-1٠", "date: must be a date YYYY-MM-DD (ASCII digits)"),
        ("2024-3-10", "date: must be a date YYYY-MM-DD (ASCII digits)"),
        ("2024-02-30", "date: must be a date YYYY-MM-DD (ASCII digits)"),
        ("2024-03-10T00:00:00Z", "date: must be a date YYYY-MM-DD (ASCII digits)"),
        ("", "date: must be a date YYYY-MM-DD (ASCII digits)"),
        ("2024-03-10\n", "date: must be a date YYYY-MM-DD (ASCII digits)"),
    ],
)
def test_bad_dates_are_400(client: TestClient, key: str, value: str, error: str) -> None:
    response = get(client, key, PATH, date=value)
    assert response.status_code == 400
    assert response.json() == {"status": "Invalid body", "error": error}


def test_csv(client: TestClient, key: str) -> None:
    ingest_ok(
        client,
        key,
        [
            created(APP, "=1", 10, at("2024-03-01")),
            seen(APP, "a", at("2024-03-12"), version="=1"),
            seen(APP, "b", at("2024-03-12"), version="2"),
            seen(APP, "c", at("2024-03-12"), version="2"),
        ],
    )
    response = get(client, key, PATH, date="2024-03-12", format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="otastats-adoption-{APP}-2024-03-12.csv"'
    )
    assert response.text == (
        "version,share,count,first_day,forecast_50,forecast_90\r\n"
        "'=1,33.3,1,2024-03-01,,\r\n"
        "2,66.7,2,2024-03-12,,\r\n"
    )
    by_header = client.get(
        PATH, params={"date": "2024-03-12"}, headers={"authorization": key, "accept": "text/csv"}
    )
    assert by_header.text == response.text


def test_a_forecast_past_9999_12_31_is_null(store: SQLiteStore, key: str) -> None:
    # On the last day there is, a rising version's forecast would fall after it.
    last = datetime(9999, 12, 31, 12, 0, tzinfo=UTC)
    events = [seen(APP, f"old{i}", at("9999-12-20"), version="1") for i in range(100)]
    for offset, moved in enumerate((5, 10, 20, 30, 40)):
        day = iso(date(9999, 12, 27) + timedelta(days=offset))
        events += [seen(APP, f"old{i}", at(day), version="2") for i in range(moved)]
    with make_client(store, clock=last) as client:
        ingest_ok(client, key, events)
        answer = get_ok(client, key, PATH)
    assert answer["date"] == "9999-12-31"
    assert [row["version"] for row in answer["versions"]] == ["1", "2"]
    assert answer["versions"][1]["share"] == 40.0
    assert answer["versions"][1]["forecast"] == {"50": None, "90": None}
    # The same curve a year earlier does get a 50 % forecast: the null above is the calendar's.
    curve = [5.0, 10.0, 20.0, 30.0, 40.0]
    assert forecast(curve)[50.0] is not None
