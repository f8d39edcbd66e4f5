"""One webhook attempt against a real receiver on loopback: the request, its signature, and
every way it can fail."""

from __future__ import annotations

import asyncio
import time

import orjson

from otastats.alerts.delivery import Outcome, new_client, post_call
from tests.alerts.receiver import receiver
from tests.cli_helpers import free_port

SECRET = "whsec_test-secret"
BODY = orjson.dumps({"alert_id": "a", "state": "firing", "value": 3})


def send(url: str, *, timeout_s: float = 5.0, timestamp: int = 1_700_000_000) -> Outcome:
    async def run() -> Outcome:
        async with new_client(timeout_s) as client:
            return await post_call(
                client, url, BODY, SECRET, timestamp=timestamp, timeout_s=timeout_s
            )

    return asyncio.run(run())


def test_a_call_is_a_signed_post_of_the_exact_body() -> None:
    with receiver() as hook:
        assert send(hook.url) == Outcome(200, None)
        [got] = hook.received
    assert got.path == "/hook"
    assert got.body == BODY
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"].startswith("otastats/")
    assert got.headers["otastats-signature"].startswith("t=1700000000,v1=")
    assert got.signed_with(SECRET)
    assert not got.signed_with("whsec_another-secret")


def test_every_2xx_delivers_and_anything_else_fails() -> None:
    with receiver([204, 500, 404, 429]) as hook:
        assert send(hook.url) == Outcome(204, None)
        assert send(hook.url) == Outcome(500, "the receiver answered 500")
        assert send(hook.url) == Outcome(404, "the receiver answered 404")
        assert send(hook.url) == Outcome(429, "the receiver answered 429")


def test_a_redirect_is_not_followed() -> None:
    with receiver(["redirect"]) as hook:
        outcome = send(hook.url)
        time.sleep(0.2)
        assert len(hook.received) == 1
    assert outcome == Outcome(307, "the receiver answered 307, a redirect (not followed)")


def test_a_closed_port_is_a_failed_attempt() -> None:
    outcome = send(f"http://127.0.0.1:{free_port()}/hook")
    assert outcome.http_status is None
    assert outcome.error is not None
    assert "ConnectError" in outcome.error


def test_a_receiver_that_hangs_is_cut_off_at_the_timeout() -> None:
    with receiver(["hang"], hang_s=5) as hook:
        started = time.monotonic()
        outcome = send(hook.url, timeout_s=0.5)
        took = time.monotonic() - started
    assert outcome == Outcome(None, "no answer within 0.5 s")
    assert took < 4
