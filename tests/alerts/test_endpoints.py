"""GET /alerts/app/:app_id: an app's alerts and their state, without secrets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from otastats.alerts import service
from otastats.storage.alerts_base import AlertStore, alert_store_for
from otastats.storage.base import Store
from tests.conftest import Tenants
from tests.helpers_api import APP_FORBIDDEN, at, created, get, get_ok, ingest_ok

APP = "com.acme.app"
WEBHOOK = "https://deploy:s3cret@hooks.acme.test:8443/otastats/hook?token=abc"


@pytest.fixture
def alerts(store: Store) -> Iterator[AlertStore]:
    opened = alert_store_for(store)
    yield opened
    opened.close()


def test_an_apps_alerts_with_their_state_and_figure(
    store: Store, alerts: AlertStore, tenants: Tenants, client: TestClient
) -> None:
    org = tenants.org()
    tenants.app(APP, org)
    tenants.app("com.acme.other", org)
    key = tenants.key(tenants.user("w@example.com", orgs={org: "write"}))
    made = []
    plan = ((APP, "storage", "50"), (APP, "mau", "10"), ("com.acme.other", "mau", "0"))
    for step, (app_id, metric, above) in enumerate(plan):
        made.append(
            service.create_alert(
                store, alerts, app_id=app_id, metric=metric, above=above, min_devices=None,
                webhook=WEBHOOK, now=tenants.now + step,
            )
        )  # fmt: skip
    assert get_ok(client, key, f"/alerts/app/{APP}") == {"app_id": APP, "alerts": [
        {"alert_id": made[0].alert_id, "app_id": APP, "metric": "storage", "above": 50.0,
         "min_devices": None, "webhook_origin": "https://hooks.acme.test:8443", "state": "ok",
         "changed_at": None, "created_at": "2024-03-15T12:00:00.000Z", "value": 0,
         "version": None},
        {"alert_id": made[1].alert_id, "app_id": APP, "metric": "mau", "above": 10.0,
         "min_devices": None, "webhook_origin": "https://hooks.acme.test:8443", "state": "ok",
         "changed_at": None, "created_at": "2024-03-15T12:00:00.000Z", "value": 0,
         "version": None},
    ]}  # fmt: skip
    ingest_ok(client, key, [created(APP, "1.0.0", 80, at("2024-03-15", "11:00:00"))])
    answer = client.get(f"/alerts/app/{APP}/", headers={"authorization": key})
    assert answer.status_code == 200
    first = answer.json()["alerts"][0]
    assert (first["state"], first["value"], first["changed_at"]) == (
        "firing", 80, "2024-03-15T12:00:00.000Z"
    )  # fmt: skip
    for secret in (made[0].secret, "s3cret", "token", "/otastats/hook"):
        assert secret not in answer.text


def test_other_keys_get_the_same_403_as_for_statistics(
    tenants: Tenants, client: TestClient
) -> None:
    org, other = tenants.org(), tenants.org("other")
    tenants.app(APP, org)
    outsider = tenants.key(tenants.user("x@example.com", orgs={other: "admin"}))
    for path in (f"/alerts/app/{APP}", "/alerts/app/com.nope", "/alerts/app/bad%20id"):
        response = get(client, outsider, path)
        assert response.status_code == 403
        assert response.json() == APP_FORBIDDEN
    assert get(client, None, f"/alerts/app/{APP}").status_code == 401
