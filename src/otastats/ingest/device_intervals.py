"""How a device's counted activity days turn into mau and per-version count deltas.

A device whose counted activity days are d0 < d1 < ... with end-of-day versions v0, v1, ...
is counted in mau, on version vi, on the days [di, min(d(i+1), di + 30)). Each such interval
adds +1 at its start and -1 at its end to the app's mau deltas and to vi's deltas, so that a
day's mau and each version's device count are prefix sums. A change to some days of a device
only changes the intervals of those days and of the day before each of them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable

from otastats.storage.base import DayState

WINDOW_DAYS = 30


class IntervalDeltas:
    """Accumulated +1/-1 deltas of one batch, keyed the way the store adds them."""

    def __init__(self) -> None:
        self.mau: defaultdict[tuple[str, int], int] = defaultdict(int)
        self.versions: defaultdict[tuple[str, str, int], int] = defaultdict(int)

    def _interval(
        self, app_id: str, days: list[int], states: dict[int, DayState], day: int, sign: int
    ) -> None:
        at = bisect_left(days, day)
        end = day + WINDOW_DAYS
        if at + 1 < len(days):
            end = min(end, days[at + 1])
        version = states[day][0]
        self.mau[(app_id, day)] += sign
        self.mau[(app_id, end)] -= sign
        self.versions[(app_id, version, day)] += sign
        self.versions[(app_id, version, end)] -= sign

    def replace_days(
        self,
        app_id: str,
        old: dict[int, DayState],
        new: dict[int, DayState],
        changed: set[int],
    ) -> None:
        """Move from ``old`` to ``new`` states of one device, which differ on ``changed``."""
        old_days = sorted(old)
        new_days = sorted(new)
        affected = set(changed)
        for day in changed:
            at = bisect_left(new_days, day)
            if at > 0:
                affected.add(new_days[at - 1])
        for day in affected:
            if day in old:
                self._interval(app_id, old_days, old, day, -1)
            self._interval(app_id, new_days, new, day, +1)


def neighbourhood(days: Iterable[int]) -> list[tuple[int, int]]:
    """The inclusive day ranges of a device's stored days that a change of ``days`` needs.

    A changed day's interval ends at most 30 days after it, and the interval of the activity
    day before it changes only when that day is less than 30 days earlier: the stored days
    within 30 days either side of each changed day are all that moving the deltas reads. (A
    day further back that happens to be read as a neighbour has its interval removed and added
    unchanged.) Overlapping ranges are merged, so no day is read twice.
    """
    ranges: list[tuple[int, int]] = []
    for day in sorted(set(days)):
        low, high = day - WINDOW_DAYS, day + WINDOW_DAYS
        if ranges and low <= ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], high)
        else:
            ranges.append((low, high))
    return ranges


def merge_activity(states: dict[int, DayState], day: int, version: str, ts: int) -> bool:
    """Fold one counted check-in into a device's day states; True if the day's state changed.

    A day ends on the version of its latest check-in; at equal timestamps, on the greatest
    version name in code-point order.
    """
    current = states.get(day)
    if current is not None and (ts, version) <= (current[1], current[0]):
        return False
    states[day] = (version, ts)
    return True
