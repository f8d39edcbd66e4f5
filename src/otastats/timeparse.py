"""Parsing of RFC 3339 timestamps and calendar dates into the integers the engine stores.

Instants are integer microseconds since the Unix epoch (UTC); days are integer days since
1970-01-01 (UTC). Fractions of a second beyond the microsecond are truncated.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

MICROS_PER_DAY = 86_400_000_000
EPOCH_DATE = date(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)

# re.ASCII: without it \d also matches the digits of other scripts (fullwidth, Arabic-Indic),
# which int() reads as ASCII ones.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})\Z", re.ASCII
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z", re.ASCII)


def parse_instant(text: str) -> int | None:
    """Microseconds since the epoch of an RFC 3339 date-time with an offset, or None."""
    # The pattern is the RFC's strict shape; fromisoformat (lenient, but fast) then reads it
    # and rejects impossible dates, times and offsets.
    if _RFC3339.match(text) is None:
        return None
    if text[10] == "t" or text[-1] == "z":
        text = text.upper()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (value - _EPOCH) // _ONE_MICROSECOND


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
