"""Loading NDJSON files: chunks, transactions spanning several chunks, and a failure part-way."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from otastats.ingest.file_loader import load_files
from otastats.storage.base import Store
from otastats.timeparse import datetime_to_micros
from tests.conftest import NOW, Tenants

CLOCK = datetime_to_micros(NOW)


def _write_lines(path: Path, app_id: str, count: int) -> None:
    lines = [
        orjson.dumps(
            {
                "type": "download",
                "event_id": f"e{number}",
                "app_id": app_id,
                "device_id": f"d{number}",
                "timestamp": "2024-03-14T10:00:00Z",
                "version_name": "1.0.0",
                "bytes": 1,
            }
        )
        for number in range(count)
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")


@pytest.mark.parametrize("chunks_per_commit", [1, 2, 3, 10])
def test_every_event_is_written_once_whatever_the_transaction_size(
    store: Store, tenants: Tenants, tmp_path: Path, chunks_per_commit: int
) -> None:
    tenants.app("com.example.app", tenants.org())
    path = tmp_path / "events.ndjson"
    _write_lines(path, "com.example.app", 11)
    result = load_files(
        store, [str(path)], lambda: CLOCK, chunk=2, chunks_per_commit=chunks_per_commit
    )
    assert result == {"accepted": 11, "duplicates": 0, "rejected": []}
    again = load_files(store, [str(path)], lambda: CLOCK, chunk=3)
    assert again == {"accepted": 0, "duplicates": 11, "rejected": []}


def test_a_failure_keeps_the_committed_transactions_and_drops_the_open_one(
    store: Store, tenants: Tenants, tmp_path: Path
) -> None:
    tenants.app("com.example.app", tenants.org())
    path = tmp_path / "events.ndjson"
    _write_lines(path, "com.example.app", 10)
    calls = 0

    def clock() -> int:
        # Read once per chunk of 2 lines; the 4th chunk (lines 6-7) fails to be prepared.
        nonlocal calls
        calls += 1
        if calls == 4:
            raise RuntimeError("the clock stopped")
        return CLOCK

    with pytest.raises(RuntimeError, match="the clock stopped"):
        load_files(store, [str(path)], clock, chunk=2, chunks_per_commit=2)
    # Chunks 1-2 (lines 0-3) were committed together; chunk 3 (lines 4-5) was written in the
    # open transaction, which the failure rolled back.
    again = load_files(store, [str(path)], lambda: CLOCK, chunk=100)
    assert again == {"accepted": 6, "duplicates": 4, "rejected": []}


def test_the_garbage_collector_is_off_in_each_transaction_and_back_on_after(
    store: Store, tenants: Tenants, tmp_path: Path
) -> None:
    tenants.app("com.example.app", tenants.org())
    path = tmp_path / "events.ndjson"
    _write_lines(path, "com.example.app", 5)
    during: list[bool] = []

    def noting(tx_apps: list[str]) -> None:
        during.append(gc.isenabled())

    real_writer = store.writer

    @contextmanager
    def writer() -> Iterator[Any]:
        during.append(gc.isenabled())
        with real_writer() as tx:
            yield tx

    store.writer = writer  # type: ignore[method-assign]
    assert gc.isenabled()
    load_files(store, [str(path)], lambda: CLOCK, chunk=2, after_commit=noting)
    assert during == [False, True] * 3
    assert gc.isenabled()
    gc.disable()
    try:  # a caller that turned it off keeps it off
        load_files(store, [str(path)], lambda: CLOCK, chunk=2)
        assert not gc.isenabled()
    finally:
        gc.enable()
