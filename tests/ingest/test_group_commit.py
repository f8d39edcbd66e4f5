"""Group commit: concurrent requests share commits, and each gets its own exact answer."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from otastats.ingest.group_commit import GroupCommit
from otastats.ingest.service import IngestResult, Prepared, existing_app, prepare
from otastats.storage.sqlite import SQLiteStore
from tests.conftest import Tenants

NOW = 1_710_504_000_000_000  # 2024-03-15T12:00:00Z


def check_in(device: int, event_id: str) -> dict[str, object]:
    return {
        "type": "device_seen",
        "app_id": "com.example.app",
        "device_id": f"device-{device}",
        "timestamp": "2024-03-15T10:00:00Z",
        "version_name": "1.0.0",
        "platform": "ios",
        "event_id": event_id,
    }


def test_concurrent_batches_are_all_written_once(store: SQLiteStore, tenants: Tenants) -> None:
    tenants.app("com.example.app", tenants.org())
    writes = GroupCommit(store)
    commits = 0
    real_writer = store.writer

    def counting_writer():  # type: ignore[no-untyped-def]
        nonlocal commits
        commits += 1
        return real_writer()

    store.writer = counting_writer  # type: ignore[method-assign]
    start = threading.Barrier(8)

    def request(number: int) -> tuple[int, int]:
        # every request repeats the event ids of request 0, so exactly one of them may win
        events = [check_in(number * 10 + i, f"shared-{i}") for i in range(5)]
        events += [check_in(number * 10 + i, f"own-{number}-{i}") for i in range(5, 10)]
        prepared = prepare(store, events, NOW, existing_app)
        start.wait()
        result = writes.write(prepared)
        return result.accepted, result.duplicates

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(request, range(8)))
    assert sum(accepted for accepted, _ in answers) == 8 * 5 + 5
    assert sum(duplicates for _, duplicates in answers) == 7 * 5
    assert all(accepted + duplicates == 10 for accepted, duplicates in answers)
    assert 1 <= commits <= 8
    rows = store.metric_rows(["com.example.app"], 19797, 19797, by_app=False)
    assert rows.days[None][19797][0] == 45  # 45 distinct devices seen on 2024-03-15


def test_a_failed_transaction_fails_its_batches_and_stores_nothing(
    store: SQLiteStore, tenants: Tenants
) -> None:
    tenants.app("com.example.app", tenants.org())
    writes = GroupCommit(store)
    prepared = prepare(store, [check_in(1, "a")], NOW, existing_app)
    prepared.allowed[0].ts = "not a number"  # type: ignore[assignment]
    with pytest.raises(TypeError):
        writes.write(prepared)
    good = writes.write(prepare(store, [check_in(1, "a")], NOW, existing_app))
    assert (good.accepted, good.duplicates) == (1, 0)


def test_a_failed_group_is_written_again_batch_by_batch(
    store: SQLiteStore, tenants: Tenants
) -> None:
    tenants.app("com.example.app", tenants.org())
    writes = GroupCommit(store)
    release = threading.Event()
    transactions = 0
    real_writer = store.writer

    def held_writer():  # type: ignore[no-untyped-def]
        # The first transaction waits until the other requests queue up behind it, so that
        # they share the next one.
        nonlocal transactions
        transactions += 1
        if transactions == 1:
            release.wait(10)
        return real_writer()

    store.writer = held_writer  # type: ignore[method-assign]
    bad = prepare(store, [check_in(2, "b")], NOW, existing_app)
    bad.allowed[0].ts = "not a number"  # type: ignore[assignment]
    requests = [
        prepare(store, [check_in(1, "a")], NOW, existing_app),
        bad,
        prepare(store, [check_in(3, "c"), check_in(4, "d")], NOW, existing_app),
    ]
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(writes.write, requests[0])
        while transactions == 0:
            threading.Event().wait(0.01)
        others = [pool.submit(writes.write, prepared) for prepared in requests[1:]]
        while len(writes._waiting) < 2:
            threading.Event().wait(0.01)
        release.set()
        assert first.result().accepted == 1
        with pytest.raises(TypeError):
            others[0].result()
        assert (others[1].result().accepted, others[1].result().duplicates) == (2, 0)
    # The held one, the shared one that failed, then each of its two batches alone.
    assert transactions == 4
    rows = store.metric_rows(["com.example.app"], 19797, 19797, by_app=False)
    assert rows.days[None][19797][0] == 3  # devices 1, 3 and 4; nothing of device 2
    again = writes.write(prepare(store, [check_in(2, "b")], NOW, existing_app))
    assert (again.accepted, again.duplicates) == (1, 0)  # its event id was not kept


def test_event_loop_requests_share_transactions_with_threads(
    store: SQLiteStore, tenants: Tenants
) -> None:
    """Requests of an event loop and of threads, all at once: the ones that queue up behind a
    transaction share the next one, each batch is written once, each answer is its own."""
    tenants.app("com.example.app", tenants.org())
    writes = GroupCommit(store)
    transactions = 0
    real_writer = store.writer

    def held_writer():  # type: ignore[no-untyped-def]
        nonlocal transactions
        transactions += 1
        if transactions == 1:  # until every other request waits behind this one
            deadline = time.monotonic() + 10
            while len(writes._waiting) < 19 and time.monotonic() < deadline:
                time.sleep(0.005)
        return real_writer()

    store.writer = held_writer  # type: ignore[method-assign]

    def batch(number: int) -> Prepared:
        # Every batch repeats event "shared", so exactly one of them stores it.
        events = [check_in(number, f"own-{number}"), check_in(1000 + number, "shared")]
        return prepare(store, events, NOW, existing_app)

    async def on_the_loop() -> list[IngestResult]:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(4) as pool:
            threaded = [loop.run_in_executor(pool, writes.write, batch(n)) for n in range(4)]
            coroutines = [writes.write_async(batch(n)) for n in range(4, 20)]
            return await asyncio.gather(*threaded, *coroutines)

    results = asyncio.run(on_the_loop())
    assert all(r.accepted + r.duplicates == 2 for r in results)
    assert sum(r.duplicates for r in results) == 19
    assert transactions == 2
    rows = store.metric_rows(["com.example.app"], 19797, 19797, by_app=False)
    assert rows.days[None][19797][0] == 21  # 20 own devices and the one that stored "shared"


def test_an_event_loop_request_that_fails_fails_alone(store: SQLiteStore, tenants: Tenants) -> None:
    tenants.app("com.example.app", tenants.org())
    writes = GroupCommit(store)
    bad = prepare(store, [check_in(2, "b")], NOW, existing_app)
    bad.allowed[0].ts = "not a number"  # type: ignore[assignment]
    good = prepare(store, [check_in(1, "a")], NOW, existing_app)

    async def both() -> list[IngestResult | BaseException]:
        return await asyncio.gather(
            writes.write_async(bad), writes.write_async(good), return_exceptions=True
        )

    failed, written = asyncio.run(both())
    assert isinstance(failed, TypeError)
    assert isinstance(written, IngestResult)
    assert (written.accepted, written.duplicates) == (1, 0)


def test_a_failing_after_commit_hook_fails_no_write(
    store: SQLiteStore, tenants: Tenants, caplog: pytest.LogCaptureFixture
) -> None:
    tenants.app("com.example.app", tenants.org())
    touched: list[list[str]] = []

    def hook(app_ids: list[str]) -> None:
        touched.append(app_ids)
        raise RuntimeError("hook down")

    writes = GroupCommit(store, after_commit=hook)
    first = writes.write(prepare(store, [check_in(1, "e1")], NOW, existing_app))
    second = writes.write(prepare(store, [check_in(2, "e2")], NOW, existing_app))
    assert (first.accepted, second.accepted) == (1, 1)
    assert touched == [["com.example.app"], ["com.example.app"]]
    assert "after-commit hook failed" in caplog.text
    again = writes.write(prepare(store, [check_in(1, "e1")], NOW, existing_app))
    assert again.duplicates == 1
