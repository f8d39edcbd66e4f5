"""Property tests of SPEC section 2: every figure is exact, whatever the arrival order.

Random events over two organizations and three apps (one maybe deleted after ingestion), device
check-ins written as `device_seen` or as the Capgo updater plugin's check-in actions, go through
the real HTTP app, ``POST /ingest/events``, in a random order and random batches, as
NDJSON or JSON arrays. Then every Statistics endpoint, for random ranges and flags, must equal
the brute-force oracle of ``tests/oracle.py`` exactly; and two different arrival orders of the
same events must give byte-identical answers.
"""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from otastats.admin import service as admin
from otastats.plugin.tokens import create_token
from otastats.stats.adoption_forecast import forecast
from otastats.storage.base import Store
from otastats.storage.sqlite import SQLiteStore
from tests.conftest import NOW, Tenants, make_client
from tests.oracle import Oracle, Scope, parse_date_param, parse_timestamp

pytestmark = pytest.mark.slow

TODAY = NOW.date()
EARLIEST = NOW - timedelta(days=70)
LATEST = NOW + timedelta(minutes=4)
"""Events stay within the 5 minutes of future that ingestion tolerates."""

ALPHA, BETA, OTHER = "com.example.alpha", "com.example.Beta", "org.other.app"
APP_ORGS = {ALPHA: "o1", BETA: "o1", OTHER: "o2"}
"""App -> org label; the real org ids are made per example. BETA sorts before ALPHA."""
APPS = tuple(APP_ORGS)
ORGS = ("o1", "o2")
UNKNOWN_APP = "com.example.unknown"
DEVICES = ("d1", "d2", "d3", "d4", "d5", "d6", "d7")
VERSIONS = ("1.0.0", "1.0.2", "1.0.10", "2.0.0", "v\uff61", "v\U0001f600")
"""'1.0.10' < '1.0.2', and U+FF61 < U+1F600 in code-point order (not in UTF-16 order)."""
BUNDLE_VERSIONS = VERSIONS[:3]
"""Few versions for bundle events, so that creations and deletions of one version meet."""
OFFSETS = (0, 0, 0, 330, -480, 840, -720, 60, -150)
"""Minutes east of UTC; several move an instant to another local date."""
KINDS = (
    ("device_seen",) * 5
    + ("action",) * 3
    + ("download",) * 2
    + ("bundle_created",) * 2
    + ("bundle_deleted",)
)
CHECK_IN_ACTIONS = (
    "app_moved_to_foreground",
    "app_moved_to_background",
    "app_launch_start",
    "app_launch_ready",
    "set",
    "blocked_by_server_url",
)
OTHER_ACTIONS = ("download_fail", "update_fail", "app_crash", "webview_page_loaded", "new_v99")
STORY_KINDS = ("device_seen",) * 3 + ("download", "bundle_created", "bundle_deleted")
EVENT_IDS = ("a", "b", "c", "d")
VIA_PLUGIN = "__via_plugin__"
"""Marks an action event of a scenario that goes to its app's plugin URL, not /ingest/events."""
PLUGIN_WINDOW = (NOW - timedelta(days=30), NOW + timedelta(minutes=5))
"""SPEC section 7: a plugin `timestamp` outside this window stands for the moment of receipt."""

SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- generating events ----------------------------------------------------------------------


def format_instant(instant: datetime, offset: int, sep: str, utc_zone: str, digits: int) -> str:
    """An RFC 3339 text of ``instant`` (already a multiple of the fraction's precision)."""
    local = instant.astimezone(timezone(timedelta(minutes=offset)))
    text = local.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    if digits:
        text += "." + f"{local.microsecond:06d}"[:digits]
    if offset == 0:
        return text + utc_zone
    hours, minutes = divmod(abs(offset), 60)
    return f"{text}{'+' if offset > 0 else '-'}{hours:02d}:{minutes:02d}"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


_DAY_EDGES = (timedelta(0), timedelta(microseconds=1), timedelta(days=1, microseconds=-1))


@st.composite
def plain_instants(draw: st.DrawFn) -> datetime:
    """An instant of the last 70 days, often on a day's edge, with 0 to 6 fraction digits."""
    instant = draw(
        st.one_of(
            st.datetimes(
                min_value=EARLIEST.replace(tzinfo=None),
                max_value=LATEST.replace(tzinfo=None),
                timezones=st.just(UTC),
            ),
            st.builds(
                lambda back, edge: min(_midnight(TODAY - timedelta(days=back)) + edge, LATEST),
                st.integers(0, 70),
                st.sampled_from(_DAY_EDGES),
            ),
        )
    )
    digits = draw(st.integers(0, 6))
    return instant - timedelta(microseconds=instant.microsecond % 10 ** (6 - digits))


@st.composite
def texts_of(draw: st.DrawFn, instant: datetime) -> str:
    """One of the many RFC 3339 texts of exactly ``instant``."""
    fraction = f"{instant.microsecond:06d}".rstrip("0")
    return format_instant(
        instant,
        draw(st.sampled_from(OFFSETS)),
        draw(st.sampled_from("Tt")),
        draw(st.sampled_from(("Z", "z", "+00:00", "-00:00"))),
        draw(st.integers(len(fraction), 6)),
    )


def instants(shared: list[datetime]) -> st.SearchStrategy[datetime]:
    """Often one of a few instants shared by the example's events."""
    return st.one_of(st.sampled_from(shared), plain_instants())


def _flags_and_extras(draw: st.DrawFn, event: dict[str, Any], *, counted: bool) -> None:
    if counted:
        emulator = draw(st.sampled_from((None, False)))
        prod = draw(st.sampled_from((None, True)))
    else:
        emulator = draw(st.sampled_from((None, None, None, False, True)))
        prod = draw(st.sampled_from((None, None, None, True, False)))
    if emulator is not None:
        event["is_emulator"] = emulator
    if prod is not None:
        event["is_prod"] = prod
    if draw(st.booleans()):
        event["channel"] = "production"
        event["unknown_field"] = [1, 2]


def _size(draw: st.DrawFn) -> int:
    return draw(st.one_of(st.integers(0, 10**9), st.sampled_from((0, 1, 2**53))))


def _event_id(draw: st.DrawFn, event: dict[str, Any]) -> dict[str, Any]:
    event_id = draw(st.one_of(st.none(), st.sampled_from(EVENT_IDS)))
    if event_id is not None:
        event["event_id"] = event_id
    return event


@st.composite
def events(draw: st.DrawFn, shared: list[datetime]) -> dict[str, Any]:
    """One valid event of any type, from small pools of apps, devices and versions."""
    kind = draw(st.sampled_from(KINDS))
    event: dict[str, Any] = {"type": kind, "app_id": draw(st.sampled_from(APPS))}
    if kind in ("device_seen", "download"):
        event["device_id"] = draw(st.sampled_from(DEVICES))
    event["timestamp"] = draw(texts_of(draw(instants(shared))))
    bundle = kind in ("bundle_created", "bundle_deleted")
    event["version_name"] = draw(st.sampled_from(BUNDLE_VERSIONS if bundle else VERSIONS))
    if kind == "device_seen":
        event["platform"] = draw(st.sampled_from(("ios", "android", "electron", "web")))
        _flags_and_extras(draw, event, counted=False)
    if kind in ("download", "bundle_created"):
        event["bytes"] = _size(draw)
    if kind == "action":
        event["device_id"] = draw(st.sampled_from(DEVICES))
        event = _as_action(draw, event, draw(st.sampled_from(CHECK_IN_ACTIONS + OTHER_ACTIONS)))
        _flags_and_extras(draw, event, counted=False)
    return _event_id(draw, event)


def _as_action(draw: st.DrawFn, event: dict[str, Any], action: str) -> dict[str, Any]:
    """The same device and bundle written as the plugin's traffic writes them (SPEC section 7):
    any case of the device id, "<version>:<file>", or "builtin"/"" with a version_build."""
    version = event["version_name"]
    result = {key: value for key, value in event.items() if key != "platform"}
    result |= {"type": "action", "action": action}
    if draw(st.booleans()):
        result["device_id"] = result["device_id"].upper()
    spelling = draw(st.sampled_from(("as-is", "file", "builtin", "empty")))
    if spelling == "file":
        result["version_name"] = version + ":public/main.js"
    elif spelling != "as-is":
        result["version_name"] = "builtin" if spelling == "builtin" else ""
        result["version_build"] = version
    if draw(st.booleans()):
        result["plugin_version"] = draw(st.sampled_from(("5.9.5", "7.36.1", "8.51.14", None)))
        result["metadata"] = {"source": "test"}
    if draw(st.booleans()):
        result["platform"] = draw(st.sampled_from(("ios", "android", "electron", None)))
    return result


def _check_in_of_any_kind(
    draw: st.DrawFn, app_id: str, device_id: str, timestamp: str, version: str
) -> dict[str, Any]:
    """A counted check-in: a device_seen, or a check-in action that stands for one."""
    event = _check_in(app_id, device_id, timestamp, version)
    if draw(st.booleans()):
        return _as_action(draw, event, draw(st.sampled_from(CHECK_IN_ACTIONS)))
    return event


def _check_in(app_id: str, device_id: str, timestamp: str, version: str) -> dict[str, Any]:
    return {
        "type": "device_seen",
        "app_id": app_id,
        "device_id": device_id,
        "timestamp": timestamp,
        "version_name": version,
        "platform": "android",
    }


@st.composite
def ties(draw: st.DrawFn, shared: list[datetime]) -> list[dict[str, Any]]:
    """Events at one instant (each with its own text): counted check-ins of one device on
    different versions, or creations and deletions of one bundle version."""
    instant = draw(instants(shared))
    app_id = draw(st.sampled_from(APPS))
    result = []
    if draw(st.booleans()):
        device_id = draw(st.sampled_from(DEVICES))
        versions = draw(st.lists(st.sampled_from(VERSIONS), min_size=2, max_size=3, unique=True))
        for version in versions:
            event = _check_in_of_any_kind(draw, app_id, device_id, draw(texts_of(instant)), version)
            _flags_and_extras(draw, event, counted=True)
            result.append(_event_id(draw, event))
    else:
        version = draw(st.sampled_from(BUNDLE_VERSIONS))
        for created in [True, *draw(st.lists(st.booleans(), min_size=1, max_size=2))]:
            event = {"type": "bundle_created" if created else "bundle_deleted", "app_id": app_id}
            event |= {"version_name": version, "timestamp": draw(texts_of(instant))}
            if created:
                event["bytes"] = _size(draw)
            result.append(_event_id(draw, event))
    return result


@st.composite
def crowds(draw: st.DrawFn, shared: list[datetime]) -> list[dict[str, Any]]:
    """Counted check-ins of several devices of one app around one instant, on a few versions:
    bundle shares with equal remainders."""
    instant = draw(instants(shared))
    app_id = draw(st.sampled_from(APPS))
    devices = draw(st.lists(st.sampled_from(DEVICES), min_size=3, max_size=7, unique=True))
    result = []
    for device_id in devices:
        moment = instant - timedelta(seconds=draw(st.integers(0, 3 * 86_400)))
        version = draw(st.sampled_from(VERSIONS[:4]))
        result.append(
            _check_in_of_any_kind(draw, app_id, device_id, draw(texts_of(moment)), version)
        )
    return result


@st.composite
def stories(draw: st.DrawFn, shared: list[datetime]) -> list[dict[str, Any]]:
    """A few devices and bundle versions of one app over some 40 days: check-ins arriving out
    of order between others, versions created before their first check-in, bundles created,
    deleted and created again."""
    app_id = draw(st.sampled_from(APPS))
    end = draw(instants(shared))
    devices = draw(st.lists(st.sampled_from(DEVICES), min_size=1, max_size=3, unique=True))
    versions = draw(st.lists(st.sampled_from(VERSIONS), min_size=1, max_size=3, unique=True))
    result = []
    steps = st.tuples(st.integers(0, 40), st.integers(0, 86_399), st.sampled_from(STORY_KINDS))
    for back, seconds, kind in draw(st.lists(steps, min_size=3, max_size=8)):
        text = draw(texts_of(end - timedelta(days=back, seconds=seconds)))
        version = draw(st.sampled_from(versions))
        if kind in ("device_seen", "download"):
            event = _check_in(app_id, draw(st.sampled_from(devices)), text, version)
            if kind == "download":
                event = {k: v for k, v in event.items() if k != "platform"}
                event |= {"type": "download", "bytes": _size(draw)}
            elif draw(st.booleans()):
                event = _as_action(draw, event, draw(st.sampled_from(CHECK_IN_ACTIONS)))
        else:
            event = {"type": kind, "app_id": app_id, "version_name": version, "timestamp": text}
            if kind == "bundle_created":
                event["bytes"] = _size(draw)
        result.append(event)
    return result


@st.composite
def lifecycles(draw: st.DrawFn, shared: list[datetime]) -> list[dict[str, Any]]:
    """Creations and deletions of one bundle version over some 20 days, in any order."""
    app_id = draw(st.sampled_from(APPS))
    version = draw(st.sampled_from(BUNDLE_VERSIONS))
    end = draw(instants(shared))
    result = []
    steps = st.tuples(st.integers(0, 20), st.sampled_from((0, 1, 3_600, 86_399)), st.booleans())
    for back, seconds, created in draw(st.lists(steps, min_size=3, max_size=6)):
        text = draw(texts_of(end - timedelta(days=back, seconds=seconds)))
        event = {"app_id": app_id, "version_name": version, "timestamp": text}
        if created:
            event |= {"type": "bundle_created", "bytes": _size(draw)}
        else:
            event["type"] = "bundle_deleted"
        result.append(event)
    return result


@st.composite
def invalid_events(draw: st.DrawFn, shared: list[datetime]) -> tuple[dict[str, Any], str]:
    """An event with one fault, and the field its rejection must name."""
    event = dict(draw(events(shared)))
    faults = ["timestamp", "future", "app_id"]
    if "bytes" in event:
        faults.append("bytes")
    if event["type"] == "device_seen":
        faults += ["platform", "is_emulator"]
    if event["type"] == "action":
        faults += ["action", "device_id", "is_prod"]
    fault = draw(st.sampled_from(faults))
    if fault == "timestamp":
        event["timestamp"] = event["timestamp"][:19]  # no offset
    elif fault == "future":
        event["timestamp"] = format_instant(NOW + timedelta(minutes=10), 0, "T", "Z", 0)
        fault = "timestamp"
    elif fault == "app_id":
        event["app_id"] = UNKNOWN_APP
    elif fault == "bytes":
        event["bytes"] = -1
    elif fault == "platform":
        event["platform"] = "symbian"
    elif fault == "action":
        event["action"] = "not-a-name"
    elif fault == "device_id":
        event["device_id"] = "d" * 65
    elif fault == "is_prod":
        event["is_prod"] = "true"
    else:
        event["is_emulator"] = "false"
    return event, fault


Item = tuple[dict[str, Any], str | None]
"""An event as sent, and for an invalid one the field its rejection names."""


@dataclass
class Scenario:
    items: list[Item]
    deleted: str | None
    """An app deleted after ingestion, or None."""


@st.composite
def scenarios(draw: st.DrawFn, *, consistent_ids: bool = False) -> Scenario:
    shared = draw(st.lists(plain_instants(), min_size=1, max_size=3))
    valid = draw(st.lists(events(shared), max_size=50))
    for group in draw(
        st.lists(
            st.one_of(ties(shared), crowds(shared), stories(shared), lifecycles(shared)),
            min_size=1,
            max_size=4,
        )
    ):
        valid += group
    for event in valid:
        if event["type"] == "action" and draw(st.booleans()):
            event[VIA_PLUGIN] = True  # sent by the plugin to the app's statsUrl
    for index in draw(st.lists(st.integers(0, len(valid) - 1), max_size=4)):
        valid.append(dict(valid[index]))  # an exact copy, with or without an event_id
    if consistent_ids:
        # One content per (app_id, event_id), so that no arrival order can change what counts.
        first: dict[tuple[str, str], dict[str, Any]] = {}
        for i, event in enumerate(valid):
            if "event_id" in event:
                valid[i] = dict(first.setdefault((event["app_id"], event["event_id"]), event))
    invalid = draw(st.lists(invalid_events(shared), max_size=3))
    items: list[Item] = [(event, None) for event in valid] + list(invalid)
    return Scenario(items, draw(st.sampled_from((None, *APPS))))


@dataclass
class Plan:
    """An arrival order cut into requests, each NDJSON (maybe with blank lines) or JSON."""

    batches: list[list[Item]]
    bodies: list[str]
    resend: list[bool]
    """Whether the plugin part of each batch is sent a second time (as after a lost answer)."""


def plans(items: list[Item]) -> st.SearchStrategy[Plan]:
    @st.composite
    def plan(draw: st.DrawFn) -> Plan:
        order = draw(st.permutations(items))
        cuts = sorted(draw(st.sets(st.integers(1, max(1, len(order) - 1)), max_size=6)))
        bounds = [0, *(c for c in cuts if c < len(order)), len(order)]
        batches = [order[a:b] for a, b in itertools.pairwise(bounds)]
        body_kinds = st.sampled_from(("json", "ndjson", "ndjson-blank"))
        resend = [draw(st.booleans()) for _ in batches]
        return Plan(batches, [draw(body_kinds) for _ in batches], resend)

    return plan()


# --- queries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    from_text: str
    to_text: str
    no_accumulate: str | None
    breakdown: str | None
    slash: bool

    @property
    def params(self) -> dict[str, str]:
        params = {"from": self.from_text, "to": self.to_text}
        if self.no_accumulate is not None:
            params["noAccumulate"] = self.no_accumulate
        if self.breakdown is not None:
            params["breakdown"] = self.breakdown
        return params


def day_texts(day: date) -> st.SearchStrategy[str]:
    """``YYYY-MM-DD``, or a date-time with an offset whose UTC date is ``day``."""
    return st.one_of(
        st.just(day.isoformat()),
        st.builds(
            lambda seconds, offset: format_instant(
                _midnight(day) + timedelta(seconds=seconds), offset, "T", "Z", 0
            ),
            st.integers(0, 86_399),
            st.sampled_from(OFFSETS),
        ),
    )


@st.composite
def ranges(draw: st.DrawFn, *, wide: bool = False) -> Range:
    """A range of 1 to 91 days, from 80 days ago to 3 days ahead; a wide one covers every
    event and reaches past today."""
    if wide:
        start = TODAY - timedelta(days=draw(st.integers(72, 80)))
        end = TODAY + timedelta(days=draw(st.integers(0, 3)))
    else:
        start = TODAY + timedelta(days=draw(st.integers(-80, 3)))
        end = start + timedelta(days=draw(st.integers(0, 90)))
    flags = st.sampled_from((None, "true", "false"))
    return Range(
        draw(day_texts(start)), draw(day_texts(end)), draw(flags), draw(flags), draw(st.booleans())
    )


def query_lists(most: int) -> st.SearchStrategy[list[Range]]:
    """A wide range, then up to ``most - 1`` random ones."""
    return st.builds(
        lambda wide, more: [wide, *more],
        ranges(wide=True),
        st.lists(ranges(), max_size=most - 1),
    )


# --- the service under test -------------------------------------------------------------------


@dataclass
class World:
    store: Store
    client: TestClient
    orgs: dict[str, str]
    """Org label -> org id."""
    keys: dict[str, str]
    scopes: dict[str, Scope]
    """What each key may read, for the oracle (org labels)."""
    header_styles: Iterator[str]
    plugin_urls: dict[str, str]
    """App -> the path of its plugin statsUrl."""

    def headers(self, key: str) -> dict[str, str]:
        style = next(self.header_styles)
        if style == "bearer":
            return {"Authorization": f"Bearer {key}"}
        return {style: key}

    def get(self, path: str, key: str, params: dict[str, str]) -> Any:
        return self.client.get(path, params=params, headers=self.headers(key))


PostgresSchemas = Callable[[], str] | None
"""Makes the URL of a fresh PostgreSQL schema; None for SQLite."""


@contextmanager
def world(postgres: PostgresSchemas = None) -> Iterator[World]:
    """A fresh store (SQLite, or PostgreSQL), its tenants and keys, and the real app."""
    with tempfile.TemporaryDirectory() as directory:
        store: Store
        if postgres is None:
            store = SQLiteStore(str(Path(directory) / "otastats.db"))
        else:
            from otastats.storage.postgres import PostgresStore

            store = PostgresStore(postgres())
        try:
            tenants = Tenants(store)
            orgs = {"o1": tenants.org("one"), "o2": tenants.org("two")}
            for app_id, label in APP_ORGS.items():
                tenants.app(app_id, orgs[label])
            owner = tenants.user(
                "owner@example.com", orgs={orgs["o1"]: "admin", orgs["o2"]: "upload"}
            )
            reader = tenants.user("reader@example.com", orgs={orgs["o1"]: "read"})
            both, o1 = frozenset({"o1", "o2"}), frozenset({"o1"})
            keys = {
                "owner": tenants.key(owner, "all"),
                "owner_apps": tenants.key(owner, "read", apps=(ALPHA, OTHER)),
                "owner_o2": tenants.key(owner, "upload", orgs=(orgs["o2"],)),
                "owner_o1_apps": tenants.key(
                    owner, "write", orgs=(orgs["o1"],), apps=(BETA, OTHER)
                ),
                "reader": tenants.key(reader, "read"),
                "reader_o2": tenants.key(reader, "read", orgs=(orgs["o2"],)),
            }
            scopes = {
                "owner": Scope(both),
                "owner_apps": Scope(both, limited_to_apps=frozenset({ALPHA, OTHER})),
                "owner_o2": Scope(both, limited_to_orgs=frozenset({"o2"})),
                "owner_o1_apps": Scope(
                    both, limited_to_orgs=o1, limited_to_apps=frozenset({BETA, OTHER})
                ),
                "reader": Scope(o1),
                "reader_o2": Scope(o1, limited_to_orgs=frozenset({"o2"})),
            }
            styles = itertools.cycle(("authorization", "bearer", "capgkey", "x-api-key"))
            plugin_urls = {
                app_id: "/plugin/"
                + create_token(store, app_id, tenants.now).stats_url.split("/plugin/", 1)[1]
                for app_id in APPS
            }
            with make_client(store) as client:
                yield World(store, client, orgs, keys, scopes, styles, plugin_urls)
        finally:
            store.close()


def as_plugin_sends(event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the event as the plugin sends it, the action event it stands for, as the oracle reads
    it): epoch milliseconds, taken as they are inside their window, else as the moment of
    receipt (the test clock's NOW)."""
    sent = {k: v for k, v in event.items() if k not in ("type", "event_id", VIA_PLUGIN)}
    instant = parse_timestamp(event["timestamp"])
    millis = (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    sent["timestamp"] = millis
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
    if not PLUGIN_WINDOW[0] <= at <= PLUGIN_WINDOW[1]:
        at = NOW
    read = {**sent, "type": "action", "timestamp": at.isoformat().replace("+00:00", "Z")}
    return sent, read


def send_to_plugin(world: World, events: list[dict[str, Any]], resend: bool) -> None:
    """POST each app's events to its plugin URL as one array (again when ``resend``)."""
    for app_id in APPS:
        mine = [as_plugin_sends(event)[0] for event in events if event["app_id"] == app_id]
        if not mine:
            continue
        for _ in range(2 if resend else 1):
            response = world.client.post(world.plugin_urls[app_id], content=orjson.dumps(mine))
            assert response.status_code == 200, response.text
            assert all(r["status"] == "ok" for r in response.json()["results"]), response.text


def ingest(world: World, plan: Plan) -> list[dict[str, Any]]:
    """Send the plan's requests; check each answer; the valid events in arrival order (those
    sent to a plugin URL as the oracle reads them)."""
    arrived: list[dict[str, Any]] = []
    claimed: set[tuple[str, str]] = set()
    stored = 0
    plugin_events: set[bytes] = set()
    """The distinct events sent to the plugin URLs: each is stored once, however often sent."""
    for whole, body_kind, resend in zip(plan.batches, plan.bodies, plan.resend, strict=True):
        to_plugin = [event for event, fault in whole if fault is None and event.get(VIA_PLUGIN)]
        send_to_plugin(world, to_plugin, resend)
        arrived += [as_plugin_sends(event)[1] for event in to_plugin]
        for event in to_plugin:
            sent = as_plugin_sends(event)[0]
            plugin_events.add(orjson.dumps({**sent, "device_id": sent["device_id"].lower()}))
        batch = [(event, fault) for event, fault in whole if not event.get(VIA_PLUGIN)]
        if not batch:
            continue
        if body_kind == "json":
            body = orjson.dumps([event for event, _ in batch])
            content_type = "application/json"
        else:
            lines = [orjson.dumps(event) for event, _ in batch]
            if body_kind == "ndjson-blank":
                lines = [part for line in lines for part in (b"", line, b"  ")]
            body = b"\n".join(lines) + b"\n"
            content_type = "application/x-ndjson"
        headers = {**world.headers(world.keys["owner"]), "content-type": content_type}
        response = world.client.post("/ingest/events", content=body, headers=headers)
        assert response.status_code == 200, response.text
        answer = response.json()
        accepted = duplicates = 0
        rejected: list[tuple[int, str]] = []
        for index, (event, fault) in enumerate(batch):
            if fault is not None:
                rejected.append((index, fault))
                continue
            arrived.append(event)
            event_id = event.get("event_id")
            if event_id is not None and (event["app_id"], event_id) in claimed:
                duplicates += 1
            else:
                accepted += 1
                if event_id is not None:
                    claimed.add((event["app_id"], event_id))
        assert (answer["accepted"], answer["duplicates"]) == (accepted, duplicates), answer
        assert [r["index"] for r in answer["rejected"]] == [index for index, _ in rejected]
        for got, (_, field) in zip(answer["rejected"], rejected, strict=True):
            assert field in got["error"], (got, field)
        stored += accepted
    if isinstance(world.store, SQLiteStore):
        with closing(sqlite3.connect(world.store.path)) as conn:
            (rows,) = conn.execute("SELECT count(*) FROM events").fetchone()
        assert rows == stored + len(plugin_events)
    return arrived


def delete_app(world: World, app_id: str | None) -> None:
    if app_id is not None:
        admin.delete_app(world.store, app_id, Tenants(world.store).now)


# --- comparing --------------------------------------------------------------------------------


def assert_exact(actual: Any, expected: Any, where: str) -> None:
    """Equal values, and JSON integers where integers are expected (no 1.0 for 1)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        assert set(actual) == set(expected), f"{where}: keys {sorted(actual)}"
        for name, value in expected.items():
            assert_exact(actual[name], value, f"{where}.{name}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), where
        assert len(actual) == len(expected), f"{where}: {len(actual)} != {len(expected)} items"
        for i, (got, want) in enumerate(zip(actual, expected, strict=True)):
            assert_exact(got, want, f"{where}[{i}]")
    elif isinstance(expected, bool) or expected is None or isinstance(expected, str):
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"
    elif isinstance(expected, int):
        assert type(actual) is int, f"{where}: {actual!r} is not a JSON integer"
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"
    else:
        assert type(actual) in (int, float), f"{where}: {actual!r} is not a JSON number"
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def check_response(response: Any, expected: Any, where: str) -> None:
    assert response.status_code == 200, f"{where}: {response.status_code} {response.text}"
    assert_exact(response.json(), expected, where)


def check_refused(response: Any, status: int, message: str, where: str) -> None:
    assert response.status_code == status, f"{where}: {response.status_code} {response.text}"
    assert response.json()["status"] == message, where


def check_range(world: World, oracle: Oracle, query: Range) -> None:
    from_, to = parse_date_param(query.from_text), parse_date_param(query.to_text)
    flat = query.no_accumulate == "true"
    params = query.params
    slash = "/" if query.slash else ""
    owner = world.keys["owner"]
    for app_id in APPS:
        for path, expected in (
            (
                f"/statistics/app/{app_id}{slash}",
                lambda app=app_id: oracle.app_statistics(app, from_, to, no_accumulate=flat),
            ),
            (
                f"/statistics/app/{app_id}/bundle_usage{slash}",
                lambda app=app_id: oracle.bundle_usage(app, from_, to),
            ),
        ):
            response = world.get(path, owner, params)
            where = f"GET {path} {params}"
            if app_id in oracle.deleted:
                check_refused(response, 403, "You can't access this app", where)
            else:
                check_response(response, expected(), where)
        check_adoption(world, oracle, app_id, min(to, TODAY), slash)
    for label, org_id in world.orgs.items():
        path = f"/statistics/org/{org_id}{slash}"
        expected = oracle.org_statistics(
            label, from_, to, no_accumulate=flat, breakdown=query.breakdown == "true"
        )
        check_response(world.get(path, owner, params), expected, f"GET org {label} {params}")
    for name, key in world.keys.items():
        response = world.get(f"/statistics/user{slash}", key, params)
        expected = oracle.user_statistics(world.scopes[name], from_, to, no_accumulate=flat)
        where = f"GET /statistics/user as {name} {params}"
        if expected is None:
            check_refused(response, 404, "No organizations found", where)
        else:
            check_response(response, expected, where)


def check_adoption(world: World, oracle: Oracle, app_id: str, day: date, slash: str) -> None:
    """share, count and first_day exactly as the oracle's; the forecast as the fit of the
    oracle's share curve (the forecast is an estimate: its method is checked on its own)."""
    path = f"/statistics/app/{app_id}/adoption{slash}"
    response = world.get(path, world.keys["owner"], {"date": day.isoformat()})
    where = f"GET {path} date={day}"
    if app_id in oracle.deleted:
        check_refused(response, 403, "You can't access this app", where)
        return
    expected = []
    for row in oracle.adoption(app_id, day):
        first = date.fromisoformat(row["first_day"])
        days = forecast(row.pop("curve"))
        row["forecast"] = {
            f"{level:.0f}": None if at is None else (first + timedelta(days=at)).isoformat()
            for level, at in days.items()
        }
        expected.append(row)
    check_response(response, {"date": day.isoformat(), "versions": expected}, where)


# --- the properties ---------------------------------------------------------------------------


def check_oracle(
    scenario: Scenario, queries: list[Range], data: st.DataObject, postgres: PostgresSchemas
) -> None:
    plan = data.draw(plans(scenario.items), label="plan")
    with world(postgres) as w:
        arrived = ingest(w, plan)
        delete_app(w, scenario.deleted)
        deleted = frozenset() if scenario.deleted is None else frozenset({scenario.deleted})
        oracle = Oracle(arrived, APP_ORGS, deleted, TODAY)
        note(f"{len(oracle.events)} events kept, {oracle.duplicates} duplicates dropped")
        for query in queries:
            check_range(w, oracle, query)


def answers(w: World, queries: list[Range]) -> list[tuple[str, int, bytes]]:
    """Every answer, as raw bytes, of every endpoint for every range."""
    owner = w.keys["owner"]
    targets = [(f"app {app}", f"/statistics/app/{app}", owner) for app in APPS]
    targets += [(f"usage {app}", f"/statistics/app/{app}/bundle_usage", owner) for app in APPS]
    targets += [(f"adoption {app}", f"/statistics/app/{app}/adoption", owner) for app in APPS]
    targets += [(f"org {label}", f"/statistics/org/{w.orgs[label]}", owner) for label in ORGS]
    targets += [(f"user {name}", "/statistics/user", key) for name, key in w.keys.items()]
    result = []
    for query in queries:
        for name, path, key in targets:
            response = w.get(path, key, query.params)
            result.append((f"{name} {query.params}", response.status_code, response.content))
    return result


def check_two_orders(
    scenario: Scenario, queries: list[Range], data: st.DataObject, postgres: PostgresSchemas
) -> None:
    first_plan = data.draw(plans(scenario.items), label="first plan")
    second_plan = data.draw(plans(scenario.items), label="second plan")
    results = []
    for plan in (first_plan, second_plan):
        with world(postgres) as w:
            ingest(w, plan)
            delete_app(w, scenario.deleted)
            results.append(answers(w, queries))
    first, second = results
    assert len(first) == len(second)
    for (where, status, body), (_, other_status, other_body) in zip(first, second, strict=True):
        assert status in (200, 403, 404), (where, status, body)
        assert (status, body) == (other_status, other_body), where
    assert any(status == 200 for _, status, _ in first)


# --- the properties, on each backend (fewer examples on PostgreSQL: each needs a schema) ------


@settings(SETTINGS, max_examples=60)
@given(scenario=scenarios(), queries=query_lists(3), data=st.data())
def test_every_figure_equals_the_brute_force_oracle(
    scenario: Scenario, queries: list[Range], data: st.DataObject
) -> None:
    check_oracle(scenario, queries, data, None)


@settings(SETTINGS, max_examples=20)
@given(scenario=scenarios(), queries=query_lists(3), data=st.data())
def test_every_figure_equals_the_brute_force_oracle_on_postgres(
    postgres_schemas: Callable[[], str],
    scenario: Scenario,
    queries: list[Range],
    data: st.DataObject,
) -> None:
    check_oracle(scenario, queries, data, postgres_schemas)


@settings(SETTINGS, max_examples=30)
@given(scenario=scenarios(consistent_ids=True), queries=query_lists(2), data=st.data())
def test_two_arrival_orders_give_byte_identical_answers(
    scenario: Scenario, queries: list[Range], data: st.DataObject
) -> None:
    check_two_orders(scenario, queries, data, None)


@settings(SETTINGS, max_examples=10)
@given(scenario=scenarios(consistent_ids=True), queries=query_lists(2), data=st.data())
def test_two_arrival_orders_give_byte_identical_answers_on_postgres(
    postgres_schemas: Callable[[], str],
    scenario: Scenario,
    queries: list[Range],
    data: st.DataObject,
) -> None:
    check_two_orders(scenario, queries, data, postgres_schemas)
