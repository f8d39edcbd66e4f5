"""The alert tables of a database: alert definitions, the outbox of webhook calls, the attempts.

The backends live in ``alerts_sqlite.py`` and ``alerts_postgres.py``; each opens connections of
its own on the store's database, so that the delivery worker never waits behind an ingest
transaction for a connection. ``alert_store_for`` picks the one of a store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from otastats.storage.base import Store


@dataclass(frozen=True, slots=True)
class AlertRow:
    alert_id: str
    app_id: str
    metric: str
    threshold: float
    min_devices: int
    webhook_url: str
    secret_salt: str
    created_at: int
    firing: bool = False
    changed_at: int | None = None


@dataclass(frozen=True, slots=True)
class NewCall:
    """A state change of an alert to be sent: its state and the exact body."""

    alert_id: str
    firing: bool
    body: bytes


@dataclass(frozen=True, slots=True)
class Call:
    """One outbox row claimed by a worker."""

    alert_id: str
    seq: int
    body: bytes
    created_at: int
    attempts: int
    webhook_url: str
    secret_salt: str


@dataclass(frozen=True, slots=True)
class Attempt:
    alert_id: str
    seq: int
    attempt: int
    at: int
    http_status: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        """The receiver answered 2xx: the call is delivered."""
        return self.http_status is not None and 200 <= self.http_status < 300


Decide = Callable[[list[AlertRow]], list[NewCall]]
"""Given the alerts of some apps (locked against other evaluations), the calls to record."""


class AlertStore(Protocol):
    def create_alert(self, alert: AlertRow) -> None: ...
    def alerts(self, app_id: str | None = None) -> list[AlertRow]:
        """Every alert (or those of one app), by app, then creation time."""

    def get_alert(self, alert_id: str) -> AlertRow | None: ...
    def delete_alert(self, alert_id: str) -> bool:
        """Delete an alert, its pending calls and its log; False when there is none."""

    def apps_with_alerts(self, app_ids: Sequence[str]) -> list[str]:
        """Those of the apps that have alerts (a cheap read, without a lock)."""

    def record_changes(self, app_ids: Sequence[str], now: int, decide: Decide) -> int:
        """In one transaction serialized per app with the other evaluations: read the apps'
        alerts, ask ``decide`` for the calls, set each alert's state and queue each call (due
        at once). The number of calls queued."""

    def claim_due(self, worker: str, now: int, claim_until: int, limit: int) -> list[Call]:
        """Claim up to ``limit`` due calls, each the oldest pending call of its alert, that no
        other worker holds (or whose claim has expired), for ``worker`` until ``claim_until``."""

    def finish_attempt(
        self, call: Call, worker: str, attempt: Attempt, next_attempt_at: int | None
    ) -> bool:
        """Log an attempt and release the claim: done when ``next_attempt_at`` is None, else due
        again then. False (nothing written) when the claim was lost to another worker."""

    def attempts(self, alert_id: str) -> list[Attempt]:
        """The delivery log of an alert, oldest first."""

    def pending_calls(self, alert_id: str) -> int:
        """Calls of the alert not yet delivered nor given up."""

    def close(self) -> None: ...


def alert_store_for(store: Store) -> AlertStore:
    """The alert tables of ``store``'s database."""
    from otastats.storage.sqlite import SQLiteStore

    if isinstance(store, SQLiteStore):
        from otastats.storage.alerts_sqlite import SQLiteAlerts

        return SQLiteAlerts(store.path)
    from otastats.storage.alerts_postgres import PostgresAlerts
    from otastats.storage.postgres import PostgresStore

    assert isinstance(store, PostgresStore), type(store)
    return PostgresAlerts(store.url)
