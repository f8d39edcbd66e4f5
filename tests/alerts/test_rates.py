"""The rate metrics: ``rollback_rate`` and ``crash_rate`` of the app's newest version, the
figures of ``GET /statistics/app/:app_id/health``, and a rollback-rate alert delivered to a real
receiver on loopback once the newest version's installs reach ``--min-devices``."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from otastats.alerts import service
from otastats.alerts.evaluation import Figure
from otastats.alerts.figures import PROVIDERS
from otastats.storage.base import Store
from otastats.timeparse import datetime_to_micros
from tests.alerts.receiver import receiver
from tests.alerts.test_worker import APP, running
from tests.conftest import NOW, Tenants
from tests.helpers_api import at, get_ok, ingest_ok, seen

TODAY = "2024-03-15"


def action(device: str, name: str, day: str, version: str) -> dict[str, Any]:
    return {
        "type": "action", "app_id": APP, "device_id": device, "action": name,
        "timestamp": at(day, "11:00:00"), "version_name": version, "platform": "android",
        "plugin_version": "8.40.0",
    }  # fmt: skip


# 1.0.0 first reports on the 10th, 2.0.0 on the 12th (its newest version, though 1.0.0's first
# crash, on the 14th, and 0.9.0's first rollback, on the 13th, come later).
STORY = [
    seen(APP, "a", at("2024-03-10"), "1.0.0"),
    seen(APP, "b", at("2024-03-10"), "1.0.0"),
    action("a", "set", "2024-03-10", "1.0.0"),
    action("z", "set", "2024-03-09", "0.9.0"),
    action("z", "update_fail", "2024-03-13", "0.9.0"),
    action("c", "set", "2024-03-12", "2.0.0"),
    action("d", "set", "2024-03-13", "2.0.0"),
    action("e", "set", "2024-03-14", "2.0.0"),
    action("d", "update_fail", "2024-03-14", "2.0.0"),
    action("c", "app_crash", "2024-03-14", "2.0.0"),
    action("c", "app_moved_to_foreground", "2024-03-14", "2.0.0"),
    action("b", "app_crash", "2024-03-14", "1.0.0"),
]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_figures_are_the_health_answers_rates_of_the_newest_version(
    store: Store, tenants: Tenants, client: TestClient
) -> None:
    org = tenants.org()
    tenants.app(APP, org)
    key = tenants.key(tenants.user("r@example.com", orgs={org: "read"}))
    writer = tenants.key(tenants.user("w@example.com", orgs={org: "write"}))
    now = datetime_to_micros(NOW)
    assert PROVIDERS["rollback_rate"](store, APP, now) == Figure(None, None, None)
    ingest_ok(client, writer, STORY)
    health = get_ok(client, key, f"/statistics/app/{APP}/health", **{"from": TODAY, "to": TODAY})
    newest = health["versions"][-1]
    assert [v["version"] for v in health["versions"]] == ["0.9.0", "1.0.0", "2.0.0"]
    rollback = PROVIDERS["rollback_rate"](store, APP, now)
    crash = PROVIDERS["crash_rate"](store, APP, now)
    assert rollback == Figure(newest["rates"]["rollback"], "2.0.0", newest["totals"]["installs"])
    assert crash == Figure(newest["rates"]["crash"], "2.0.0", newest["totals"]["devices"])
    assert (rollback.value, rollback.divisor) == (1 / 3, 3)
    assert (crash.value, crash.divisor) == (1 / 3, 3)  # each install is a check-in too
    # On the 11th, 2.0.0 had not reported yet: 1.0.0 is the newest, as the answer to=11th says.
    on_11th = datetime_to_micros(NOW) - 4 * 86_400_000_000
    older = get_ok(
        client, key, f"/statistics/app/{APP}/health", **{"from": "2024-03-11", "to": "2024-03-11"}
    )
    assert older["versions"][-1]["version"] == "1.0.0"
    assert PROVIDERS["rollback_rate"](store, APP, on_11th) == Figure(0.0, "1.0.0", 1)


def test_a_rollback_rate_alert_fires_once_installs_reach_min_devices_then_resolves(
    store: Store, tenants: Tenants
) -> None:
    with receiver() as hook, running(store, tenants) as run:
        made = service.create_alert(
            store, run.hook.alerts, app_id=APP, metric="rollback_rate", above="0.2",
            min_devices=4, webhook=hook.url, now=datetime_to_micros(NOW),
        )  # fmt: skip
        # An older version's rollbacks do not count; 2.0.0 is at 1/3 on 3 installs: too few.
        ingest_ok(run.client, run.key, [
            action("o1", "set", "2024-03-10", "1.0.0"),
            action("o1", "update_fail", "2024-03-10", "1.0.0"),
            *[action(d, "set", TODAY, "2.0.0") for d in ("a", "b", "c")],
            action("a", "update_fail", TODAY, "2.0.0"),
        ])  # fmt: skip
        time.sleep(0.5)
        assert hook.received == []
        ingest_ok(run.client, run.key, [action("d", "set", TODAY, "2.0.0")])  # 1/4 on 4
        [fired] = hook.wait_for(1, timeout=10)
        ingest_ok(run.client, run.key, [action("e", "set", TODAY, "2.0.0")])  # 1/5: at 0.2
        fired, resolved = hook.wait_for(2, timeout=10)
        time.sleep(0.5)
        assert len(hook.received) == 2
    assert fired.json == {
        "alert_id": made.alert_id, "app_id": APP, "metric": "rollback_rate", "version": "2.0.0",
        "value": 0.25, "threshold": 0.2, "state": "firing", "at": fired.json["at"],
    }  # fmt: skip
    assert (resolved.json["state"], resolved.json["value"]) == ("resolved", 0.2)
    assert resolved.json["version"] == "2.0.0"
    for call in (fired, resolved):
        assert call.signed_with(made.secret)
