"""The delivery worker with the real application and a real receiver on loopback: one call per
state change, retries, order, and a receiver that hangs."""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from otastats.alerts import service
from otastats.alerts.hook import AlertHook
from otastats.alerts.retry import RetryPolicy
from otastats.alerts.worker import DeliveryWorker, WorkerSettings
from otastats.app import create_app
from otastats.config import Settings
from otastats.storage.base import Store
from otastats.timeparse import datetime_to_micros
from tests.alerts.receiver import receiver
from tests.cli_helpers import free_port
from tests.conftest import NOW, Tenants
from tests.helpers_api import at, created, deleted, download, ingest_ok

APP = "com.acme.app"
FAST = WorkerSettings(
    poll_ms=50,
    timeout_ms=1_000,
    claim_ms=3_000,
    evaluate_every_ms=0,
    retry=RetryPolicy(first_ms=100, max_ms=400, retry_for_ms=60_000),
)


@dataclass
class Clock:
    """Starts at the tests' NOW and moves with real time, so that retries come due."""

    start: float = field(default_factory=time.monotonic)
    jumped_s: float = 0.0
    """Added to the time, to move it on by days at once."""

    def now(self) -> datetime:
        return NOW + timedelta(seconds=time.monotonic() - self.start + self.jumped_s)

    def micros(self) -> int:
        return datetime_to_micros(self.now())


@dataclass
class Running:
    store: Store
    client: TestClient
    hook: AlertHook
    key: str
    clock: Clock

    def alert(self, webhook: str, metric: str = "storage", above: str = "50") -> tuple[str, str]:
        made = service.create_alert(
            self.store, self.hook.alerts, app_id=APP, metric=metric, above=above,
            min_devices=None, webhook=webhook, now=datetime_to_micros(NOW),
        )  # fmt: skip
        return made.alert_id, made.secret

    def bundle(self, version: str, size: int | None) -> None:
        """A bundle created (with a size) or deleted, which moves the app's storage."""
        stamp = at("2024-03-15", "11:00:00")
        event = deleted(APP, version, stamp) if size is None else created(APP, version, size, stamp)
        ingest_ok(self.client, self.key, [event])

    def log(self, alert_id: str) -> dict[str, Any]:
        return service.deliveries(self.hook.alerts, alert_id)


@contextmanager
def running(store: Store, tenants: Tenants, settings: WorkerSettings = FAST) -> Iterator[Running]:
    org = tenants.org()
    tenants.app(APP, org)
    key = tenants.key(tenants.user("w@example.com", orgs={org: "write"}))
    clock = Clock()
    hook = AlertHook(store, clock=clock.micros)
    worker = DeliveryWorker(store, hook.alerts, settings, clock=clock.micros)
    hook.on_queued = worker.wake
    worker.start()
    app = create_app(Settings(rate_limit=0, auth_failure_limit=0), store=store, clock=clock.now,
                     alerts=hook)  # fmt: skip
    try:
        with TestClient(app) as client:
            try:
                yield Running(store, client, hook, key, clock)
            finally:
                worker.stop()
    finally:
        worker.stop()


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_firing_and_resolved_are_delivered_once_each(store: Store, tenants: Tenants) -> None:
    with receiver() as hook, running(store, tenants) as run:
        alert_id, secret = run.alert(hook.url)
        run.bundle("1.0.0", 100)
        # Within 10 seconds of the ingest answer (here, well within: the worker is woken).
        [fired] = hook.wait_for(1, timeout=10)
        run.bundle("1.0.0", None)
        fired, resolved = hook.wait_for(2, timeout=10)
        time.sleep(0.5)
        assert len(hook.received) == 2
        log = run.log(alert_id)
    assert [call.json["state"] for call in (fired, resolved)] == ["firing", "resolved"]
    assert fired.json == {
        "alert_id": alert_id, "app_id": APP, "metric": "storage", "version": None,
        "value": 100, "threshold": 50.0, "state": "firing", "at": fired.json["at"],
    }  # fmt: skip
    assert resolved.json["value"] == 0
    for call in (fired, resolved):
        assert call.signed_with(secret)
        assert not call.signed_with(secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    assert log["pending"] == 0
    assert [(a["call"], a["attempt"], a["http_status"], a["error"]) for a in log["attempts"]] == [
        (1, 1, 200, None),
        (2, 1, 200, None),
    ]


def test_retries_after_a_closed_port_and_500s_then_one_delivery(
    store: Store, tenants: Tenants
) -> None:
    port = free_port()
    with running(store, tenants) as run:
        alert_id, secret = run.alert(f"http://127.0.0.1:{port}/hook")
        run.bundle("1.0.0", 100)
        wait_until(lambda: len(run.log(alert_id)["attempts"]) >= 2)
        with receiver([500, 500], port=port) as hook:
            calls = hook.wait_for(3)
            wait_until(lambda: run.log(alert_id)["pending"] == 0)
            time.sleep(0.6)  # longer than the longest retry delay: no call comes after
            assert len(hook.received) == 3
        log = run.log(alert_id)
    assert all(call.body == calls[0].body and call.signed_with(secret) for call in calls)
    attempts = log["attempts"]
    assert [a["attempt"] for a in attempts] == list(range(1, len(attempts) + 1))
    closed = [a for a in attempts if a["http_status"] is None]
    assert len(closed) >= 2
    assert all("ConnectError" in a["error"] for a in closed)
    assert [(a["http_status"], a["error"]) for a in attempts[len(closed) :]] == [
        (500, "the receiver answered 500"),
        (500, "the receiver answered 500"),
        (200, None),
    ]
    times = [datetime.fromisoformat(a["at"]) for a in attempts]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.04 for gap in gaps)  # each after a delay (half of 100 ms at least)


def test_an_alerts_calls_arrive_in_order(store: Store, tenants: Tenants) -> None:
    with receiver([500, 500]) as hook, running(store, tenants) as run:
        _alert_id, _ = run.alert(hook.url)
        run.bundle("1.0.0", 100)
        hook.wait_for(1)
        run.bundle("1.0.0", None)  # resolved is queued while firing is still failing
        received = hook.wait_for(4)
        time.sleep(0.5)
        assert len(hook.received) == 4
    states = [call.json["state"] for call in received]
    assert states == ["firing", "firing", "firing", "resolved"]


def test_a_hanging_receiver_does_not_hold_other_alerts(store: Store, tenants: Tenants) -> None:
    with (
        receiver(["hang"], hang_s=5) as slow,
        receiver() as fast,
        running(store, tenants) as run,
    ):
        slow_id, _ = run.alert(slow.url)
        fast_id, _ = run.alert(fast.url)
        run.bundle("1.0.0", 100)
        [hung] = slow.wait_for(1)
        [answered] = fast.wait_for(1)
        # The other alert's call came while the first one was still waiting for its answer.
        assert answered.at - hung.at < 0.9
        wait_until(lambda: len(run.log(slow_id)["attempts"]) >= 1)
        assert run.log(slow_id)["attempts"][0]["error"] == "no answer within 1 s"
        wait_until(lambda: run.log(slow_id)["pending"] == 0)  # retried, then delivered
        assert run.log(fast_id)["attempts"][0]["http_status"] == 200


def test_the_worker_resolves_what_a_new_day_changes_without_an_ingest(
    store: Store, tenants: Tenants
) -> None:
    every_100_ms = dataclasses.replace(FAST, evaluate_every_ms=100)
    with receiver() as hook, running(store, tenants, every_100_ms) as run:
        _, secret = run.alert(hook.url, metric="bandwidth", above="10")
        ingest_ok(run.client, run.key, [download(APP, "d1", at("2024-03-15", "11:00:00"), 50)])
        hook.wait_for(1)
        run.clock.jumped_s = 86_400.0  # the next UTC day, whose bandwidth is 0 so far
        fired, resolved = hook.wait_for(2)
        time.sleep(0.3)
        assert len(hook.received) == 2
    assert (fired.json["state"], fired.json["value"]) == ("firing", 50)
    assert (resolved.json["state"], resolved.json["value"]) == ("resolved", 0)
    assert resolved.json["at"].startswith("2024-03-16T12:00")
    assert resolved.signed_with(secret)


def test_a_call_is_given_up_after_the_retry_window(store: Store, tenants: Tenants) -> None:
    short = WorkerSettings(
        poll_ms=20, timeout_ms=1_000, claim_ms=3_000, evaluate_every_ms=0,
        retry=RetryPolicy(first_ms=50, max_ms=100, retry_for_ms=400),
    )  # fmt: skip
    with receiver([500] * 50) as hook, running(store, tenants, short) as run:
        alert_id, _ = run.alert(hook.url)
        run.bundle("1.0.0", 100)
        wait_until(lambda: run.log(alert_id)["pending"] == 0)
        count = len(hook.received)
        time.sleep(0.4)
        assert len(hook.received) == count
        attempts = run.log(alert_id)["attempts"]
    assert 3 <= len(attempts) == count
    assert {a["http_status"] for a in attempts} == {500}
    first, last = (datetime.fromisoformat(attempts[i]["at"]) for i in (0, -1))
    assert (last - first).total_seconds() >= 0.3


@pytest.mark.parametrize("backend", ["postgres"])
def test_the_worker_delivers_on_postgresql(store: Store, tenants: Tenants) -> None:
    with receiver([500]) as hook, running(store, tenants) as run:
        alert_id, secret = run.alert(hook.url)
        run.bundle("1.0.0", 100)
        calls = hook.wait_for(2)
        wait_until(lambda: run.log(alert_id)["pending"] == 0)
    assert all(call.signed_with(secret) for call in calls)
    assert [a["http_status"] for a in run.log(alert_id)["attempts"]] == [500, 200]
