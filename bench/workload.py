"""A seeded, realistic workload for the otastats benchmark.

    python bench/workload.py --events 1e6 --out DIR --seed 1 [--end YYYY-MM-DD]

writes into DIR:

- ``events-000.ndjson``, ``events-001.ndjson``, ...: the events, one JSON object a line, at
  most ``--part-size`` lines a file, in the order they "arrive" (mostly by timestamp; a few
  percent arrive up to 3 days late, and some are sent twice with the same ``event_id``);
- ``setup.json``: the 200 apps, the ~20 organizations that own them, and what was generated.

The model, over the ``--days`` (120) days ending at ``--end`` (default: today, UTC):

- 200 apps ``com.bench.app000`` ... ``com.bench.app199`` with Zipf-like sizes (app000 is the
  largest, about 17 % of the events); app i < 20 belongs to org i, the others are spread over
  the 20 orgs with Zipf-like weights;
- each app releases a new bundle version every 14 +- 4 days (``bundle_created``), and deletes
  about a third of its older bundles 20 to 50 days after their release (``bundle_deleted``);
- about 0.2 devices per event: each device is installed on some day (installs grow over time),
  is active on 1 or more days (most devices on 1 or 2, a heavy 15 % on several), and checks in
  1 to several times on each active day (``device_seen``), on the newest version released at
  least its personal update lag ago (the adoption curve); 1.5 % are emulators and 2.5 %
  development builds (stored, never counted);
- 3.5 % of check-ins are followed by a ``download`` of the newest bundle;
- every event carries a random ``event_id``; 0.4 % are sent a second time, shortly after.

Generation streams: each event goes to the temporary bucket file of the day it arrives, and
the buckets are then sorted one at a time, so memory stays bounded by one day of events.
No timestamp is later than the moment the generator started.
"""

from __future__ import annotations

import argparse
import bisect
import math
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
EPOCH = date(1970, 1, 1)

APPS = 200
ORGS = 20
APP_ZIPF = 1.0
ORG_ZIPF = 0.7
RELEASE_EVERY_DAYS = 14
DOWNLOAD_RATE = 0.035
LATE_RATE = 0.03
LATE_MAX_MS = 3 * DAY_MS
DUPLICATE_RATE = 0.004
EMULATOR_RATE = 0.015
DEV_BUILD_RATE = 0.025
HEAVY_RATE = 0.15
KEY_WIDTH = 15  # digits of the arrival-time sort key of a bucket line

PLATFORMS = (("android", 0.55), ("ios", 0.42), ("web", 0.02), ("electron", 0.01))
OS_VERSIONS = {
    "android": ("11", "12", "13", "14", "15"),
    "ios": ("16.7.8", "17.5.1", "17.6", "18.0.1", "18.1"),
    "web": ("chrome-126", "safari-17", "firefox-128"),
    "electron": ("31.2.0", "32.0.1"),
}
PLUGIN_VERSIONS = ("5.10.2", "6.0.14", "6.1.3", "6.2.0")
# With --actions: the updater plugin's health actions beside the check-ins (otherwise none,
# and the random draws, hence the events, are those of a workload without them).
ROLLBACK_RATE = 0.03  # of installs: an update_fail right after the set
CRASH_RATE = 0.004  # of check-ins: an app_crash
JS_ERROR_RATE = 0.02  # of check-ins: a webview_javascript_error


def parse_count(text: str) -> int:
    """``1e6``, ``1000000`` or ``1_000_000``."""
    value = float(text.replace("_", ""))
    if not math.isfinite(value) or value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a positive number, like 1e6")
    return round(value)


def day_of(value: date) -> int:
    return (value - EPOCH).days


def iso_day(day: int) -> str:
    return (EPOCH + timedelta(days=day)).isoformat()


@dataclass
class AppPlan:
    app_id: str
    org: str
    weight: float
    budget: int
    release_ms: list[int] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    deletions: list[tuple[int, int]] = field(default_factory=list)  # (timestamp, release index)
    events: int = 0
    devices: int = 0


@dataclass
class Counters:
    lines: int = 0
    device_seen: int = 0
    download: int = 0
    bundle_created: int = 0
    bundle_deleted: int = 0
    late: int = 0
    duplicates: int = 0
    uncounted_check_ins: int = 0
    devices: int = 0
    action: int = 0


class Writer:
    """Routes encoded events to the bucket of their arrival day, keyed by arrival time."""

    def __init__(self, folder: Path, start_day: int, end_day: int, rng: random.Random) -> None:
        self.folder = folder
        self.start_day = start_day
        self.end_day = end_day
        self.rng = rng
        self.counters = Counters()
        folder.mkdir(parents=True, exist_ok=True)
        self.buckets: list[IO[bytes]] = [
            open(folder / f"{index:03d}.bucket", "wb", buffering=1 << 16)  # noqa: SIM115
            for index in range(end_day - start_day + 1)
        ]

    def emit(self, ts: int, line: bytes, keep: bool = True) -> None:
        """Write one event (unless ``keep`` is false: then only draw the same random numbers)."""
        rng = self.rng
        counters = self.counters
        arrival = ts
        late = rng.random() < LATE_RATE
        if late:
            arrival = ts + 60_000 + min(int(rng.expovariate(1 / (10 * HOUR_MS))), LATE_MAX_MS)
        repeat = rng.random() < DUPLICATE_RATE
        repeated = arrival + rng.randint(1_000, 600_000) if repeat else 0
        if not keep:
            return
        counters.late += late
        self._put(arrival, line)
        if repeat:
            self._put(repeated, line)
            counters.duplicates += 1

    def _put(self, arrival: int, line: bytes) -> None:
        index = min(arrival // DAY_MS, self.end_day) - self.start_day
        self.buckets[index].write(b"%015d\t%b\n" % (arrival, line))
        self.counters.lines += 1

    def finish(self, out: Path, part_size: int) -> list[str]:
        """Sort each bucket by arrival and write the numbered NDJSON parts; returns their names."""
        for bucket in self.buckets:
            bucket.close()
        names: list[str] = []
        part: IO[bytes] | None = None
        in_part = 0
        try:
            for index in range(len(self.buckets)):
                path = self.folder / f"{index:03d}.bucket"
                lines = path.read_bytes().split(b"\n")
                path.unlink()
                lines.pop()  # the empty string after the last newline
                lines.sort()
                at = 0
                while at < len(lines):
                    if part is None or in_part >= part_size:
                        if part is not None:
                            part.close()
                        names.append(f"events-{len(names):03d}.ndjson")
                        part = open(out / names[-1], "wb")  # noqa: SIM115
                        in_part = 0
                    take = lines[at : at + part_size - in_part]
                    part.write(b"\n".join(line[KEY_WIDTH + 1 :] for line in take) + b"\n")
                    in_part += len(take)
                    at += len(take)
        finally:
            if part is not None:
                part.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        return names


class Generator:
    def __init__(
        self, events: int, seed: int, end: date, days: int, now_ms: int, actions: bool = False
    ) -> None:
        self.rng = random.Random(seed)
        self.actions = actions
        self.target = events
        self.end_day = day_of(end)
        self.start_day = self.end_day - days + 1
        self.start_ms = self.start_day * DAY_MS
        # The latest instant an event may have: now, or the end of the last day.
        # Events are planned up to the end of the last day, and those later than the cap are
        # then left out without changing the random draws, so that the same seed and end date
        # give the same events whenever the generator runs.
        self.horizon_ms = (self.end_day + 1) * DAY_MS - 1
        self.cap_ms = min(now_ms, self.horizon_ms)
        self.prefixes = {
            day: iso_day(day) + "T" for day in range(self.start_day - 1, self.end_day + 2)
        }
        self.orgs = [f"bench-org-{index:02d}" for index in range(ORGS)]
        self.apps = self._plan_apps()

    # --- plans ------------------------------------------------------------------------------
    def _plan_apps(self) -> list[AppPlan]:
        rng = self.rng
        raw = [1 / (rank + 1) ** APP_ZIPF for rank in range(APPS)]
        total = sum(raw)
        org_weights = [1 / (rank + 1) ** ORG_ZIPF for rank in range(ORGS)]
        apps: list[AppPlan] = []
        for index, weight in enumerate(raw):
            org = index if index < ORGS else rng.choices(range(ORGS), org_weights)[0]
            plan = AppPlan(
                f"com.bench.app{index:03d}",
                self.orgs[org],
                weight / total,
                round(self.target * weight / total),
            )
            self._plan_releases(plan)
            apps.append(plan)
        return apps

    def _plan_releases(self, plan: AppPlan) -> None:
        rng = self.rng
        major, minor, patch = rng.randint(1, 4), rng.randint(0, 12), 0
        base = rng.lognormvariate(math.log(8_000_000), 0.6)
        at = self.start_ms + rng.randrange(2 * HOUR_MS)
        while at <= self.horizon_ms:
            plan.release_ms.append(at)
            plan.versions.append(f"{major}.{minor}.{patch}")
            growth = 1 + 0.02 * len(plan.sizes)
            plan.sizes.append(int(base * growth * rng.uniform(0.95, 1.05)))
            if rng.random() < 0.3:
                minor, patch = minor + 1, 0
            else:
                patch += 1
            at += (RELEASE_EVERY_DAYS + rng.uniform(-4, 4)) * DAY_MS
            at = int(at)
        keep_newest = 3
        for index in range(len(plan.release_ms) - keep_newest):
            if rng.random() < 0.35:
                deleted = plan.release_ms[index] + int(rng.uniform(20, 50) * DAY_MS)
                if deleted <= self.horizon_ms:
                    plan.deletions.append((deleted, index))

    # --- events -----------------------------------------------------------------------------
    def stamp(self, ms: int) -> str:
        day, rest = divmod(ms, DAY_MS)
        seconds, milli = divmod(rest, 1000)
        hours, seconds = divmod(seconds, 3600)
        minutes, seconds = divmod(seconds, 60)
        return f"{self.prefixes[day]}{hours:02d}:{minutes:02d}:{seconds:02d}.{milli:03d}Z"

    def event_id(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def run(self, writer: Writer) -> None:
        for plan in self.apps:
            planned = self._bundles(plan, writer)
            while planned < plan.budget:
                made, kept = self._device(plan, writer)
                planned += made
                plan.events += kept
                plan.devices += kept > 0
            writer.counters.devices += plan.devices

    def _bundles(self, plan: AppPlan, writer: Writer) -> int:
        """Writes the app's bundle events; returns how many were planned."""
        dumps = orjson.dumps
        cap = self.cap_ms
        counters = writer.counters
        for ts, version, size in zip(plan.release_ms, plan.versions, plan.sizes, strict=True):
            event = {
                "type": "bundle_created",
                "event_id": self.event_id(),
                "app_id": plan.app_id,
                "version_name": version,
                "bytes": size,
                "timestamp": self.stamp(ts),
            }
            writer.emit(ts, dumps(event), ts <= cap)
            counters.bundle_created += ts <= cap
            plan.events += ts <= cap
        for ts, index in plan.deletions:
            event = {
                "type": "bundle_deleted",
                "event_id": self.event_id(),
                "app_id": plan.app_id,
                "version_name": plan.versions[index],
                "timestamp": self.stamp(ts),
            }
            writer.emit(ts, dumps(event), ts <= cap)
            counters.bundle_deleted += ts <= cap
            plan.events += ts <= cap
        return len(plan.release_ms) + len(plan.deletions)

    def _device(self, plan: AppPlan, writer: Writer) -> tuple[int, int]:
        """One device's whole life: returns the numbers of events planned and written."""
        rng = self.rng
        random_ = rng.random
        dumps = orjson.dumps
        counters = writer.counters
        bits = rng.getrandbits(128)
        hexa = f"{bits:032x}"
        device_id = f"{hexa[:8]}-{hexa[8:12]}-{hexa[12:16]}-{hexa[16:20]}-{hexa[20:]}"
        pick = random_()
        platform = "electron"
        for name, share in PLATFORMS:
            if pick < share:
                platform = name
                break
            pick -= share
        os_version = rng.choice(OS_VERSIONS[platform])
        plugin_version = rng.choice(PLUGIN_VERSIONS)
        is_emulator = random_() < EMULATOR_RATE
        is_prod = random_() >= DEV_BUILD_RATE
        counted = is_prod and not is_emulator
        slow = random_() < 0.1
        lag = int(rng.expovariate(1 / ((20 if slow else 2) * DAY_MS)))
        heavy = random_() < HEAVY_RATE
        more_days = 0.83 if heavy else 0.23  # geometric: mean 4.9 or 0.3 more active days
        gap_more = 0.6 if heavy else 0.85  # geometric: mean 1.5 or 5.7 more days between them
        # Installs grow over time; some devices were installed before the window began.
        first = self.start_day - 20
        day = first + int((self.end_day - first + 1) * random_() ** 0.85)
        releases = plan.release_ms
        versions = plan.versions
        sizes = plan.sizes
        app_id = plan.app_id
        cap = self.cap_ms
        made = kept = 0
        last_version = ""
        while day <= self.end_day:
            if day >= self.start_day:
                day_start = day * DAY_MS
                at = day_start + rng.randrange(DAY_MS)
                checks = 1
                while random_() < 0.6:
                    checks += 1
                for _ in range(checks):
                    if at >= day_start + DAY_MS:
                        break
                    index = bisect.bisect_right(releases, at - lag) - 1
                    version = versions[max(index, 0)]
                    event: dict[str, Any] = {
                        "type": "device_seen",
                        "event_id": f"{rng.getrandbits(64):016x}",
                        "app_id": app_id,
                        "device_id": device_id,
                        "timestamp": self.stamp(at),
                        "version_name": version,
                        "version_build": version,
                        "platform": platform,
                        "os_version": os_version,
                        "plugin_version": plugin_version,
                        "is_emulator": is_emulator,
                        "is_prod": is_prod,
                    }
                    writer.emit(at, dumps(event), at <= cap)
                    made += 1
                    if at <= cap:
                        kept += 1
                        counters.device_seen += 1
                        counters.uncounted_check_ins += not counted
                    if self.actions:
                        names = self._actions(version != last_version)
                        for offset, name in enumerate(names, 1):
                            action = {
                                "type": "action",
                                "event_id": f"{rng.getrandbits(64):016x}",
                                "app_id": app_id,
                                "device_id": device_id,
                                "action": name,
                                "timestamp": self.stamp(at + offset * 1_000),
                                "version_name": version,
                                "platform": platform,
                                "plugin_version": plugin_version,
                                "is_emulator": is_emulator,
                                "is_prod": is_prod,
                            }
                            shown = at + offset * 1_000 <= cap
                            writer.emit(at + offset * 1_000, dumps(action), shown)
                            made += 1
                            kept += shown
                            counters.action += shown
                        last_version = version
                    if random_() < DOWNLOAD_RATE:
                        got = at + rng.randint(1_000, 30_000)
                        newest = max(bisect.bisect_right(releases, at) - 1, 0)
                        download = {
                            "type": "download",
                            "event_id": f"{rng.getrandbits(64):016x}",
                            "app_id": app_id,
                            "device_id": device_id,
                            "timestamp": self.stamp(got),
                            "version_name": versions[newest],
                            "bytes": sizes[newest],
                        }
                        writer.emit(got, dumps(download), got <= cap)
                        made += 1
                        if got <= cap:
                            kept += 1
                            counters.download += 1
                    at += int(rng.expovariate(1 / (1.5 * HOUR_MS))) + 1_000
            if random_() >= more_days:
                break
            day += 1
            while random_() < gap_more:
                day += 1
        return made, kept

    def _actions(self, new_version: bool) -> list[str]:
        """The health actions that follow a check-in: a set on a new version (maybe rolled
        back), and now and then a crash or a JavaScript error."""
        random_ = self.rng.random
        names = []
        if new_version:
            names.append("set")
            if random_() < ROLLBACK_RATE:
                names.append("update_fail")
        if random_() < CRASH_RATE:
            names.append("app_crash")
        if random_() < JS_ERROR_RATE:
            names.append("webview_javascript_error")
        return names


def generate(
    events: int,
    out: Path,
    seed: int,
    end: date,
    days: int,
    part_size: int,
    actions: bool = False,
) -> dict[str, Any]:
    started = time.perf_counter()
    now = datetime.now(UTC)
    now_ms = int(now.timestamp() * 1000)
    if end > now.date():
        raise SystemExit(f"--end {end} is after today ({now.date()}, UTC)")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("events-*.ndjson"):
        stale.unlink()
    generator = Generator(events, seed, end, days, now_ms, actions)
    writer = Writer(out / ".buckets", generator.start_day, generator.end_day, generator.rng)
    generator.run(writer)
    files = writer.finish(out, part_size)
    counters = writer.counters
    org_events: dict[str, int] = {}
    for plan in generator.apps:
        org_events[plan.org] = org_events.get(plan.org, 0) + plan.events
    setup = {
        "format": 1,
        "seed": seed,
        "events_requested": events,
        "days": days,
        "start": iso_day(generator.start_day),
        "end": end.isoformat(),
        "generated_at": now.isoformat().replace("+00:00", "Z"),
        "files": files,
        "counts": {
            "lines": counters.lines,
            "device_seen": counters.device_seen,
            "download": counters.download,
            "bundle_created": counters.bundle_created,
            "bundle_deleted": counters.bundle_deleted,
            "late": counters.late,
            "duplicates": counters.duplicates,
            "uncounted_check_ins": counters.uncounted_check_ins,
            "devices": counters.devices,
            "action": counters.action,
        },
        "orgs": [
            {
                "name": org,
                "apps": [plan.app_id for plan in generator.apps if plan.org == org],
                "events": org_events.get(org, 0),
            }
            for org in generator.orgs
        ],
        "apps": [
            {
                "app_id": plan.app_id,
                "org": plan.org,
                "weight": round(plan.weight, 6),
                "events": plan.events,
                "devices": plan.devices,
                "versions": len(plan.versions),
                "deleted_bundles": len(plan.deletions),
            }
            for plan in generator.apps
        ],
        "largest_app": max(generator.apps, key=lambda plan: plan.events).app_id,
        "largest_org": max(org_events, key=lambda org: org_events[org]),
        "seconds": round(time.perf_counter() - started, 2),
    }
    (out / "setup.json").write_bytes(orjson.dumps(setup, option=orjson.OPT_INDENT_2))
    return setup


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=parse_count, default=1_000_000, help="like 1e6 or 1e7")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--end", type=date.fromisoformat, default=None, help="last day, YYYY-MM-DD (today, UTC)"
    )
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--part-size", type=parse_count, default=1_000_000, help="lines a file")
    parser.add_argument(
        "--actions", action="store_true", help="also the plugin's health actions (set, ...)"
    )
    args = parser.parse_args(argv)
    end = args.end or datetime.now(UTC).date()
    setup = generate(args.events, args.out, args.seed, end, args.days, args.part_size, args.actions)
    counts = setup["counts"]
    size = sum(os.path.getsize(args.out / name) for name in setup["files"])
    sys.stdout.write(
        f"{counts['lines']:,} events ({counts['devices']:,} devices, {counts['late']:,} late,"
        f" {counts['duplicates']:,} repeated) in {len(setup['files'])} file(s),"
        f" {size / 1e6:,.0f} MB, {setup['start']} .. {setup['end']}, {setup['seconds']} s\n"
    )


if __name__ == "__main__":
    main()
