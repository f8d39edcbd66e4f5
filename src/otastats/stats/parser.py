"""Parsing the query string of a Statistics endpoint into one immutable StatsQuery."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from otastats.errors import InvalidBody
from otastats.timeparse import date_to_day, day_to_iso, parse_day

MAX_SPAN_DAYS = 1095
DATE_RULE = "a date YYYY-MM-DD, or an RFC 3339 date-time with an offset"
FIRST_DAY, LAST_DAY = date_to_day(date.min), date_to_day(date.max)
"""0001-01-01 and 9999-12-31: a date-time near them can fall on a UTC date beyond them."""


@dataclass(frozen=True, slots=True)
class StatsQuery:
    from_day: int
    to_day: int
    """The last day returned: the requested ``to``, or today when that is earlier."""
    no_accumulate: bool = False
    breakdown: bool = False

    @property
    def days(self) -> range:
        """Every day returned, in order; empty when the range lies entirely in the future."""
        return range(self.from_day, self.to_day + 1)


def parse_query(params: Mapping[str, str], today: int, flags: tuple[str, ...] = ()) -> StatsQuery:
    """The query of an endpoint that takes the boolean parameters ``flags``; others are
    ignored, as is any parameter an endpoint does not take."""
    from_day = _day(params, "from")
    to_day = _day(params, "to")
    no_accumulate = "noAccumulate" in flags and _flag(params, "noAccumulate")
    breakdown = "breakdown" in flags and _flag(params, "breakdown")
    if from_day > to_day:
        raise InvalidBody("from: must not be after to")
    if to_day - from_day > MAX_SPAN_DAYS:
        raise InvalidBody(
            f"to: must be at most {MAX_SPAN_DAYS} days after from (a range holds at most"
            f" {MAX_SPAN_DAYS + 1} days)"
        )
    return StatsQuery(from_day, min(to_day, today), no_accumulate, breakdown)


def _day(params: Mapping[str, str], name: str) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        raise InvalidBody(f"{name}: is required ({DATE_RULE})")
    day = parse_day(raw)
    if day is None:
        raise InvalidBody(f"{name}: must be {DATE_RULE}")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidBody(f"{name}: must fall on a UTC date from 0001-01-01 to 9999-12-31")
    return day


def _flag(params: Mapping[str, str], name: str) -> bool:
    raw = params.get(name)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise InvalidBody(f"{name}: must be true or false")
    return raw == "true"


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def parse_adoption_day(params: Mapping[str, str], today: int) -> int:
    """The ``date`` of the adoption endpoint: ``YYYY-MM-DD`` in ASCII digits, not after today;
    today when absent."""
    raw = params.get("date")
    if raw is None:
        return today
    day = parse_day(raw) if _ISO_DATE.match(raw) else None
    if day is None:
        raise InvalidBody("date: must be a date YYYY-MM-DD (ASCII digits)")
    if day > today:
        raise InvalidBody(f"date: must not be after today ({day_to_iso(today)}, UTC)")
    return day
