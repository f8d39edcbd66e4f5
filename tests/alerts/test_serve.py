"""Real ``otastats serve`` processes: a pending call survives a SIGKILL and is delivered once
after the restart; two servers on one PostgreSQL database send each call once."""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from otastats.alerts import service
from otastats.storage import open_store
from otastats.storage.alerts_base import alert_store_for
from otastats.timeparse import datetime_to_micros
from tests.alerts.receiver import receiver
from tests.cli_helpers import db_url, free_port, serve
from tests.conftest import Tenants
from tests.helpers_api import created, deleted

APP = "com.acme.app"
FAST = {
    "OTASTATS_ALERT_POLL_MS": "50",
    "OTASTATS_WEBHOOK_TIMEOUT_MS": "1000",
    "OTASTATS_ALERT_CLAIM_MS": "2000",
    "OTASTATS_WEBHOOK_RETRY_FIRST_MS": "200",
    "OTASTATS_WEBHOOK_RETRY_MAX_MS": "400",
    "OTASTATS_RATE_LIMIT": "0",
}


def setup(url: str, webhooks: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """A write key, and one storage alert (above 50 bytes) per webhook: (alert_id, secret)."""
    store = open_store(url)
    alerts = alert_store_for(store)
    try:
        tenants = Tenants(store, now=datetime_to_micros(datetime.now(UTC)))
        org = tenants.org()
        tenants.app(APP, org)
        key = tenants.key(tenants.user("w@example.com", orgs={org: "write"}))
        made = [
            service.create_alert(
                store,
                alerts,
                app_id=APP,
                metric="storage",
                above="50",
                min_devices=None,
                webhook=webhook,
                now=tenants.now,
            )
            for webhook in webhooks
        ]
    finally:
        alerts.close()
        store.close()
    return key, [(m.alert_id, m.secret) for m in made]


def log(url: str, alert_id: str) -> dict[str, Any]:
    store = open_store(url)
    alerts = alert_store_for(store)
    try:
        return service.deliveries(alerts, alert_id)
    finally:
        alerts.close()
        store.close()


def post(base: str, key: str, event: dict[str, Any]) -> None:
    request = urllib.request.Request(  # noqa: S310
        base + "/ingest/events",
        data=json.dumps([event]).encode(),
        headers={"authorization": key, "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert json.loads(response.read())["accepted"] == 1


def bundle(version: str, size: int | None) -> dict[str, Any]:
    stamp = datetime.now(UTC).isoformat()
    return deleted(APP, version, stamp) if size is None else created(APP, version, size, stamp)


def wait_until(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_pending_call_survives_a_sigkill_and_is_delivered_once_after_restart(
    tmp_path: Path,
) -> None:
    url = db_url(tmp_path / "otastats.db")
    port = free_port()
    key, [(alert_id, secret)] = setup(url, [f"http://127.0.0.1:{port}/hook"])
    with serve(database=url, workdir=tmp_path, name="first", env=FAST) as first:
        post(first.base, key, bundle("1.0.0", 100))
        # The receiver is not listening yet: the call fails and stays pending.
        wait_until(lambda: len(log(url, alert_id)["attempts"]) >= 1)
        first.process.kill()
        first.process.wait(10)
    failed = log(url, alert_id)
    assert failed["pending"] == 1
    assert all(a["http_status"] is None for a in failed["attempts"])
    with receiver(port=port) as hook:
        time.sleep(0.5)
        assert hook.received == []  # nobody sends while no server runs
        with serve(database=url, workdir=tmp_path, name="second", env=FAST):
            [call] = hook.wait_for(1)
            wait_until(lambda: log(url, alert_id)["pending"] == 0)
            time.sleep(1)
            assert len(hook.received) == 1
    assert call.signed_with(secret)
    assert call.json["state"] == "firing"
    assert call.json["value"] == 100
    attempts = log(url, alert_id)["attempts"]
    assert [a["http_status"] for a in attempts] == [None] * (len(attempts) - 1) + [200]


def test_two_servers_on_one_postgresql_database_send_each_call_once(
    tmp_path: Path, postgres_url: str
) -> None:
    failures = 3
    with receiver([500] * failures) as hook:
        key, made = setup(postgres_url, [hook.url] * 4)
        with (
            serve(database=postgres_url, workdir=tmp_path, name="a", env=FAST) as a,
            serve(database=postgres_url, workdir=tmp_path, name="b", env=FAST) as b,
        ):
            for round_ in range(2):
                post(a.base, key, bundle(f"{round_}.0", 100))  # every alert fires
                hook.wait_for(failures + 4 * (2 * round_ + 1))
                post(b.base, key, bundle(f"{round_}.0", None))  # every alert resolves
                hook.wait_for(failures + 4 * (2 * round_ + 2))
            expected = failures + 16
            wait_until(lambda: all(log(postgres_url, m[0])["pending"] == 0 for m in made))
            time.sleep(1.5)  # longer than a poll, a retry delay and a claim: nothing more comes
            received = list(hook.received)
    assert len(received) == expected
    answered_200 = received[failures:]
    bodies = Counter(call.body for call in answered_200)
    assert len(bodies) == 16
    assert set(bodies.values()) == {1}  # each call delivered exactly once
    secrets = dict(made)
    for alert_id in secrets:
        mine = [c for c in received if c.json["alert_id"] == alert_id]
        assert all(call.signed_with(secrets[alert_id]) for call in mine)
        delivered = [c.json["state"] for c in answered_200 if c.json["alert_id"] == alert_id]
        assert delivered == ["firing", "resolved", "firing", "resolved"]
        statuses = [a["http_status"] for a in log(postgres_url, alert_id)["attempts"]]
        assert statuses.count(200) == 4
