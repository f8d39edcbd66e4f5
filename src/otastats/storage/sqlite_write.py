"""One SQLite ingest transaction: the one writer connection of the store, inside BEGIN IMMEDIATE.

SQLite has a single writer at a time, so no app lock is needed: the read-merge-write of a
device's days or a version's bundle events cannot interleave with another writer. Rows keyed by
random values (event ids, device ids) are written in key order, so that each index page is
visited once per batch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TypeVar

import orjson

from otastats.storage import health_sqlite
from otastats.storage.base import (
    BundleEvent,
    DayState,
    DeviceKey,
    EventRow,
    HealthCounts,
    HealthDay,
    HealthKey,
    HealthTotals,
)

_JSON_CHUNK = 50_000  # keys passed as one JSON array to a set-based statement
T = TypeVar("T")


class SQLiteWriteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def lock_apps(self, app_ids: Iterable[str]) -> None:
        """Nothing to do: the one writer connection already serializes every write."""

    def claim_event_ids(self, keys: Sequence[tuple[str, str]]) -> list[bool]:
        # One statement a chunk inserts the pairs (in key order, so that each index page is
        # visited once) and returns those that were not there; a pair repeated in the batch is
        # new only where it first appears.
        inserted: set[tuple[str, str]] = set()
        for part in chunks_of(sorted(set(keys)), _JSON_CHUNK):
            inserted.update(
                self._conn.execute(
                    "INSERT INTO event_ids SELECT j.value ->> 0, j.value ->> 1 FROM json_each(?)"
                    " AS j WHERE true ON CONFLICT DO NOTHING RETURNING app_id, event_id",
                    (orjson.dumps(part).decode(),),
                )
            )
        claimed: list[bool] = []
        for key in keys:
            new = key in inserted
            claimed.append(new)
            if new:
                inserted.discard(key)
        return claimed

    def release_event_ids(self, keys: Sequence[tuple[str, str]]) -> None:
        self._conn.executemany("DELETE FROM event_ids WHERE app_id = ? AND event_id = ?", keys)

    def insert_events(self, rows: Sequence[EventRow]) -> None:
        self._conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def load_bandwidth(
        self, days: Iterable[tuple[str, int]]
    ) -> tuple[dict[tuple[str, int], int], dict[str, int]]:
        wanted = sorted(set(days))
        if not wanted:
            return {}, {}
        by_day: dict[tuple[str, int], int] = {}
        for part in chunks_of(wanted, _JSON_CHUNK):
            for app_id, day, size in self._conn.execute(
                "SELECT l.app_id, l.day, l.bandwidth FROM json_each(?) AS j JOIN level_deltas"
                " AS l ON l.app_id = j.value ->> 0 AND l.day = j.value ->> 1",
                (orjson.dumps(part).decode(),),
            ):
                by_day[(app_id, day)] = size
        apps = orjson.dumps(sorted({app_id for app_id, _ in wanted})).decode()
        among = " FROM level_deltas WHERE app_id IN (SELECT value FROM json_each(?))"
        try:
            totals = dict(
                self._conn.execute(
                    "SELECT app_id, SUM(bandwidth)" + among + " GROUP BY app_id", (apps,)
                )
            )
        except sqlite3.OperationalError as exc:
            # A total past 64 bits, stored before the limits were kept: summed in Python, it
            # rejects every further download of the app, and fails nothing.
            if "integer overflow" not in str(exc):
                raise
            totals = {}
            for app_id, size in self._conn.execute("SELECT app_id, bandwidth" + among, (apps,)):
                totals[app_id] = totals.get(app_id, 0) + size
        return by_day, totals

    def load_storage_changes(self, app_ids: Iterable[str]) -> dict[str, dict[int, int]]:
        found: dict[str, dict[int, int]] = {app_id: {} for app_id in app_ids}
        if found:
            for app_id, day, change in self._conn.execute(
                "SELECT app_id, day, storage_delta FROM level_deltas"
                " WHERE app_id IN (SELECT value FROM json_each(?)) AND storage_delta != 0",
                (orjson.dumps(sorted(found)).decode(),),
            ):
                found[app_id][day] = change
        return found

    def load_device_days(
        self, ranges: Mapping[DeviceKey, Sequence[tuple[int, int]]]
    ) -> dict[DeviceKey, dict[int, DayState]]:
        found: dict[DeviceKey, dict[int, DayState]] = {key: {} for key in ranges}
        wanted = [(*key, low, high) for key, spans in ranges.items() for low, high in spans]
        for part in chunks_of(wanted, _JSON_CHUNK):
            # Each range is a range read of the (app_id, device_id, day) key.
            for app_id, device_id, day, version, ts in self._conn.execute(
                "SELECT d.app_id, d.device_id, d.day, d.version_name, d.ts"
                " FROM json_each(?) AS j JOIN device_days AS d"
                " ON d.app_id = j.value ->> 0 AND d.device_id = j.value ->> 1"
                " AND d.day BETWEEN j.value ->> 2 AND j.value ->> 3",
                (orjson.dumps(part).decode(),),
            ):
                found[(app_id, device_id)][day] = (version, ts)
        return found

    def upsert_device_days(self, rows: Sequence[tuple[str, str, int, str, int]]) -> None:
        # In key order, like the event ids: each index page is then visited once per batch.
        self._conn.executemany(
            "INSERT OR REPLACE INTO device_days VALUES (?, ?, ?, ?, ?)", sorted(rows)
        )
        self._conn.executemany(
            "INSERT OR IGNORE INTO version_days VALUES (?, ?, ?)",
            sorted({(app, day, version) for app, _, day, version, _ in rows}),
        )

    def load_bundle_events(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], list[BundleEvent]]:
        found: dict[tuple[str, str], list[BundleEvent]] = {}
        for app_id, version in keys:
            found[(app_id, version)] = [
                (ts, bool(created), size)
                for ts, created, size in self._conn.execute(
                    "SELECT ts, is_created, bytes FROM bundle_events"
                    " WHERE app_id = ? AND version_name = ?",
                    (app_id, version),
                )
            ]
        return found

    def insert_bundle_events(self, rows: Sequence[tuple[str, str, int, bool, int]]) -> None:
        self._conn.executemany("INSERT INTO bundle_events VALUES (?, ?, ?, ?, ?)", rows)

    def add_level_deltas(
        self, mau: dict[tuple[str, int], int], storage: dict[tuple[str, int], int]
    ) -> None:
        self._add_levels(
            [(app, day, delta, 0, 0) for (app, day), delta in mau.items() if delta]
            + [(app, day, 0, delta, 0) for (app, day), delta in storage.items() if delta]
        )

    def add_bandwidth(self, amounts: dict[tuple[str, int], int]) -> None:
        self._add_levels([(app, day, 0, 0, size) for (app, day), size in amounts.items() if size])

    def _add_levels(self, rows: list[tuple[str, int, int, int, int]]) -> None:
        self._conn.executemany(
            "INSERT INTO level_deltas VALUES (?, ?, ?, ?, ?) ON CONFLICT (app_id, day) DO UPDATE"
            " SET mau_delta = mau_delta + excluded.mau_delta,"
            " storage_delta = storage_delta + excluded.storage_delta,"
            " bandwidth = bandwidth + excluded.bandwidth",
            rows,
        )

    def add_version_deltas(self, deltas: dict[tuple[str, str, int], int]) -> None:
        self._conn.executemany(
            "INSERT INTO version_deltas VALUES (?, ?, ?, ?) ON CONFLICT (app_id, version_name, day)"
            " DO UPDATE SET delta = delta + excluded.delta",
            [(app, version, day, delta) for (app, version, day), delta in deltas.items() if delta],
        )

    def note_first_seen(self, first: dict[tuple[str, str], int]) -> None:
        self._conn.executemany(
            "INSERT INTO versions VALUES (?, ?, ?) ON CONFLICT (app_id, version_name)"
            " DO UPDATE SET first_seen = MIN(first_seen, excluded.first_seen)",
            [(app, version, ts) for (app, version), ts in first.items()],
        )

    def claim_health_days(self, rows: Sequence[HealthDay]) -> set[HealthDay]:
        return health_sqlite.claim_days(self._conn, rows)

    def load_health_firsts(self, keys: Iterable[HealthKey]) -> dict[HealthKey, int]:
        return health_sqlite.load_firsts(self._conn, keys)

    def set_health_firsts(self, rows: Sequence[HealthDay]) -> None:
        health_sqlite.set_firsts(self._conn, rows)

    def add_health_counts(self, daily: HealthCounts, totals: HealthTotals) -> None:
        health_sqlite.add_counts(self._conn, daily, totals)


def chunks_of(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
