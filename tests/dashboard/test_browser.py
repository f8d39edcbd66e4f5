"""The dashboard in a real browser: Debian's headless Chromium, driven by Playwright, against the
real ``otastats serve --demo`` started here on a free port with a temporary database (the
fixtures are in conftest.py, on dates pinned as board.py says).

Every figure the page shows is checked against the Statistics API's own answer to the same
question. Screenshots and the 365-day drawing time are left in test-output/.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.dashboard.board import (
    LINE_CHARTS,
    TODAY,
    Demo,
    Tab,
    assert_for_people,
    csv_rows,
)
from tests.dashboard.browser import save_screenshot, write_output


def test_the_key_is_asked_once_and_the_choices_are_what_me_lists(tab: Tab, demo: Demo) -> None:
    tab.sign_in()
    tab.wait_drawn()
    me = demo.api("/me")
    options = tab.page.eval_on_selector_all(
        "#target option", "(options) => options.map((option) => option.value)"
    )
    expected = []
    for org in me["organizations"]:
        expected += [f"org:{org['org_id']}"] if org["readable"] else []
        expected += [f"app:{app_id}" for app_id in org["apps"]]
    assert options == expected
    assert sorted(me["apps"]) == sorted(demo.app_ids)
    assert tab.page.inner_text("#email") == me["user"]["email"]
    # Kept in this tab's session storage, gone from the form, in no URL.
    assert tab.page.evaluate("sessionStorage.getItem('otastats.key')") == demo.key
    assert tab.page.input_value("#key") == ""
    assert tab.page.is_hidden("#sign-in")
    assert all(demo.key not in url for url in tab.urls)
    # A reload does not ask again.
    tab.reload()
    tab.wait_drawn()
    assert tab.page.is_hidden("#sign-in")
    assert tab.errors == []


def test_an_app_draws_each_chart_with_the_apis_points(tab: Tab, demo: Demo) -> None:
    app_id = demo.app_ids[0]
    tab.sign_in()
    tab.wait_drawn()
    board = tab.show(f"app:{app_id}", "90")
    assert board["days"] == "90"
    first, last = board["from"], board["to"]
    daily = demo.api(
        f"/statistics/app/{app_id}", **{"from": first, "to": last}, noAccumulate="true"
    )
    cumulative = demo.api(f"/statistics/app/{app_id}", **{"from": first, "to": last})
    bundles = demo.api(f"/statistics/app/{app_id}/bundle_usage", **{"from": first, "to": last})
    dates = [point["date"] for point in daily]
    assert len(dates) == 90

    for chart_id, name in LINE_CHARTS.items():
        drawn = tab.chart(chart_id)
        assert drawn["computed"] == [90]
        assert drawn["lines"] == [90], chart_id
        assert drawn["x"] == [dates]
        assert drawn["y"] == [[point[name] for point in daily]]
    bars = tab.chart("chart-bandwidth")
    assert bars["bars"] == 90
    assert bars["y"] == [[point["bandwidth"] for point in daily]]
    line = tab.chart("chart-cumulative")
    assert line["lines"] == [90]
    assert line["y"] == [[point["bandwidth"] for point in cumulative]]
    assert any(point["bandwidth"] for point in daily)

    stacked = tab.chart("chart-bundles")
    assert stacked["traces"] == len(bundles["datasets"]) >= 2
    assert stacked["names"] == [dataset["label"] for dataset in bundles["datasets"]]
    assert stacked["lines"] == [90] * len(bundles["datasets"])
    assert stacked["y"] == [dataset["data"] for dataset in bundles["datasets"]]

    # The summary figures are the API's, written for people.
    for output_id, value in (
        ("value-mau", daily[-1]["mau"]),
        ("value-storage", daily[-1]["storage"]),
        ("value-bandwidth", cumulative[-1]["bandwidth"]),
    ):
        text, exact = tab.shown(output_id)
        assert int(exact) == value, output_id
        assert_for_people(text, value)
    assert tab.page.inner_text("#value-storage").endswith("B")

    # The table holds the last day's shares and counts of the versions in use.
    rows = tab.page.eval_on_selector_all(
        "#bundle-table tbody tr",
        """(rows) => rows.map((row) => [row.dataset.version,
            Number(row.cells[1].dataset.value), Number(row.cells[2].dataset.value),
            row.cells[1].textContent])""",
    )
    in_use = [
        (dataset["label"], dataset["data"][-1], dataset["counts"][-1])
        for dataset in bundles["datasets"]
        if dataset["counts"][-1] > 0
    ]
    assert sorted((row[0], row[1], row[2]) for row in rows) == sorted(in_use)
    assert [row[1] for row in rows] == sorted((row[1] for row in rows), reverse=True)
    assert all(row[3] == f"{row[1]:.1f} %" for row in rows)
    assert sum(row[2] for row in rows) == daily[-1]["mau"]
    save_screenshot(tab.page, "dashboard.png")
    assert tab.errors == []


def test_release_health_is_the_apis_health(tab: Tab, demo: Demo, tmp_path: Path) -> None:
    app_id = demo.app_ids[0]
    tab.sign_in()
    tab.wait_drawn()
    board = tab.show(f"app:{app_id}", "30")
    answer = demo.api(
        f"/statistics/app/{app_id}/health", **{"from": board["from"], "to": board["to"]}
    )
    versions = answer["versions"]
    assert len(versions) >= 2
    assert tab.page.is_visible("#health")
    adoption = demo.api(f"/statistics/app/{app_id}/adoption", date=board["to"])
    forecasts = {adopted["version"]: adopted["forecast"] for adopted in adoption["versions"]}

    # The table: newest version first, each figure the API's.
    rows = tab.page.eval_on_selector_all(
        "#health-table tbody tr",
        "(rows) => rows.map((row) => [row.dataset.version,"
        " ...[...row.cells].slice(1).map((cell) => cell.dataset.value)])",
    )
    expected = [
        [
            version["version"],
            *(str(version["totals"][name]) for name in ("devices", "installs", "rollbacks")),
            *(
                "" if version["rates"][rate] is None else repr(version["rates"][rate])
                for rate in ("rollback", "crash")
            ),
            str(version["totals"]["js_errors"]),
            "|".join(
                forecasts.get(version["version"], {}).get(goal) or "" for goal in ("50", "90")
            ),
        ]
        for version in reversed(versions)
    ]
    assert [
        [row[0], *row[1:4], *(str(float(v)) if v else "" for v in row[4:6]), *row[6:]]
        for row in rows
    ] == expected
    # The forecast column is the adoption answer's, on the range's last day; the demo's newest
    # release is still spreading, so it has a day for 90 %.
    shown = tab.page.eval_on_selector_all(
        "#health-table tbody tr", "(rows) => rows.map((row) => row.cells[7].textContent)"
    )
    shares = {adopted["version"]: adopted["share"] for adopted in adoption["versions"]}

    def forecast_text(version: str) -> str:
        days = forecasts.get(version, {})
        texts = [
            days.get(goal) or ("reached" if shares.get(version, 0) >= int(goal) else "–")
            for goal in ("50", "90")
        ]
        return "–" if texts == ["–", "–"] else f"50 %: {texts[0]} · 90 %: {texts[1]}"

    assert shown == [forecast_text(version["version"]) for version in reversed(versions)]
    assert shown[0].startswith("50 %: reached")  # the newest release is past half already

    # Earlier, while the newest release was spreading, a range ending then shows the forecast of
    # that day (the adoption answer with date=, as the page asks for it).
    newest_first = adoption["versions"][-1]["first_day"]
    spreading = next(
        (day, answered)
        for day in (date.fromisoformat(newest_first) + timedelta(days=n) for n in range(1, 15))
        if (answered := demo.api(f"/statistics/app/{app_id}/adoption", date=day.isoformat()))
        and answered["versions"][-1]["forecast"]["50"] is not None
    )
    tab.custom(f"app:{app_id}", newest_first, spreading[0].isoformat())
    expected_50 = spreading[1]["versions"][-1]["forecast"]["50"]
    assert expected_50 > spreading[0].isoformat()
    assert tab.page.eval_on_selector(
        "#health-table tbody tr", "(row) => row.cells[7].textContent"
    ).startswith(f"50 %: {expected_50}")
    assert f"date={spreading[0].isoformat()}" in "".join(tab.urls)
    tab.show(f"app:{app_id}", "30")

    # The newest version beside the one before it: the demo's newest release rolls back and
    # crashes more, and both its rates are flagged.
    before, newest = versions[-2], versions[-1]
    flags = tab.page.eval_on_selector_all(
        "#health-compare .rate",
        "(items) => items.map((item) => [item.dataset.rate, item.dataset.worse, item.textContent])",
    )
    assert [flag[:2] for flag in flags] == [
        ["rollback", str(newest["rates"]["rollback"] > before["rates"]["rollback"]).lower()],
        ["crash", str(newest["rates"]["crash"] > before["rates"]["crash"]).lower()],
    ]
    assert [flag[1] for flag in flags] == ["true", "true"]
    assert all(newest["version"] in flag[2] and before["version"] in flag[2] for flag in flags)

    # The chart: devices that rolled back and that crashed each day, summed over versions.
    drawn = tab.chart("chart-health")
    assert drawn["names"] == ["Rolled back", "Crashed"]
    assert drawn["x"] == [answer["labels"]] * 2
    assert drawn["y"] == [
        [sum(v["daily"][name][day] for v in versions) for day in range(len(answer["labels"]))]
        for name in ("rollbacks", "crashes")
    ]
    assert any(drawn["y"][0])

    # The CSV download is the API's CSV.
    with tab.page.expect_download() as started:
        tab.page.click("button[data-download=health]")
    saved = tmp_path / "health.csv"
    started.value.save_as(saved)
    header, *rows_csv = csv_rows(saved)
    assert header[:2] == ["version", "date"]
    assert [row[0] for row in rows_csv if row[1] == "total"] == [v["version"] for v in versions]
    tab.page.locator("#health").scroll_into_view_if_needed()
    save_screenshot(tab.page, "dashboard-health.png")
    assert tab.errors == []


def test_an_organization_draws_its_totals_without_bundles(tab: Tab, demo: Demo) -> None:
    tab.sign_in()
    tab.wait_drawn()
    tab.show(f"app:{demo.app_ids[1]}", "30")
    assert tab.page.is_visible("#bundles")
    board = tab.show(f"org:{demo.org_id}", "30")
    first, last = board["from"], board["to"]
    daily = demo.api(
        f"/statistics/org/{demo.org_id}", **{"from": first, "to": last}, noAccumulate="true"
    )
    cumulative = demo.api(f"/statistics/org/{demo.org_id}", **{"from": first, "to": last})
    assert tab.page.is_hidden("#bundles")
    assert tab.chart("chart-mau")["y"] == [[point["mau"] for point in daily]]
    assert tab.chart("chart-mau")["lines"] == [30]
    assert tab.chart("chart-bandwidth")["bars"] == 30
    assert tab.chart("chart-cumulative")["y"] == [[point["bandwidth"] for point in cumulative]]
    text, exact = tab.shown("value-mau")
    assert int(exact) == daily[-1]["mau"]
    assert_for_people(text, daily[-1]["mau"])
    # The organization's figure is the sum of its apps': more than any one app's.
    one_app = demo.api(f"/statistics/app/{demo.app_ids[0]}", **{"from": first, "to": last})
    assert daily[-1]["mau"] > one_app[-1]["mau"]
    save_screenshot(tab.page, "dashboard-organization.png")
    assert tab.errors == []


@pytest.mark.parametrize(
    ("button", "path", "params"),
    [
        pytest.param("daily", "/statistics/org/{org}", {"noAccumulate": "true"}, id="daily"),
        pytest.param("cumulative", "/statistics/org/{org}", {}, id="cumulative"),
    ],
)
def test_a_downloaded_csv_is_the_apis_json(
    tab: Tab, demo: Demo, tmp_path: Path, button: str, path: str, params: dict[str, str]
) -> None:
    tab.sign_in()
    tab.wait_drawn()
    board = tab.show(f"org:{demo.org_id}", "7")
    with tab.page.expect_download() as started:
        tab.page.locator(f"button[data-download={button}]").first.click()
    download = started.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.name.startswith(f"otastats-org-{demo.org_id}-{board['from']}-{board['to']}")
    header, *rows = csv_rows(saved)
    expected = demo.api(
        path.format(org=demo.org_id), **{"from": board["from"], "to": board["to"]}, **params
    )
    assert header == ["date", "mau", "storage", "bandwidth"]
    assert [
        {"date": row[0], "mau": int(row[1]), "storage": int(row[2]), "bandwidth": int(row[3])}
        for row in rows
    ] == expected
    assert len(rows) == 7


def test_the_bundle_csv_is_the_apis_bundle_usage(tab: Tab, demo: Demo, tmp_path: Path) -> None:
    app_id = demo.app_ids[0]
    tab.sign_in()
    tab.wait_drawn()
    board = tab.show(f"app:{app_id}", "month")
    with tab.page.expect_download() as started:
        tab.page.click("button[data-download=bundles]")
    saved = tmp_path / "bundles.csv"
    started.value.save_as(saved)
    header, *rows = csv_rows(saved)
    expected = demo.api(
        f"/statistics/app/{app_id}/bundle_usage", **{"from": board["from"], "to": board["to"]}
    )
    versions = [dataset["label"] for dataset in expected["datasets"]]
    assert header == ["date", *(f"{v} %" for v in versions), *(f"{v} devices" for v in versions)]
    assert [row[0] for row in rows] == expected["labels"]
    for index, row in enumerate(rows):
        assert [float(cell) for cell in row[1 : 1 + len(versions)]] == [
            dataset["data"][index] for dataset in expected["datasets"]
        ]
        assert [int(cell) for cell in row[1 + len(versions) :]] == [
            dataset["counts"][index] for dataset in expected["datasets"]
        ]


def test_365_days_are_drawn_and_timed(tab: Tab, demo: Demo) -> None:
    """A custom range of 365 days: every chart has 365 points; the time is written down."""
    tab.sign_in()
    tab.wait_drawn()
    app_id = demo.app_ids[0]
    tab.show(f"app:{app_id}", "7")
    tab.page.select_option("#preset", "custom")
    last = TODAY
    first = last - timedelta(days=364)
    timings = []
    for attempt in range(3):
        # Alternating ends make each attempt a new request and a new drawing.
        end = last - timedelta(days=attempt % 2)
        start = end - timedelta(days=364)
        tab.page.fill("#from", start.isoformat())
        tab.page.fill("#to", end.isoformat())
        tab.page.click("#apply")
        board = tab.wait_drawn(target=f"app:{app_id}", **{"from": start.isoformat()})
        assert board["days"] == "365"
        timings.append(int(board["drawMs"]))
    assert first.isoformat() == board["from"]
    for chart_id in ("chart-mau", "chart-storage", "chart-cumulative"):
        assert tab.chart(chart_id)["lines"] == [365], chart_id
    assert tab.chart("chart-bandwidth")["bars"] == 365
    stacked = tab.chart("chart-bundles")
    assert stacked["lines"] == [365] * stacked["traces"]
    # A reload keeps the key and the view: the whole page, scripts included, draws them again.
    # Timed here, on the wall clock: the page's own clock is the pinned one, and its origin is
    # where the pin was set, not where the page began to load.
    reload_started = time.monotonic()
    tab.reload()
    reloaded = tab.wait_drawn(target=f"app:{app_id}", **{"from": board["from"]})
    reload_ms = round((time.monotonic() - reload_started) * 1000)
    assert reloaded["days"] == "365"
    write_output(
        "draw-365-days.txt",
        "365 days of one app (three requests, five charts), in ms:\n"
        f"from the first API request to the last chart on screen: {timings},"
        f" median {sorted(timings)[1]}\n"
        "from a reload of the page to the last chart on screen (as the test sees it):"
        f" {reload_ms}\n",
    )
    # Generous: a regression to seconds would show, a slow machine would not fail.
    assert sorted(timings)[1] < 10_000, timings
    save_screenshot(tab.page, "dashboard-365-days.png")


def test_a_bad_key_is_refused_and_forget_key_asks_again(tab: Tab, demo: Demo) -> None:
    tab.sign_in("ota_not-a-real-key")
    tab.page.wait_for_selector("#key-error:not([hidden])")
    assert "This key is not valid" in tab.page.inner_text("#key-error")
    assert tab.page.evaluate("sessionStorage.getItem('otastats.key')") is None
    assert tab.page.is_hidden("#board")
    tab.page.fill("#key", demo.key)
    tab.page.click("#key-form button[type=submit]")
    tab.wait_drawn()
    tab.page.click("#forget")
    assert tab.page.is_visible("#sign-in")
    assert tab.page.is_hidden("#board")
    assert tab.page.evaluate("sessionStorage.length") == 0


def test_the_page_needs_nothing_but_its_own_server(tab: Tab, demo: Demo) -> None:
    tab.sign_in()
    tab.wait_drawn()
    tab.show(f"app:{demo.app_ids[0]}", "30")
    origins = {"{0.scheme}://{0.netloc}".format(urlsplit(url)) for url in tab.urls}
    assert origins == {demo.base}
    assert f"{demo.base}/dashboard/assets/plotly.min.js" in tab.urls
    violations = tab.page.evaluate("window.cspViolations")
    # Only the charting library's map styles (never used here) are refused, as an inline sheet.
    assert all(v == {"directive": "style-src-elem", "blocked": "inline"} for v in violations)
    assert len(violations) <= 1
    assert tab.errors == []


def test_the_key_is_in_no_server_log(tab: Tab, demo: Demo) -> None:
    tab.sign_in()
    tab.wait_drawn()
    tab.show(f"app:{demo.app_ids[1]}", "7")
    # The first line of stdout is the demo's own output, which shows the key by design.
    log = demo.server.stdout().split("\n", 1)[1] + demo.server.stderr_path.read_text()
    assert f"GET /statistics/app/{demo.app_ids[1]}?from=" in log
    assert "GET /me " in log
    assert demo.key not in log
