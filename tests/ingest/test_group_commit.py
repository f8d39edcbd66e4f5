"""Group commit: concurrent requests share commits, and each gets its own exact answer."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from otastats.ingest.group_commit import GroupCommit
from otastats.ingest.service import existing_app, prepare
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
