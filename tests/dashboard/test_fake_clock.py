"""OTASTATS_FAKE_NOW, the clock the browser tests pin the server to: read, refused, followed.

The real ``otastats demo`` and ``otastats serve --demo`` run in subprocesses with the setting, and
what they load and answer is checked against the pinned day, not against today's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from otastats.config import Settings, SettingsError
from otastats.context import clock_for, system_clock
from tests.cli_helpers import db_url, failed, http_get, ok, request_from_curl, run_cli, serve

PINNED = "2024-02-29T23:59:00Z"


def test_the_setting_reads_an_instant_with_its_time_zone() -> None:
    assert Settings.from_env({}).fake_now is None
    assert Settings.from_env({"OTASTATS_FAKE_NOW": " "}).fake_now is None
    assert Settings.from_env({"OTASTATS_FAKE_NOW": PINNED}).fake_now == datetime(
        2024, 2, 29, 23, 59, tzinfo=UTC
    )
    east = Settings.from_env({"OTASTATS_FAKE_NOW": "2024-03-01T00:30:00+01:00"}).fake_now
    assert east == datetime(2024, 2, 29, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["2024-02-29T12:00:00", "2024-02-30T12:00:00Z", "yesterday"])
def test_a_value_that_is_not_an_instant_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="OTASTATS_FAKE_NOW=") as raised:
        Settings.from_env({"OTASTATS_FAKE_NOW": raw})
    assert "2028-03-01T12:00:00Z" in str(raised.value)


def test_the_clock_starts_at_the_instant_and_runs_on() -> None:
    assert clock_for(Settings()) is system_clock
    clock = clock_for(
        Settings(fake_now=datetime(2024, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))))
    )
    first = clock()
    assert first.tzinfo == UTC
    assert timedelta(0) <= first - datetime(2024, 2, 29, 23, 30, tzinfo=UTC) < timedelta(seconds=5)
    assert clock() >= first


def test_demo_loads_data_that_end_on_the_pinned_day(tmp_path: Path) -> None:
    database = db_url(tmp_path / "demo.db")
    made = ok(run_cli("demo", database=database, cwd=tmp_path, env={"OTASTATS_FAKE_NOW": PINNED}))
    url, _ = request_from_curl(made["curl"])
    assert url.endswith("from=2024-01-31&to=2024-02-29")
    # The server on the same clock answers that range in full, the last day with activity.
    with serve(database=database, workdir=tmp_path, env={"OTASTATS_FAKE_NOW": PINNED}) as server:
        path = url.split("/statistics/", 1)[1].replace("/?", "?")
        status, points = http_get(
            f"{server.base}/statistics/{path}&noAccumulate=true", {"authorization": made["key"]}
        )
    assert status == 200, points
    assert [points[0]["date"], points[-1]["date"], len(points)] == ["2024-01-31", "2024-02-29", 30]
    assert points[-1]["mau"] > 0
    warning = server.stderr_path.read_text().splitlines()[0]
    assert warning.startswith(
        "warning: OTASTATS_FAKE_NOW is set: the clock starts at 2024-02-29 23:5"
    )


def test_serve_refuses_a_bad_value(tmp_path: Path) -> None:
    result = run_cli(
        "serve",
        database=db_url(tmp_path / "x.db"),
        cwd=tmp_path,
        env={"OTASTATS_FAKE_NOW": "tomorrow"},
    )
    assert "OTASTATS_FAKE_NOW='tomorrow' is not an instant" in failed(result)
    assert json.loads(result.stdout)["error"].startswith("OTASTATS_FAKE_NOW")
