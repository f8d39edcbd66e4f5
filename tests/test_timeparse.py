"""RFC 3339 instants and calendar days."""

from __future__ import annotations

import pytest

from otastats.timeparse import MICROS_PER_DAY, day_to_iso, parse_day, parse_instant


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01t00:00:01z", 1_000_000),
        ("1970-01-01T01:00:00+01:00", 0),
        ("1969-12-31T19:00:00-05:00", 0),
        ("1970-01-01T00:00:00.5Z", 500_000),
        ("1970-01-01T00:00:00.123456789Z", 123_456),
        ("1970-01-02T00:00:00Z", MICROS_PER_DAY),
    ],
)
def test_valid_instants(text: str, micros: int) -> None:
    assert parse_instant(text) == micros


@pytest.mark.parametrize(
    "text",
    [
        "1970-01-01T00:00:00",  # no offset
        "1970-01-01 00:00:00Z",
        "1970-01-01T24:00:00Z",
        "1970-02-30T00:00:00Z",
        "1970-01-01T00:00:00+24:00",
        "1970-01-01T00:00:00.Z",
        "1970-01-01",
        "",
    ],
)
def test_invalid_instants(text: str) -> None:
    assert parse_instant(text) is None


def test_days_from_dates_and_date_times() -> None:
    assert parse_day("1970-01-02") == 1
    assert parse_day("2024-03-15T23:30:00-02:00") == parse_day("2024-03-16")
    assert parse_day("2024-02-30") is None
    assert day_to_iso(parse_day("2024-02-29") or 0) == "2024-02-29"


@pytest.mark.parametrize(
    "text",
    [
        "２026-01-01",  # a fullwidth digit
        "2026-0١-01",  # an Arabic-Indic digit
        "2026-01-01T00:00:0０Z",
        "2026-01-01T00:00:00+0１:00",
    ],
)
def test_only_ascii_digits_make_a_date(text: str) -> None:
    assert parse_day(text) is None
    assert parse_instant(text) is None
