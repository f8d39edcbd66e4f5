"""The field rules shared by every way in: `/ingest/events` and the Capgo updater plugin URLs.

Device ids, action names, version names, the check-in actions, the two booleans, `metadata`,
the tolerated future and the plugin's epoch-millisecond times are read here and only here, so
that an action sent through `/ingest/events` and the same action sent by the plugin become the
same stored event. Each function raises EventError with a message that starts with the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MAX_TEXT = 255
MAX_FUTURE_MICROS = 5 * 60 * 1_000_000
MIN_TIMESTAMP = 946_684_800_000_000
"""2000-01-01T00:00:00Z: no OTA platform reported activity before it, so an earlier instant is
an error, and it bounds the days of history a device or an app can have."""
PLUGIN_PAST_MICROS = 30 * 86_400 * 1_000_000
"""A plugin event older than this (a device clock far off) is taken at its moment of receipt."""
MAX_DEVICE_ID = 64
MAX_ACTION = 64
MAX_VERSION_NAME = 128
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 2048
PLATFORMS = frozenset({"ios", "android", "electron", "web"})
NUL_ERROR = "{}: must not contain the NUL character (U+0000)"
ACTION_NAME = re.compile(r"[A-Za-z0-9_]{1,64}\Z")
BUILTIN = "builtin"

CHECK_IN_ACTIONS = frozenset(
    {
        "app_moved_to_foreground",
        "app_moved_to_background",
        "app_launch_start",
        "app_launch_ready",
        "set",
        "blocked_by_server_url",
    }
)
"""Actions that count as the device's activity on its running bundle, like a device_seen."""

Getter = Callable[[str], object]


class EventError(ValueError):
    """An event that cannot be accepted; the message starts with the field at fault."""


def device_id_of(value: object) -> str:
    """A device id of 1 to 64 characters, lower-cased (iOS sends its ids in upper case)."""
    if type(value) is not str or not 0 < len(value) <= MAX_DEVICE_ID:
        if value is None:
            raise EventError("device_id: is required")
        raise EventError(f"device_id: must be a string of 1 to {MAX_DEVICE_ID} characters")
    if "\x00" in value:
        raise EventError(NUL_ERROR.format("device_id"))
    return value.lower()


def action_of(value: object) -> str:
    """Any action name of 1 to 64 characters of A-Z, a-z, 0-9 and '_' (new ones included)."""
    if type(value) is str and ACTION_NAME.match(value) is not None:
        return value
    if value is None:
        raise EventError("action: is required")
    raise EventError(f"action: must be 1 to {MAX_ACTION} characters of A-Z, a-z, 0-9 and '_'")


def optional_text(value: object, name: str) -> str | None:
    """An optional string of at most 255 characters; null stands for absent."""
    if value is None:
        return None
    if type(value) is not str or len(value) > MAX_TEXT:
        raise EventError(f"{name}: must be a string of at most {MAX_TEXT} characters")
    if "\x00" in value:
        raise EventError(NUL_ERROR.format(name))
    return value


def version_of(value: object, version_build: str | None) -> str:
    """The bundle a `version_name` stands for: `"<version>:<file>"` is `<version>`, and `""` or
    `"builtin"` is the native bundle, named by its `version_build` (or "builtin")."""
    if value is None:
        raise EventError("version_name: is required")
    if type(value) is not str or len(value) > MAX_VERSION_NAME:
        raise EventError(f"version_name: must be a string of at most {MAX_VERSION_NAME} characters")
    if "\x00" in value:
        raise EventError(NUL_ERROR.format("version_name"))
    version = value.partition(":")[0]
    if version in ("", BUILTIN):
        return version_build or BUILTIN
    return version


def flag_of(value: object, name: str, default: bool) -> bool:
    """`is_emulator` or `is_prod`: a JSON boolean, the default when absent or null."""
    if value is None:
        return default
    if value is True or value is False:
        return value
    raise EventError(f"{name}: must be a boolean")


def platform_of(value: object) -> str | None:
    if value is None:
        return None
    if type(value) is not str or value not in PLATFORMS:
        raise EventError("platform: must be one of ios, android, electron, web")
    return value


def metadata_of(value: object) -> dict[str, str] | None:
    """An object of at most 50 string values (keys up to 64, values up to 2048 characters)."""
    if value is None:
        return None
    if type(value) is not dict or len(value) > MAX_METADATA_KEYS:
        raise EventError(f"metadata: must be an object of at most {MAX_METADATA_KEYS} strings")
    for key, item in value.items():
        if len(key) > MAX_METADATA_KEY or "\x00" in key:
            raise EventError(
                f"metadata: keys must be at most {MAX_METADATA_KEY} characters, without NUL"
            )
        if type(item) is not str or len(item) > MAX_METADATA_VALUE or "\x00" in item:
            raise EventError(
                f"metadata.{key}: must be a string of at most {MAX_METADATA_VALUE} characters,"
                " without NUL"
            )
    return value or None


def plugin_time(value: object, received: int) -> int:
    """The time of a plugin event: its `timestamp` (epoch milliseconds) when that is at most
    5 minutes after ``received`` and at most 30 days before it; otherwise ``received``."""
    if type(value) is not int and type(value) is not float:
        return received
    micros = value * 1000
    if received - PLUGIN_PAST_MICROS <= micros <= received + MAX_FUTURE_MICROS:
        return int(micros)
    return received


def plugin_millis(value: object) -> int | float | None:
    """The plugin's `timestamp` when it is a JSON number, else None (booleans are not)."""
    if type(value) is int or type(value) is float:
        return value
    return None
