"""Folding a batch of accepted events into the stored metric state, in one write transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import orjson

from otastats.ingest.bundle_storage import storage_delta
from otastats.ingest.device_intervals import IntervalDeltas, merge_activity, neighbourhood
from otastats.ingest.health_state import apply_health
from otastats.ingest.schemas import BUNDLE_CREATED, BUNDLE_DELETED, DOWNLOAD, Event
from otastats.storage.base import DeviceKey, EventRow, WriteTx
from otastats.timeparse import MICROS_PER_DAY

_INT64_MAX = 2**63 - 1


def apply_events(tx: WriteTx, events: list[Event]) -> None:
    tx.insert_events([_raw_row(event) for event in events])
    first_seen: dict[tuple[str, str], int] = {}
    bandwidth: defaultdict[tuple[str, int], int] = defaultdict(int)
    activity: defaultdict[DeviceKey, list[Event]] = defaultdict(list)
    bundles: defaultdict[tuple[str, str], list[Event]] = defaultdict(list)
    for event in events:
        if event.counted:
            assert event.device_id is not None
            activity[(event.app_id, event.device_id)].append(event)
            _note_first(first_seen, event)
        elif event.kind == DOWNLOAD:
            assert event.bytes is not None
            bandwidth[(event.app_id, event.ts // MICROS_PER_DAY)] += event.bytes
        elif event.kind in (BUNDLE_CREATED, BUNDLE_DELETED):
            bundles[(event.app_id, event.version_name)].append(event)
            if event.kind == BUNDLE_CREATED:
                _note_first(first_seen, event)
    deltas = IntervalDeltas()
    _apply_activity(tx, activity, deltas)
    storage = _apply_bundles(tx, bundles)
    # A day's storage delta is a difference of two changes of levels in [0, 2^63 - 1], so it
    # may lie outside the 64 bits a database takes: such a delta is added in two halves, the
    # stored value passing through their midpoint, which lies in range.
    second = {key: change // 2 for key, change in storage.items() if abs(change) > _INT64_MAX}
    for key, half in second.items():
        storage[key] -= half
    tx.add_level_deltas(deltas.mau, storage)
    if second:
        tx.add_level_deltas({}, second)
    tx.add_version_deltas(deltas.versions)
    tx.add_bandwidth(bandwidth)
    tx.note_first_seen(first_seen)
    apply_health(tx, events)


def _note_first(first_seen: dict[tuple[str, str], int], event: Event) -> None:
    key = (event.app_id, event.version_name)
    known = first_seen.get(key)
    if known is None or event.ts < known:
        first_seen[key] = event.ts


def _apply_activity(
    tx: WriteTx, activity: dict[DeviceKey, list[Event]], deltas: IntervalDeltas
) -> None:
    if not activity:
        return
    stored = tx.load_device_days(
        {
            key: neighbourhood(event.ts // MICROS_PER_DAY for event in device_events)
            for key, device_events in activity.items()
        }
    )
    writes: list[tuple[str, str, int, str, int]] = []
    for key, device_events in activity.items():
        old = stored.get(key, {})
        new = dict(old)
        dirty: set[int] = set()
        for event in device_events:
            day = event.ts // MICROS_PER_DAY
            if merge_activity(new, day, event.version_name, event.ts):
                dirty.add(day)
        if not dirty:
            continue
        app_id, device_id = key
        changed = {day for day in dirty if day not in old or old[day][0] != new[day][0]}
        if changed:
            deltas.replace_days(app_id, old, new, changed)
        writes.extend((app_id, device_id, day, *new[day]) for day in dirty)
    tx.upsert_device_days(writes)


def _apply_bundles(
    tx: WriteTx, bundles: dict[tuple[str, str], list[Event]]
) -> dict[tuple[str, int], int]:
    storage: defaultdict[tuple[str, int], int] = defaultdict(int)
    if not bundles:
        return storage
    stored = tx.load_bundle_events(bundles)
    rows: list[tuple[str, str, int, bool, int]] = []
    for (app_id, version), version_events in bundles.items():
        old = stored.get((app_id, version), [])
        added = [
            (event.ts, event.kind == BUNDLE_CREATED, event.bytes or 0) for event in version_events
        ]
        for day, change in storage_delta(old, old + added).items():
            storage[(app_id, day)] += change
        rows.extend((app_id, version, *event) for event in added)
    tx.insert_bundle_events(rows)
    return storage


def _raw_row(event: Event) -> EventRow:
    """The stored form of an event (table ``events``). An action (type 4, ACTION) keeps: its
    name in ``action``; its device (lower-cased) in ``device_id``; the bundle it stands for in
    ``version_name``; ``platform`` as sent or NULL; its flags in ``is_emulator`` and
    ``is_prod`` (it counts for devices when 0 and 1); and in the ``extra`` JSON object, when
    sent, ``plugin_version``, ``version_build``, ``version_name_sent`` (the name before it was
    mapped) and ``metadata`` (an object of strings). Whether it is a check-in is a function of
    its name (otastats.ingest.rules.CHECK_IN_ACTIONS)."""
    extra: Mapping[str, object] | None = event.extra
    if event.metadata:
        extra = {**(extra or {}), "metadata": event.metadata}
    return (
        event.app_id,
        event.kind,
        event.device_id,
        event.ts,
        event.version_name,
        event.bytes,
        event.platform,
        int(event.is_emulator),
        int(event.is_prod),
        orjson.dumps(extra).decode() if extra else None,
        event.action,
    )
