"""One PostgreSQL ingest transaction, safe when several processes write the same apps at once.

The metric state is read, merged and written back (a device's days, a version's bundle events),
so two writers of one app must not interleave. Each transaction takes a transaction-scoped
advisory lock per app before it touches the app's rows, in one global order (the lock key's),
so that concurrent writers queue rather than deadlock; the locks go with the commit. Every other
write is a delta added with ``ON CONFLICT ... DO UPDATE SET x = t.x + EXCLUDED.x``, and event ids
are claimed with ``INSERT ... ON CONFLICT DO NOTHING RETURNING``: an id is counted once.

Each statement names its app ids, so that on Citus (tables distributed by app_id) it is routed
to the shards of those apps: an insert by the ``app_id`` of each row, a read or delete by an
``app_id = ANY(%s)`` condition on the distributed table itself (a join on ``unnest(...)``
alone cannot be pruned, and would be sent to every shard).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg

from otastats.storage import health_postgres
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

Conn = psycopg.Connection[tuple[Any, ...]]


def app_lock_key(app_id: str) -> int:
    """A stable signed 64-bit advisory lock key of an app (collisions only serialize more)."""
    digest = hashlib.blake2b(b"otastats-app\0" + app_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresWriteTx:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self._locked: set[str] = set()

    def lock_apps(self, app_ids: Iterable[str]) -> None:
        wanted = {app_id for app_id in app_ids if app_id not in self._locked}
        for app_id in sorted(wanted, key=app_lock_key):
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (app_lock_key(app_id),))
        self._locked |= wanted

    def claim_event_ids(self, keys: Sequence[tuple[str, str]]) -> list[bool]:
        if not keys:
            return []
        self.lock_apps(app for app, _ in keys)
        unique = sorted(set(keys))
        cur = self._conn.execute(
            "INSERT INTO event_ids (app_id, event_id)"
            " SELECT * FROM unnest(%s::text[], %s::text[])"
            " ON CONFLICT DO NOTHING RETURNING app_id, event_id",
            ([app for app, _ in unique], [event for _, event in unique]),
        )
        new = {(app, event) for app, event in cur.fetchall()}
        claimed: list[bool] = []
        for key in keys:
            claimed.append(key in new)
            new.discard(key)
        return claimed

    def release_event_ids(self, keys: Sequence[tuple[str, str]]) -> None:
        if keys:
            self._conn.execute(
                "DELETE FROM event_ids AS e USING unnest(%s::text[], %s::text[]) AS k (a, i)"
                " WHERE e.app_id = k.a AND e.event_id = k.i AND e.app_id = ANY(%s)",
                (
                    [app for app, _ in keys],
                    [event for _, event in keys],
                    sorted({app for app, _ in keys}),
                ),
            )

    def load_bandwidth(
        self, days: Iterable[tuple[str, int]]
    ) -> tuple[dict[tuple[str, int], int], dict[str, int]]:
        wanted = sorted(set(days))
        if not wanted:
            return {}, {}
        apps = sorted({app_id for app_id, _ in wanted})
        self.lock_apps(apps)
        by_day: dict[tuple[str, int], int] = {}
        for app_id, day, size in self._conn.execute(
            "SELECT l.app_id, l.day, l.bandwidth FROM unnest(%s::text[], %s::int[]) AS k (a, d)"
            " JOIN level_deltas AS l ON l.app_id = k.a AND l.day = k.d"
            " WHERE l.app_id = ANY(%s)",
            ([app for app, _ in wanted], [day for _, day in wanted], apps),
        ):
            by_day[(app_id, day)] = size
        # numeric, not bigint: a total past 64 bits, stored before the limits were kept, must
        # reject further downloads of the app rather than fail the batch.
        totals = self._conn.execute(
            "SELECT app_id, SUM(bandwidth)::text FROM level_deltas WHERE app_id = ANY(%s)"
            " GROUP BY app_id",
            (apps,),
        )
        return by_day, {app_id: int(total) for app_id, total in totals}

    def load_storage_changes(self, app_ids: Iterable[str]) -> dict[str, dict[int, int]]:
        found: dict[str, dict[int, int]] = {app_id: {} for app_id in app_ids}
        if found:
            self.lock_apps(found)
            for app_id, day, change in self._conn.execute(
                "SELECT app_id, day, storage_delta FROM level_deltas"
                " WHERE app_id = ANY(%s) AND storage_delta <> 0",
                (sorted(found),),
            ):
                found[app_id][day] = change
        return found

    def insert_events(self, rows: Sequence[EventRow]) -> None:
        if not rows:
            return
        with self._conn.cursor().copy(
            "COPY events (app_id, type, device_id, ts, version_name, bytes, platform,"
            " is_emulator, is_prod, extra, action) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)

    def load_device_days(
        self, ranges: Mapping[DeviceKey, Sequence[tuple[int, int]]]
    ) -> dict[DeviceKey, dict[int, DayState]]:
        found: dict[DeviceKey, dict[int, DayState]] = {key: {} for key in ranges}
        wanted = [(*key, low, high) for key, spans in ranges.items() for low, high in spans]
        if not wanted:
            return found
        apps = sorted({row[0] for row in wanted})
        self.lock_apps(apps)
        for app_id, device_id, day, version, ts in self._conn.execute(
            "SELECT d.app_id, d.device_id, d.day, d.version_name, d.ts"
            " FROM unnest(%s::text[], %s::text[], %s::int[], %s::int[])"
            " AS k (app_id, device_id, low, high)"
            " JOIN device_days AS d ON d.app_id = k.app_id AND d.device_id = k.device_id"
            " AND d.day BETWEEN k.low AND k.high"
            " WHERE d.app_id = ANY(%s)",
            (
                [row[0] for row in wanted],
                [row[1] for row in wanted],
                [row[2] for row in wanted],
                [row[3] for row in wanted],
                apps,
            ),
        ):
            found[(app_id, device_id)][day] = (version, ts)
        return found

    def upsert_device_days(self, rows: Sequence[tuple[str, str, int, str, int]]) -> None:
        if not rows:
            return
        self.lock_apps(row[0] for row in rows)
        last = {(app, device, day): (version, ts) for app, device, day, version, ts in rows}
        ordered = sorted(last.items())
        self._conn.execute(
            "INSERT INTO device_days (app_id, device_id, day, version_name, ts)"
            " SELECT * FROM unnest(%s::text[], %s::text[], %s::int[], %s::text[], %s::bigint[])"
            " ON CONFLICT (app_id, device_id, day) DO UPDATE"
            " SET version_name = EXCLUDED.version_name, ts = EXCLUDED.ts",
            (
                [key[0] for key, _ in ordered],
                [key[1] for key, _ in ordered],
                [key[2] for key, _ in ordered],
                [value[0] for _, value in ordered],
                [value[1] for _, value in ordered],
            ),
        )
        present = sorted({(app, day, version) for (app, _, day), (version, _) in ordered})
        self._conn.execute(
            "INSERT INTO version_days (app_id, day, version_name)"
            " SELECT * FROM unnest(%s::text[], %s::int[], %s::text[]) ON CONFLICT DO NOTHING",
            ([row[0] for row in present], [row[1] for row in present], [row[2] for row in present]),
        )

    def load_bundle_events(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], list[BundleEvent]]:
        wanted = list(keys)
        found: dict[tuple[str, str], list[BundleEvent]] = {key: [] for key in wanted}
        if not wanted:
            return found
        apps = sorted({app for app, _ in wanted})
        self.lock_apps(apps)
        for app_id, version, ts, created, size in self._conn.execute(
            "SELECT b.app_id, b.version_name, b.ts, b.is_created, b.bytes"
            " FROM unnest(%s::text[], %s::text[]) AS k (app_id, version_name)"
            " JOIN bundle_events AS b"
            " ON b.app_id = k.app_id AND b.version_name = k.version_name"
            " WHERE b.app_id = ANY(%s)",
            ([app for app, _ in wanted], [version for _, version in wanted], apps),
        ):
            found[(app_id, version)].append((ts, created, size))
        return found

    def insert_bundle_events(self, rows: Sequence[tuple[str, str, int, bool, int]]) -> None:
        if not rows:
            return
        self.lock_apps(row[0] for row in rows)
        with self._conn.cursor().copy(
            "COPY bundle_events (app_id, version_name, ts, is_created, bytes) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)

    def add_level_deltas(
        self, mau: dict[tuple[str, int], int], storage: dict[tuple[str, int], int]
    ) -> None:
        summed: defaultdict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
        for key, delta in mau.items():
            summed[key][0] += delta
        for key, delta in storage.items():
            summed[key][1] += delta
        self._add_levels(summed)

    def add_bandwidth(self, amounts: dict[tuple[str, int], int]) -> None:
        self._add_levels({key: [0, 0, size] for key, size in amounts.items()})

    def _add_levels(self, rows: dict[tuple[str, int], list[int]]) -> None:
        ordered = sorted((key, value) for key, value in rows.items() if any(value))
        if not ordered:
            return
        self.lock_apps(key[0] for key, _ in ordered)
        self._conn.execute(
            "INSERT INTO level_deltas AS t (app_id, day, mau_delta, storage_delta, bandwidth)"
            " SELECT * FROM unnest(%s::text[], %s::int[], %s::bigint[], %s::bigint[],"
            " %s::bigint[])"
            " ON CONFLICT (app_id, day) DO UPDATE"
            " SET mau_delta = t.mau_delta + EXCLUDED.mau_delta,"
            " storage_delta = t.storage_delta + EXCLUDED.storage_delta,"
            " bandwidth = t.bandwidth + EXCLUDED.bandwidth",
            (
                [key[0] for key, _ in ordered],
                [key[1] for key, _ in ordered],
                [value[0] for _, value in ordered],
                [value[1] for _, value in ordered],
                [value[2] for _, value in ordered],
            ),
        )

    def add_version_deltas(self, deltas: dict[tuple[str, str, int], int]) -> None:
        ordered = sorted((key, delta) for key, delta in deltas.items() if delta)
        if not ordered:
            return
        self.lock_apps(key[0] for key, _ in ordered)
        self._conn.execute(
            "INSERT INTO version_deltas AS t (app_id, version_name, day, delta)"
            " SELECT * FROM unnest(%s::text[], %s::text[], %s::int[], %s::bigint[])"
            " ON CONFLICT (app_id, version_name, day) DO UPDATE"
            " SET delta = t.delta + EXCLUDED.delta",
            (
                [key[0] for key, _ in ordered],
                [key[1] for key, _ in ordered],
                [key[2] for key, _ in ordered],
                [delta for _, delta in ordered],
            ),
        )

    def note_first_seen(self, first: dict[tuple[str, str], int]) -> None:
        ordered = sorted(first.items())
        if not ordered:
            return
        self.lock_apps(key[0] for key, _ in ordered)
        self._conn.execute(
            "INSERT INTO versions AS t (app_id, version_name, first_seen)"
            " SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[])"
            " ON CONFLICT (app_id, version_name) DO UPDATE"
            " SET first_seen = LEAST(t.first_seen, EXCLUDED.first_seen)",
            (
                [key[0] for key, _ in ordered],
                [key[1] for key, _ in ordered],
                [ts for _, ts in ordered],
            ),
        )

    def claim_health_days(self, rows: Sequence[HealthDay]) -> set[HealthDay]:
        self.lock_apps(row[0] for row in rows)
        return health_postgres.claim_days(self._conn, rows)

    def load_health_firsts(self, keys: Iterable[HealthKey]) -> dict[HealthKey, int]:
        return health_postgres.load_firsts(self._conn, keys)

    def set_health_firsts(self, rows: Sequence[HealthDay]) -> None:
        health_postgres.set_firsts(self._conn, rows)

    def add_health_counts(self, daily: HealthCounts, totals: HealthTotals) -> None:
        health_postgres.add_counts(self._conn, daily, totals)
