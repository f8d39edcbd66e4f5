"""A brute-force oracle of the Statistics API, read straight from SPEC sections 2, 3 and 7.

It shares no code with ``otastats``: every figure of every day is recomputed from the full list
of accepted events, with the definitions of the SPEC taken literally. It is slow on purpose and
simple on purpose; the property tests compare the real engine with it.

Choices the SPEC leaves to the project (documented by it, and taken here as given):

- at equal ``bundle_created`` timestamps of one version, the larger ``bytes`` is the creation
  that counts;
- a ``bundle_deleted`` at the same instant as the creation that counts follows it (the bundle is
  gone);
- ``bundle_usage`` order: the earliest of the version's ``bundle_created`` timestamps and counted
  activity timestamps, over all stored events of the app, then ``version_name``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from fractions import Fraction
from math import floor
from typing import Any

WINDOW_DAYS = 30
CHECK_INS = frozenset(
    {
        "app_moved_to_foreground",
        "app_moved_to_background",
        "app_launch_start",
        "app_launch_ready",
        "set",
        "blocked_by_server_url",
    }
)
"""SPEC section 7: the actions that count like a device_seen on the device's bundle."""

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<frac>\d+))?(?:(?P<z>[Zz])|(?P<sign>[+-])(?P<oh>\d{2}):(?P<om>\d{2}))$"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")


def parse_timestamp(text: str) -> datetime:
    """The UTC instant of an RFC 3339 date-time with an offset (fraction truncated to 1 us)."""
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f"not an RFC 3339 date-time with an offset: {text!r}")
    year, month, day = (int(part) for part in m["date"].split("-"))
    micro = int(((m["frac"] or "") + "000000")[:6])
    if m["z"]:
        zone = UTC
    else:
        offset = timedelta(hours=int(m["oh"]), minutes=int(m["om"]))
        zone = timezone(offset if m["sign"] == "+" else -offset)
    local = datetime(year, month, day, int(m["h"]), int(m["m"]), int(m["s"]), micro, zone)
    return local.astimezone(UTC)


def parse_date_param(text: str) -> date:
    """A ``from``/``to`` value: ``YYYY-MM-DD``, or the UTC date of an RFC 3339 date-time."""
    if _DATE.match(text):
        return date.fromisoformat(text)
    return parse_timestamp(text).date()


@dataclass(frozen=True)
class Scope:
    """What an API key may read: its user's organizations and the key's limits."""

    memberships: frozenset[str]
    limited_to_orgs: frozenset[str] = frozenset()
    limited_to_apps: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Event:
    type: str
    app_id: str
    instant: datetime
    version_name: str
    device_id: str | None
    bytes: int | None
    counted: bool

    @property
    def day(self) -> date:
        return self.instant.date()


def _read_event(raw: Mapping[str, Any]) -> _Event:
    """An accepted event as the SPEC reads it: an ``action`` with the rules of section 7."""
    device_id = raw.get("device_id")
    version = raw["version_name"]
    if raw["type"] == "action":
        flags_ok = raw.get("is_emulator") in (None, False) and raw.get("is_prod") in (None, True)
        counted = raw["action"] in CHECK_INS and flags_ok
        device_id = device_id.lower()
        if ":" in version:
            version = version[: version.index(":")]
        if version in ("", "builtin"):
            version = raw.get("version_build") or "builtin"
    else:
        counted = (
            raw["type"] == "device_seen"
            and raw.get("is_emulator", False) is False
            and raw.get("is_prod", True) is True
        )
    return _Event(
        type=raw["type"],
        app_id=raw["app_id"],
        instant=parse_timestamp(raw["timestamp"]),
        version_name=version,
        device_id=device_id,
        bytes=raw.get("bytes"),
        counted=counted,
    )


@dataclass
class Oracle:
    """Every figure of the SPEC, recomputed from the accepted events on demand.

    ``accepted``: the events that passed validation and authorization, as sent, in the order
    the service received them (duplicates included: the oracle drops them itself).
    """

    accepted: Iterable[Mapping[str, Any]]
    app_orgs: Mapping[str, str]
    deleted: frozenset[str]
    today: date
    events: list[_Event] = field(init=False)
    duplicates: int = field(init=False)
    _cache: dict[tuple[str, date], tuple[int, int, int]] = field(init=False)

    def __post_init__(self) -> None:
        seen_ids: set[tuple[str, str]] = set()
        self.events = []
        self.duplicates = 0
        for raw in self.accepted:
            event_id = raw.get("event_id")
            if event_id is not None:
                if (raw["app_id"], event_id) in seen_ids:
                    self.duplicates += 1
                    continue
                seen_ids.add((raw["app_id"], event_id))
            self.events.append(_read_event(raw))
        self._cache = {}

    # --- section 2, one app and one day ------------------------------------------------------
    def _counted(self, app_id: str) -> list[_Event]:
        return [e for e in self.events if e.app_id == app_id and e.counted]

    def mau_devices(self, app_id: str, day: date) -> set[str]:
        first = day - timedelta(days=WINDOW_DAYS - 1)
        return {
            e.device_id
            for e in self._counted(app_id)
            if first <= e.day <= day and e.device_id is not None
        }

    def mau(self, app_id: str, day: date) -> int:
        return len(self.mau_devices(app_id, day))

    def version_of(self, app_id: str, device_id: str, day: date) -> str | None:
        latest: tuple[datetime, str] | None = None
        for e in self._counted(app_id):
            if e.device_id == device_id and e.day <= day:
                candidate = (e.instant, e.version_name)
                if latest is None or candidate > latest:
                    latest = candidate
        return None if latest is None else latest[1]

    def storage(self, app_id: str, day: date) -> int:
        total = 0
        versions = {e.version_name for e in self.events if e.app_id == app_id}
        for version in versions:
            created = [
                e
                for e in self.events
                if e.app_id == app_id
                and e.version_name == version
                and e.type == "bundle_created"
                and e.day <= day
            ]
            if not created:
                continue
            latest = max(created, key=lambda e: (e.instant, e.bytes))
            deleted_after = any(
                e.app_id == app_id
                and e.version_name == version
                and e.type == "bundle_deleted"
                and latest.instant <= e.instant
                and e.day <= day
                for e in self.events
            )
            if not deleted_after:
                assert latest.bytes is not None
                total += latest.bytes
        return total

    def bandwidth(self, app_id: str, day: date) -> int:
        return sum(
            e.bytes or 0
            for e in self.events
            if e.app_id == app_id and e.type == "download" and e.day == day
        )

    def bundle_counts(self, app_id: str, day: date) -> Counter[str]:
        counts: Counter[str] = Counter()
        for device_id in self.mau_devices(app_id, day):
            version = self.version_of(app_id, device_id, day)
            assert version is not None
            counts[version] += 1
        return counts

    def figures(self, app_id: str, day: date) -> tuple[int, int, int]:
        """(mau, storage, bandwidth of the day itself)."""
        key = (app_id, day)
        if key not in self._cache:
            self._cache[key] = (
                self.mau(app_id, day),
                self.storage(app_id, day),
                self.bandwidth(app_id, day),
            )
        return self._cache[key]

    # --- section 3, the answers ---------------------------------------------------------------
    def days(self, from_: date, to: date) -> list[date]:
        """Every day of the inclusive range, days after today left out."""
        last = min(to, self.today)
        result = []
        day = from_
        while day <= last:
            result.append(day)
            day += timedelta(days=1)
        return result

    def points(
        self, app_ids: Iterable[str], from_: date, to: date, *, no_accumulate: bool
    ) -> list[dict[str, Any]]:
        apps = list(app_ids)
        result: list[dict[str, Any]] = []
        running = 0
        for day in self.days(from_, to):
            mau = sum(self.figures(app, day)[0] for app in apps)
            storage = sum(self.figures(app, day)[1] for app in apps)
            bandwidth = sum(self.figures(app, day)[2] for app in apps)
            running += bandwidth
            result.append(
                {
                    "date": day.isoformat(),
                    "mau": mau,
                    "storage": storage,
                    "bandwidth": bandwidth if no_accumulate else running,
                }
            )
        return result

    def app_statistics(
        self, app_id: str, from_: date, to: date, *, no_accumulate: bool
    ) -> list[dict[str, Any]]:
        return self.points([app_id], from_, to, no_accumulate=no_accumulate)

    def org_apps(self, org_id: str) -> list[str]:
        """The org's apps, deleted ones included, in code-point order."""
        return sorted(app for app, org in self.app_orgs.items() if org == org_id)

    def org_statistics(
        self, org_id: str, from_: date, to: date, *, no_accumulate: bool, breakdown: bool
    ) -> list[dict[str, Any]] | dict[str, list[dict[str, Any]]]:
        apps = self.org_apps(org_id)
        total = self.points(apps, from_, to, no_accumulate=no_accumulate)
        if not breakdown:
            return total
        by_app = [
            {"app_id": app, **point}
            for app in apps
            for point in self.points([app], from_, to, no_accumulate=no_accumulate)
        ]
        return {"global": total, "byApp": by_app}

    def user_statistics(
        self, scope: Scope, from_: date, to: date, *, no_accumulate: bool
    ) -> list[dict[str, Any]] | None:
        """The user values, or None for 404 (no organization after ``limited_to_orgs``)."""
        orgs = {
            org
            for org in scope.memberships
            if not scope.limited_to_orgs or org in scope.limited_to_orgs
        }
        if not orgs:
            return None
        if scope.limited_to_apps:
            apps = [
                app
                for app, org in self.app_orgs.items()
                if org in orgs and app in scope.limited_to_apps and app not in self.deleted
            ]
        else:
            apps = [app for org in orgs for app in self.org_apps(org)]
        return self.points(apps, from_, to, no_accumulate=no_accumulate)

    def first_seen(self, app_id: str, version: str) -> datetime:
        return min(
            e.instant
            for e in self.events
            if e.app_id == app_id
            and e.version_name == version
            and (e.counted or e.type == "bundle_created")
        )

    def bundle_usage(self, app_id: str, from_: date, to: date) -> dict[str, list[Any]]:
        days = self.days(from_, to)
        per_day = [self.bundle_counts(app_id, day) for day in days]
        versions = {version for counts in per_day for version, n in counts.items() if n > 0}
        order = sorted(versions, key=lambda v: (self.first_seen(app_id, v), v))
        shares = [percentages([counts[v] for v in order]) for counts in per_day]
        return {
            "labels": [day.isoformat() for day in days],
            "datasets": [
                {
                    "label": version,
                    "data": [day_shares[i] for day_shares in shares],
                    "counts": [counts[version] for counts in per_day],
                }
                for i, version in enumerate(order)
            ],
        }

    def adoption(self, app_id: str, day: date) -> list[dict[str, Any]]:
        """The versions with devices on ``day`` as ``GET .../adoption`` lists them, without the
        forecast (an estimate, not a figure), and each version's bundle_usage shares from its
        first day through ``day`` (``curve``), for the forecast to be checked against."""
        on_day = self.bundle_usage(app_id, day, day)["datasets"]
        rows = []
        for dataset in on_day:
            if dataset["counts"][0] == 0:
                continue
            version = dataset["label"]
            first = self.first_seen(app_id, version).astimezone(UTC).date()
            history = self.bundle_usage(app_id, first, day)
            curve = next(d["data"] for d in history["datasets"] if d["label"] == version)
            rows.append(
                {
                    "version": version,
                    "share": dataset["data"][0],
                    "count": dataset["counts"][0],
                    "first_day": first.isoformat(),
                    "curve": curve,
                }
            )
        return rows


def percentages(counts: list[int]) -> list[float]:
    """Shares floored to 0.1; the missing tenths to the largest remainders (ties: first listed)."""
    total = sum(counts)
    if total == 0:
        return [0.0 for _ in counts]
    exact = [Fraction(100 * n, total) for n in counts]
    tenths = [floor(share * 10) for share in exact]
    remainders = [share * 10 - t for share, t in zip(exact, tenths, strict=True)]
    missing = 1000 - sum(tenths)
    by_remainder = sorted(range(len(counts)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[:missing]:
        tenths[i] += 1
    return [t / 10 for t in tenths]
