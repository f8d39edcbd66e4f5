"""An app's alerts as a key that may read the app sees them: their rules, their state and the
figure each watches now; never a secret, nor more of a webhook URL than its origin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otastats.alerts.figures import PROVIDERS, Provider
from otastats.alerts.service import describe
from otastats.auth.permissions import Principal
from otastats.errors import AppForbidden
from otastats.storage.alerts_base import AlertStore
from otastats.storage.base import Store


def app_alerts(
    store: Store,
    alerts: AlertStore,
    principal: Principal,
    app_id: str,
    now: int,
    providers: Mapping[str, Provider] = PROVIDERS,
) -> dict[str, Any]:
    if not principal.may_read_app(store.get_apps([app_id]).get(app_id)):
        raise AppForbidden()
    shown: list[dict[str, Any]] = []
    for alert in alerts.alerts(app_id):
        provider = providers.get(alert.metric)
        figure = provider(store, app_id, now) if provider is not None else None
        shown.append(
            {
                **describe(alert, full_webhook=False),
                "value": None if figure is None else figure.value,
                "version": None if figure is None else figure.version,
            }
        )
    return {"app_id": app_id, "alerts": shown}
