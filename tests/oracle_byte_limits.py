"""Which events the byte limits of SPEC section 4 reject, judged literally and by brute force.

An event is rejected when it would take one of its app's byte figures past 2^63 - 1: the app's
bandwidth on a day, its bandwidth over all its days together, or its storage at the end of any
day. The events of each request are judged in order, against every event accepted before them
(earlier requests included). Duplicates (an (app_id, event_id) already accepted) are judged
first and never count; a rejected event leaves its id free. Shares no code with ``otastats``;
figures are recomputed from the whole list of accepted events for every judgement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from tests.oracle import parse_timestamp as _parse

parse_timestamp = cache(_parse)

MAX = 2**63 - 1


def _storage(events: Sequence[Mapping[str, Any]], app_id: str, day: date) -> int:
    """storage(app, D) of SPEC section 2, version by version."""
    by_version: defaultdict[str, list[tuple[datetime, str, int]]] = defaultdict(list)
    for event in events:
        if event["app_id"] == app_id and event["type"] in ("bundle_created", "bundle_deleted"):
            instant = parse_timestamp(event["timestamp"])
            if instant.date() <= day:
                by_version[event["version_name"]].append(
                    (instant, event["type"], event.get("bytes") or 0)
                )
    total = 0
    for bundle_events in by_version.values():
        created = [(at, size) for at, kind, size in bundle_events if kind == "bundle_created"]
        if not created:
            continue
        latest_at, latest_size = max(created)
        if not any(kind == "bundle_deleted" and at >= latest_at for at, kind, _ in bundle_events):
            total += latest_size
    return total


def _over(events: Sequence[Mapping[str, Any]], event: Mapping[str, Any]) -> bool:
    app_id = event["app_id"]
    mine = [e for e in events if e["app_id"] == app_id]
    if event["type"] == "download":
        day = parse_timestamp(event["timestamp"]).date()
        sizes = [(parse_timestamp(e["timestamp"]).date(), e["bytes"]) for e in mine
                 if e["type"] == "download"]  # fmt: skip
        return sum(s for d, s in sizes if d == day) > MAX or sum(s for _, s in sizes) > MAX
    if event["type"] in ("bundle_created", "bundle_deleted"):
        # Storage changes only on the days of bundle events: checking those days is enough.
        days = {parse_timestamp(e["timestamp"]).date() for e in mine
                if e["type"] in ("bundle_created", "bundle_deleted")}  # fmt: skip
        return any(_storage(mine, app_id, day) > MAX for day in days)
    return False


def judge(
    earlier: list[dict[str, Any]], request: Sequence[dict[str, Any]]
) -> tuple[list[int], int, list[int]]:
    """(indices accepted, duplicates, indices rejected for their bytes) of one request of valid
    events; ``earlier`` (the events accepted so far) is extended with the accepted ones."""
    ids = {(e["app_id"], e["event_id"]) for e in earlier if "event_id" in e}
    accepted: list[int] = []
    rejected: list[int] = []
    duplicates = 0
    for index, event in enumerate(request):
        key = (event["app_id"], event["event_id"]) if "event_id" in event else None
        if key in ids:
            duplicates += 1
            continue
        if _over([*earlier, event], event):
            rejected.append(index)
            continue
        earlier.append(event)
        accepted.append(index)
        if key is not None:
            ids.add(key)
    return accepted, duplicates, rejected
