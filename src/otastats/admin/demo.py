"""Realistic generated activity for trying otastats: releases, adoption curves, check-ins, and
the updater plugin's health actions (installs, rollbacks, crashes, JavaScript errors, failed
downloads). The newest release of each app is a bad one: it rolls back and crashes far more
than the others, so that the dashboard's release health has a story to tell."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from otastats.admin import service as admin
from otastats.ingest.service import IngestResult, existing_app, ingest
from otastats.storage.base import Store
from otastats.timeparse import MICROS_PER_DAY, micros_to_datetime

DEMO_EMAIL = "demo@example.com"
DEMO_DAYS = 90
RELEASE_EVERY_DAYS = 14
BATCH = 5_000
APPS = (("weather", 1_500, 0.55), ("notes", 600, 0.35), ("chess", 200, 0.25))
"""(name, devices, probability that a regular device checks in on a given day)"""
ROLLBACK = (0.02, 0.3)
"""Probability that an install rolls back: (a good release, the bad one)"""
CRASH = (0.003, 0.03)
"""Probability that a check-in is followed by a crash: (a good release, the bad one)"""
JS_ERROR = 0.02
DOWNLOAD_FAIL = 0.01
PLUGINS = ("6.1.3", "7.25.0", "8.40.2", "8.40.2")
"""Plugin versions of the devices: 6.1.3 sends download_fail for 'no update' (left out)."""


@dataclass(frozen=True, slots=True)
class DemoResult:
    org_id: str
    user_id: str
    app_ids: list[str]
    key: str
    events: IngestResult


def create_demo(store: Store, now: int, *, seed: int | None = None) -> DemoResult:
    rng = random.Random(seed)
    suffix = secrets.token_hex(3)
    org_id = admin.create_org(store, "Demo organization", now)
    email = (
        DEMO_EMAIL if store.find_user_by_email(DEMO_EMAIL) is None else f"demo-{suffix}@example.com"
    )
    user_id = admin.create_user(store, email, now)
    admin.add_member(store, org_id, user_id, "admin")
    app_ids = []
    for name, _, _ in APPS:
        app_id = f"com.example.{name}"
        if store.get_apps([app_id]):
            app_id = f"{app_id}.{suffix}"
        admin.create_app(store, app_id, org_id, now)
        app_ids.append(app_id)
    key = admin.create_key(store, user_id, "read", now).key
    total = IngestResult()
    batch: list[object] = []
    sent = 0
    for (_, devices, activity), app_id in zip(APPS, app_ids, strict=True):
        for event in _app_events(rng, app_id, devices, activity, now):
            batch.append(event)
            if len(batch) >= BATCH:
                total.add(ingest(store, batch, now, existing_app), sent)
                sent += len(batch)
                batch = []
    if batch:
        total.add(ingest(store, batch, now, existing_app), sent)
    return DemoResult(org_id, user_id, app_ids, key, total)


def _stamp(micros: int) -> str:
    return micros_to_datetime(micros).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _app_events(
    rng: random.Random, app_id: str, devices: int, activity: float, now: int
) -> Iterator[dict[str, object]]:
    first_day = now // MICROS_PER_DAY - DEMO_DAYS + 1
    releases = []
    for number, day in enumerate(range(first_day - 20, first_day + DEMO_DAYS, RELEASE_EVERY_DAYS)):
        version = f"1.{number}.0"
        size = rng.randrange(2_000_000, 9_000_000)
        at = min(now, day * MICROS_PER_DAY + rng.randrange(MICROS_PER_DAY))
        releases.append((day, version, size, at))
        yield {
            "type": "bundle_created",
            "app_id": app_id,
            "version_name": version,
            "bytes": size,
            "timestamp": _stamp(at),
        }
        if number >= 4:
            _, old_version, _, old_at = releases[number - 4]
            yield {
                "type": "bundle_deleted",
                "app_id": app_id,
                "version_name": old_version,
                "timestamp": _stamp(max(old_at, at) + 3_600_000_000),
            }
    for device in range(devices):
        yield from _device_events(
            rng, app_id, f"{app_id}-device-{device:05d}", releases, activity, first_day, now
        )


def _device_events(
    rng: random.Random,
    app_id: str,
    device_id: str,
    releases: list[tuple[int, str, int, int]],
    activity: float,
    first_day: int,
    now: int,
) -> Iterator[dict[str, object]]:
    joined = first_day + int(rng.random() ** 2 * DEMO_DAYS)
    left = joined + int(rng.expovariate(1 / 60))
    likelihood = activity * rng.uniform(0.3, 1.3)
    emulator = rng.random() < 0.04
    prod = rng.random() >= 0.03
    platform = rng.choice(("ios", "android", "android", "web"))
    plugin = rng.choice(PLUGINS)
    bad = len(releases) - 1
    refused = -1
    """The newest release the device rolled back from: it is not installed again."""

    def action(name: str, index: int, at: int) -> dict[str, object]:
        return {
            "type": "action",
            "app_id": app_id,
            "device_id": device_id,
            "action": name,
            "version_name": releases[index][1],
            "platform": platform,
            "plugin_version": plugin,
            "is_emulator": emulator,
            "is_prod": prod,
            "timestamp": _stamp(at),
            "event_id": f"{device_id}-{name}-{at}",
        }

    current = 0
    for index, release in enumerate(releases):
        if release[3] <= joined * MICROS_PER_DAY:
            current = index
    for day in range(joined, min(left, now // MICROS_PER_DAY + 1)):
        if rng.random() > likelihood:
            continue
        for _ in range(rng.choice((1, 1, 2, 3))):
            at = day * MICROS_PER_DAY + rng.randrange(MICROS_PER_DAY)
            if at > now:
                continue
            latest = max(i for i, r in enumerate(releases) if r[3] <= at)
            if latest > current and latest != refused and rng.random() < 0.45:
                yield {
                    "type": "download",
                    "app_id": app_id,
                    "device_id": device_id,
                    "version_name": releases[latest][1],
                    "bytes": releases[latest][2],
                    "timestamp": _stamp(at),
                }
                if rng.random() < DOWNLOAD_FAIL:
                    yield action("download_fail", current, at + 1)
                    continue
                yield action("set", latest, at + 2)
                if rng.random() < ROLLBACK[latest == bad]:
                    # notifyAppReady() was not called in time: the plugin goes back.
                    yield action("update_fail", latest, at + 3)
                    refused = latest
                else:
                    current = latest
                at += 4
            if rng.random() < 0.5:
                yield action("app_moved_to_foreground", current, at)
            else:
                yield {
                    "type": "device_seen",
                    "app_id": app_id,
                    "device_id": device_id,
                    "version_name": releases[current][1],
                    "platform": platform,
                    "is_emulator": emulator,
                    "is_prod": prod,
                    "timestamp": _stamp(at),
                    "event_id": f"{device_id}-{at}",
                }
            if rng.random() < CRASH[current == bad]:
                yield action("app_crash", current, at + 5)
            if rng.random() < JS_ERROR:
                yield action("webview_javascript_error", current, at + 6)
            if plugin.startswith("6.") and platform != "web" and rng.random() < 0.2:
                yield action("download_fail", current, at + 7)
