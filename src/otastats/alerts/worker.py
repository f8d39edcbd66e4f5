"""The delivery worker of ``otastats serve``: claims due calls from the outbox, sends each one,
logs every attempt, and schedules retries.

It runs in a thread of its own, with its own event loop, so that neither the HTTP server nor a
slow receiver delays the other. Each claimed call is sent in a task of its own (a receiver that
hangs holds only its own call, for at most the timeout); an alert's calls are claimed one at a
time, oldest first, so they arrive in order. A claim expires: the calls of a process that dies
are taken over by the workers of the others (or by itself after a restart) once it has.
It also evaluates every alert now and then, for the figures that change without an ingest (a
new UTC day) and for the evaluations that an interrupted process did not make.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx2

from otastats.alerts.delivery import new_client, post_call
from otastats.alerts.hook import AlertHook
from otastats.alerts.retry import RetryPolicy, next_attempt
from otastats.alerts.service import evaluate_apps
from otastats.alerts.signing import alert_secret
from otastats.config import Settings
from otastats.storage.alerts_base import AlertStore, Attempt, Call, alert_store_for
from otastats.storage.base import Store
from otastats.timeparse import datetime_to_micros

log = logging.getLogger("otastats.alerts")


def system_micros() -> int:
    return datetime_to_micros(datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    poll_ms: int = 1_000
    """How often the outbox is read when nothing wakes the worker up."""
    timeout_ms: int = 10_000
    """The longest time one attempt may take."""
    claim_ms: int = 60_000
    """How long a claimed call stays with its worker; longer than an attempt can take."""
    evaluate_every_ms: int = 60_000
    """How often every alert is evaluated (0: only after ingests)."""
    max_in_flight: int = 100
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class DeliveryWorker:
    def __init__(
        self,
        store: Store,
        alerts: AlertStore,
        settings: WorkerSettings,
        *,
        clock: Callable[[], int] = system_micros,
        jitter: Callable[[], float] = random.random,
        close_alerts: bool = False,
    ) -> None:
        self._store = store
        self._alerts = alerts
        self._settings = settings
        self._clock = clock
        self._jitter = jitter
        self._close_alerts = close_alerts
        """Close ``alerts`` when the worker stops (it then owns them)."""
        self.worker_id = str(uuid.uuid4())
        self._key_secret = store.key_secret()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._stopping = False

    # --- life cycle (called from other threads) ---------------------------------------------
    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run(ready)), name="otastats-webhooks", daemon=True
        )
        self._thread.start()
        ready.wait(5)

    def wake(self) -> None:
        loop, wakeup = self._loop, self._wakeup
        if loop is not None and wakeup is not None:
            # The loop may have ended since it was read: a stopped worker needs no waking.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wakeup.set)

    def stop(self) -> None:
        self._stopping = True
        self.wake()
        if self._thread is not None:
            self._thread.join(self._settings.timeout_ms / 1000 + 5)
            self._thread = None
            if self._close_alerts:
                self._alerts.close()

    # --- the loop -----------------------------------------------------------------------------
    async def _run(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        ready.set()
        in_flight: set[asyncio.Task[None]] = set()
        next_evaluation = 0
        async with new_client(self._settings.timeout_ms / 1000) as client:
            while not self._stopping:
                self._wakeup.clear()
                now = self._clock()
                try:
                    if self._settings.evaluate_every_ms and now >= next_evaluation:
                        next_evaluation = now + self._settings.evaluate_every_ms * 1000
                        await asyncio.to_thread(self._evaluate_all, now)
                    room = self._settings.max_in_flight - len(in_flight)
                    if room > 0:
                        until = now + self._settings.claim_ms * 1000
                        calls = await asyncio.to_thread(
                            self._alerts.claim_due, self.worker_id, now, until, room
                        )
                        for call in calls:
                            task = asyncio.create_task(self._deliver(client, call))
                            in_flight.add(task)
                            task.add_done_callback(in_flight.discard)
                except Exception:
                    log.exception("the webhook worker cannot read the outbox; trying again")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._settings.poll_ms / 1000)
            # Calls being sent finish (within the timeout) and are logged; the others stay due.
            await asyncio.gather(*in_flight, return_exceptions=True)

    def _evaluate_all(self, now: int) -> None:
        watched = {alert.app_id for alert in self._alerts.alerts()}
        live = self._store.get_apps(watched).values()
        apps = sorted(app.app_id for app in live if not app.deleted)
        if apps and evaluate_apps(self._store, self._alerts, apps, now):
            self.wake()

    async def _deliver(self, client: httpx2.AsyncClient, call: Call) -> None:
        started = self._clock()
        secret = alert_secret(self._key_secret, call.alert_id, call.secret_salt)
        outcome = await post_call(
            client,
            call.webhook_url,
            call.body,
            secret,
            timestamp=started // 1_000_000,
            timeout_s=self._settings.timeout_ms / 1000,
        )
        number = call.attempts + 1
        attempt = Attempt(
            call.alert_id, call.seq, number, started, outcome.http_status, outcome.error
        )
        retry_at = None
        if not attempt.succeeded:
            retry_at = next_attempt(
                self._settings.retry, call.created_at, number, self._clock(), self._jitter
            )
        try:
            kept = await asyncio.to_thread(
                self._alerts.finish_attempt, call, self.worker_id, attempt, retry_at
            )
            if not kept:
                log.warning(
                    "call %s/%d: not logged, its claim was lost (expired, or the alert deleted)",
                    call.alert_id,
                    call.seq,
                )
        except Exception:
            log.exception("cannot log the attempt of call %s/%d", call.alert_id, call.seq)
        if self._wakeup is not None:
            self._wakeup.set()


def worker_settings(settings: Settings) -> WorkerSettings:
    return WorkerSettings(
        poll_ms=settings.alert_poll_ms,
        timeout_ms=settings.webhook_timeout_ms,
        claim_ms=settings.alert_claim_ms,
        evaluate_every_ms=settings.alert_evaluate_every_ms,
        retry=RetryPolicy(
            first_ms=settings.webhook_retry_first_ms,
            max_ms=settings.webhook_retry_max_ms,
            retry_for_ms=settings.webhook_retry_for_ms,
        ),
    )


def start_for_server(
    settings: Settings, store: Store, clock: Callable[[], int]
) -> tuple[AlertHook, DeliveryWorker]:
    """The evaluation hook and the started delivery worker of a server process; a call that
    the hook queues wakes the worker at once."""
    hook = AlertHook(store, clock=clock)
    # Tables of its own: the application closes the hook's at shutdown, before the worker has
    # logged the calls it is still sending.
    worker = DeliveryWorker(
        store, alert_store_for(store), worker_settings(settings), clock=clock, close_alerts=True
    )
    hook.on_queued = worker.wake
    worker.start()
    return hook, worker
