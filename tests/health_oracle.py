"""A brute-force oracle of the health endpoint, read straight from SPEC section 8.

It shares no code with ``otastats``: each figure is recomputed from the full list of accepted
events (as sent), with section 8's table and section 7's reading of an action taken literally.
Choices the SPEC leaves to the project (documented in docs/metrics.md, taken here as given):

- a version's first day is the first day of any report that counts in one of the classes;
- totals count up to ``to``, or up to today when ``to`` is later (as the labels);
- a ``download_fail`` without ``platform`` is kept (only ``ios`` and ``android`` are the
  Capacitor plugin's); a pre-release of 7.17.0 (or 6.14.25) comes before it, as semver has it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from tests.oracle import CHECK_INS, parse_timestamp

CLASSES = (
    "devices",
    "installs",
    "install_failures",
    "rollbacks",
    "download_failures",
    "crashes",
    "js_errors",
)
CRASH = {
    "app_crash",
    "app_crash_native",
    "app_anr",
    "app_killed_low_memory",
    "app_killed_excessive_resource_usage",
    "app_initialization_failure",
    "webview_render_process_gone",
    "webview_content_process_terminated",
}
JS = {"webview_javascript_error", "webview_unhandled_rejection"}
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$", re.ASCII)


def _new_plugin(text: Any) -> bool:
    """A plugin whose download_fail is a real failure: 7.17.0 or later, 6.14.25 in major 6."""
    if not isinstance(text, str):
        return False
    m = _VERSION.match(text)
    if m is None or any(len(part) > 1 and part[0] == "0" for part in m.groups()[:3]):
        return False
    numbers = tuple(int(part) for part in m.groups()[:3])
    fixed = (6, 14, 25) if numbers[0] == 6 else (7, 17, 0)
    if numbers == fixed:
        return m[4] is None
    return numbers > fixed


def classes_of(raw: Mapping[str, Any]) -> set[str]:
    if raw.get("is_emulator") not in (None, False) or raw.get("is_prod") not in (None, True):
        return set()
    if raw["type"] == "device_seen":
        return {"devices"}
    if raw["type"] != "action":
        return set()
    action = raw["action"]
    found = set()
    if action in CHECK_INS:
        found.add("devices")
    if action == "set":
        found.add("installs")
    elif action == "set_fail":
        found.add("install_failures")
    elif action == "update_fail":
        found.add("rollbacks")
    elif action in CRASH:
        found.add("crashes")
    elif action in JS:
        found.add("js_errors")
    elif action == "insufficient_disk_space" or action.endswith("_fail"):
        legacy = (
            action == "download_fail"
            and raw.get("platform") in ("ios", "android")
            and not _new_plugin(raw.get("plugin_version"))
        )
        if not legacy:
            found.add("download_failures")
    return found


def version_of(raw: Mapping[str, Any]) -> str:
    version: str = raw["version_name"]
    if raw["type"] == "action":
        version = version.split(":", 1)[0]
        if version in ("", "builtin"):
            version = raw.get("version_build") or "builtin"
    return version


def reports(accepted: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str, str, date]]:
    """(app, device, version, class, day) of every accepted event, duplicates dropped."""
    seen: set[tuple[str, str]] = set()
    found = []
    for raw in accepted:
        event_id = raw.get("event_id")
        if event_id is not None:
            if (raw["app_id"], event_id) in seen:
                continue
            seen.add((raw["app_id"], event_id))
        day = parse_timestamp(raw["timestamp"]).date()
        for name in classes_of(raw):
            found.append((raw["app_id"], raw["device_id"].lower(), version_of(raw), name, day))
    return found


def health(
    accepted: Iterable[Mapping[str, Any]], app_id: str, from_: date, to: date, today: date
) -> dict[str, Any]:
    own = [r for r in reports(accepted) if r[0] == app_id]
    last = min(to, today)
    labels = []
    day = from_
    while day <= last:
        labels.append(day)
        day += timedelta(days=1)
    versions = {r[2] for r in own if r[4] <= last}
    entries = []
    for version in versions:
        totals = {
            name: len({r[1] for r in own if r[2] == version and r[3] == name and r[4] <= last})
            for name in CLASSES
        }
        if not any(totals.values()):
            continue
        daily = {
            name: [
                len({r[1] for r in own if r[2] == version and r[3] == name and r[4] == d})
                for d in labels
            ]
            for name in CLASSES
        }
        first = min(r[4] for r in own if r[2] == version)
        rollback = totals["rollbacks"] / totals["installs"] if totals["installs"] else None
        crash = totals["crashes"] / totals["devices"] if totals["devices"] else None
        entries.append(
            (
                (first, version),
                {
                    "version": version,
                    "totals": totals,
                    "rates": {"rollback": rollback, "crash": crash},
                    "daily": daily,
                },
            )
        )
    entries.sort(key=lambda entry: entry[0])
    return {"labels": [d.isoformat() for d in labels], "versions": [e for _, e in entries]}
