"""The dashboard's ranges on the dates where they are easy to get wrong, in a real browser: every
preset on the 1st and the last day of a month, 1 January and 29 February (the page's clock pinned
to each), and ranges of one and two days, whose charts must still read.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.dashboard.board import (
    Demo,
    Tab,
    assert_for_people,
    dates,
    drawn_points,
    preset_range,
)
from tests.dashboard.browser import save_screenshot

PRESETS_ON_EDGE_DAYS = {
    # The last day of a month and of a year.
    date(2027, 12, 31): {
        "7": ("2027-12-25", "2027-12-31", 7),
        "30": ("2027-12-02", "2027-12-31", 30),
        "month": ("2027-12-01", "2027-12-31", 31),
        "last-month": ("2027-11-01", "2027-11-30", 30),
    },
    # 1 January: this month is one day, last month is in the year before.
    date(2028, 1, 1): {
        "7": ("2027-12-26", "2028-01-01", 7),
        "30": ("2027-12-03", "2028-01-01", 30),
        "month": ("2028-01-01", "2028-01-01", 1),
        "last-month": ("2027-12-01", "2027-12-31", 31),
    },
    # 29 February, the last day of a month of 29 days.
    date(2028, 2, 29): {
        "7": ("2028-02-23", "2028-02-29", 7),
        "30": ("2028-01-31", "2028-02-29", 30),
        "90": ("2027-12-02", "2028-02-29", 90),
        "month": ("2028-02-01", "2028-02-29", 29),
        "last-month": ("2028-01-01", "2028-01-31", 31),
    },
    # The 1st of a month after a 29 February (and the server's today).
    date(2028, 3, 1): {
        "7": ("2028-02-24", "2028-03-01", 7),
        "30": ("2028-02-01", "2028-03-01", 30),
        "90": ("2027-12-03", "2028-03-01", 90),
        "month": ("2028-03-01", "2028-03-01", 1),
        "last-month": ("2028-02-01", "2028-02-29", 29),
    },
}


@pytest.mark.parametrize("day", PRESETS_ON_EDGE_DAYS, ids=str)
def test_each_preset_shows_its_range_on_an_edge_day(tab: Tab, demo: Demo, day: date) -> None:
    tab.pin_clock(day)
    tab.sign_in()
    tab.wait_drawn()
    target = f"app:{demo.app_ids[2]}"
    for preset, (first, last, days) in PRESETS_ON_EDGE_DAYS[day].items():
        assert preset_range(preset, day) == (first, last), preset
        board = tab.show(target, preset)
        assert (board["from"], board["to"], board["days"]) == (first, last, str(days)), preset
        # What is on screen now is this range's: a point a day on each chart, a bar a day.
        assert drawn_points(tab.chart("chart-mau")) == [days], preset
        assert drawn_points(tab.chart("chart-cumulative")) == [days], preset
        assert tab.chart("chart-bandwidth")["bars"] == days, preset
        bundles = tab.chart("chart-bundles")
        assert bundles["x"] == [dates(first, last)] * bundles["traces"], preset
        status = tab.page.inner_text("#status")
        expected = f"1 day, {last}" if days == 1 else f"{days} days, {first} to {last}"
        assert f": {expected}, drawn in " in status, (preset, status)
    assert tab.errors == []


def check_short_range(tab: Tab, demo: Demo, app_id: str, first: str, last: str) -> None:
    """Each chart of a range of one or two days shows each day's figures so that they read."""
    days = len(dates(first, last))
    params = {"from": first, "to": last}
    daily = demo.api(f"/statistics/app/{app_id}", **params, noAccumulate="true")
    cumulative = demo.api(f"/statistics/app/{app_id}", **params)
    bundles = demo.api(f"/statistics/app/{app_id}/bundle_usage", **params)
    assert [point["date"] for point in daily] == dates(first, last)
    for chart_id, points, name in (
        ("chart-mau", daily, "mau"),
        ("chart-storage", daily, "storage"),
        ("chart-cumulative", cumulative, "bandwidth"),
    ):
        drawn = tab.chart(chart_id)
        values = [point[name] for point in points]
        assert drawn["y"] == [values], chart_id
        # A marker a day, whatever else is drawn.
        assert drawn["markers"] == [days], chart_id
        # The axis starts at 0 and leaves room above the largest value: no dot on the top edge.
        low, high = drawn["yRange"]
        assert low == 0, chart_id
        assert 0 < max(values) <= 0.95 * high, (chart_id, drawn["yRange"])
    # Bandwidth: a bar a day, wide enough to see, as tall as its share of the axis.
    bars = tab.chart("chart-bandwidth")
    assert bars["y"] == [[point["bandwidth"] for point in daily]]
    assert bars["bars"] == days
    assert min(bars["barWidths"]) >= 40, bars["barWidths"]
    assert all(height > 10 for height in bars["barHeights"]), bars["barHeights"]
    # Bundle adoption: a stacked bar a day, a segment a version in use, sized by its share.
    stacked = tab.chart("chart-bundles")
    assert set(stacked["types"]) == {"bar"}
    assert stacked["names"] == [dataset["label"] for dataset in bundles["datasets"]]
    assert stacked["y"] == [dataset["data"] for dataset in bundles["datasets"]]
    assert len(stacked["stacks"]) == len(bundles["datasets"]) >= 2
    assert all(len(heights) == days for heights in stacked["stacks"])
    for day in range(days):
        # Each day's bar fills the axis (the shares add up to 100 %), cut in the shares' sizes.
        column = [heights[day] for heights in stacked["stacks"]]
        full = sum(column)
        assert full > 100
        for dataset, height in zip(bundles["datasets"], column, strict=True):
            assert abs(height - dataset["data"][day] / 100 * full) <= 1.5, (dataset, column)
    assert min(stacked["barWidths"]) >= 40


def test_one_day_and_two_days_read_well(tab: Tab, demo: Demo) -> None:
    """The 1st of a month, "This month": one day; then custom ranges of two days and of one."""
    app_id = demo.app_ids[0]
    tab.sign_in()
    tab.wait_drawn()
    board = tab.show(f"app:{app_id}", "month")
    assert (board["from"], board["to"], board["days"]) == ("2028-03-01", "2028-03-01", "1")
    assert "1 day, 2028-03-01" in tab.page.inner_text("#status")
    save_screenshot(tab.page, "dashboard-one-day.png")
    check_short_range(tab, demo, app_id, "2028-03-01", "2028-03-01")
    one_day = {"from": "2028-03-01", "to": "2028-03-01"}
    [point] = demo.api(f"/statistics/app/{app_id}", **one_day)
    assert point["bandwidth"] > 0
    for output_id, name in (("value-mau", "mau"), ("value-bandwidth", "bandwidth")):
        text, exact = tab.shown(output_id)
        assert int(exact) == point[name]
        assert_for_people(text, point[name])
    assert tab.page.inner_text("#note-bandwidth") == "on 2028-03-01"

    board = tab.custom(f"app:{app_id}", "2028-02-29", "2028-03-01")
    assert board["days"] == "2"
    assert "2 days, 2028-02-29 to 2028-03-01" in tab.page.inner_text("#status")
    save_screenshot(tab.page, "dashboard-two-days.png")
    check_short_range(tab, demo, app_id, "2028-02-29", "2028-03-01")

    # A custom range of one day, 29 February: from the two days, a range of another shape.
    board = tab.custom(f"app:{app_id}", "2028-02-29", "2028-02-29")
    assert board["days"] == "1"
    assert "1 day, 2028-02-29" in tab.page.inner_text("#status")
    check_short_range(tab, demo, app_id, "2028-02-29", "2028-02-29")
    assert tab.errors == []


def test_a_range_past_the_servers_today_says_where_it_was_cut(tab: Tab, demo: Demo) -> None:
    tab.sign_in()
    tab.wait_drawn()
    board = tab.custom(f"app:{demo.app_ids[1]}", "2028-02-25", "2028-03-05")
    assert board["days"] == "6"
    assert drawn_points(tab.chart("chart-mau")) == [6]
    status = tab.page.inner_text("#status")
    assert "6 days, 2028-02-25 to 2028-03-01 (10 days asked; no data after today)" in status
