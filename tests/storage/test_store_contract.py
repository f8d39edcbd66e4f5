"""The Store protocol, on every backend: tenants and keys, ingestion, reads, transactions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from otastats.errors import Conflict, NotFound
from otastats.ingest.service import existing_app, ingest, prepare, write_prepared
from otastats.storage.base import Store
from otastats.storage.records import ApiKey, PluginToken
from tests.conftest import Tenants
from tests.helpers_api import at, created, day_range, deleted, download, get_ok, seen, series

NOW = 1_710_504_000_000_000  # 2024-03-15T12:00:00Z
APP = "com.example.app"
EPOCH = date(1970, 1, 1)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def test_tenants_and_memberships(store: Store, tenants: Tenants) -> None:
    assert store.is_empty()
    org = tenants.org("Acme")
    assert not store.is_empty()
    user = tenants.user("Ops@Acme.test", orgs={org: "read"})
    store.set_member(org, user, "admin")
    assert store.memberships(user) == {org: "admin"}
    found = store.find_user_by_email("ops@ACME.test")
    assert found is not None
    assert found.user_id == user
    with pytest.raises(Conflict):
        store.create_user("00000000-0000-4000-8000-0000000000ff", "OPS@acme.TEST", 0)
    assert store.get_orgs([org, "missing"]).keys() == {org}


def test_apps_are_never_reused_and_deletion_keeps_them(store: Store, tenants: Tenants) -> None:
    org = tenants.org()
    tenants.app("b.app", org)
    tenants.app("a.app", org)
    store.delete_app("b.app", 5)
    with pytest.raises(Conflict):
        store.create_app("b.app", org, 6)
    with pytest.raises(NotFound):
        store.delete_app("b.app", 7)
    assert [app.app_id for app in store.apps_of_orgs([org])] == ["a.app", "b.app"]
    assert store.get_apps(["b.app"])["b.app"].deleted_at == 5
    assert store.get_apps([]) == {}


def test_keys_are_found_by_hash_and_revoked_once(store: Store, tenants: Tenants) -> None:
    user = tenants.user("a@b.test")
    key = ApiKey(
        "00000000-0000-4000-8000-000000000001", user, "h1", "read", ("o",), ("x.y",), 9, None, 3
    )
    store.create_key(key)
    assert store.key_by_hash("h1") == key
    assert store.key_by_hash("h2") is None
    store.revoke_key(key.key_id, 10)
    store.revoke_key(key.key_id, 11)
    revoked = store.key_by_hash("h1")
    assert revoked is not None
    assert revoked.revoked_at == 10
    with pytest.raises(NotFound):
        store.revoke_key("00000000-0000-4000-8000-000000000002", 1)
    assert len(store.key_secret()) == 32
    assert store.key_secret() == store.key_secret()


def test_event_ids_count_once_within_and_across_batches(store: Store, tenants: Tenants) -> None:
    tenants.app(APP, tenants.org())
    first = [
        seen(APP, "d1", at("2024-03-10"), event_id="a"),
        seen(APP, "d2", at("2024-03-10"), event_id="a"),
        download(APP, "d1", at("2024-03-10"), 7, event_id="b"),
    ]
    result = ingest(store, first, NOW, existing_app)
    assert (result.accepted, result.duplicates) == (2, 1)
    again = ingest(store, [*first, seen(APP, "d3", at("2024-03-11"))], NOW, existing_app)
    assert (again.accepted, again.duplicates) == (1, 3)
    rows = store.metric_rows([APP], 19792, 19793, by_app=False)
    assert rows.days[None][19792] == (1, 0, 7)
    assert rows.days[None][19793] == (1, 0, 0)


def test_a_failed_transaction_leaves_nothing(store: Store, tenants: Tenants) -> None:
    tenants.app(APP, tenants.org())
    prepared = prepare(store, [seen(APP, "d1", at("2024-03-10"), event_id="x")], NOW, existing_app)

    def write_then_fail() -> None:
        with store.writer() as tx:
            write_prepared(tx, prepared)
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert store.metric_rows([APP], 0, 30_000, by_app=True).days == {}
    assert ingest(store, [seen(APP, "d1", at("2024-03-10"), event_id="x")], NOW, existing_app)
    assert store.metric_rows([APP], 0, 30_000, by_app=True).days[APP][19792][0] == 1


def test_figures_through_the_api(client: TestClient, tenants: Tenants) -> None:
    org = tenants.org()
    tenants.app(APP, org)
    key = tenants.key(tenants.user("o@x.test", orgs={org: "admin"}))
    events = [
        created(APP, "1.0.0", 100, at("2024-03-01")),
        created(APP, "1.0.1", 50, at("2024-03-02")),
        deleted(APP, "1.0.0", at("2024-03-03")),
        seen(APP, "d1", at("2024-03-02"), "1.0.1"),
        seen(APP, "d1", at("2024-03-01"), "1.0.0"),
        seen(APP, "d2", at("2024-03-03"), "1.0.0"),
        download(APP, "d2", at("2024-03-03"), 40),
    ]
    response = client.post(
        "/ingest/events",
        json=events,
        headers={"authorization": key, "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    dates = day_range("2024-03-01", "2024-03-03")
    points = get_ok(client, key, f"/statistics/app/{APP}/", **{"from": dates[0], "to": dates[-1]})
    assert points == series(dates, [1, 1, 2], [100, 150, 50], [0, 0, 40])
    usage = get_ok(
        client, key, f"/statistics/app/{APP}/bundle_usage", **{"from": dates[0], "to": dates[-1]}
    )
    assert usage["labels"] == dates
    assert [(d["label"], d["counts"]) for d in usage["datasets"]] == [
        ("1.0.0", [1, 0, 1]),
        ("1.0.1", [0, 1, 1]),
    ]


def test_plugin_tokens_are_found_by_hash_listed_and_revoked(store: Store, tenants: Tenants) -> None:
    org = tenants.org()
    tenants.app(APP, org)
    tenants.app("b.app", org)
    store.create_plugin_token(PluginToken("t2", APP, "h2", "https://u.example", 20))
    store.create_plugin_token(PluginToken("t1", APP, "h1", None, 10))
    store.create_plugin_token(PluginToken("t3", "b.app", "h3", None, 30))
    found = store.plugin_token_by_hash("h2")
    assert found == PluginToken("t2", APP, "h2", "https://u.example", 20, None, False)
    assert store.plugin_token_by_hash("nope") is None
    assert [t.token_id for t in store.plugin_tokens_of(APP)] == ["t1", "t2"]
    store.revoke_plugin_token("t1", 40)
    store.revoke_plugin_token("t1", 50)  # the first revocation's time stays
    assert store.plugin_tokens_of(APP)[0].revoked_at == 40
    with pytest.raises(NotFound):
        store.revoke_plugin_token("missing", 60)
    store.delete_app("b.app", 70)
    deleted_app = store.plugin_token_by_hash("h3")
    assert deleted_app is not None
    assert deleted_app.app_deleted


def test_a_device_s_history_is_read_only_near_the_days_a_batch_changes(
    store: Store, tenants: Tenants
) -> None:
    tenants.app(APP, tenants.org())
    first = (date(2016, 1, 1) - EPOCH).days
    days = range(first, first + 3000)  # to 2024-03-18: the last days are in the future
    checkins = [
        seen(APP, "d1", at((EPOCH + timedelta(days=day)).isoformat()), f"v{day}") for day in days
    ]
    assert ingest(store, checkins[:-4], NOW, existing_app).accepted == 2996
    middle = (date(2020, 6, 1) - EPOCH).days
    with store.writer() as tx:
        found = tx.load_device_days(
            {(APP, "d1"): [(middle - 30, middle + 30)], (APP, "nobody"): [(0, 99_999)]}
        )
    assert sorted(found[(APP, "d1")]) == list(range(middle - 30, middle + 31))
    assert found[(APP, "d1")][middle][0] == f"v{middle}"
    assert found[(APP, "nobody")] == {}
    # A later check-in on that day, on another version, moves that day alone.
    late = seen(APP, "d1", at("2020-06-01", "23:00:00"), "late")
    assert ingest(store, [late], NOW, existing_app).accepted == 1
    rows = store.version_rows(APP, middle - 1, middle + 1)
    counts: dict[str, list[int]] = {}
    for version in set(rows.base) | set(rows.days):
        level = rows.base.get(version, 0)
        for day in range(middle - 1, middle + 2):
            level += rows.days.get(version, {}).get(day, 0)
            counts.setdefault(version, []).append(level)
    assert {version: c for version, c in counts.items() if any(c)} == {
        f"v{middle - 1}": [1, 0, 0],
        "late": [0, 1, 0],
        f"v{middle + 1}": [0, 0, 1],
    }


def test_bundle_usage_reads_only_the_versions_present_around_its_range(
    store: Store, tenants: Tenants
) -> None:
    tenants.app(APP, tenants.org())
    first = (date(2018, 1, 1) - EPOCH).days
    days = range(first, first + 2000)  # one device, on a version of its own each day
    checkins = [
        seen(APP, "d1", at((EPOCH + timedelta(days=day)).isoformat()), f"v{day}") for day in days
    ]
    # Another device has been on "old" for years; its check-in of 2023-03-01 still counts on
    # 2023-03-20, from a delta row 19 days before the range.
    for year in range(2018, 2024):
        for month in (1, 2):
            checkins.append(seen(APP, "d2", at(f"{year}-0{month}-01"), "old"))
    checkins.append(seen(APP, "d2", at("2023-03-01"), "old"))
    assert ingest(store, checkins, NOW, existing_app).accepted == len(checkins)
    day = (date(2023, 3, 20) - EPOCH).days
    rows = store.version_rows(APP, day, day)
    read = set(rows.base) | set(rows.days) | set(rows.first_seen)
    assert len(read) <= 31  # the versions of the 30 days that may count on that day, and "old"
    assert {version for version, level in rows.base.items() if level} == {f"v{day - 1}", "old"}
    assert rows.days[f"v{day}"][day] == 1
    assert rows.days[f"v{day - 1}"][day] == -1
