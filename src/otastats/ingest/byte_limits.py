"""Events whose bytes would take one of their app's byte figures past 2^63 - 1.

Both databases store a 64-bit signed integer exactly, and no more: an app's bandwidth on a day,
its bandwidth over all its days together, and its storage at the end of every day must stay at
most 2^63 - 1. Org and user figures are sums of these and are added up exactly when read.

Events are judged one by one, in the order they are written, against the stored figures and
the events accepted before them; one that would pass a limit is rejected on its own.

Bandwidth is exact and cheap: the day's bytes and the app's total are read once per batch.
Storage is first judged by a bound: adding events to a version either leaves its size on a day
as it was, clears it, or sets it to the size of one of the added creations, so the app's storage
on any day from the creation's on is at most the largest stored level from that day on plus the
bytes of the creations accepted in the batch. Only when that bound passes the limit (an app
holding exabytes) is the exact storage of every later day computed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from itertools import accumulate

from otastats.ingest.bundle_storage import storage_delta
from otastats.ingest.schemas import BUNDLE_CREATED, BUNDLE_DELETED, DOWNLOAD, Event
from otastats.storage.base import BundleEvent, WriteTx
from otastats.timeparse import MICROS_PER_DAY, day_to_iso

MAX_FIGURE = 2**63 - 1
_LIMIT = f"2^63 - 1 ({MAX_FIGURE})"


class ByteLimits:
    """The byte figures of the apps of one batch, as its events are accepted one by one."""

    def __init__(self, tx: WriteTx, events: list[Event]) -> None:
        self._tx = tx
        days = {(e.app_id, e.ts // MICROS_PER_DAY) for e in events if e.kind == DOWNLOAD}
        self._day_bandwidth, self._total_bandwidth = tx.load_bandwidth(days)
        apps = {e.app_id for e in events if e.kind == BUNDLE_CREATED}
        self._storage = {
            app_id: _AppStorage(changes)
            for app_id, changes in tx.load_storage_changes(apps).items()
        }

    def admit(self, event: Event) -> str | None:
        """None, and the event is counted, or the error that rejects it."""
        size = event.bytes or 0
        if event.kind == DOWNLOAD:
            day_key = (event.app_id, event.ts // MICROS_PER_DAY)
            day_total = self._day_bandwidth.get(day_key, 0) + size
            if day_total > MAX_FIGURE:
                day = day_to_iso(day_key[1])
                return f"bytes: would take the app's bandwidth of {day} past {_LIMIT}"
            total = self._total_bandwidth.get(event.app_id, 0) + size
            if total > MAX_FIGURE:
                return f"bytes: would take the app's bandwidth of all its days past {_LIMIT}"
            self._day_bandwidth[day_key] = day_total
            self._total_bandwidth[event.app_id] = total
        elif event.kind in (BUNDLE_CREATED, BUNDLE_DELETED) and event.app_id in self._storage:
            # A deletion never raises storage, but the exact levels need it.
            bundle = (event.ts, event.kind == BUNDLE_CREATED, size)
            if not self._storage[event.app_id].admit(self._tx, event, bundle):
                return f"bytes: would take the app's storage past {_LIMIT}"
        return None


class _AppStorage:
    def __init__(self, changes: dict[int, int]) -> None:
        self._changes = dict(changes)
        self._days = sorted(changes)
        levels = list(accumulate(changes[day] for day in self._days))
        # _from[i]: the largest level from the i-th change day on (0 after the last).
        self._from = [*reversed(list(accumulate(reversed(levels), max))), 0]
        self._levels = levels
        self._added = 0
        self._accepted: defaultdict[str, list[BundleEvent]] = defaultdict(list)
        self._versions: dict[str, list[BundleEvent]] | None = None

    def admit(self, tx: WriteTx, event: Event, bundle: BundleEvent) -> bool:
        version = event.version_name
        if self._versions is None:
            if bundle[1] and self._bound(bundle[0] // MICROS_PER_DAY) + bundle[2] > MAX_FIGURE:
                self._exact(tx, event.app_id)
            else:
                self._added += bundle[2] if bundle[1] else 0
                self._accepted[version].append(bundle)
                return True
        assert self._versions is not None
        if version not in self._versions:
            stored = tx.load_bundle_events([(event.app_id, version)])
            self._versions[version] = stored.get((event.app_id, version), [])
        before = self._versions[version]
        after = [*before, bundle]
        delta = storage_delta(before, after)
        changes = dict(self._changes)
        for day, change in delta.items():
            changes[day] = changes.get(day, 0) + change
        # A deletion lowers storage or leaves it: it is never refused.
        highest = max(accumulate(changes[day] for day in sorted(changes)), default=0)
        if bundle[1] and highest > MAX_FIGURE:
            return False
        self._changes = changes
        self._versions[version] = after
        return True

    def _bound(self, day: int) -> int:
        """At least the app's storage on ``day`` and every later day, once the batch is in."""
        at = bisect_right(self._days, day)
        on_day = self._levels[at - 1] if at else 0
        return max(on_day, self._from[at]) + self._added

    def _exact(self, tx: WriteTx, app_id: str) -> None:
        """Leave the bound for the exact levels: the stored events and those accepted so far."""
        stored = tx.load_bundle_events([(app_id, version) for version in self._accepted])
        self._versions = {}
        for version, accepted in self._accepted.items():
            before = stored.get((app_id, version), [])
            self._versions[version] = [*before, *accepted]
            for day, change in storage_delta(before, self._versions[version]).items():
                self._changes[day] = self._changes.get(day, 0) + change
