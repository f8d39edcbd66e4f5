"""Plain records that cross the storage boundary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ROLES = ("read", "upload", "write", "admin", "super_admin")
KEY_MODES = ("read", "upload", "write", "all")


@dataclass(frozen=True, slots=True)
class Org:
    org_id: str
    name: str


@dataclass(frozen=True, slots=True)
class User:
    user_id: str
    email: str


@dataclass(frozen=True, slots=True)
class App:
    app_id: str
    org_id: str
    deleted_at: int | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    user_id: str
    key_hash: str
    mode: str
    limited_to_orgs: tuple[str, ...] = ()
    limited_to_apps: tuple[str, ...] = ()
    expires_at: int | None = None
    revoked_at: int | None = None
    created_at: int = 0


@dataclass(frozen=True, slots=True)
class PluginToken:
    """The token of an app's plugin URLs, as stored: its keyed hash, never the token."""

    token_id: str
    app_id: str
    token_hash: str
    upstream: str | None = None
    created_at: int = 0
    revoked_at: int | None = None
    app_deleted: bool = False
    """Whether the token's app is deleted (read with the token, for the check per request)."""


KeyRow = tuple[str, str, str, str, str, str, int | None, int | None, int]
"""An api_keys row, in column order: the limits are JSON arrays."""


def key_to_row(key: ApiKey) -> KeyRow:
    return (
        key.key_id,
        key.user_id,
        key.key_hash,
        key.mode,
        json.dumps(list(key.limited_to_orgs)),
        json.dumps(list(key.limited_to_apps)),
        key.expires_at,
        key.revoked_at,
        key.created_at,
    )


def key_from_row(row: Sequence[Any]) -> ApiKey:
    return ApiKey(
        row[0],
        row[1],
        row[2],
        row[3],
        tuple(json.loads(row[4])),
        tuple(json.loads(row[5])),
        row[6],
        row[7],
        row[8],
    )


@dataclass(slots=True)
class MetricRows:
    """Raw per-day figures of some apps, keyed by app id (or by None when summed over apps).

    ``*_base`` hold the sum of the level deltas of every day before the range; ``days`` map
    each day of the range that has any row to ``(mau_delta, storage_delta, bandwidth)``.
    """

    mau_base: dict[str | None, int] = field(default_factory=dict)
    storage_base: dict[str | None, int] = field(default_factory=dict)
    days: dict[str | None, dict[int, tuple[int, int, int]]] = field(default_factory=dict)

    def add_total(self) -> None:
        """Set the None key to the sum of the apps' rows (Python integers: exact at any size)."""
        self.mau_base[None] = sum(v for k, v in self.mau_base.items() if k is not None)
        self.storage_base[None] = sum(v for k, v in self.storage_base.items() if k is not None)
        summed: dict[int, tuple[int, int, int]] = {}
        for key, by_day in self.days.items():
            if key is None:
                continue
            for day, (mau, storage, bandwidth) in by_day.items():
                before = summed.get(day, (0, 0, 0))
                summed[day] = (before[0] + mau, before[1] + storage, before[2] + bandwidth)
        self.days[None] = summed

    def total_only(self) -> MetricRows:
        """The sum of the apps' rows alone, under the None key."""
        self.add_total()
        return MetricRows(
            {None: self.mau_base[None]}, {None: self.storage_base[None]}, {None: self.days[None]}
        )


PRESENCE_DAYS = 29
"""A device counted on day D has an activity day in [D - 29, D]: the versions with a device on
some day of [from, to] are among those that devices ended a day of [from - 29, to] on."""


@dataclass(slots=True)
class VersionRows:
    """Per-version device-count deltas of one app: the sum before the range and each day's."""

    base: dict[str, int] = field(default_factory=dict)
    days: dict[str, dict[int, int]] = field(default_factory=dict)
    first_seen: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class HealthRows:
    """The update-health counters of one app, read for a range ending on ``to``.

    ``totals``: (version, class) -> (distinct devices of the whole history, their first day);
    ``later``: (version, class) -> the devices whose first day is after ``to`` (subtracted from
    the total to get the devices up to ``to``); ``days``: (version, class) -> day -> distinct
    devices of that day, for the days of the range that have any.
    """

    totals: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    later: dict[tuple[str, str], int] = field(default_factory=dict)
    days: dict[tuple[str, str], dict[int, int]] = field(default_factory=dict)
