"""The alert tables in a SQLite database, on a connection of their own.

Every write is one ``BEGIN IMMEDIATE`` transaction: SQLite's write lock serializes it with the
ingest transactions and with the other processes on the file, so two evaluations never record
the same state change and two workers never claim the same call.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple

from otastats.storage.alerts_base import AlertRow, Attempt, Call, Decide

_ALERT_COLUMNS = (
    "alert_id, app_id, metric, threshold, min_devices, webhook_url, secret_salt, created_at,"
    " firing, changed_at"
)
_CHUNK = 400
_ANY_DUE = "SELECT 1 FROM alert_calls WHERE done_at IS NULL AND next_attempt_at <= ? LIMIT 1"


def _alert(row: tuple[object, ...]) -> AlertRow:
    values = list(row)
    values[8] = bool(values[8])
    return AlertRow(*values)  # type: ignore[arg-type]


class SQLiteAlerts:
    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- definitions --------------------------------------------------------------------------
    def create_alert(self, alert: AlertRow) -> None:
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO alerts ({_ALERT_COLUMNS})"  # noqa: S608
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                astuple(alert),
            )

    def alerts(self, app_id: str | None = None) -> list[AlertRow]:
        where, args = ("WHERE app_id = ?", (app_id,)) if app_id is not None else ("", ())
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_ALERT_COLUMNS} FROM alerts {where} ORDER BY app_id, created_at,"  # noqa: S608
                " alert_id",
                args,
            ).fetchall()
        return [_alert(row) for row in rows]

    def get_alert(self, alert_id: str) -> AlertRow | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE alert_id = ?",  # noqa: S608
                (alert_id,),
            ).fetchone()
        return None if row is None else _alert(row)

    def delete_alert(self, alert_id: str) -> bool:
        with self._write() as conn:
            conn.execute("DELETE FROM alert_calls WHERE alert_id = ?", (alert_id,))
            conn.execute("DELETE FROM alert_attempts WHERE alert_id = ?", (alert_id,))
            return conn.execute("DELETE FROM alerts WHERE alert_id = ?", (alert_id,)).rowcount > 0

    def apps_with_alerts(self, app_ids: Sequence[str]) -> list[str]:
        ids = list(dict.fromkeys(app_ids))
        found: list[str] = []
        with self._read() as conn:
            for start in range(0, len(ids), _CHUNK):
                part = ids[start : start + _CHUNK]
                marks = ",".join("?" * len(part))
                found.extend(
                    app_id
                    for (app_id,) in conn.execute(
                        f"SELECT DISTINCT app_id FROM alerts WHERE app_id IN ({marks})",  # noqa: S608
                        part,
                    )
                )
        return found

    # --- evaluation ---------------------------------------------------------------------------
    def record_changes(self, app_ids: Sequence[str], now: int, decide: Decide) -> int:
        ids = list(dict.fromkeys(app_ids))
        with self._write() as conn:
            rows: list[AlertRow] = []
            for start in range(0, len(ids), _CHUNK):
                part = ids[start : start + _CHUNK]
                marks = ",".join("?" * len(part))
                rows.extend(
                    _alert(row)
                    for row in conn.execute(
                        f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE app_id IN ({marks})"  # noqa: S608
                        " ORDER BY alert_id",
                        part,
                    )
                )
            calls = decide(rows)
            for call in calls:
                (seq,) = conn.execute(
                    "UPDATE alerts SET firing = ?, changed_at = ?, calls_made = calls_made + 1"
                    " WHERE alert_id = ? RETURNING calls_made",
                    (int(call.firing), now, call.alert_id),
                ).fetchone()
                conn.execute(
                    "INSERT INTO alert_calls (alert_id, seq, body, created_at, next_attempt_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (call.alert_id, seq, call.body, now, now),
                )
        return len(calls)

    # --- delivery -----------------------------------------------------------------------------
    def claim_due(self, worker: str, now: int, claim_until: int, limit: int) -> list[Call]:
        # Most polls find nothing: a plain read first, so they never take the write lock.
        with self._read() as conn:
            if conn.execute(_ANY_DUE, (now,)).fetchone() is None:
                return []
        with self._write() as conn:
            rows = conn.execute(
                "SELECT c.alert_id, c.seq, c.body, c.created_at, c.attempts, a.webhook_url,"
                " a.secret_salt FROM alert_calls c JOIN alerts a ON a.alert_id = c.alert_id"
                " WHERE c.done_at IS NULL AND c.next_attempt_at <= ?"
                " AND (c.claim_until IS NULL OR c.claim_until < ?)"
                " AND c.seq = (SELECT min(d.seq) FROM alert_calls d"
                "              WHERE d.alert_id = c.alert_id AND d.done_at IS NULL)"
                " ORDER BY c.next_attempt_at, c.alert_id LIMIT ?",
                (now, now, limit),
            ).fetchall()
            conn.executemany(
                "UPDATE alert_calls SET claimed_by = ?, claim_until = ?"
                " WHERE alert_id = ? AND seq = ?",
                [(worker, claim_until, row[0], row[1]) for row in rows],
            )
        return [Call(*row) for row in rows]

    def finish_attempt(
        self, call: Call, worker: str, attempt: Attempt, next_attempt_at: int | None
    ) -> bool:
        with self._write() as conn:
            held = conn.execute(
                "SELECT 1 FROM alert_calls WHERE alert_id = ? AND seq = ? AND claimed_by = ?",
                (call.alert_id, call.seq, worker),
            ).fetchone()
            if held is None:
                return False
            conn.execute(
                "INSERT INTO alert_attempts VALUES (?, ?, ?, ?, ?, ?)",
                (call.alert_id, call.seq, attempt.attempt, attempt.at, attempt.http_status,
                 attempt.error),
            )  # fmt: skip
            done = next_attempt_at is None
            conn.execute(
                "UPDATE alert_calls SET attempts = ?, claimed_by = NULL, claim_until = NULL,"
                " done_at = ?, delivered = ?, next_attempt_at = COALESCE(?, next_attempt_at)"
                " WHERE alert_id = ? AND seq = ?",
                (
                    attempt.attempt,
                    attempt.at if done else None,
                    int(done and attempt.succeeded),
                    next_attempt_at,
                    call.alert_id,
                    call.seq,
                ),
            )
        return True

    def attempts(self, alert_id: str) -> list[Attempt]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT alert_id, seq, attempt, at, http_status, error FROM alert_attempts"
                " WHERE alert_id = ? ORDER BY seq, attempt",
                (alert_id,),
            ).fetchall()
        return [Attempt(*row) for row in rows]

    def pending_calls(self, alert_id: str) -> int:
        with self._read() as conn:
            (count,) = conn.execute(
                "SELECT count(*) FROM alert_calls WHERE alert_id = ? AND done_at IS NULL",
                (alert_id,),
            ).fetchone()
        return int(count)
