"""Every statement the server sends to a distributed table names the app ids it may touch.

Citus routes a statement on a table distributed by ``app_id`` to the shards its ``app_id``
condition selects, and to every shard when it has none: a join of ``unnest(...)`` on ``app_id``
cannot be pruned. The real server is run against a real PostgreSQL database over HTTP (ingest of
every kind of event, duplicates, a byte-limit rejection, late check-ins, several apps in one
batch, every statistics read), each statement that psycopg sends is recorded, and each one on a
distributed table must carry a condition Citus prunes on: ``app_id = %s`` or
``app_id = ANY(%s)`` on that table for a read or a delete, ``app_id`` among the columns of an
insert or a ``COPY`` (each row is routed by its value). The distributed tables are those of the
setup in docs/operations.md, so a table added there is checked too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from otastats.storage.postgres import PostgresStore
from tests.conftest import Tenants, make_client
from tests.helpers_api import at, created, deleted, download, get_ok, post_events, seen

OPERATIONS = Path(__file__).parents[2] / "docs" / "operations.md"
DISTRIBUTED = sorted(
    set(re.findall(r"create_distributed_table\('(\w+)'", OPERATIONS.read_text(encoding="utf-8")))
)
PARAMETER = r"(?:%s|%\(\w+\)s|\$\d+)"
TABLE_REFERENCE = r"\b(FROM|JOIN|USING|UPDATE|INTO|COPY)\s+{table}\b((?:\s+AS)?\s+(\w+))?"
NOT_AN_ALIAS = {"WHERE", "JOIN", "ON", "GROUP", "ORDER", "LIMIT", "USING", "SET", "SELECT"}


def test_the_distributed_tables_are_read_from_the_operations_guide() -> None:
    assert {"events", "event_ids", "device_days", "level_deltas"} <= set(DISTRIBUTED)


def routing_problems(statement: str) -> list[str]:
    """Why Citus could not prune ``statement`` to the shards of its apps (empty: it can)."""
    text = " ".join(statement.split())
    problems: list[str] = []
    for table in DISTRIBUTED:
        for found in re.finditer(TABLE_REFERENCE.format(table=table), text, re.IGNORECASE):
            keyword = found.group(1).upper()
            alias = found.group(3)
            if alias is not None and alias.upper() in NOT_AN_ALIAS:
                alias = None
            if keyword in ("INTO", "COPY"):
                columns = re.match(
                    r"(?:\s+AS\s+\w+)?\s*\(([^)]*)\)",
                    text[found.end(1) + 1 + len(table) :],
                    re.IGNORECASE,
                )
                names = [] if columns is None else [c.strip() for c in columns.group(1).split(",")]
                if "app_id" not in names:
                    problems.append(f"{keyword} {table} without app_id among its columns")
                continue
            qualifier = rf"(?:{re.escape(alias or table)}\.)" + ("" if alias else "?")
            condition = rf"{qualifier}app_id\s*=\s*(?:ANY\s*\(\s*{PARAMETER}\s*\)|{PARAMETER})"
            if not re.search(condition, text, re.IGNORECASE):
                problems.append(f"{table} has no app_id = %s or = ANY(%s) condition")
    return problems


def test_the_checker_tells_prunable_statements_from_others() -> None:
    assert routing_problems("SELECT a FROM level_deltas WHERE app_id = ANY(%s)") == []
    assert routing_problems("SELECT x FROM device_days AS d WHERE d.app_id = %s") == []
    assert routing_problems("INSERT INTO versions AS t (app_id, v) SELECT 1") == []
    assert routing_problems("COPY events (app_id, type) FROM STDIN") == []
    assert routing_problems(
        "SELECT d.x FROM unnest(%s::text[]) AS k (a) JOIN device_days AS d ON d.app_id = k.a"
    ) == ["device_days has no app_id = %s or = ANY(%s) condition"]
    assert routing_problems(
        "SELECT d.x FROM unnest(%s::text[]) AS k (a) JOIN device_days AS d ON d.app_id = k.a"
        " WHERE k.app_id = ANY(%s)"
    ), "a condition on another relation does not prune the distributed table"
    assert routing_problems("DELETE FROM event_ids AS e WHERE e.event_id = %s")
    assert routing_problems("COPY bundle_events (version_name) FROM STDIN")
    assert routing_problems("SELECT 1 FROM orgs WHERE org_id = %s") == []


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement that psycopg sends from now on, as text."""
    statements: list[str] = []

    def text_of(cursor: psycopg.Cursor[Any], query: Any) -> str:
        if isinstance(query, sql.Composable):
            return query.as_string(cursor)
        return query.decode() if isinstance(query, bytes) else str(query)

    execute = psycopg.Cursor.execute
    executemany = psycopg.Cursor.executemany
    copy = psycopg.Cursor.copy

    def recording_execute(self: psycopg.Cursor[Any], query: Any, *args: Any, **kw: Any) -> Any:
        statements.append(text_of(self, query))
        return execute(self, query, *args, **kw)

    def recording_executemany(self: psycopg.Cursor[Any], query: Any, *args: Any, **kw: Any) -> Any:
        statements.append(text_of(self, query))
        return executemany(self, query, *args, **kw)

    def recording_copy(
        self: psycopg.Cursor[Any], statement: Any, *args: Any, **kw: Any
    ) -> AbstractContextManager[Any]:
        statements.append(text_of(self, statement))
        return copy(self, statement, *args, **kw)

    monkeypatch.setattr(psycopg.Cursor, "execute", recording_execute)
    monkeypatch.setattr(psycopg.Cursor, "executemany", recording_executemany)
    monkeypatch.setattr(psycopg.Cursor, "copy", recording_copy)
    return statements


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[PostgresStore]:
    store = PostgresStore(postgres_url)
    yield store
    store.close()


def test_every_statement_on_a_distributed_table_names_its_apps(
    pg_store: PostgresStore, sent: list[str]
) -> None:
    tenants = Tenants(pg_store)
    org = tenants.org()
    user = tenants.user("ops@example.test", orgs={org: "admin"})
    key = tenants.key(user)
    apps = [tenants.app(app_id, org) for app_id in ("com.a.app", "com.b.app")]
    most = 2**53  # the largest bytes of one event: 1,024 of them pass 2^63 - 1
    one_app = [
        created(apps[0], "1.0.0", 1000, at("2024-03-09"), event_id="c1"),
        seen(apps[0], "d1", at("2024-03-12"), event_id="s1"),
        seen(apps[0], "d1", at("2024-03-10"), version="1.0.1", event_id="s2"),  # late
        seen(apps[0], "d1", at("2024-03-12"), event_id="s1"),  # duplicate
        deleted(apps[0], "1.0.0", at("2024-03-13"), event_id="x1"),
        # Actions: one that is a check-in, one that is not (an update's outcome).
        {**seen(apps[0], "d3", at("2024-03-13")), "type": "action", "action": "set"},
        {**seen(apps[0], "d3", at("2024-03-13")), "type": "action", "action": "update_fail"},
        # The last one passes the day's bandwidth limit: rejected, its event id given back.
        *(download(apps[0], "d1", at("2024-03-12"), most, event_id=f"b{n}") for n in range(1024)),
    ]
    several = [
        seen(apps[0], "d1", at("2024-03-11"), event_id="s3"),
        seen(apps[1], "d9", at("2024-03-11"), version="2.0.0"),
        download(apps[1], "d9", at("2024-03-11"), 7),
        # The last one passes the storage limit, found by the exact check of the stored bundles.
        *(created(apps[1], f"2.0.{n}", most, at("2024-03-10")) for n in range(1024)),
    ]
    with make_client(pg_store) as client:
        sent.clear()
        for batch in (one_app, several):
            answer = post_events(client, key, batch)
            assert answer.status_code == 200, answer.text
            assert len(answer.json()["rejected"]) == 1
        range_ = {"from": "2024-03-01", "to": "2024-03-15"}
        for path in (
            f"/statistics/app/{apps[0]}/",
            f"/statistics/app/{apps[0]}/bundle_usage",
            f"/statistics/app/{apps[0]}/health",
            f"/statistics/org/{org}/",
            "/statistics/user/",
        ):
            get_ok(client, key, path, **range_)
        get_ok(client, key, f"/statistics/org/{org}/", breakdown="true", **range_)
        get_ok(client, key, f"/statistics/app/{apps[0]}/adoption", date="2024-03-14")
    touched = {
        table
        for table in DISTRIBUTED
        for statement in sent
        if re.search(TABLE_REFERENCE.format(table=table), statement, re.IGNORECASE)
    }
    missing = set(DISTRIBUTED) - touched
    assert not missing, f"no statement of the test touched {sorted(missing)}: add events that do"
    unprunable = {s: p for s in sent if (p := routing_problems(s))}
    assert not unprunable, "\n".join(f"{s}\n  -> {p}" for s, p in unprunable.items())
