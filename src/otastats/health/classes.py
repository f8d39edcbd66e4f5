"""The classes of update health (SPEC section 8): which class, if any, each report counts in.

A pure module, shared by the ingest engine (otastats.ingest.health_state), the migration that
derives the state of older databases, and anyone who needs to read an action the same way. It
knows nothing of storage or HTTP: names in, class names out.
"""

from __future__ import annotations

import re

from otastats.ingest.rules import CHECK_IN_ACTIONS

DEVICES = "devices"
INSTALLS = "installs"
INSTALL_FAILURES = "install_failures"
ROLLBACKS = "rollbacks"
DOWNLOAD_FAILURES = "download_failures"
CRASHES = "crashes"
JS_ERRORS = "js_errors"
CLASSES = (DEVICES, INSTALLS, INSTALL_FAILURES, ROLLBACKS, DOWNLOAD_FAILURES, CRASHES, JS_ERRORS)
"""Every class, in the order of the answer's objects."""

CRASH_ACTIONS = frozenset(
    {
        "app_crash",
        "app_crash_native",
        "app_anr",
        "app_killed_low_memory",
        "app_killed_excessive_resource_usage",
        "app_initialization_failure",
        "webview_render_process_gone",
        "webview_content_process_terminated",
    }
)
JS_ERROR_ACTIONS = frozenset({"webview_javascript_error", "webview_unhandled_rejection"})
CAPACITOR_PLATFORMS = frozenset({"ios", "android"})
"""The platforms of the Capacitor plugin, whose old versions send download_fail for 'no update'."""

_SEMVER = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?\Z",
    re.ASCII,
)
_FIXED_IN = {6: (6, 14, 25)}
"""The first plugin release, per major, whose download_fail means a failed download; majors not
listed here use 7.17.0 (so 5 and older never qualify, 8 and newer always do)."""
_FIXED = (7, 17, 0)


def plugin_sends_real_download_fail(plugin_version: str | None) -> bool:
    """True when a Capacitor plugin of this version sends download_fail only for a failed
    download. A pre-release (``7.17.0-beta.1``) comes before its release, as semver orders
    them; a build suffix (``+abc``) plays no part; an unparsable version is taken as old."""
    if plugin_version is None:
        return False
    match = _SEMVER.match(plugin_version)
    if match is None:
        return False
    release = (int(match[1]), int(match[2]), int(match[3]))
    fixed = _FIXED_IN.get(release[0], _FIXED)
    if release != fixed:
        return release > fixed
    return match[4] is None


def action_class(action: str, platform: str | None, plugin_version: str | None) -> str | None:
    """The class an action counts in besides ``devices`` (a check-in), or None."""
    if action == "set":
        return INSTALLS
    if action == "set_fail":
        return INSTALL_FAILURES
    if action == "update_fail":
        return ROLLBACKS
    if action in CRASH_ACTIONS:
        return CRASHES
    if action in JS_ERROR_ACTIONS:
        return JS_ERRORS
    if action == "insufficient_disk_space":
        return DOWNLOAD_FAILURES
    if action.endswith("_fail"):
        if (
            action == "download_fail"
            and platform in CAPACITOR_PLATFORMS
            and not plugin_sends_real_download_fail(plugin_version)
        ):
            return None
        return DOWNLOAD_FAILURES
    return None


def report_classes(
    action: str | None, platform: str | None, plugin_version: str | None
) -> tuple[str, ...]:
    """Every class a report of a counted device counts in: ``action`` None is a device_seen."""
    if action is None:
        return (DEVICES,)
    other = action_class(action, platform, plugin_version)
    if action in CHECK_IN_ACTIONS:
        return (DEVICES,) if other is None else (DEVICES, other)
    return () if other is None else (other,)
