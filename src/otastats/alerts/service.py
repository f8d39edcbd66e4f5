"""Alert administration (create, list, delete, the delivery log) and the evaluation of an app's
alerts against their figures, which queues a webhook call for each state change."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from otastats.alerts.evaluation import METRICS, RATE_METRICS, Figure, Rule, call_body, change
from otastats.alerts.figures import PROVIDERS, Provider
from otastats.alerts.signing import alert_secret, new_salt
from otastats.errors import InvalidBody, NotFound
from otastats.storage.alerts_base import AlertRow, AlertStore, NewCall
from otastats.storage.base import Store
from otastats.timeparse import micros_to_datetime

MAX_URL_LENGTH = 2048
MAX_MIN_DEVICES = 2**53


@dataclass(frozen=True, slots=True)
class CreatedAlert:
    alert_id: str
    secret: str


def parse_threshold(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise InvalidBody(f"above: {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise InvalidBody(f"above: {text!r} must be a finite number >= 0")
    return value


def check_webhook(url: str) -> str:
    """The URL when it is an absolute http(s) URL with a host, else InvalidBody naming why."""
    if len(url) > MAX_URL_LENGTH or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InvalidBody(f"webhook: must be an http(s) URL of at most {MAX_URL_LENGTH} chars")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a malformed port raises here)
    except ValueError:
        raise InvalidBody(f"webhook: {url!r} is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidBody(f"webhook: {url!r} is not an http(s) URL, like https://example.com/hook")
    return url


def create_alert(
    store: Store,
    alerts: AlertStore,
    *,
    app_id: str,
    metric: str,
    above: str,
    min_devices: int | None,
    webhook: str,
    now: int,
    providers: Mapping[str, Provider] = PROVIDERS,
) -> CreatedAlert:
    if metric not in METRICS:
        raise InvalidBody(f"metric: {metric!r} is not a metric; use one of {', '.join(METRICS)}")
    threshold = parse_threshold(above)
    if min_devices is not None and metric not in RATE_METRICS:
        raise InvalidBody("min-devices: applies only to rollback_rate and crash_rate")
    if min_devices is not None and not 0 <= min_devices <= MAX_MIN_DEVICES:
        raise InvalidBody("min-devices: must be a whole number from 0 to 2^53")
    check_webhook(webhook)
    app = store.get_apps([app_id]).get(app_id)
    if app is None or app.deleted:
        raise NotFound(f"app: no app {app_id!r}")
    alert = AlertRow(
        alert_id=str(uuid.uuid4()),
        app_id=app_id,
        metric=metric,
        threshold=threshold,
        min_devices=50 if min_devices is None else min_devices,
        webhook_url=webhook,
        secret_salt=new_salt(),
        created_at=now,
    )
    alerts.create_alert(alert)
    # A figure already above the threshold fires at once, not at the app's next ingest.
    evaluate_apps(store, alerts, [app_id], now, providers)
    secret = alert_secret(store.key_secret(), alert.alert_id, alert.secret_salt)
    return CreatedAlert(alert.alert_id, secret)


def _rfc3339(micros: int | None) -> str | None:
    if micros is None:
        return None
    return micros_to_datetime(micros).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe(alert: AlertRow, *, full_webhook: bool) -> dict[str, Any]:
    """An alert as the CLI (``full_webhook``) or the HTTP API (its origin only) shows it."""
    if full_webhook:
        webhook = alert.webhook_url
    else:
        # Credentials, paths and query strings may hold tokens of the receiver.
        parts = urlsplit(alert.webhook_url)
        port = f":{parts.port}" if parts.port is not None else ""
        webhook = f"{parts.scheme.lower()}://{parts.hostname}{port}"
    return {
        "alert_id": alert.alert_id,
        "app_id": alert.app_id,
        "metric": alert.metric,
        "above": alert.threshold,
        "min_devices": alert.min_devices if alert.metric in RATE_METRICS else None,
        "webhook" if full_webhook else "webhook_origin": webhook,
        "state": "firing" if alert.firing else "ok",
        "changed_at": _rfc3339(alert.changed_at),
        "created_at": _rfc3339(alert.created_at),
    }


def list_alerts(alerts: AlertStore, app_id: str | None) -> list[dict[str, Any]]:
    return [describe(alert, full_webhook=True) for alert in alerts.alerts(app_id)]


def delete_alert(alerts: AlertStore, alert_id: str) -> None:
    if not alerts.delete_alert(alert_id):
        raise NotFound(f"alert: no alert {alert_id!r}")


def deliveries(alerts: AlertStore, alert_id: str) -> dict[str, Any]:
    if alerts.get_alert(alert_id) is None:
        raise NotFound(f"alert: no alert {alert_id!r}")
    return {
        "alert_id": alert_id,
        "pending": alerts.pending_calls(alert_id),
        "attempts": [
            {
                "call": attempt.seq,
                "attempt": attempt.attempt,
                "at": _rfc3339(attempt.at),
                "http_status": attempt.http_status,
                "error": attempt.error,
            }
            for attempt in alerts.attempts(alert_id)
        ],
    }


def evaluate_apps(
    store: Store,
    alerts: AlertStore,
    app_ids: Sequence[str],
    now: int,
    providers: Mapping[str, Provider] = PROVIDERS,
) -> int:
    """Compare each alert of the apps with its figure now; queue one call per state change.
    The number of calls queued."""

    def decide(rows: list[AlertRow]) -> list[NewCall]:
        figures: dict[tuple[str, str], Figure] = {}
        calls: list[NewCall] = []
        for row in rows:
            provider = providers.get(row.metric)
            if provider is None:
                continue
            key = (row.app_id, row.metric)
            if key not in figures:
                figures[key] = provider(store, row.app_id, now)
            rule = Rule(row.metric, row.threshold, row.min_devices)
            new_state = change(row.firing, rule, figures[key])
            if new_state is not None:
                body = call_body(row.alert_id, row.app_id, rule, figures[key], new_state, now)
                calls.append(NewCall(row.alert_id, new_state, body))
        return calls

    return alerts.record_changes(app_ids, now, decide)
