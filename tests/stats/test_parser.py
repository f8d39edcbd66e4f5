"""The query parser: inclusive dates, no future days, the 1096-day limit, exact booleans."""

from __future__ import annotations

import pytest

from otastats.errors import InvalidBody
from otastats.stats.parser import parse_query
from otastats.timeparse import parse_day

TODAY = parse_day("2024-03-15")
assert TODAY is not None


FLAGS = ("breakdown", "noAccumulate")


def days(query_from: str, query_to: str, **extra: str) -> list[int]:
    return list(parse_query({"from": query_from, "to": query_to, **extra}, TODAY, FLAGS).days)


def test_both_ends_are_inclusive() -> None:
    assert days("2024-03-01", "2024-03-03") == [
        parse_day("2024-03-01"),
        parse_day("2024-03-02"),
        parse_day("2024-03-03"),
    ]


def test_days_after_today_are_left_out() -> None:
    assert days("2024-03-14", "2024-03-20") == [parse_day("2024-03-14"), TODAY]


def test_a_range_entirely_in_the_future_has_no_days() -> None:
    assert days("2024-04-01", "2024-04-10") == []


def test_a_date_time_with_an_offset_is_taken_as_its_utc_date() -> None:
    # 2024-03-02T01:00:00+05:00 is 2024-03-01T20:00:00Z.
    assert days("2024-03-02T01:00:00+05:00", "2024-03-01") == [parse_day("2024-03-01")]


def test_1096_days_are_allowed_and_1097_are_not() -> None:
    assert len(days("2021-03-15", "2024-03-14")) == 1096
    with pytest.raises(InvalidBody, match=r"^to: must be at most 1095 days after from"):
        days("2021-03-14", "2024-03-14")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"to": "2024-03-01"}, "from: is required"),
        ({"from": "2024-03-01"}, "to: is required"),
        ({"from": "2024-13-01", "to": "2024-03-01"}, "from: must be a date"),
        ({"from": "2024-03-01", "to": "yesterday"}, "to: must be a date"),
        ({"from": "2024-03-01T00:00:00", "to": "2024-03-01"}, "from: must be a date"),
        ({"from": "2024-03-02", "to": "2024-03-01"}, "from: must not be after to"),
        ({"from": "2024-03-01", "to": "2024-03-02", "noAccumulate": "1"}, "noAccumulate: must"),
        ({"from": "2024-03-01", "to": "2024-03-02", "breakdown": "True"}, "breakdown: must"),
    ],
)
def test_bad_parameters_name_the_parameter_and_the_rule(
    params: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidBody) as raised:
        parse_query(params, TODAY, FLAGS)
    assert raised.value.error.startswith(message)


def test_booleans_are_exactly_true_or_false() -> None:
    query = parse_query(
        {"from": "2024-03-01", "to": "2024-03-02", "noAccumulate": "true", "breakdown": "false"},
        TODAY,
        FLAGS,
    )
    assert query.no_accumulate is True
    assert query.breakdown is False


def test_a_parameter_the_endpoint_does_not_take_is_ignored() -> None:
    query = parse_query(
        {"from": "2024-03-01", "to": "2024-03-02", "breakdown": "maybe", "noAccumulate": "1"},
        TODAY,
        (),
    )
    assert (query.breakdown, query.no_accumulate) == (False, False)
