"""The alert tables in a PostgreSQL database, on a small connection pool of their own.

Several server processes may share the database. Evaluations of an app are serialized by a
transaction-scoped advisory lock per app (not the ingest lock: evaluating never delays an
ingest of the app), so one state change is recorded once. Claims are serialized by one
advisory lock: a claim reads the due calls and marks them in one short transaction, so two
workers never hold the same call. No row-locking clause: the tables stay usable as Citus
reference tables (docs/operations.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from otastats.storage.alerts_base import AlertRow, Attempt, Call, Decide

Conn = psycopg.Connection[tuple[Any, ...]]

_CLAIM_LOCK = 0x6F7461_0003
"""The advisory lock under which a worker claims calls."""
_ANY_DUE = "SELECT 1 FROM alert_calls WHERE done_at IS NULL AND next_attempt_at <= %s LIMIT 1"
_ALERT_COLUMNS = (
    "alert_id, app_id, metric, threshold, min_devices, webhook_url, secret_salt, created_at,"
    " firing, changed_at"
)


def alert_lock_key(app_id: str) -> int:
    """A stable signed 64-bit advisory lock key for evaluating an app's alerts."""
    digest = hashlib.blake2b(b"otastats-alerts\0" + app_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresAlerts:
    def __init__(self, url: str) -> None:
        self._pool: ConnectionPool[Conn] = ConnectionPool(
            url, min_size=1, max_size=4, kwargs={"autocommit": True}, open=True,
            name="otastats-alerts",
        )  # fmt: skip

    @contextmanager
    def _tx(self) -> Iterator[Conn]:
        with self._pool.connection() as conn, conn.transaction():
            yield conn

    def close(self) -> None:
        self._pool.close()

    # --- definitions --------------------------------------------------------------------------
    def create_alert(self, alert: AlertRow) -> None:
        with self._tx() as conn:
            conn.execute(
                f"INSERT INTO alerts ({_ALERT_COLUMNS})"  # noqa: S608
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                astuple(alert),
            )

    def alerts(self, app_id: str | None = None) -> list[AlertRow]:
        where, args = ("WHERE app_id = %s", (app_id,)) if app_id is not None else ("", ())
        with self._tx() as conn:
            rows = conn.execute(
                f"SELECT {_ALERT_COLUMNS} FROM alerts {where}"  # noqa: S608
                ' ORDER BY app_id COLLATE "C", created_at, alert_id',
                args,
            ).fetchall()
        return [AlertRow(*row) for row in rows]

    def get_alert(self, alert_id: str) -> AlertRow | None:
        with self._tx() as conn:
            row = conn.execute(
                f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE alert_id = %s",  # noqa: S608
                (alert_id,),
            ).fetchone()
        return None if row is None else AlertRow(*row)

    def delete_alert(self, alert_id: str) -> bool:
        with self._tx() as conn:
            conn.execute("DELETE FROM alert_calls WHERE alert_id = %s", (alert_id,))
            conn.execute("DELETE FROM alert_attempts WHERE alert_id = %s", (alert_id,))
            cur = conn.execute("DELETE FROM alerts WHERE alert_id = %s", (alert_id,))
            return cur.rowcount > 0

    def apps_with_alerts(self, app_ids: Sequence[str]) -> list[str]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT app_id FROM alerts WHERE app_id = ANY(%s)", (list(app_ids),)
            ).fetchall()
        return [app_id for (app_id,) in rows]

    # --- evaluation ---------------------------------------------------------------------------
    def record_changes(self, app_ids: Sequence[str], now: int, decide: Decide) -> int:
        ids = sorted(set(app_ids), key=alert_lock_key)
        with self._tx() as conn:
            for app_id in ids:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (alert_lock_key(app_id),))
            rows = conn.execute(
                f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE app_id = ANY(%s)"  # noqa: S608
                " ORDER BY alert_id",
                (ids,),
            ).fetchall()
            calls = decide([AlertRow(*row) for row in rows])
            for call in calls:
                seq_row = conn.execute(
                    "UPDATE alerts SET firing = %s, changed_at = %s, calls_made = calls_made + 1"
                    " WHERE alert_id = %s RETURNING calls_made",
                    (call.firing, now, call.alert_id),
                ).fetchone()
                assert seq_row is not None
                conn.execute(
                    "INSERT INTO alert_calls (alert_id, seq, body, created_at, next_attempt_at)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (call.alert_id, seq_row[0], call.body, now, now),
                )
        return len(calls)

    # --- delivery -----------------------------------------------------------------------------
    def claim_due(self, worker: str, now: int, claim_until: int, limit: int) -> list[Call]:
        # Most polls find nothing: a plain read first, so they never take the claim lock.
        with self._pool.connection() as conn:
            if conn.execute(_ANY_DUE, (now,)).fetchone() is None:
                return []
        with self._tx() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CLAIM_LOCK,))
            rows = conn.execute(
                "SELECT c.alert_id, c.seq, c.body, c.created_at, c.attempts, a.webhook_url,"
                " a.secret_salt FROM alert_calls c JOIN alerts a ON a.alert_id = c.alert_id"
                " WHERE c.done_at IS NULL AND c.next_attempt_at <= %s"
                " AND (c.claim_until IS NULL OR c.claim_until < %s)"
                " AND c.seq = (SELECT min(d.seq) FROM alert_calls d"
                "              WHERE d.alert_id = c.alert_id AND d.done_at IS NULL)"
                " ORDER BY c.next_attempt_at, c.alert_id LIMIT %s",
                (now, now, limit),
            ).fetchall()
            with conn.cursor() as cur:
                cur.executemany(
                    "UPDATE alert_calls SET claimed_by = %s, claim_until = %s"
                    " WHERE alert_id = %s AND seq = %s",
                    [(worker, claim_until, row[0], row[1]) for row in rows],
                )
        return [Call(row[0], row[1], bytes(row[2]), *row[3:]) for row in rows]

    def finish_attempt(
        self, call: Call, worker: str, attempt: Attempt, next_attempt_at: int | None
    ) -> bool:
        done = next_attempt_at is None
        with self._tx() as conn:
            held = conn.execute(
                "UPDATE alert_calls SET attempts = %s, claimed_by = NULL, claim_until = NULL,"
                " done_at = %s, delivered = %s, next_attempt_at = COALESCE(%s, next_attempt_at)"
                " WHERE alert_id = %s AND seq = %s AND claimed_by = %s RETURNING 1",
                (
                    attempt.attempt,
                    attempt.at if done else None,
                    done and attempt.succeeded,
                    next_attempt_at,
                    call.alert_id,
                    call.seq,
                    worker,
                ),
            ).fetchone()
            if held is None:
                return False
            conn.execute(
                "INSERT INTO alert_attempts VALUES (%s, %s, %s, %s, %s, %s)", astuple(attempt)
            )
        return True

    def attempts(self, alert_id: str) -> list[Attempt]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT alert_id, seq, attempt, at, http_status, error FROM alert_attempts"
                " WHERE alert_id = %s ORDER BY seq, attempt",
                (alert_id,),
            ).fetchall()
        return [Attempt(*row) for row in rows]

    def pending_calls(self, alert_id: str) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT count(*) FROM alert_calls WHERE alert_id = %s AND done_at IS NULL",
                (alert_id,),
            ).fetchone()
        return int(row[0]) if row else 0
