"""Time the rate limits of one request on each counter store: a program, not a test.

    .venv/bin/python -m tests.auth.time_limit_stores [--requests 2000]

For each store (process memory, the SQLite file beside a database, a PostgreSQL table, Redis)
it sends ``--requests`` requests through ``RateLimits`` with the default limits (2,000 a minute
per key, 20 failed authentications per address): for each, the address check and the key's
count, as an authenticated request does. Once with one key (its window fills up to 2,000
rows) and once with a new key each time. It prints microseconds a request, beside memory's.
PostgreSQL is the local server (``OTASTATS_TEST_POSTGRES_URL`` or 127.0.0.1:5432, in a
database made and dropped here); Redis is ``OTASTATS_TEST_REDIS_URL`` or 127.0.0.1:6379/15.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from otastats.auth.rate_limits import RateLimits
from otastats.config import Settings
from otastats.storage.base import Store
from otastats.storage.postgres import PostgresStore
from otastats.storage.sqlite import SQLiteStore
from tests import postgres_server
from tests.auth.test_shared_rate_limits import REDIS_URL, drop_keys

DEFAULTS = Settings()


def per_request_us(limits: RateLimits, requests: int, key: Callable[[int], str]) -> float:
    started = time.perf_counter()
    for number in range(requests):
        limits.check_address("192.0.2.1")
        limits.hit_key(key(number))
    return (time.perf_counter() - started) / requests * 1e6


@contextmanager
def stores(workdir: Path) -> Iterator[Iterator[tuple[str, RateLimits]]]:
    with ExitStack() as stack:
        sqlite = SQLiteStore(str(workdir / "otastats.db"))
        stack.callback(sqlite.close)
        server = stack.enter_context(postgres_server.server_url())
        postgres = PostgresStore(stack.enter_context(postgres_server.test_database(server))())
        stack.callback(postgres.close)
        prefix = f"otastats-timing-{uuid.uuid4().hex}"
        stack.callback(drop_keys, prefix)

        def each() -> Iterator[tuple[str, RateLimits]]:
            choices: list[tuple[str, str, Store]] = [
                ("memory", "memory", sqlite),
                ("SQLite file beside the database", "database", sqlite),
                ("PostgreSQL table (UNLOGGED)", "database", postgres),
                ("Redis", "redis", sqlite),
            ]
            for name, where, store in choices:
                settings = dataclasses.replace(
                    DEFAULTS, rate_limit_store=where, redis_url=REDIS_URL
                )
                limits = RateLimits.from_settings(settings, store, redis_prefix=prefix)
                try:
                    yield name, limits
                finally:
                    limits.limiter.storage.reset()
                    limits.close()

        yield each()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    requests = parser.parse_args().requests
    rows: list[tuple[str, float, float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="otastats-limits-") as workdir,
        stores(Path(workdir)) as each,
    ):
        for name, limits in each:
            one_key = per_request_us(limits, requests, lambda _: "one-key")
            new_keys = per_request_us(limits, requests, lambda number: f"key-{number}")
            rows.append((name, one_key, new_keys))
    base_one, base_new = rows[0][1], rows[0][2]
    print(f"{requests} requests, µs a request (address check + key count), x memory's")
    print(f"{'store':34} {'one key':>16} {'a new key each':>18}")
    for name, one_key, new_keys in rows:
        print(
            f"{name:34} {one_key:9.1f} ({one_key / base_one:4.0f}x)"
            f" {new_keys:10.1f} ({new_keys / base_new:4.0f}x)"
        )


if __name__ == "__main__":
    main()
