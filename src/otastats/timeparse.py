"""Parsing of RFC 3339 timestamps and calendar dates into the integers the engine stores.

Instants are integer microseconds since the Unix epoch (UTC); days are integer days since
1970-01-01 (UTC). Fractions of a second beyond the microsecond are truncated.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

MICROS_PER_DAY = 86_400_000_000
EPOCH_DATE = date(1970, 1, 1)

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))\Z"
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z")


def parse_instant(text: str) -> int | None:
    """Microseconds since the epoch of an RFC 3339 date-time with an offset, or None."""
    m = _RFC3339.match(text)
    if m is None:
        return None
    day_start = _day_start(m.group(1), m.group(2), m.group(3))
    hour, minute, second = int(m.group(4)), int(m.group(5)), int(m.group(6))
    if day_start is None or hour > 23 or minute > 59 or second > 59:
        return None
    fraction = m.group(7)
    micros = day_start + ((hour * 60 + minute) * 60 + second) * 1_000_000
    if fraction:
        micros += int((fraction + "00000")[:6])
    if m.group(8) is None:
        off_h, off_m = int(m.group(10)), int(m.group(11))
        if off_h > 23 or off_m > 59:
            return None
        offset = (off_h * 60 + off_m) * 60_000_000
        micros += -offset if m.group(9) == "+" else offset
    return micros


@lru_cache(maxsize=4096)
def _day_start(year: str, month: str, day: str) -> int | None:
    """Microseconds at the start of a calendar day, or None for a day that does not exist."""
    try:
        return date_to_day(date(int(year), int(month), int(day))) * MICROS_PER_DAY
    except ValueError:
        return None


def parse_day(text: str) -> int | None:
    """The day number of ``YYYY-MM-DD``, or of the UTC date of an RFC 3339 date-time."""
    m = _DATE.match(text)
    if m is not None:
        try:
            return date_to_day(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            return None
    micros = parse_instant(text)
    return None if micros is None else micros // MICROS_PER_DAY


def datetime_to_micros(value: datetime) -> int:
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def micros_to_datetime(micros: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)


def date_to_day(value: date) -> int:
    return (value - EPOCH_DATE).days


def day_to_date(day: int) -> date:
    return EPOCH_DATE + timedelta(days=day)


def day_to_iso(day: int) -> str:
    return day_to_date(day).isoformat()


def today(now: datetime) -> int:
    return datetime_to_micros(now) // MICROS_PER_DAY
