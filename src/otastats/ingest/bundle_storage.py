"""How a version's bundle_created and bundle_deleted events turn into storage deltas.

At the end of day D a version counts its bytes when its latest bundle_created at or before
the end of D (at equal timestamps, the larger size) is not followed by a bundle_deleted at
or before the end of D; a deletion at the same instant as the creation follows it.
"""

from __future__ import annotations

from otastats.storage.base import BundleEvent
from otastats.timeparse import MICROS_PER_DAY


def level_changes(events: list[BundleEvent]) -> dict[int, int]:
    """day -> change of the version's stored bytes at the end of that day."""
    changes: dict[int, int] = {}
    created: tuple[int, int] | None = None  # (timestamp, bytes) of the latest creation
    deleted_at: int | None = None
    level = 0
    ordered = sorted(events)
    for index, (ts, is_created, size) in enumerate(ordered):
        if is_created:
            if created is None or (ts, size) > created:
                created = (ts, size)
        elif deleted_at is None or ts > deleted_at:
            deleted_at = ts
        day = ts // MICROS_PER_DAY
        last_of_day = index + 1 == len(ordered) or ordered[index + 1][0] // MICROS_PER_DAY != day
        if last_of_day:
            exists = created is not None and (deleted_at is None or deleted_at < created[0])
            new_level = created[1] if exists and created is not None else 0
            if new_level != level:
                changes[day] = new_level - level
                level = new_level
    return changes


def storage_delta(old: list[BundleEvent], new: list[BundleEvent]) -> dict[int, int]:
    """The storage deltas that move a version from the ``old`` events to the ``new`` ones."""
    result = dict(level_changes(new))
    for day, change in level_changes(old).items():
        result[day] = result.get(day, 0) - change
    return {day: change for day, change in result.items() if change}
