"""How a batch of reports changes the kept update-health state (SPEC section 8), exactly and
whatever the arrival order.

For each counted device, version and class, the state keeps every day it reported that class
(``health_device_days``) and its first such day (``health_firsts``). From them, per version,
class and day: ``devices``, the distinct devices that reported on that day, and ``new_devices``,
those whose first day it is (``health_days``); per version and class, the distinct devices of
the whole history and the first day of any of them (``health_totals``). A report only adds a
day: if the (device, version, class, day) is already known, nothing changes (duplicates,
re-sent batches); if it is new, that day's ``devices`` grows by one; if it is also earlier than
the device's first day (a late report), the device's ``new_devices`` moves from the old first
day to the new one. The distinct devices up to a day D are then the whole-history total minus
the ``new_devices`` of the days after D.
"""

from __future__ import annotations

from collections import defaultdict

from otastats.health.classes import report_classes
from otastats.ingest.schemas import ACTION, DEVICE_SEEN, Event
from otastats.storage.base import HealthCounts, HealthDay, HealthKey, HealthTotals, WriteTx
from otastats.timeparse import MICROS_PER_DAY


def health_days(events: list[Event]) -> set[HealthDay]:
    """The (app, device, version, class, day) reports of a batch's counted devices."""
    found: set[HealthDay] = set()
    for event in events:
        if event.kind not in (DEVICE_SEEN, ACTION) or event.is_emulator or not event.is_prod:
            continue
        assert event.device_id is not None
        action = event.action if event.kind == ACTION else None
        classes = report_classes(action, event.platform, event.plugin_version)
        day = event.ts // MICROS_PER_DAY
        for name in classes:
            found.add((event.app_id, event.device_id, event.version_name, name, day))
    return found


def apply_health(tx: WriteTx, events: list[Event]) -> None:
    """Fold a batch's accepted events into the health state, in the ingest transaction."""
    reports = health_days(events)
    if not reports:
        return
    new = tx.claim_health_days(sorted(reports))
    if not new:
        return
    counts: defaultdict[tuple[str, str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    earliest: dict[HealthKey, int] = {}
    for app_id, device_id, version, name, day in new:
        counts[(app_id, version, name, day)][0] += 1
        key = (app_id, device_id, version, name)
        if day < earliest.get(key, day + 1):
            earliest[key] = day
    # A report already known cannot lower a first day: only the new ones are looked up.
    known = tx.load_health_firsts(earliest)
    firsts: list[HealthDay] = []
    totals: defaultdict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 2**31 - 1])
    for key, day in earliest.items():
        before = known.get(key)
        if before is not None and before <= day:
            continue
        app_id, _, version, name = key
        counts[(app_id, version, name, day)][1] += 1
        total = totals[(app_id, version, name)]
        total[1] = min(total[1], day)
        if before is None:
            total[0] += 1
        else:
            counts[(app_id, version, name, before)][1] -= 1
        firsts.append((*key, day))
    tx.set_health_firsts(firsts)
    daily: HealthCounts = {key: (a, b) for key, (a, b) in counts.items() if a or b}
    whole: HealthTotals = {key: (a, b) for key, (a, b) in totals.items()}
    tx.add_health_counts(daily, whole)
