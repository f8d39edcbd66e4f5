"""Alert administration and evaluation against each storage backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import orjson
import pytest

from otastats.alerts import service
from otastats.alerts.evaluation import Figure
from otastats.alerts.figures import PROVIDERS, Provider
from otastats.errors import InvalidBody, NotFound
from otastats.ingest.service import existing_app, ingest
from otastats.storage.alerts_base import AlertStore, Attempt, alert_store_for
from otastats.storage.base import Store
from otastats.timeparse import datetime_to_micros
from tests.conftest import NOW, Tenants

T = datetime_to_micros(NOW)
HOOK = "https://hooks.example.test/otastats"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def alerts(store: Store) -> Iterator[AlertStore]:
    opened = alert_store_for(store)
    yield opened
    opened.close()


@pytest.fixture
def app_id(tenants: Tenants) -> str:
    return tenants.app("com.acme.app", tenants.org())


def seen(device: str, when: int = T) -> dict[str, object]:
    stamp = (NOW + timedelta(microseconds=when - T)).isoformat()
    return {"type": "device_seen", "app_id": "com.acme.app", "device_id": device,
            "timestamp": stamp, "version_name": "1.0.0", "platform": "ios"}  # fmt: skip


def create(store: Store, alerts: AlertStore, **overrides: object) -> service.CreatedAlert:
    args: dict[str, object] = {
        "app_id": "com.acme.app", "metric": "mau", "above": "1", "min_devices": None,
        "webhook": HOOK, "now": T,
    }  # fmt: skip
    args.update(overrides)
    return service.create_alert(store, alerts, **args)  # type: ignore[arg-type]


def bodies(store: Store, alert_id: str) -> list[dict[str, object]]:
    """The bodies of the alert's pending calls, oldest first, marked delivered as they are read:
    only the oldest pending call of an alert can be claimed at a time."""
    far = T + 10**15
    alerts = alert_store_for(store)
    found: list[dict[str, object]] = []
    try:
        while calls := [
            c for c in alerts.claim_due("t", far, far + 1, 100) if c.alert_id == alert_id
        ]:
            [call] = calls
            found.append(orjson.loads(call.body))
            done = Attempt(alert_id, call.seq, 1, far, 204, None)
            assert alerts.finish_attempt(call, "t", done, None)
        assert alerts.pending_calls(alert_id) == 0
    finally:
        alerts.close()
    return found


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"metric": "dau"}, "metric: 'dau' is not a metric; use one of rollback_rate, crash_rate,"
         " mau, bandwidth, storage"),
        ({"above": "abc"}, "above: 'abc' is not a number"),
        ({"above": "nan"}, "above: 'nan' must be a finite number >= 0"),
        ({"above": "inf"}, "above: 'inf' must be a finite number >= 0"),
        ({"above": "1e999"}, "above: '1e999' must be a finite number >= 0"),
        ({"above": "-0.5"}, "above: '-0.5' must be a finite number >= 0"),
        ({"min_devices": 10}, "min-devices: applies only to rollback_rate and crash_rate"),
        ({"webhook": "ftp://a.test/x"}, "webhook: 'ftp://a.test/x' is not an http(s) URL"),
        ({"webhook": "example.com/hook"}, "webhook: 'example.com/hook' is not an http(s) URL"),
        ({"webhook": "https:///nohost"}, "webhook: 'https:///nohost' is not an http(s) URL"),
        ({"webhook": "http://a b/"}, "webhook: must be an http(s) URL of at most 2048 chars"),
        ({"webhook": "http://h:99999/"}, "webhook: 'http://h:99999/' is not a valid URL"),
    ],
)  # fmt: skip
def test_bad_alerts_are_refused_naming_what_is_wrong(
    store: Store, alerts: AlertStore, app_id: str, overrides: dict[str, object], error: str
) -> None:
    with pytest.raises(InvalidBody) as raised:
        create(store, alerts, **overrides)
    assert raised.value.error.startswith(error)
    assert alerts.alerts() == []


def test_an_unknown_or_deleted_app_is_refused(
    store: Store, alerts: AlertStore, tenants: Tenants
) -> None:
    with pytest.raises(NotFound, match=r"app: no app 'com\.acme\.app'"):
        create(store, alerts)
    tenants.app("com.acme.app", tenants.org())
    store.delete_app("com.acme.app", T)
    with pytest.raises(NotFound, match=r"app: no app 'com\.acme\.app'"):
        create(store, alerts)


def test_rates_are_accepted_once_a_provider_is_wired(
    store: Store, alerts: AlertStore, app_id: str
) -> None:
    """A rate with its own provider (here a fixed figure): --min-devices is kept."""

    def crash_rate(store: Store, app_id: str, now: int) -> Figure:
        return Figure(0.2, "1.7.0", 40)

    providers: dict[str, Provider] = {**PROVIDERS, "crash_rate": crash_rate}
    created = create(
        store, alerts, metric="crash_rate", above="0.1", min_devices=40, providers=providers
    )
    [alert] = alerts.alerts()
    assert (alert.metric, alert.threshold, alert.min_devices) == ("crash_rate", 0.1, 40)
    assert alert.firing  # 0.2 on 40 devices, at creation
    [body] = bodies(store, created.alert_id)
    assert (body["version"], body["value"], body["state"]) == ("1.7.0", 0.2, "firing")


def test_fires_and_resolves_once_each_with_the_figures(
    store: Store, alerts: AlertStore, app_id: str
) -> None:
    created = create(store, alerts, above="2")
    assert bodies(store, created.alert_id) == []  # mau 0: nothing to say
    for device in ("d1", "d2", "d3"):
        ingest(store, [seen(device)], T, existing_app)
        assert service.evaluate_apps(store, alerts, [app_id], T) == (device == "d3")
    assert service.evaluate_apps(store, alerts, [app_id], T) == 0  # no change, no call
    # 30 days later the three devices have left the window: resolved.
    later = T + 30 * 86_400_000_000
    assert service.evaluate_apps(store, alerts, [app_id], later) == 1
    assert service.evaluate_apps(store, alerts, [app_id], later) == 0
    fired, resolved = bodies(store, created.alert_id)
    assert fired == {
        "alert_id": created.alert_id, "app_id": app_id, "metric": "mau", "version": None,
        "value": 3, "threshold": 2.0, "state": "firing", "at": "2024-03-15T12:00:00.000Z",
    }  # fmt: skip
    assert (resolved["state"], resolved["value"], resolved["at"]) == (
        "resolved", 0, "2024-04-14T12:00:00.000Z"
    )  # fmt: skip
    [alert] = alerts.alerts(app_id)
    assert not alert.firing
    assert alert.changed_at == later


def test_bandwidth_is_the_current_days_bytes(store: Store, alerts: AlertStore, app_id: str) -> None:
    created = create(store, alerts, metric="bandwidth", above="100")
    download = {"type": "download", "app_id": app_id, "device_id": "d", "version_name": "1",
                "bytes": 101, "timestamp": "2024-03-15T01:00:00Z"}  # fmt: skip
    ingest(store, [download], T, existing_app)
    assert service.evaluate_apps(store, alerts, [app_id], T) == 1
    next_day = T + 86_400_000_000
    assert service.evaluate_apps(store, alerts, [app_id], next_day) == 1
    states = [body["state"] for body in bodies(store, created.alert_id)]
    assert states == ["firing", "resolved"]


def test_the_secret_is_shown_once_and_not_stored(
    store: Store, alerts: AlertStore, app_id: str
) -> None:
    created = create(store, alerts)
    assert created.secret.startswith("whsec_")
    listed = service.list_alerts(alerts, None)
    assert created.secret not in orjson.dumps(listed).decode()
    [alert] = alerts.alerts()
    assert created.secret not in repr(alert)
    from otastats.alerts.signing import alert_secret

    assert alert_secret(store.key_secret(), alert.alert_id, alert.secret_salt) == created.secret


def test_list_delete_and_deliveries(store: Store, alerts: AlertStore, tenants: Tenants) -> None:
    org = tenants.org()
    tenants.app("com.b", org)
    tenants.app("com.a", org)
    first = create(store, alerts, app_id="com.b", above="0")
    second = create(store, alerts, app_id="com.a", metric="storage", above="5.5")
    assert [a["alert_id"] for a in service.list_alerts(alerts, None)] == [
        second.alert_id, first.alert_id
    ]  # fmt: skip
    [shown] = service.list_alerts(alerts, "com.a")
    assert shown == {
        "alert_id": second.alert_id, "app_id": "com.a", "metric": "storage", "above": 5.5,
        "min_devices": None, "webhook": HOOK, "state": "ok", "changed_at": None,
        "created_at": "2024-03-15T12:00:00.000Z",
    }  # fmt: skip
    assert service.deliveries(alerts, first.alert_id) == {
        "alert_id": first.alert_id, "pending": 0, "attempts": []
    }  # fmt: skip
    service.delete_alert(alerts, first.alert_id)
    assert [a["alert_id"] for a in service.list_alerts(alerts, None)] == [second.alert_id]
    with pytest.raises(NotFound, match="alert: no alert"):
        service.delete_alert(alerts, first.alert_id)
    with pytest.raises(NotFound, match="alert: no alert"):
        service.deliveries(alerts, first.alert_id)


def test_a_deleted_alerts_pending_calls_are_not_sent(
    store: Store, alerts: AlertStore, app_id: str
) -> None:
    ingest(store, [seen("d1")], T, existing_app)
    created = create(store, alerts, above="0")  # fires at once: mau is 1
    assert alerts.pending_calls(created.alert_id) == 1
    service.delete_alert(alerts, created.alert_id)
    assert alerts.claim_due("w", T + 10**15, T + 10**15 + 1, 100) == []
    assert alerts.pending_calls(created.alert_id) == 0
