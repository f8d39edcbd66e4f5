"""The four event types and their validation, with errors that name the field at fault."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from otastats.timeparse import parse_instant

DEVICE_SEEN, DOWNLOAD, BUNDLE_CREATED, BUNDLE_DELETED = 0, 1, 2, 3
TYPES = {
    "device_seen": DEVICE_SEEN,
    "download": DOWNLOAD,
    "bundle_created": BUNDLE_CREATED,
    "bundle_deleted": BUNDLE_DELETED,
}
PLATFORMS = frozenset({"ios", "android", "electron", "web"})
APP_ID = re.compile(r"[A-Za-z0-9._-]{1,128}\Z")
MAX_BYTES = 2**53
MAX_FUTURE_MICROS = 5 * 60 * 1_000_000
MIN_TIMESTAMP = 946_684_800_000_000
"""2000-01-01T00:00:00Z: no OTA platform reported activity before it, so an earlier instant is
an error, and it bounds the days of history a device or an app can have."""
MAX_TEXT = 255
MAX_EVENT_ID = 128
NUL_ERROR = "{}: must not contain the NUL character (U+0000)"
OPTIONAL_TEXT = ("version_build", "plugin_version", "os_version", "channel")


class EventError(ValueError):
    """An event that cannot be accepted; the message starts with the field at fault."""


@dataclass(slots=True)
class Event:
    kind: int
    app_id: str
    ts: int
    version_name: str
    device_id: str | None = None
    bytes: int | None = None
    platform: str | None = None
    is_emulator: bool = False
    is_prod: bool = True
    event_id: str | None = None
    extra: dict[str, str] | None = None

    @property
    def counted(self) -> bool:
        """Counted activity: a production check-in from a real device."""
        return self.kind == DEVICE_SEEN and self.is_prod and not self.is_emulator


def validate_event(raw: object, now: int) -> Event:
    """Turn one decoded JSON value into an Event, or raise EventError naming the field."""
    # Written for speed (it runs once per ingested event): local lookups, few calls.
    if type(raw) is not dict:
        raise EventError("event: must be a JSON object")
    get = raw.get
    kind_name = get("type")
    kind = TYPES.get(kind_name) if type(kind_name) is str else None
    if kind is None:
        raise EventError("type: must be one of " + ", ".join(TYPES))
    app_id = get("app_id")
    if app_id is None:
        raise EventError("app_id: is required")
    if type(app_id) is not str or APP_ID.match(app_id) is None:
        raise EventError("app_id: must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '-'")
    device_id = _text(get("device_id"), "device_id") if kind <= DOWNLOAD else None
    ts = _timestamp(get("timestamp"), now)
    event = Event(kind, app_id, ts, _text(get("version_name"), "version_name"), device_id)
    if kind == DEVICE_SEEN:
        platform = get("platform")
        if type(platform) is not str or platform not in PLATFORMS:
            if platform is None:
                raise EventError("platform: is required")
            raise EventError("platform: must be one of ios, android, electron, web")
        event.platform = platform
        emulator = get("is_emulator", False)
        if emulator is not True and emulator is not False:
            raise EventError("is_emulator: must be true or false")
        prod = get("is_prod", True)
        if prod is not True and prod is not False:
            raise EventError("is_prod: must be true or false")
        event.is_emulator = emulator
        event.is_prod = prod
        event.extra = _extra(get)
    elif kind != BUNDLE_DELETED:
        event.bytes = _size(get("bytes"))
    event_id = get("event_id")
    if event_id is not None:
        if type(event_id) is not str or not 0 < len(event_id) <= MAX_EVENT_ID:
            raise EventError(f"event_id: must be a string of 1 to {MAX_EVENT_ID} characters")
        if "\x00" in event_id:
            raise EventError(NUL_ERROR.format("event_id"))
        event.event_id = event_id
    return event


def _extra(get: Callable[[str], object]) -> dict[str, str] | None:
    extra = {}
    for name in OPTIONAL_TEXT:
        value = get(name)
        if value is not None:
            if type(value) is not str or len(value) > MAX_TEXT:
                raise EventError(f"{name}: must be a string of at most {MAX_TEXT} characters")
            if "\x00" in value:
                raise EventError(NUL_ERROR.format(name))
            extra[name] = value
    return extra or None


def _text(value: object, name: str) -> str:
    if type(value) is str and 0 < len(value) <= MAX_TEXT:
        if "\x00" in value:
            raise EventError(NUL_ERROR.format(name))
        return value
    if value is None:
        raise EventError(f"{name}: is required")
    raise EventError(f"{name}: must be a string of 1 to {MAX_TEXT} characters")


def _timestamp(value: object, now: int) -> int:
    if value is None:
        raise EventError("timestamp: is required")
    ts = parse_instant(value) if type(value) is str else None
    if ts is None:
        raise EventError(
            "timestamp: must be an RFC 3339 date-time with an offset, like 2024-01-01T12:00:00Z"
        )
    if ts < MIN_TIMESTAMP:
        raise EventError("timestamp: must not be before 2000-01-01T00:00:00Z")
    if ts > now + MAX_FUTURE_MICROS:
        raise EventError("timestamp: must not be more than 5 minutes in the future")
    return ts


def _size(value: object) -> int:
    if value is None:
        raise EventError("bytes: is required")
    if type(value) is not int:
        raise EventError(f"bytes: must be an integer from 0 to {MAX_BYTES}")
    if value < 0:
        raise EventError("bytes: must be >= 0")
    if value > MAX_BYTES:
        raise EventError(f"bytes: must be <= {MAX_BYTES}")
    return value
