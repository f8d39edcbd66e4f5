"""The Store protocol: everything the services ask of a database, whatever the backend."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from otastats.storage.records import (
    ApiKey,
    App,
    HealthRows,
    MetricRows,
    Org,
    PluginToken,
    User,
    VersionRows,
)

DeviceKey = tuple[str, str]
"""(app_id, device_id)"""
DayState = tuple[str, int]
"""(end-of-day version_name, timestamp of the activity that set it)"""
BundleEvent = tuple[int, bool, int]
"""(timestamp, is_created, bytes) of one bundle_created or bundle_deleted"""
EventRow = tuple[
    str, int, str | None, int, str | None, int | None, str | None, int, int, str | None, str | None
]
"""(app_id, type, device_id, timestamp, version_name, bytes, platform, is_emulator, is_prod,
extra JSON, action) of one accepted event, as stored raw in ``events``: type 4 is an action,
whose name is in ``action``; see otastats.ingest.apply for what each column holds."""
HealthKey = tuple[str, str, str, str]
"""(app_id, device_id, version_name, class) of update health"""
HealthDay = tuple[str, str, str, str, int]
"""(app_id, device_id, version_name, class, day): a device reported a class on a version"""
HealthCounts = dict[tuple[str, str, str, int], tuple[int, int]]
"""(app_id, version_name, class, day) -> deltas of (devices, new_devices)"""
HealthTotals = dict[tuple[str, str, str], tuple[int, int]]
"""(app_id, version_name, class) -> (delta of devices, a first day to lower to)"""


class WriteTx(Protocol):
    """The write operations of one ingest transaction; commits when its context exits."""

    def lock_apps(self, app_ids: Iterable[str]) -> None:
        """Serialize with the other writers of these apps until the commit.

        Call it once, first, with every app the transaction will write: the locks are then taken
        in one global order, so that concurrent writers never deadlock. An app written without
        it is locked when first touched.
        """

    def claim_event_ids(self, keys: Sequence[tuple[str, str]]) -> list[bool]:
        """Record (app_id, event_id) pairs; True where the pair was not known before."""

    def release_event_ids(self, keys: Sequence[tuple[str, str]]) -> None:
        """Forget (app_id, event_id) pairs claimed by this transaction for events it rejected."""

    def insert_events(self, rows: Sequence[EventRow]) -> None: ...

    def load_bandwidth(
        self, days: Iterable[tuple[str, int]]
    ) -> tuple[dict[tuple[str, int], int], dict[str, int]]:
        """The stored bandwidth of each (app_id, day), and each of those apps' total over all
        its days (absent where there is none)."""

    def load_storage_changes(self, app_ids: Iterable[str]) -> dict[str, dict[int, int]]:
        """day -> non-zero storage delta of each app (a key for every app asked for)."""

    def load_device_days(
        self, ranges: Mapping[DeviceKey, Sequence[tuple[int, int]]]
    ) -> dict[DeviceKey, dict[int, DayState]]:
        """The counted activity days of each device within its inclusive, disjoint day ranges,
        with their end-of-day versions (a key for every device asked for)."""

    def upsert_device_days(self, rows: Sequence[tuple[str, str, int, str, int]]) -> None:
        """(app_id, device_id, day, version_name, timestamp) rows, replacing the day's state."""

    def load_bundle_events(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], list[BundleEvent]]: ...

    def insert_bundle_events(self, rows: Sequence[tuple[str, str, int, bool, int]]) -> None:
        """(app_id, version_name, timestamp, is_created, bytes) rows."""

    def add_level_deltas(
        self, mau: dict[tuple[str, int], int], storage: dict[tuple[str, int], int]
    ) -> None:
        """Add to the per-(app, day) deltas whose prefix sums are mau and storage."""

    def add_version_deltas(self, deltas: dict[tuple[str, str, int], int]) -> None:
        """Add to the per-(app, version, day) deltas whose prefix sums are device counts."""

    def add_bandwidth(self, amounts: dict[tuple[str, int], int]) -> None: ...

    def note_first_seen(self, first: dict[tuple[str, str], int]) -> None:
        """Lower each (app, version)'s first-seen timestamp to the given one where earlier."""

    # --- update health (otastats.ingest.health_state) -----------------------------------------
    def claim_health_days(self, rows: Sequence[HealthDay]) -> set[HealthDay]:
        """Record the reports; those that were not known before."""

    def load_health_firsts(self, keys: Iterable[HealthKey]) -> dict[HealthKey, int]:
        """The first day of each key that has one."""

    def set_health_firsts(self, rows: Sequence[HealthDay]) -> None:
        """Set each key's first day (always an earlier one, or the first)."""

    def add_health_counts(self, daily: HealthCounts, totals: HealthTotals) -> None:
        """Add to the per-day and whole-history counters; lower the first days."""


class Store(Protocol):
    """A database holding tenants, keys, raw events and the incrementally kept metric state."""

    # --- tenants and keys -------------------------------------------------------------------
    def create_org(self, org_id: str, name: str, now: int) -> None: ...
    def get_org(self, org_id: str) -> Org | None: ...
    def create_user(self, user_id: str, email: str, now: int) -> None:
        """Raises Conflict when a user has that email, compared case-insensitively."""

    def get_user(self, user_id: str) -> User | None: ...
    def find_user_by_email(self, email: str) -> User | None: ...
    def set_member(self, org_id: str, user_id: str, role: str) -> None: ...
    def memberships(self, user_id: str) -> dict[str, str]:
        """org_id -> role of every organization the user is a member of."""

    def create_app(self, app_id: str, org_id: str, now: int) -> None:
        """Raises Conflict when the id is taken, by a live or a deleted app."""

    def delete_app(self, app_id: str, now: int) -> None:
        """Raises NotFound when there is no live app of that id."""

    def get_apps(self, app_ids: Iterable[str]) -> dict[str, App]: ...
    def apps_of_orgs(self, org_ids: Iterable[str]) -> list[App]: ...
    def create_key(self, key: ApiKey) -> None: ...
    def key_by_hash(self, key_hash: str) -> ApiKey | None: ...
    def key_secret(self) -> bytes:
        """The database's secret that keys are hashed with (created with the schema)."""

    def revoke_key(self, key_id: str, now: int) -> None:
        """Raises NotFound when there is no such key."""

    def is_empty(self) -> bool:
        """True when no organization exists yet."""

    # --- the tokens of the plugin URLs --------------------------------------------------------
    def create_plugin_token(self, token: PluginToken) -> None: ...
    def plugin_token_by_hash(self, token_hash: str) -> PluginToken | None:
        """The token of that hash, with whether its app is deleted; None when unknown."""

    def plugin_tokens_of(self, app_id: str) -> list[PluginToken]:
        """Every token of the app, revoked ones included, oldest first."""

    def revoke_plugin_token(self, token_id: str, now: int) -> None:
        """Raises NotFound when there is no such token."""

    # --- statistics ---------------------------------------------------------------------------
    def metric_rows(
        self, app_ids: Sequence[str], from_day: int, to_day: int, *, by_app: bool
    ) -> MetricRows: ...

    def version_rows(self, app_id: str, from_day: int, to_day: int) -> VersionRows: ...

    def health_rows(self, app_id: str, from_day: int, to_day: int) -> HealthRows:
        """The update-health counters of one app for the days of a range (see HealthRows)."""

    def newest_health_rows(self, app_id: str, to_day: int) -> HealthRows:
        """The totals and later counts of the app's newest version up to ``to_day`` (no days),
        read without the app's history (storage.health_newest)."""

    # --- ingestion ----------------------------------------------------------------------------
    def writer(self) -> AbstractContextManager[WriteTx]:
        """One write transaction: committed (durably) when the block exits without error."""

    def close(self) -> None: ...

    # --- the key's own view -------------------------------------------------------------------
    def get_orgs(self, org_ids: Iterable[str]) -> dict[str, Org]:
        """org_id -> organization, for those of the ids that exist."""
