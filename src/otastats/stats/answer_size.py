"""The bound on a Statistics answer's size: rows (apps or versions, times days) it may hold.

An answer is built whole in memory, JSON or CSV, and its cost grows with its rows; past
``max_rows`` the request is refused with a 400 that says how to narrow it, never truncated.
"""

from __future__ import annotations

from otastats.errors import InvalidBody
from otastats.stats.parser import StatsQuery


def check_answer_rows(
    series: int, what: str, query: StatsQuery, max_rows: int, other_way: str = ""
) -> None:
    """400 when ``series`` (apps or versions) times the query's days pass ``max_rows``
    (0: no limit)."""
    days = len(query.days)
    if not max_rows or series * days <= max_rows:
        return
    fitting = max_rows // series
    narrower = (
        f"ask for at most {fitting:,} days at a time"
        if fitting
        else f"this answer cannot fit even for one day (more than {max_rows:,} {what})"
    )
    raise InvalidBody(
        f"to: the answer would hold {series * days:,} rows ({series:,} {what} over"
        f" {days:,} days), more than the {max_rows:,} allowed; {narrower}"
        + (f", {other_way}" if other_way else "")
    )
