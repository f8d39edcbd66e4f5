"""Evaluating the alerts of the apps an ingest transaction wrote, right after its commit.

The ingest is committed whatever happens here: a failure is logged, and the delivery worker's
periodic evaluation of every alert catches up with the change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping

from otastats.alerts.figures import PROVIDERS, Provider
from otastats.alerts.service import evaluate_apps
from otastats.storage.alerts_base import AlertStore, alert_store_for
from otastats.storage.base import Store

log = logging.getLogger("otastats.alerts")


class AlertHook:
    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], int],
        providers: Mapping[str, Provider] = PROVIDERS,
    ) -> None:
        self._store = store
        self._clock = clock
        self._providers = providers
        self._alerts: AlertStore | None = None
        self._opening = threading.Lock()
        self.on_queued: Callable[[], None] | None = None
        """Called when calls were queued (the worker of this process wakes up at once)."""

    @property
    def alerts(self) -> AlertStore:
        """The alert tables of the store's database, opened at first use."""
        with self._opening:
            if self._alerts is None:
                self._alerts = alert_store_for(self._store)
            return self._alerts

    def after_commit(self, app_ids: Iterable[str]) -> None:
        try:
            apps = self.alerts.apps_with_alerts(sorted(set(app_ids)))
            if not apps:
                return
            queued = evaluate_apps(self._store, self.alerts, apps, self._clock(), self._providers)
            if queued and self.on_queued is not None:
                self.on_queued()
        except Exception:
            log.exception("cannot evaluate the alerts of the apps of an ingest")

    def close(self) -> None:
        with self._opening:
            if self._alerts is not None:
                self._alerts.close()
                self._alerts = None
